"""Video-model presets: the frame counts and image sizes each model accepts.

A rule is `"kn+1"` (any count of that form) or a fixed count. Counts derived from a
duration are rounded to the nearest accepted count; a count or size the user wrote
explicitly must already fit, so nothing the user asked for changes silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    fps: float
    frame_rule: str | int | None  # "4n+1", or a fixed count, or None (any)
    side_multiple: int
    resolution: tuple[int, int]  # default (width, height)


PRESETS: dict[str, Preset] = {
    # Wan 2.1/2.2: the causal VAE packs 4 frames per latent after the first; 16x spatial.
    "wan": Preset(16.0, "4n+1", 16, (832, 480)),
    # CogVideoX 1.0: trained on exactly 49 frames of 720x480 at 8 fps.
    "cogvideox": Preset(8.0, 49, 16, (720, 480)),
    # HunyuanVideo: 4x temporal, 16x spatial (8x VAE, 2x patch).
    "hunyuan": Preset(24.0, "4n+1", 16, (1280, 720)),
    # LTX-Video: 8x temporal, 32x spatial VAE.
    "ltx": Preset(24.0, "8n+1", 32, (768, 512)),
    "none": Preset(24.0, None, 1, (960, 540)),
}

_RULE = re.compile(r"^\s*(\d+)\s*n\s*\+\s*1\s*$")


def parse_rule(rule: str | int | None) -> tuple[int, int] | None:
    """ "4n+1" -> (4, 1); 49 -> (0, 49); None -> None. Raises ValueError for other text."""
    if rule is None:
        return None
    if isinstance(rule, int):
        return (0, rule)
    match = _RULE.match(rule)
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"'{rule}' is not a frame rule: write e.g. \"4n+1\" or a fixed count like 49"
        )
    return (int(match.group(1)), 1)


def fits(frames: int, rule: tuple[int, int] | None) -> bool:
    if rule is None:
        return True
    step, offset = rule
    return frames == offset if step == 0 else frames >= offset and (frames - offset) % step == 0


def nearest_count(frames: int, rule: tuple[int, int] | None) -> int:
    """The accepted frame count nearest to `frames` (ties go up; at least one step)."""
    if rule is None:
        return max(1, frames)
    step, offset = rule
    if step == 0:
        return offset
    n = max(1, int((frames - offset) / step + 0.5))
    return n * step + offset


def nearest_side(side: int, multiple: int) -> int:
    return max(multiple, int(side / multiple + 0.5) * multiple)


def describe(rule: tuple[int, int] | None) -> str:
    if rule is None:
        return "any frame count"
    step, offset = rule
    return f"{offset} frames" if step == 0 else f"{step}n+{offset} frames"
