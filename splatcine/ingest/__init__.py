"""Ingest: from a shot (video file or image folder) to the keyframes SfM will see.

A first pass over the shot decodes every frame (resized so the long side is at
most `max_image_size`), scores its sharpness, drops frames that repeat the one
before (frame-rate conversion shows frames twice or three times), and measures
the motion and coherence of each distinct frame with the last distinct one
(coherence finds cuts); a second pass decodes only the keyframes. Then: hard
cuts, where geometry confirms them, stop the run unless one segment is chosen
(a folder of photos is a capture and has none); blurred frames are dropped;
keyframes are every remaining frame of a short shot, or `max_frames` spread
along the shot by motion and time together. Masks (255 = ignore, see
`splatcine.scene.layout`) follow the frames they belong to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from splatcine.errors import InputError, NoParallaxError, ReconstructionError
from splatcine.ingest.blur import sharp_mask, sharpness
from splatcine.ingest.checks import check_frames, check_masks
from splatcine.ingest.cuts import detect_cuts, segments
from splatcine.ingest.motion import frame_motion, motion_gray, select_by_motion
from splatcine.ingest.alpha import alpha_png, check_alpha, composite
from splatcine.io.video import image_files, iter_frames, probe_video, read_image_alpha
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.scene.layout import MASK_IGNORE

STATIC_MOTION_PX = 2.0  # total image motion below this (full-res pixels) is a static camera
# A frame repeats the last distinct one when the mean absolute difference of their small grey
# copies (values 0-1) is under this. Measured: repeated frames after a re-encode differ by
# 0.0000-0.0001 (re10k_dupframes); consecutive distinct frames by at least 0.007 (a near-static
# 60 fps phone clip, cat_phone_static), 0.011 (a static generated gif), 0.04-0.1 (moving clips).
DUPLICATE_MAD = 0.003


@dataclass(frozen=True)
class IngestSettings:
    max_frames: int = 60  # keyframes handed to SfM at most
    max_image_size: int = 960  # long side of the frames kept, in pixels (larger inputs are resized)
    segment: int | None = None  # take this segment (0-based) of a shot with hard cuts
    frame_range: tuple[int, int | None] | None = None  # [start, stop) source frames to consider
    blur_relative: float = 0.4  # blurred: sharpness below this x the local median


# Confirms a suspected cut from the frames on either side of it (uint8 RGB [H, W, 3] each): True
# when geometry finds nothing that links them (`splatcine.sfm.is_geometric_cut`).
CutCheck = Callable[[np.ndarray, np.ndarray], bool]


@dataclass
class Ingested:
    """The keyframes of a shot, with where they came from and what was dropped."""

    frames: list[np.ndarray]  # kept frames, uint8 RGB [H, W, 3] (sizes may differ in a photo folder)
    source_frames: list[int]  # index in the source shot of each kept frame
    masks: list[np.ndarray] | None  # uint8 [H, W] per kept frame, 255 = ignore
    frames_read: int
    fps: float | None
    source_size: tuple[int, int]  # (width, height) of the shot before resizing (of its first frame)
    cuts: list[int] = field(default_factory=list)  # first frame of each new shot (source indices)
    blurred: list[int] = field(default_factory=list)  # dropped source frames
    motion_px: float = 0.0  # accumulated image motion over the frames considered (kept-size pixels)
    considered: tuple[int, int] = (0, 0)  # [start, stop) of the source frames considered
    duplicates: list[int] = field(default_factory=list)  # dropped: repeats of the frame before
    jumps: list[int] = field(default_factory=list)  # suspected cuts that geometry links across (kept)
    is_folder: bool = False  # a folder of images: a capture, not an edit (no cuts, any order)
    # uint8 [H, W] per kept frame (255 = opaque) when the folder's images have alpha; `frames`
    # are then composited on black (splatcine.ingest.alpha)
    alphas: list[np.ndarray] | None = None

    @property
    def size(self) -> tuple[int, int]:  # (width, height) of the first kept frame
        h, w = self.frames[0].shape[:2]
        return w, h


def ingest(
    shot: Path,
    *,
    masks: Path | None = None,
    settings: IngestSettings = IngestSettings(),
    progress: ProgressCallback = silent,
    confirm_cut: CutCheck | None = None,
) -> Ingested:
    """Read `shot`, find cuts, drop repeated and blurred frames and choose keyframes (module doc).

    A folder of images is a capture, not an edit: it has no cuts and its order is not a
    time line. A suspected cut in a video is refused only when `confirm_cut` (if given)
    agrees that nothing links the frames on either side; otherwise it is kept as a jump.
    """
    shot = Path(shot)
    info = probe_video(shot)
    folder = shot.is_dir()
    m = _measure(shot, settings.max_image_size, info.frame_count, progress, folder)
    check_frames(shot, list(m.scores), list(m.coherence))  # too few, blank or noise: said before SfM blames the camera
    n = len(m.scores)
    start, stop = _frame_range(shot, settings.frame_range, n)
    distinct = np.flatnonzero(m.distinct[start:stop]) + start
    suspected = [] if folder else [int(distinct[c]) for c in detect_cuts(m.coherence[distinct])]
    cuts, jumps = _confirm(shot, suspected, distinct, settings.max_image_size, confirm_cut)
    if cuts:
        start, stop = _pick_segment(shot, cuts, start, stop, settings.segment)
    elif settings.segment not in (None, 0):
        raise InputError(f"{shot}: --segment {settings.segment} given but the shot has no cuts")
    candidates = np.zeros(n, dtype=bool)
    candidates[start:stop] = m.distinct[start:stop]
    candidates[start] = True  # the first frame of a segment is never a repeat of the shot before
    sharp = sharp_mask(m.scores[candidates], settings.blur_relative)
    blurred = [int(i) for i in np.flatnonzero(candidates)[~sharp]]
    candidates[blurred] = False
    duplicates = [i for i in range(start, stop) if not m.distinct[i]]
    motion_arr = m.motion.copy()
    motion_arr[start] = 0.0
    total_motion = float(motion_arr[start + 1:stop].sum())
    if m.measured and total_motion < STATIC_MOTION_PX:
        raise NoParallaxError(
            f"{shot}: the camera does not translate: 0.0 degrees of parallax "
            f"(static shot, {total_motion:.1f} px of image motion over frames {start}-{stop - 1})"
        )
    keep = select_by_motion(motion_arr if m.measured else np.ones(n), candidates, settings.max_frames)
    mask_frames = _read_masks(masks, n, keep, m.sizes) if masks is not None else None
    if mask_frames is not None:
        check_masks(masks, mask_frames, MASK_IGNORE)
    wanted = set(keep)  # a second pass decodes only the keyframes: memory stays bounded on long shots
    frames, alphas = (_folder_keyframes(shot, keep, settings.max_image_size) if folder else
                      ([_fitted(f, settings.max_image_size) for i, f in enumerate(iter_frames(shot)) if i in wanted],
                       None))  # fmt: skip
    return Ingested(
        frames=frames,
        alphas=alphas,
        source_frames=keep,
        masks=mask_frames,
        frames_read=n,
        fps=info.fps,
        source_size=(info.width, info.height),
        cuts=cuts,
        blurred=blurred,
        motion_px=total_motion,
        considered=(start, stop),
        duplicates=duplicates,
        jumps=jumps,
        is_folder=folder,
    )


def _folder_keyframes(folder: Path, keep: list[int], max_size: int) -> tuple[list[np.ndarray], list | None]:
    """The kept images of a folder, composited on black where they have alpha, and their alphas."""
    files = image_files(folder)  # the order `iter_frames` reads them in
    frames, alphas = [], []
    for n, i in enumerate(keep):
        rgb, alpha = read_image_alpha(files[i])
        if n == 0:
            first, first_has_alpha = files[i].name, alpha is not None
        check_alpha(str(files[i]), alpha, first, first_has_alpha)
        frames.append(_fitted(rgb if alpha is None else composite(rgb, alpha), max_size))
        if alpha is not None:
            alphas.append(_fitted(alpha_png(alpha), max_size))
    return frames, alphas or None


@dataclass
class _Measures:
    motion: np.ndarray  # [N] image motion from the last distinct frame (kept-size pixels)
    coherence: np.ndarray  # [N] coherence with the last distinct frame (1 for the first)
    scores: np.ndarray  # [N] sharpness
    distinct: np.ndarray  # [N] bool: False for a repeat of the frame before
    sizes: list[tuple[int, int]]  # (height, width) of each resized frame
    measured: bool  # False: a folder of mixed sizes, where motion between images means nothing


def _measure(shot: Path, max_size: int, frame_count: int | None, progress: ProgressCallback,
             folder: bool) -> _Measures:
    """One decoding pass: per frame, sharpness, and motion, coherence and repetition against the
    last distinct frame (a repeated frame is compared with nothing: it adds no motion)."""
    motion, coherence, scores, distinct, sizes = [], [], [], [], []
    last = None  # small grey copy of the last distinct frame
    measured = True
    for i, frame in enumerate(iter_frames(shot)):
        frame = _fitted(frame, max_size)
        gray = motion_gray(frame)
        sizes.append(frame.shape[:2])
        if last is not None and gray.shape != last.shape:
            if not folder:
                raise InputError(f"{shot}: frame {i} has a different size from frame 0")
            measured = False  # photos of several sizes: no motion to measure between them
        if last is None or not measured:
            moved, coherent, repeat = 0.0, 1.0, False
        else:
            repeat = float(np.abs(gray - last).mean()) < DUPLICATE_MAD
            moved, coherent = (0.0, 1.0) if repeat else frame_motion(last, gray, scale=frame.shape[1] / gray.shape[1])
        motion.append(moved)
        coherence.append(coherent)
        distinct.append(not repeat)
        if not repeat:
            last = gray
        scores.append(sharpness(gray))
        progress(Progress("decode", i + 1, frame_count))
    return _Measures(np.array(motion), np.array(coherence), np.array(scores), np.array(distinct, bool), sizes,
                     measured)


def _confirm(shot: Path, suspected: list[int], distinct: np.ndarray, max_size: int,
             confirm_cut: CutCheck | None) -> tuple[list[int], list[int]]:
    """(cuts, jumps): the suspected cuts that `confirm_cut` confirms, and those it links across."""
    if not suspected or confirm_cut is None:
        return suspected, []
    before = {c: int(distinct[np.searchsorted(distinct, c) - 1]) for c in suspected}
    wanted = set(before.values()) | set(suspected)
    frames = {i: _fitted(f, max_size) for i, f in enumerate(iter_frames(shot)) if i in wanted}
    cuts = [c for c in suspected if confirm_cut(frames[before[c]], frames[c])]
    return cuts, [c for c in suspected if c not in cuts]


def _resize_scale(width: int, height: int, max_size: int) -> float:
    return min(1.0, max_size / max(width, height))


def _fitted(frame: np.ndarray, max_size: int) -> np.ndarray:
    """`frame` resized (never enlarged) so its long side is at most `max_size`."""
    return _resized(frame, _resize_scale(frame.shape[1], frame.shape[0], max_size))


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


def _read_masks(path: Path, n: int, keep: list[int], sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Masks of the kept frames from a mask video or folder, as uint8 {0, 255} at their frames' size."""
    wanted = set(keep)
    out: dict[int, np.ndarray] = {}
    count = 0
    for i, mask in enumerate(iter_frames(path)):
        count += 1
        if i in wanted:
            gray = mask.max(axis=2)
            shape = sizes[i]
            if gray.shape != shape:
                gray = _resized(gray, shape[0] / gray.shape[0], Image.NEAREST)
                if gray.shape != shape:
                    raise InputError(f"{path}: mask {i} has a different aspect ratio from the shot's frames")
            out[i] = np.where(gray >= 128, MASK_IGNORE, 0).astype(np.uint8)
    if count != n:
        raise InputError(f"{path}: {count} masks for a shot of {n} frames (one mask per frame is needed)")
    return [out[i] for i in keep]
