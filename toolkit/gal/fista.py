"""The proximal mask update: accelerated proximal gradient (FISTA) with a non-negative soft threshold.

GAL (Lin et al., CVPR 2019) updates its soft masks with FISTA: a gradient step on the smooth part
of the objective (adversarial and data losses), then the proximal operator of ``λ·||s||_1``,
which is a soft threshold that sets small masks to exactly zero, followed by a projection onto
``s >= 0``. Exact zeros are what makes the pruning decision (darts-gal.md eq. 7, R_λ(s)).
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

    One :meth:`step` (Beck and Teboulle's FISTA, as GAL uses it for masks):

    1. ``t' = (1 + sqrt(1 + 4 t²)) / 2`` and the extrapolated point ``y = s + (t - 1)/t' · (s - s_prev)``;
    2. ``s_prev = s``; ``s = max(y - lr·grad f(s) - lr·lam, 0)``, the non-negative soft threshold.

    Args:
        params: the masks.
        lr: gradient step size (the soft threshold is ``lr·lam``).
        lam: λ of the L1 penalty.
        momentum: False gives the plain proximal gradient step (ISTA).
    """

    def __init__(self, params, lr: float = 0.01, lam: float = 0.0, momentum: bool = True):
        if lr <= 0 or lam < 0:
            raise ValueError(f"FISTA needs lr > 0 and lam >= 0, got lr={lr}, lam={lam}")
        super().__init__(params, {"lr": lr, "lam": lam, "momentum": momentum})

    def restart(self) -> None:
        """Reset the momentum (FISTA restart; GAL restarts when its learning rate decays)."""
        for state in self.state.values():
            state["t"] = 1.0

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "previous" not in state:
                    state.update(t=1.0, previous=p.detach().clone())
                y = p.detach().clone()
                if group["momentum"]:
                    t_next = (1.0 + (1.0 + 4.0 * state["t"] ** 2) ** 0.5) / 2.0
                    y += (state["t"] - 1.0) / t_next * (p - state["previous"])
                    state["t"] = t_next
                state["previous"] = p.detach().clone()
                p.copy_(prox_nonneg_l1(y - group["lr"] * p.grad, group["lr"] * group["lam"]))
        return loss
