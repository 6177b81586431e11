"""Inputs with alpha (RGBA PNGs of object captures, NeRF-synthetic scenes): composited, alpha kept.

A scene stores such a frame twice over: `images/` holds it composited on the scene's known
background (black, the convention of the NeRF-synthetic benchmarks), which is what SfM and
other tools see; `alpha/` holds its alpha channel as an 8-bit PNG (255 = opaque). The
trainer uses both: each step it puts the frame over that step's random background colour
(`View.target`), so empty space has to be learned as empty (not as black paint), and the
held-out frames are compared composited on the scene's background.
"""

from __future__ import annotations

import numpy as np

from splatcine.errors import InputError

BACKGROUND = (0, 0, 0)  # uint8 RGB an input with alpha is composited on


def composite(rgb: np.ndarray, alpha: np.ndarray, background=BACKGROUND) -> np.ndarray:
    """`rgb` uint8 [H, W, 3] (straight colour) over `background` by `alpha` [H, W] in [0, 1] -> uint8."""
    a = np.asarray(alpha, np.float32)[..., None]
    out = rgb.astype(np.float32) * a + np.asarray(background, np.float32) * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def alpha_png(alpha: np.ndarray) -> np.ndarray:
    """Alpha [H, W] in [0, 1] as the uint8 image `alpha/` stores."""
    return np.clip(np.asarray(alpha, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def check_alpha(where: str, alpha: np.ndarray | None, first: str, first_has_alpha: bool) -> None:
    """One `InputError` naming the frame (`where`: file and field) when its alpha cannot be used.

    A frame whose alpha is 0 everywhere shows nothing; frames with alpha mixed with frames
    without it would put the object on two backgrounds (an opaque frame shows its own, which
    the trainer would learn as part of the set). `first` names the first frame's field.
    """
    if alpha is None and first_has_alpha:
        raise InputError(f"{where}: has no alpha channel, but {first} has one: give every frame alpha "
                         f"(RGBA), or none")  # fmt: skip
    if alpha is not None and not first_has_alpha:
        raise InputError(f"{where}: has an alpha channel, but {first} has none: give every frame alpha "
                         f"(RGBA), or none")  # fmt: skip
    if alpha is not None and float(alpha.max()) <= 0.0:
        raise InputError(f"{where}: the alpha channel is 0 everywhere: the frame shows nothing")
