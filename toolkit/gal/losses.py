"""The DARTS-GAL losses (DARTS-GAL paper eqs. 4-7).

``f_b`` are the frozen baseline's outputs and ``f_g`` the generator's (the masked network). The
discriminator reads softmax probabilities (the paper marks the baseline's softmax output as the
true label); the data loss compares the logits, as GAL's code does, because softmax outputs of a
confident network saturate and carry almost no gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def data_loss(f_b: torch.Tensor, f_g: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ``1/(2n) · Σ_x ||f_b(x) - G(x)||²`` over a batch of n samples."""
    return 0.5 * (f_b - f_g).pow(2).sum(dim=1).mean()


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: ``E[(||∇D(x̂)|| - 1)²]`` on points between real and fake samples (keeps D 1-Lipschitz)."""
    mix = torch.rand(real.size(0), 1, device=real.device, dtype=real.dtype)
    x = (mix * real + (1 - mix) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return (grad.norm(dim=1) - 1).pow(2).mean()


def discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, form: str = "wasserstein",
                       gp_weight: float = 10.0) -> torch.Tensor:
    """What D minimises: the negative of the max-part of eq. 4 (real = baseline, fake = generator).

    ``wasserstein``: ``E[D(fake)] - E[D(real)] + gp_weight·GP`` (section 3.4's Wasserstein training).
    ``log``: ``-(E[log D(real)] + E[log(1 - D(fake))])``, eq. 5 with D's output a logit.
    """
    d_real, d_fake = discriminator(real), discriminator(fake)
    if form == "wasserstein":
        loss = d_fake.mean() - d_real.mean()
        return loss + gp_weight * gradient_penalty(discriminator, real, fake) if gp_weight else loss
    return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))


def adversarial_loss(discriminator: nn.Module, fake: torch.Tensor, form: str = "wasserstein") -> torch.Tensor:
    """What the generator minimises of eq. 4's adversarial term.

    ``wasserstein``: ``-E[D(fake)]``. ``log``: ``-E[log D(fake)]``, the non-saturating form of
    minimising ``E[log(1 - D(fake))]`` (same fixed point, useful gradients early on; GAL's choice).
    """
    d_fake = discriminator(fake)
    if form == "wasserstein":
        return -d_fake.mean()
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def squared_norm(parameters) -> float:
    """``||W||²`` summed over parameters."""
    squares = [p.detach().pow(2).sum() for p in parameters]
    return float(torch.stack(squares).sum()) if squares else 0.0


def regularisation(generator_weights, masks, discriminator_weights, lam: float, g_decay: float,
                   d_decay: float) -> float:
    """Eq. 7's value: ``½·g_decay·||W_G||² + λ·||s||_1 + ½·d_decay·||W_D||²``.

    Reported, not differentiated: the optimisers apply the L2 parts as weight decay (whose
    gradient is exactly that of ``½·decay·||W||²``) and the L1 part through the proximal step.
    """
    l1 = sum(float(m.detach().abs().sum()) for m in masks)
    return (0.5 * g_decay * squared_norm(generator_weights) + lam * l1
            + 0.5 * d_decay * squared_norm(discriminator_weights))
