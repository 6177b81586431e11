"""Procedural textures for the test set, and their anti-aliased (mip-mapped) lookup.

Every surface of the set gets its own texture, made from its own seed, so no patch
of the set repeats elsewhere and feature matching is never ambiguous. A texture mixes
what SIFT finds easily at every scale: multi-octave value noise, high-contrast blobs
(thresholded noise, each in its own colour), stamped discs, rings and squares,
printed-looking posters and, for floors, tiles with grout.

Textures are stored at a fixed world size per texel and looked up trilinearly in a
mip pyramid chosen from each pixel's footprint, which is the prefiltering that keeps
distant surfaces free of aliasing without supersampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

TEXEL = 0.01  # metres per texel at mip level 0: about one pixel at 4 m with a 60 deg lens at 480 px


@dataclass(frozen=True)
class Style:
    """How a surface looks: a palette to map noise through, and what is stamped on it."""

    palette: tuple[tuple[int, int, int], ...]  # RGB stops from dark to light
    tiles: float = 0.0  # tile edge in metres (0 = no tiles)
    stamps: float = 1.0  # stamped shapes per square metre, relative to the default density
    posters: int = 0  # printed rectangles on the surface


def value_noise(
    shape: tuple[int, int], rng: np.random.Generator, octaves: int = 7, finest: int = 2
) -> np.ndarray:
    """Multi-octave value noise in [0, 1], [H, W], built as a pyramid from coarse to fine.

    Each octave doubles the resolution of the sum so far (bicubic) and adds fresh random
    values at 0.75 times the previous amplitude, so the whole costs about one full-size
    upsampling. The coarsest lattice spacing is `finest * 2**(octaves-1)` texels.
    """
    h, w = shape
    cell = finest * 2 ** (octaves - 1)
    grid = torch.from_numpy(rng.random((h // cell + 2, w // cell + 2), dtype=np.float32))
    amplitude = 1.0
    for _ in range(octaves - 1):
        grid = F.interpolate(grid[None, None], scale_factor=2.0, mode="bicubic")[0, 0]
        amplitude *= 0.75
        grid += amplitude * torch.from_numpy(rng.random(tuple(grid.shape), dtype=np.float32))
    # The last lattice is stretched to exactly [H, W]: its spacing comes out close to `finest`.
    out = F.interpolate(grid[None, None], size=shape, mode="bicubic", align_corners=True)
    out = out[0, 0].numpy()
    lo, hi = np.percentile(out[:: max(1, h // 64), :: max(1, w // 64)], [1, 99])
    return np.clip((out - lo) / (hi - lo + 1e-6), 0.0, 1.0)


def blobs(shape: tuple[int, int], rng: np.random.Generator, level: float = 0.72) -> np.ndarray:
    """Coverage [H, W] in [0, 1] of high-contrast blobs: thresholded noise, anti-aliased."""
    n = value_noise(shape, rng, octaves=3, finest=6)
    gy, gx = np.gradient(n)
    edge = np.hypot(gx, gy) + 1e-4  # noise change per texel: makes the step one texel wide
    return np.clip((n - level) / edge + 0.5, 0.0, 1.0)


def _through_palette(t: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map t in [0, 1] [H, W] through piecewise-linear colour stops [S, 3] -> [H, W, 3]."""
    x = np.linspace(0.0, 1.0, 256) * (len(palette) - 1)
    i = np.clip(np.floor(x).astype(np.int64), 0, len(palette) - 2)
    f = (x - i)[:, None]
    lut = (palette[i] * (1.0 - f) + palette[i + 1] * f).astype(np.float32)  # [256, 3]
    return lut[(t * 255.0 + 0.5).astype(np.uint8)]


def make_texture(
    width_m: float, height_m: float, style: Style, seed: int | tuple[int, ...]
) -> np.ndarray:
    """An RGB float32 texture [H, W, 3] in [0, 1] covering `width_m` x `height_m` metres."""
    rng = np.random.default_rng(seed)
    w = max(8, int(np.ceil(width_m / TEXEL)))
    h = max(8, int(np.ceil(height_m / TEXEL)))
    palette = np.asarray(style.palette, np.float32) / 255.0
    img = _through_palette(value_noise((h, w), rng), palette)
    if style.tiles > 0:
        _tile(img, style.tiles, rng)
    for _ in range(2):  # two layers of blobs, each blob in its own random colour
        cover = blobs((h, w), rng)
        labels, count = ndimage.label(cover > 0)
        colours = rng.random((count + 1, 3), dtype=np.float32)
        colours[rng.random(count + 1) < 0.3] = rng.integers(0, 2, 1)  # some black or white ones
        img += cover[..., None] * (colours[labels] - img)
    _stamp(img, int(style.stamps * 5 * width_m * height_m) + 4, rng)
    for _ in range(style.posters):
        _poster(img, rng)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _tile(img: np.ndarray, tile_m: float, rng: np.random.Generator) -> None:
    """Tiles of `tile_m` with a colour cast each and dark grout lines, in place."""
    h, w, _ = img.shape
    n = max(1, int(round(tile_m / TEXEL)))
    rows, cols = np.arange(h) // n, np.arange(w) // n
    casts = rng.uniform(0.75, 1.25, (rows.max() + 1, cols.max() + 1, 3)).astype(np.float32)
    img *= casts[rows[:, None], cols[None, :]]
    grout = max(1, n // 25)
    img[(np.arange(h) % n) < grout] *= 0.35
    img[:, (np.arange(w) % n) < grout] *= 0.35


def _stamp(img: np.ndarray, count: int, rng: np.random.Generator) -> None:
    """Stamp `count` discs, rings and squares of random size and strong colour, in place."""
    h, w, _ = img.shape
    largest = min(0.27 / TEXEL, 0.2 * min(h, w))  # no shape may hide a small face entirely
    for _ in range(count):
        r = rng.uniform(0.14, 1.0) * largest  # radius in texels: up to 27 cm
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        y0, y1 = int(max(0, cy - r - 2)), int(min(h, cy + r + 3))
        x0, x1 = int(max(0, cx - r - 2)), int(min(w, cx + r + 3))
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        kind = rng.integers(3)
        if kind == 0:  # disc
            dist = np.hypot(yy - cy, xx - cx) - r
        elif kind == 1:  # ring
            dist = np.abs(np.hypot(yy - cy, xx - cx) - 0.7 * r) - 0.3 * r
        else:  # square, rotated
            a = rng.uniform(0, np.pi)
            u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
            v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
            dist = np.maximum(np.abs(u), np.abs(v)) - 0.8 * r
        cover = np.clip(0.5 - dist, 0.0, 1.0)[..., None]  # one-texel anti-aliased edge
        colour = rng.random(3).astype(np.float32)
        colour = colour if rng.random() < 0.6 else np.full(3, float(rng.integers(2)), np.float32)
        patch = img[y0:y1, x0:x1]
        patch *= 1.0 - cover
        patch += cover * colour


def _poster(img: np.ndarray, rng: np.random.Generator) -> None:
    """A printed rectangle: a bright frame around its own noise picture, in place."""
    h, w, _ = img.shape
    ph, pw = int(rng.uniform(0.25, 0.45) * h), int(rng.uniform(0.08, 0.2) * w)
    y0, x0 = int(rng.uniform(0.1, 0.5) * h), int(rng.uniform(0, w - pw))
    palette = rng.random((4, 3)).astype(np.float32)
    art = _through_palette(value_noise((ph, pw), rng, octaves=6), palette)
    border = max(2, pw // 20)
    img[y0 : y0 + ph, x0 : x0 + pw] = 0.95
    inner = art[border:-border, border:-border]
    img[y0 + border : y0 + ph - border, x0 + border : x0 + pw - border] = inner


class MipTexture:
    """A texture and its mip pyramid, sampled trilinearly from world-space coordinates."""

    def __init__(self, image: np.ndarray, texel: float = TEXEL):  # image [H, W, 3] float32
        self.texel = texel
        self.levels = [image.astype(np.float32)]
        while min(self.levels[-1].shape[:2]) > 2:
            a = self.levels[-1]
            h2, w2 = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
            a = a[:h2, :w2]
            a = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
            self.levels.append(0.25 * a)

    def sample(self, u: np.ndarray, v: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """Colours [P, 3] at surface points u, v [P] (metres) for pixels `footprint` [P] wide."""
        lod = np.log2(np.maximum(footprint / self.texel, 1e-6))
        lod = np.clip(lod, 0.0, len(self.levels) - 1.0)
        lo = np.floor(lod).astype(np.int64)
        frac = (lod - lo)[:, None].astype(np.float32)
        out = np.empty((len(u), 3), np.float32)
        for level in np.unique(lo):
            sel = np.nonzero(lo == level)[0]
            a = self._bilinear(int(level), u[sel], v[sel])
            if level + 1 < len(self.levels):
                b = self._bilinear(int(level) + 1, u[sel], v[sel])
                a += (b - a) * frac[sel]
            out[sel] = a
        return out

    def _bilinear(self, level: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        tex = self.levels[level]
        h, w, _ = tex.shape
        scale = 1.0 / (self.texel * 2**level)
        x = u * scale - 0.5  # texel centres at +0.5
        y = v * scale - 0.5
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = (x - x0)[:, None].astype(np.float32)
        fy = (y - y0)[:, None].astype(np.float32)
        xi0 = np.clip(x0.astype(np.int64), 0, w - 1)
        yi0 = np.clip(y0.astype(np.int64), 0, h - 1)
        xi1 = np.minimum(xi0 + 1, w - 1)
        yi1 = np.minimum(yi0 + 1, h - 1)
        flat = tex.reshape(-1, 3)
        top = flat[yi0 * w + xi0] * (1 - fx) + flat[yi0 * w + xi1] * fx
        bottom = flat[yi1 * w + xi0] * (1 - fx) + flat[yi1 * w + xi1] * fx
        return top * (1 - fy) + bottom * fy
