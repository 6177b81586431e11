"""Images and videos: the only module that imports imageio.

A *shot* is a video file (mp4, mov, webm, mkv, avi, gif) or a folder of images
(sorted by name, one frame each). Frames come back as uint8 RGB [H, W, 3].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from splatcine.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class VideoInfo:
    """What a shot holds, as far as it can be told without decoding every frame."""

    frame_count: int | None  # None when the container does not say (some streams)
    fps: float | None  # None for image folders and stills
    width: int
    height: int


def read_image(path: Path) -> np.ndarray:
    """An image as uint8 [H, W, 3] (RGB) or [H, W] for single-channel files (alpha left out:
    `read_image_alpha` keeps it)."""
    img = _imread(path)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img


def read_image_alpha(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """An image as uint8 RGB [H, W, 3] and its alpha channel as float32 [H, W] in [0, 1]
    (None when the file has none). The colour is as stored: straight, not composited."""
    img = _imread(path)
    alpha = None
    if img.ndim == 3 and img.shape[2] in (2, 4):  # grey + alpha, RGB + alpha
        a = img[..., -1]
        alpha = a.astype(np.float32) / (np.iinfo(a.dtype).max if a.dtype.kind == "u" else 1.0)
        img = img[..., :-1] if img.shape[2] == 4 else img[..., 0]
    return _rgb(img), alpha


def _imread(path: Path) -> np.ndarray:
    try:
        return iio.imread(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as err:  # imageio raises many types for a bad file
        raise InputError(f"{path}: not a readable image ({type(err).__name__})") from None


# zlib level of the PNGs splatcine writes. Pillow's default, 6, took 116-168 ms a frame for
# 832x480 renders and conditioning frames; 3 takes 42-78 ms for files 5-9% larger, and 1 saves
# little more for 13% (measured on a rendered 121-frame shot, 2026-11-30). A render spent as
# long writing its PNGs as rendering.
PNG_COMPRESS_LEVEL = 3


def write_image(path: Path, image: np.ndarray) -> None:
    """Write uint8 or uint16 [H, W] / [H, W, 3] as PNG (or the format the suffix names)."""
    if Path(path).suffix.lower() == ".png":
        iio.imwrite(path, image, compress_level=PNG_COMPRESS_LEVEL)
    else:
        iio.imwrite(path, image)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    props = iio.improps(path)
    h, w = props.shape[:2]
    return int(w), int(h)


def image_files(folder: Path) -> list[Path]:
    """The image files of a folder, sorted by name (the frame order of an image-folder shot)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def probe_video(path: Path) -> VideoInfo:
    """Frame count, fps and size of a video file or image folder; InputError when unreadable."""
    path = _existing(path)
    if path.is_dir():
        files = _folder_frames(path)
        w, h = image_size(files[0])
        return VideoInfo(len(files), None, w, h)
    try:
        meta = iio.immeta(path)
        props = iio.improps(path)
    except Exception as err:
        raise InputError(f"{path}: not a readable video ({type(err).__name__})") from None
    h, w = props.shape[-3:-1] if len(props.shape) >= 3 else props.shape[:2]
    count = props.n_images if props.n_images is not None else None
    fps = meta.get("fps")
    if count is None or not math.isfinite(count):  # ffmpeg streams: count from duration
        duration = meta.get("duration")
        count = round(duration * fps) if duration and fps else None
    if fps is None and meta.get("duration"):  # gif: duration is per frame, in ms
        fps = 1000.0 / float(meta["duration"])
    return VideoInfo(None if count is None else int(count), fps, int(w), int(h))


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """Every frame of a video file or image folder, in order, as uint8 RGB [H, W, 3].

    Raises InputError naming the file when it is missing, not a video, or has no frames.
    """
    path = _existing(path)
    if path.is_dir():
        for file in _folder_frames(path):
            yield _rgb(read_image(file))
        return
    count = 0
    try:
        for frame in iio.imiter(path):
            count += 1
            yield _rgb(frame)
    except InputError:
        raise
    except Exception as err:  # ffmpeg / pillow errors for corrupt or non-video files
        where = f" after {count} frames" if count else ""
        raise InputError(f"{path}: not a readable video{where} ({type(err).__name__})") from None
    if count == 0:
        raise InputError(f"{path}: the video has no frames")


def read_frames(path: Path) -> list[np.ndarray]:
    """All frames of a shot (see `iter_frames`)."""
    return list(iter_frames(path))


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 24.0) -> None:
    """Write uint8 RGB frames [H, W, 3] as a video: H.264 (VP9 for .webm), or an animated gif.

    Frames are piped to ffmpeg as they come, so a generator keeps one frame in memory."""
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write")
    path = Path(path)
    if path.suffix.lower() == ".gif":
        stacked = np.stack([np.asarray(first, dtype=np.uint8), *(np.asarray(f, dtype=np.uint8) for f in frames)])
        iio.imwrite(path, stacked, duration=1000.0 / fps, loop=0)
        return
    codec = "libvpx-vp9" if path.suffix.lower() == ".webm" else "libx264"
    import imageio.v2 as iio2

    # x264's default `medium` preset. `veryfast` encoded a 121-frame 832x480 render in 1.7 s
    # instead of 4.4 s at nearly the same mean error (2.40 against 2.34 grey levels), but SfM on
    # its frames placed a procedural third shot 2x further off (tests/check/test_extend.py,
    # 0.016 against a 0.008 bar): the detail it drops is what features are made of.
    with iio2.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec=codec, macro_block_size=1, quality=9,
                         pixelformat="yuv420p" if _even(first) else "yuv444p") as writer:  # fmt: skip
        writer.append_data(np.asarray(first, dtype=np.uint8))
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8))


def _even(frame: np.ndarray) -> bool:
    return frame.shape[0] % 2 == 0 and frame.shape[1] % 2 == 0


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{path}: a single image is not a shot (give a video or a folder of frames)")
    return path


def _folder_frames(folder: Path) -> list[Path]:
    files = image_files(folder)
    if not files:
        raise InputError(f"{folder}: the folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _rgb(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        scale = 255.0 / np.iinfo(frame.dtype).max if frame.dtype.kind == "u" else 255.0
        frame = np.clip(frame.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    return np.ascontiguousarray(frame[..., :3])
