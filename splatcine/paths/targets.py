"""Video-model presets: the frame counts and image sizes each model accepts.

A rule is `"kn+1"` (any count of that form) or a fixed count. Counts derived from a
duration are rounded to the nearest accepted count; a count or size the user wrote
explicitly must already fit, so nothing the user asked for changes silently.

The conditioning models' presets carry what their own inference scripts accept (read
there, cited beside each): a `fixed_size` preset takes exactly its resolution.
`fit_problem` says in one line why a rendered shot does not fit a preset.
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
    fixed_size: bool = False  # the model takes exactly `resolution`, no other size


PRESETS: dict[str, Preset] = {
    # Wan 2.1/2.2: the causal VAE packs 4 frames per latent after the first; 16x spatial.
    "wan": Preset(16.0, "4n+1", 16, (832, 480)),
    # CogVideoX 1.0: trained on exactly 49 frames of 720x480 at 8 fps.
    "cogvideox": Preset(8.0, 49, 16, (720, 480)),
    # HunyuanVideo: 4x temporal, 16x spatial (8x VAE, 2x patch).
    "hunyuan": Preset(24.0, "4n+1", 16, (1280, 720)),
    # LTX-Video: 8x temporal, 32x spatial VAE.
    "ltx": Preset(24.0, "8n+1", 32, (768, 512)),
    # HunyuanWorld-Voyager: sample_image2video.py reads exactly 49 frames (`for j in range(49)`)
    # at --video-size (default 512 768, H W); HunyuanVideo's VAE wants sides of 16.
    "voyager": Preset(24.0, 49, 16, (768, 512)),
    # GEN3C (Cosmos): gen3c_dynamic.py asserts num_video_frames == N*120+1, runs at
    # --height 704 --width 1280 --fps 24 (inference_utils.add_common_arguments).
    "gen3c": Preset(24.0, "120n+1", 16, (1280, 704), fixed_size=True),
    # CameraCtrl (AnimateDiff): inference.py --video_length 16 --image_height 256
    # --image_width 384; the pose encoder's temporal position encoding holds 16 frames.
    # Poses of any size work (it rescales fx or fy by --original_pose_width/height).
    # AnimateDiff's save_videos_grid writes 8 fps.
    "cameractrl": Preset(8.0, 16, 16, (384, 256)),
    # ReCamMaster (Wan 2.1): inference_recammaster.py asserts 81 frames and samples its
    # source video at 480x832; it writes its result at 30 fps (frame_interval 1: the
    # source video's own frames). It reads cameras only, so the render size is free.
    "recammaster": Preset(30.0, 81, 16, (832, 480)),
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


def fit_problem(model: str, frames: int, width: int, height: int) -> str | None:
    """Why `frames` frames of `width`x`height` do not fit preset `model` (None when they do)."""
    preset = PRESETS[model]
    rule = parse_rule(preset.frame_rule)
    wanted_w, wanted_h = preset.resolution
    if not fits(frames, rule):
        return f"{describe(rule)} (this shot has {frames})"
    if preset.fixed_size and (width, height) != (wanted_w, wanted_h):
        return f"{wanted_w}x{wanted_h} (this shot is {width}x{height})"
    if width % preset.side_multiple or height % preset.side_multiple:
        return f"sides that are multiples of {preset.side_multiple} (this shot is {width}x{height})"
    return None
