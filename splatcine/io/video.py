"""Images and videos: the only module that imports imageio."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from splatcine.errors import InputError


def read_image(path: Path) -> np.ndarray:
    """An image as uint8 [H, W, 3] (RGB) or [H, W] for single-channel files."""
    try:
        img = iio.imread(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as err:  # imageio raises many types for a bad file
        raise InputError(f"{path}: not a readable image ({type(err).__name__})") from None
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img


def write_image(path: Path, image: np.ndarray) -> None:
    """Write uint8 or uint16 [H, W] / [H, W, 3] as PNG (or the format the suffix names)."""
    iio.imwrite(path, image)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    props = iio.improps(path)
    h, w = props.shape[:2]
    return int(w), int(h)
