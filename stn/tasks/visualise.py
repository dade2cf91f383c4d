"""The paper's Table 1 picture: inputs with the ST's sampling grid drawn on them, and outputs."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
import torchvision.utils as vutils
from torch import Tensor, nn

from stn.nn.transforms import Transform


def grid_lines(size: tuple[int, int], lines: int = 5, steps: int = 64) -> Tensor:
    """Points along ``lines`` horizontal and vertical lines of the output frame, including
    its border, ``(N, 2)`` normalised, x first."""
    h, w = size
    # The border is at the outer pixel centres, so a drawn box encloses exactly the output.
    ys = torch.linspace(-1 + 1 / h, 1 - 1 / h, lines)
    xs = torch.linspace(-1 + 1 / w, 1 - 1 / w, lines)
    t_x, t_y = torch.linspace(xs[0], xs[-1], steps), torch.linspace(ys[0], ys[-1], steps)
    horizontal = torch.stack(torch.broadcast_tensors(t_x.view(1, -1), ys.view(-1, 1)), -1)
    vertical = torch.stack(torch.broadcast_tensors(xs.view(-1, 1), t_y.view(1, -1)), -1)
    return torch.cat((horizontal.reshape(-1, 2), vertical.reshape(-1, 2)))


def draw_grids(
    images: Tensor, transform: Transform, theta: Tensor, out_size: tuple[int, int]
) -> Tensor:
    """``images`` ``(B, C, H, W)`` in [0, 1] as RGB ``(B, 3, H, W)``, the sampling grid of
    ``theta`` ``(B, P)`` (an output of ``out_size``) drawn in red where it falls inside."""
    rgb = images[:, :1].expand(-1, 3, -1, -1).clone() if images.shape[1] != 3 else images.clone()
    b, _, h, w = rgb.shape
    device = rgb.device
    src = transform.points(theta.float(), grid_lines(out_size).to(device))  # (B, N, 2)
    col = ((src[..., 0] + 1) * w / 2 - 0.5).round().long()
    row = ((src[..., 1] + 1) * h / 2 - 0.5).round().long()
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    batch = torch.arange(b, device=device).view(-1, 1).expand_as(col)
    red = torch.tensor([1.0, 0.0, 0.0], device=device).view(1, 3)
    rgb.permute(0, 2, 3, 1)[batch[inside], row[inside], col[inside]] = red
    return rgb


def transformer_panels(net: nn.Module, x: Tensor) -> Iterator[tuple[Tensor, Tensor]]:
    """For each ST of ``net`` (its ``transformers``, every parallel one in turn, in depth
    order): a panel ``(3, H', W')`` of ``x`` ``(B, C, H, W)`` in [0, 1] with the ST's sampling
    grid drawn on, above the images as the ST resamples them (for an ST on feature maps:
    where on the image it looks), and its θs ``(B, P)``."""
    with torch.no_grad():
        net(x)  # every ST records its θs
        for st in net.transformers:
            thetas = st.theta.view(len(x), st.n, -1)
            outputs = st.transformed(x, thetas)
            size = st.out_size or tuple(x.shape[-2:])
            for i, theta in enumerate(thetas.unbind(1)):
                drawn = draw_grids(_rgb(x, i), st.transform, theta, size)
                out = F.interpolate(_rgb(outputs[i], i).clamp(0, 1), size=x.shape[-2:])
                rows = torch.cat((drawn, out))
                yield vutils.make_grid(rows, nrow=len(x), padding=2, pad_value=0.5), theta


def _rgb(images: Tensor, i: int) -> Tensor:
    """``images`` ``(B, C, H, W)`` as RGB: colour ones as they are, else channel ``i`` (each of
    MNIST addition's parallel STs is shown on its own digit)."""
    if images.shape[1] == 3:
        return images
    c = i % images.shape[1]
    return images[:, c : c + 1].expand(-1, 3, -1, -1)
