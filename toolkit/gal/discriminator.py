"""The discriminator: a 5-layer perceptron on the networks' softmax outputs (DARTS-GAL paper section 3.3)."""

from __future__ import annotations

from torch import nn


class Discriminator(nn.Module):
    """Five linear layers telling the baseline's softmax outputs ("real") from the generator's ("fake").

    Args:
        num_classes: size of the network outputs it reads.
        hidden: width of the four hidden layers.
        layers: number of linear layers (the paper: 5).

    ``forward`` returns one unbounded score per sample: a critic value for the Wasserstein loss or
    a logit of "real" for the log loss of eq. 5. There is no batch norm, so the gradient penalty
    of the Wasserstein form is well defined per sample.
    """

    def __init__(self, num_classes: int, hidden: int = 128, layers: int = 5):
        super().__init__()
        widths = [num_classes] + [hidden] * (layers - 1) + [1]
        blocks: list[nn.Module] = []
        for i, (w_in, w_out) in enumerate(zip(widths, widths[1:], strict=False)):
            blocks.append(nn.Linear(w_in, w_out))
            if i < layers - 1:
                blocks.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*blocks)

    def forward(self, probabilities):
        return self.body(probabilities).squeeze(1)
