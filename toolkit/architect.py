"""The upper level of DARTS' bilevel optimisation: the α update, first- or second-order.

DARTS (Liu et al. 2019, eq. 3-8), as summarised in ME-DARTS paper III.A:
    min_α L_val(w*(α), α)  s.t.  w*(α) = argmin_w L_train(w, α).
First order uses ∇_α L_val(w, α). Second order unrolls one SGD step,
    w' = w - ξ ∇_w L_train(w, α)            (eq. 6; with DARTS' momentum and weight decay terms)
    ∇_α L_val(w', α) - ξ ∇²_{α,w} L_train(w, α) ∇_{w'} L_val(w', α)       (eq. 7)
and approximates the second term by finite differences (eq. 8):
    ≈ [∇_α L_train(w⁺, α) - ∇_α L_train(w⁻, α)] / 2ε,  w± = w ± ε ∇_{w'} L_val(w', α),
with ε = 0.01 / ||∇_{w'} L_val(w', α)||. The unrolled weights are plain tensors passed to
``torch.func.functional_call``: the model is never deep-copied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from .runtime import compiled
from .supernet import is_arch_name


class Architect:
    """Updates α (and β) with Adam on validation batches.

    Args:
        model: a Supernet (anything with ``named_parameters`` split by :func:`is_arch_name`).
        w_optimizer: the weights' SGD optimiser (its momentum buffers enter the unrolled step).
        order: 1 (first-order) or 2 (second-order, unrolled).
        lr, betas, weight_decay: Adam settings for α (DARTS: 3e-4, (0.5, 0.999), 1e-3).
        fd_scale: the finite-difference step is ε = fd_scale / ||∇_{w'} L_val|| (DARTS: 0.01).
            Smaller values approximate the Hessian-vector product more closely in float64.
        compile: a mode of :func:`toolkit.runtime.compiled` ('off', 'on', 'cudagraphs'), already
            checked against the device (:func:`toolkit.runtime.compile_plan`). With 'on' the model's
            forward (first order) or the functional loss (second order) is compiled; ``forward`` is
            the compiled model, for the w step to share. With 'cudagraphs' the step stays eager and
            the caller records it (:mod:`toolkit.graphed`); Adam then keeps its step count on the GPU
            (``capturable``), so that a graph can hold the update.
    """

    def __init__(self, model, w_optimizer: torch.optim.SGD, order: int = 1, lr: float = 3e-4,
                 betas=(0.5, 0.999), weight_decay: float = 1e-3, loss_fn=F.cross_entropy,
                 fd_scale: float = 0.01, compile: str = "off"):
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order}")
        self.model, self.w_optimizer, self.order, self.loss_fn = model, w_optimizer, order, loss_fn
        self.fd_scale = fd_scale
        self.forward = compiled(model, compile)
        self._functional_loss = compiled(self._eager_loss, compile) if order == 2 else None
        self._one_graph = compile == "on"
        named = list(model.named_parameters())
        self.arch = [(n, p) for n, p in named if is_arch_name(n)]
        self.weights = [(n, p) for n, p in named if not is_arch_name(n)]
        self.optimizer = torch.optim.Adam([p for _, p in self.arch], lr=lr, betas=betas, weight_decay=weight_decay,
                                          capturable=compile == "cudagraphs" and self.arch[0][1].is_cuda)

    def step(self, x_train, y_train, x_val, y_val, lr: float,
             scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
        """One α update; ``lr`` is the weights' current learning rate ξ. Returns the val loss (a detached
        tensor: reading it waits for the device, which the caller does when it needs the number).

        ``scaler`` (fp16 autocast): the losses are scaled so that small gradients do not underflow in
        half precision, and the update is skipped, with a smaller scale next time, when one overflowed.
        """
        self.optimizer.zero_grad(set_to_none=True)
        scaling = scaler is not None and scaler.is_enabled()
        # scaler.scale (not get_scale) sets up the scaler's state on its first use, which step needs
        loss_scale = float(scaler.scale(torch.ones((), device=self.arch[0][1].device))) if scaling else 1.0
        loss, grads = self.alpha_gradient(x_train, y_train, x_val, y_val, lr, loss_scale)
        for (_, p), g in zip(self.arch, grads):
            p.grad = g
        if scaling:
            scaler.step(self.optimizer)  # unscales, and skips the step on inf/NaN
            scaler.update()
        else:
            self.optimizer.step()
        return loss.detach()

    def alpha_gradient(self, x_train, y_train, x_val, y_val, lr: float, loss_scale: float = 1.0):
        """(validation loss, ∇_α) of the chosen order; first order asks autograd for ∇_α alone, not ∇_w.

        The gradient is that of ``loss_scale`` times the loss (a GradScaler's scale; 1 without one).
        """
        if self.order == 2:
            loss, grads = self.unrolled_gradient(x_train, y_train, x_val, y_val, lr, loss_scale)
            return loss, grads if loss_scale == 1.0 else [g * loss_scale for g in grads]
        loss = self.loss_fn(self.forward(x_val), y_val)
        return loss, list(torch.autograd.grad(loss * loss_scale if loss_scale != 1.0 else loss,
                                              [p for _, p in self.arch]))

    def _loss(self, weights, x, y):
        return self._functional_loss(list(weights), x, y)

    def _eager_loss(self, weights, x, y):
        """The loss of the model with its weights replaced by the tensors ``weights`` (in order)."""
        params = {n: w for (n, _), w in zip(self.weights, weights)}
        params.update({n: p for n, p in self.arch})
        buffers = {n: b.clone() for n, b in self.model.named_buffers()}  # keep BN statistics untouched
        return self.loss_fn(functional_call(self.model, (params, buffers), (x,)), y)

    def unrolled_gradient(self, x_train, y_train, x_val, y_val, lr: float, loss_scale: float = 1.0):
        """∇_α of the unrolled validation loss (eq. 7), Hessian term by finite differences (eq. 8).

        Each backward pass runs on ``loss_scale`` times its loss (fp16: no underflow) and its gradients
        are divided by it at once, so the unrolled step and ε see the true gradients.
        """
        w = [p for _, p in self.weights]
        alphas = [p for _, p in self.arch]
        group = self.w_optimizer.param_groups[0]
        momentum, wd = group.get("momentum", 0.0), group.get("weight_decay", 0.0)
        w_in = self._as_inputs(w)
        grads_w = _grad(self._loss(w_in, x_train, y_train), w_in, loss_scale)
        unrolled = []
        for p, g in zip(w, grads_w):
            buf = self.w_optimizer.state.get(p, {}).get("momentum_buffer")
            step = (0 if g is None else g) + wd * p.detach() + (momentum * buf if buf is not None else 0)
            unrolled.append((p.detach() - lr * step).requires_grad_(True))
        val_loss = self._loss(unrolled, x_val, y_val)
        grads = _grad(val_loss, alphas + unrolled, loss_scale)
        d_alpha = [torch.zeros_like(a) if g is None else g for a, g in zip(alphas, grads[: len(alphas)])]
        vector = [torch.zeros_like(u) if g is None else g for u, g in zip(unrolled, grads[len(alphas):])]
        eps = self.fd_scale / torch.cat([v.flatten() for v in vector]).norm().clamp_min(1e-12)
        w_plus = self._as_inputs([p.detach() + eps * v for p, v in zip(w, vector)])
        w_minus = self._as_inputs([p.detach() - eps * v for p, v in zip(w, vector)])
        g_plus = self._alpha_grad(w_plus, x_train, y_train, loss_scale)
        g_minus = self._alpha_grad(w_minus, x_train, y_train, loss_scale)
        return val_loss, [d - lr * (gp - gm) / (2 * eps) for d, gp, gm in zip(d_alpha, g_plus, g_minus)]

    def _as_inputs(self, tensors):
        """Compiled, every pass gets leaf tensors that require grad, so the four passes share one graph
        (compiled once, not once per kind of input); eager, the tensors as they are."""
        return [t.detach().requires_grad_(True) for t in tensors] if self._one_graph else tensors

    def _alpha_grad(self, weights, x, y, loss_scale: float = 1.0):
        grads = _grad(self._loss(weights, x, y), [p for _, p in self.arch], loss_scale)
        return [torch.zeros_like(p) if g is None else g for (_, p), g in zip(self.arch, grads)]


def _grad(loss, inputs, loss_scale: float = 1.0):
    """``torch.autograd.grad`` of ``loss`` (None for inputs it does not reach), run on the scaled loss."""
    if loss_scale == 1.0:
        return torch.autograd.grad(loss, inputs, allow_unused=True)
    grads = torch.autograd.grad(loss * loss_scale, inputs, allow_unused=True)
    return [None if g is None else g / loss_scale for g in grads]
