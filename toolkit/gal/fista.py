"""The proximal mask update: FISTA (Beck and Teboulle, 2009) with a non-negative soft threshold.

GAL (Lin et al., CVPR 2019) updates its soft masks with FISTA: a gradient step on the smooth part
of the objective (adversarial and data losses), then the proximal operator of ``λ·||s||_1``,
which is a soft threshold that sets small masks to exactly zero, followed by a projection onto
``s >= 0``. Exact zeros are what makes the pruning decision (DARTS-GAL paper eq. 7, R_λ(s)).
"""

from __future__ import annotations

import torch


def soft_threshold(x: torch.Tensor, t: float) -> torch.Tensor:
    """The proximal operator of ``t·||x||_1``: ``sign(x)·max(|x| - t, 0)``."""
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0.0)


def prox_nonneg_l1(x: torch.Tensor, t: float) -> torch.Tensor:
    """The proximal operator of ``t·||x||_1 + indicator(x >= 0)``: ``max(x - t, 0)``.

    Soft threshold followed by the projection onto the non-negative orthant (GAL's FISTA step).
    """
    return torch.clamp(soft_threshold(x, t), min=0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


class FISTA(torch.optim.Optimizer):
    """Accelerated proximal gradient for ``f(s) + lam·||s||_1`` subject to ``s >= 0``.

    Textbook FISTA: the parameter holds the extrapolated point ``y``, where the caller evaluates
    the gradient; the iterate ``x`` (the masks, with their exact zeros) is kept in the state.
    One :meth:`step`, with ``∇f(y)`` in ``p.grad``:

    1. ``x_k = max(y - lr·∇f(y) - lr·lam, 0)``  (proximal gradient step at ``y``);
    2. ``t' = (1 + sqrt(1 + 4 t²)) / 2``;  ``y = x_k + (t - 1)/t' · (x_k - x_{k-1})``.

    Read the masks with :meth:`iterates`; :meth:`restart` resets the momentum and puts ``x`` back
    into the parameters (call it before evaluating the masked network). ``adaptive_restart``
    resets the momentum whenever it points against the last step (O'Donoghue and Candès, 2015).

    Args:
        params: the masks.
        lr: gradient step size (the soft threshold is ``lr·lam``).
        lam: λ of the L1 penalty.
        momentum: False gives the plain proximal gradient step (ISTA).
        adaptive_restart: restart when ``(y - x_k)·(x_k - x_{k-1}) > 0``.
    """

    def __init__(self, params, lr: float = 0.01, lam: float = 0.0, momentum: bool = True,
                 adaptive_restart: bool = False):
        if lr <= 0 or lam < 0:
            raise ValueError(f"FISTA needs lr > 0 and lam >= 0, got lr={lr}, lam={lam}")
        super().__init__(params, {"lr": lr, "lam": lam, "momentum": momentum, "adaptive_restart": adaptive_restart})

    def _state(self, p: torch.Tensor) -> dict:
        state = self.state[p]
        if "x" not in state:
            state.update(t=1.0, x=p.detach().clone())
        return state

    @torch.no_grad()
    def iterates(self) -> list[torch.Tensor]:
        """The current iterates ``x`` (the masks), one tensor per parameter."""
        return [self._state(p)["x"].clone() for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def restart(self) -> None:
        """Reset the momentum (t = 1) and set every parameter to its iterate ``x``."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self._state(p)
                state["t"] = 1.0
                p.copy_(state["x"])

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._state(p)
                x_prev = state["x"]
                x = prox_nonneg_l1(p - group["lr"] * p.grad, group["lr"] * group["lam"])
                if not group["momentum"]:
                    state["x"] = x
                    p.copy_(x)
                    continue
                if group["adaptive_restart"] and float(((p - x) * (x - x_prev)).sum()) > 0:
                    state["t"] = 1.0
                t_next = (1.0 + (1.0 + 4.0 * state["t"] ** 2) ** 0.5) / 2.0
                p.copy_(x + (state["t"] - 1.0) / t_next * (x - x_prev))
                state.update(t=t_next, x=x)
        return loss
