"""The official PyTorch tutorial's network (``spatial_transformer_tutorial.py``) on ``stn.nn``.

``TutorialNet`` is the tutorial's ``Net``, its ``localization``, ``fc_loc`` and ``stn()``
replaced by one ``SpatialTransformer`` named ``stn`` (so ``forward`` is unchanged): the
localisation net ends at ``fc_loc``'s hidden layer (flattened first), and the transformer
adds the tutorial's last layer, the regression to θ that starts at the identity. Its layers
are built in the tutorial's order, so a seed gives the same weights, and ``from_tutorial``
reads a checkpoint of the tutorial's ``Net``:

    net = TutorialNet()
    net.load_state_dict(from_tutorial(torch.load("tutorial.pt")))
"""

from __future__ import annotations

from collections.abc import Mapping

import torch.nn.functional as F
from torch import Tensor, nn

from stn.nn.spatial_transformer import SpatialTransformer
from stn.nn.transforms import Affine

# The tutorial's parameter names → TutorialNet's (the others are the same).
RENAMED = {
    "localization.0.": "stn.localisation.0.",
    "localization.3.": "stn.localisation.3.",
    "fc_loc.0.": "stn.localisation.7.",
    "fc_loc.2.": "stn.regression.",
}


class TutorialNet(nn.Module):
    """``(B, 1, 28, 28)`` MNIST digits (normalised as the tutorial does) → log-probabilities
    ``(B, 10)``; ``stn.theta`` holds the last forward's θ ``(B, 6)``."""

    def __init__(self, align_corners: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)
        localisation = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Flatten(),
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
        )
        self.stn = SpatialTransformer(
            localisation, Affine(), in_shape=(1, 28, 28), align_corners=align_corners
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.dropout(F.relu(self.fc1(x.flatten(1))), training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


def from_tutorial(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A state dict of the tutorial's ``Net`` with ``TutorialNet``'s names."""
    renamed = {}
    for key, value in state_dict.items():
        old = next((o for o in RENAMED if key.startswith(o)), None)
        renamed[RENAMED[old] + key[len(old) :] if old else key] = value
    return renamed
