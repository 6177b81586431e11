"""Ingest: from a shot (video file or image folder) to the keyframes SfM will see.

A first pass over the shot decodes every frame (resized so the long side is at
most `max_image_size`), scores its sharpness, and measures its motion and
coherence with the previous frame (coherence finds cuts); a second pass decodes
only the keyframes. Then: hard cuts stop the run unless one segment
is chosen; blurred frames are dropped; keyframes are spread evenly along the
accumulated image motion and capped at `max_frames`. Masks (255 = ignore, see
`splatcine.scene.layout`) follow the frames they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from splatcine.errors import InputError, ReconstructionError
from splatcine.ingest.blur import sharp_mask, sharpness
from splatcine.ingest.checks import check_frames, check_masks
from splatcine.ingest.cuts import detect_cuts, segments
from splatcine.ingest.motion import frame_motion, motion_gray, select_by_motion
from splatcine.io.video import iter_frames, probe_video
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.scene.layout import MASK_IGNORE

STATIC_MOTION_PX = 2.0  # total image motion below this (full-res pixels) is a static camera


@dataclass(frozen=True)
class IngestSettings:
    max_frames: int = 60  # keyframes handed to SfM at most
    max_image_size: int = 960  # long side of the frames kept, in pixels (larger inputs are resized)
    segment: int | None = None  # take this segment (0-based) of a shot with hard cuts
    frame_range: tuple[int, int | None] | None = None  # [start, stop) source frames to consider
    min_step_fraction: float = 0.01  # keyframes at least this x image width of motion apart
    blur_relative: float = 0.4  # blurred: sharpness below this x the local median


@dataclass
class Ingested:
    """The keyframes of a shot, with where they came from and what was dropped."""

    frames: list[np.ndarray]  # kept frames, uint8 RGB [H, W, 3]
    source_frames: list[int]  # index in the source shot of each kept frame
    masks: list[np.ndarray] | None  # uint8 [H, W] per kept frame, 255 = ignore
    frames_read: int
    fps: float | None
    source_size: tuple[int, int]  # (width, height) of the shot before resizing
    cuts: list[int] = field(default_factory=list)  # first frame of each new shot (source indices)
    blurred: list[int] = field(default_factory=list)  # dropped source frames
    motion_px: float = 0.0  # accumulated image motion over the frames considered (kept-size pixels)
    considered: tuple[int, int] = (0, 0)  # [start, stop) of the source frames considered

    @property
    def size(self) -> tuple[int, int]:  # (width, height) of the kept frames
        h, w = self.frames[0].shape[:2]
        return w, h


def ingest(
    shot: Path,
    *,
    masks: Path | None = None,
    settings: IngestSettings = IngestSettings(),
    progress: ProgressCallback = silent,
) -> Ingested:
    """Read `shot`, find cuts, drop blurred frames and choose keyframes (see the module doc)."""
    shot = Path(shot)
    info = probe_video(shot)
    scale = _resize_scale(info.width, info.height, settings.max_image_size)
    motion, coherence, scores, size = _measure(shot, scale, info.frame_count, progress)
    check_frames(shot, scores, coherence)  # too few, blank or noise: said before SfM blames the camera
    n = len(scores)
    start, stop = _frame_range(shot, settings.frame_range, n)
    cuts = [start + c for c in detect_cuts(np.array(coherence[start:stop]))]
    if cuts:
        start, stop = _pick_segment(shot, cuts, start, stop, settings.segment)
    elif settings.segment not in (None, 0):
        raise InputError(f"{shot}: --segment {settings.segment} given but the shot has no cuts")
    candidates = np.zeros(n, dtype=bool)
    candidates[start:stop] = sharp_mask(np.array(scores[start:stop]), settings.blur_relative)
    blurred = [i for i in range(start, stop) if not candidates[i]]
    motion_arr = np.array(motion)
    motion_arr[start] = 0.0
    total_motion = float(motion_arr[start + 1:stop].sum())
    if total_motion < STATIC_MOTION_PX:
        raise ReconstructionError(
            f"{shot}: the camera does not translate: 0.0 degrees of parallax "
            f"(static shot, {total_motion:.1f} px of image motion over frames {start}-{stop - 1})"
        )
    keep = select_by_motion(motion_arr, candidates, settings.max_frames, settings.min_step_fraction * size[0])
    mask_frames = _read_masks(masks, n, (size[1], size[0]), keep) if masks is not None else None
    if mask_frames is not None:
        check_masks(masks, mask_frames, MASK_IGNORE)
    wanted = set(keep)  # a second pass decodes only the keyframes: memory stays bounded on long shots
    return Ingested(
        frames=[_resized(f, scale) for i, f in enumerate(iter_frames(shot)) if i in wanted],
        source_frames=keep,
        masks=mask_frames,
        frames_read=n,
        fps=info.fps,
        source_size=(info.width, info.height),
        cuts=cuts,
        blurred=blurred,
        motion_px=total_motion,
        considered=(start, stop),
    )


def _measure(shot: Path, scale: float, frame_count: int | None, progress: ProgressCallback):
    """One decoding pass: per frame, motion and coherence with the previous one, and sharpness;
    and the (width, height) of the resized frames."""
    motion, coherence, scores = [0.0], [1.0], []
    prev = None
    for i, frame in enumerate(iter_frames(shot)):
        frame = _resized(frame, scale)
        gray = motion_gray(frame)
        if prev is not None:
            if gray.shape != prev.shape:
                raise InputError(f"{shot}: frame {i} has a different size from frame 0")
            moved, coherent = frame_motion(prev, gray, scale=frame.shape[1] / gray.shape[1])
            motion.append(moved)
            coherence.append(coherent)
        else:
            size = (frame.shape[1], frame.shape[0])
        prev = gray
        scores.append(sharpness(gray))
        progress(Progress("decode", i + 1, frame_count))
    return motion, coherence, scores, size


def _resize_scale(width: int, height: int, max_size: int) -> float:
    return min(1.0, max_size / max(width, height))


def _resized(frame: np.ndarray, scale: float, resample=Image.LANCZOS) -> np.ndarray:
    if scale >= 1.0:
        return frame
    h, w = frame.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(frame).resize(size, resample))


def _frame_range(shot: Path, frame_range, n: int) -> tuple[int, int]:
    if frame_range is None:
        return 0, n
    start, stop = frame_range
    stop = n if stop is None else min(stop, n)
    if not 0 <= start < stop:
        raise InputError(f"{shot}: --frames {start}:{stop} is empty (the shot has {n} frames)")
    return start, stop


def _pick_segment(shot: Path, cuts: list[int], start: int, stop: int, segment: int | None):
    parts = [(a + start, b + start) for a, b in segments(stop - start, [c - start for c in cuts])]
    listing = ", ".join(str(c) for c in cuts)
    if segment is None:
        raise ReconstructionError(
            f"{shot}: the shot has {len(cuts)} hard cut(s), at frame(s) {listing}; one set of cameras "
            f"cannot span them: pass --segment K (0-{len(parts) - 1}) or --frames A:B to take one shot"
        )
    if not 0 <= segment < len(parts):
        raise InputError(f"{shot}: --segment {segment} is out of range (0-{len(parts) - 1}; cuts at {listing})")
    return parts[segment]


def _read_masks(path: Path, n: int, shape: tuple[int, int], keep: list[int]) -> list[np.ndarray]:
    """Masks of the kept frames from a mask video or folder, as uint8 {0, 255} at the frames' size."""
    wanted = set(keep)
    out: dict[int, np.ndarray] = {}
    count = 0
    for i, mask in enumerate(iter_frames(path)):
        count += 1
        if i in wanted:
            gray = mask.max(axis=2)
            if gray.shape != shape:
                gray = _resized(gray, shape[0] / gray.shape[0], Image.NEAREST)
                if gray.shape != shape:
                    raise InputError(f"{path}: mask {i} has a different aspect ratio from the shot's frames")
            out[i] = np.where(gray >= 128, MASK_IGNORE, 0).astype(np.uint8)
    if count != n:
        raise InputError(f"{path}: {count} masks for a shot of {n} frames (one mask per frame is needed)")
    return [out[i] for i in keep]
