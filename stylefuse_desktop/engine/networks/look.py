"""LookGenerator: an editing look learnt from before/after pairs (the generator of the paired GAN).

Small and fully convolutional, so it applies at any resolution, and built from what editing looks are
made of:
- a per-pixel colour path (1x1 convolutions over the pixel's colour): tone curves, colour grading and
  split toning, which act on each pixel's colour and brightness;
- position channels (x, y in [-1, 1] and the distance from the centre): vignettes and gradients, which
  depend on where the pixel sits in the frame, whatever the resolution;
- a local path (dilated 3x3 convolutions, 21 pixels across): local contrast and clarity, which
  compare a pixel with its surroundings;
- a global branch on a 64x64 copy of the whole picture: its colour and brightness statistics modulate
  the features (FiLM), as a grade adapts to the picture's overall exposure and cast.
The output is the photo plus a correction, so an untrained generator leaves the photo nearly alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WIDTH = 32
GLOBAL_SIDE = 64
LOCAL_RADIUS = 1 + 3 + 6  # pixels the local path sees on each side


def position_channels(
    height: int, width: int, device: torch.device, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[1, 3, H, W]: x and y in [-1, 1] and the distance from the centre (1 at the corners)."""
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    r = torch.sqrt(x * x + y * y) / (2**0.5)
    return torch.stack([x, y, r])[None]


class LookGenerator(nn.Module):
    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        self.pointwise = nn.Sequential(nn.Conv2d(6, width, 1), nn.ReLU(), nn.Conv2d(width, width, 1))
        self.local = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=3, dilation=3, padding_mode="replicate"), nn.ReLU(),
            nn.Conv2d(16, width, 3, padding=6, dilation=6, padding_mode="replicate"))
        self.global_branch = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.film = nn.Linear(32 + 6, 2 * width)
        hidden, last = nn.Conv2d(width, width, 1), nn.Conv2d(width, 3, 1)
        self.head = nn.Sequential(nn.ReLU(), hidden, nn.ReLU(), last)
        nn.init.zeros_(last.weight)
        assert last.bias is not None  # a Conv2d's bias exists unless bias=False
        nn.init.zeros_(last.bias)

    def global_code(self, image: torch.Tensor) -> torch.Tensor:
        """[N, 38]: learnt statistics of a 64x64 copy, plus the picture's mean and std per channel."""
        small = F.interpolate(image, size=(GLOBAL_SIDE, GLOBAL_SIDE), mode="bilinear", align_corners=False,
                              antialias=True)
        pooled = self.global_branch(small).mean(dim=(2, 3))
        return torch.cat([pooled, small.mean(dim=(2, 3)), small.std(dim=(2, 3))], dim=1)

    def forward(self, image: torch.Tensor, code: torch.Tensor | None = None,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        """[N, 3, H, W] in [0, 1] -> the look applied. ``code`` and ``positions`` may be given for a band
        of a larger picture (the code of the whole picture, the band's rows of its position grid)."""
        n, _, h, w = image.shape
        if code is None:
            code = self.global_code(image)
        if positions is None:
            positions = position_channels(h, w, image.device, image.dtype)
        positions = positions.expand(n, -1, -1, -1)
        features = self.pointwise(torch.cat([image, positions], dim=1)) + self.local(image)
        gamma, beta = self.film(code).chunk(2, dim=1)
        features = features * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        looked: torch.Tensor = (image + self.head(features)).clamp(0.0, 1.0)
        return looked


@torch.inference_mode()
def apply_look(net: LookGenerator, image: torch.Tensor, band_rows: int = 512) -> torch.Tensor:
    """Apply a look to a picture of any size in bands of rows (the code is of the whole picture)."""
    _, _, h, w = image.shape
    code = net.global_code(image)
    positions = position_channels(h, w, image.device, image.dtype)
    out = torch.empty_like(image)
    halo = LOCAL_RADIUS
    for start in range(0, h, band_rows):
        end = min(h, start + band_rows)
        a, b = max(0, start - halo), min(h, end + halo)
        band = net(image[..., a:b, :], code, positions[..., a:b, :])
        out[..., start:end, :] = band[..., start - a : start - a + end - start, :]
    return out
