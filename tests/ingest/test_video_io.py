"""Video and image-folder reading and writing (splatcine.io.video) and its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from splatcine.errors import InputError
from splatcine.io.video import iter_frames, probe_video, read_frames, write_image, write_video


def _frames(n: int, rng: np.random.Generator, h: int = 48, w: int = 64) -> list[np.ndarray]:
    base = rng.integers(0, 255, (h // 8, w // 8, 3)).astype(np.uint8)
    big = np.kron(base, np.ones((8, 8, 1), np.uint8))  # blocky, so lossy codecs keep it
    return [np.roll(big, 2 * i, axis=1) for i in range(n)]


@pytest.mark.parametrize("suffix", [".mp4", ".gif", ".webm"])
def test_video_round_trip(tmp_path, rng, suffix):
    frames = _frames(6, rng)
    path = tmp_path / f"clip{suffix}"
    write_video(path, frames, fps=10)
    info = probe_video(path)
    back = read_frames(path)
    assert (info.width, info.height) == (64, 48)
    assert info.frame_count == 6 and len(back) == 6
    assert info.fps == pytest.approx(10, rel=0.05)  # gif stores a per-frame duration in ms
    # lossy codecs (x264, vp9, gif palette) blur block edges; the content must still match
    assert np.abs(back[3].astype(float) - frames[3]).mean() < 12


def test_image_folder_is_read_in_name_order(tmp_path, rng):
    frames = _frames(3, rng)
    for i, frame in enumerate(frames):
        write_image(tmp_path / f"f{i:03d}.png", frame)
    (tmp_path / "notes.txt").write_text("not a frame")
    back = read_frames(tmp_path)
    assert probe_video(tmp_path).frame_count == 3
    assert all(np.array_equal(a, b) for a, b in zip(back, frames))  # PNG is lossless


def _bad_input(kind: str, root):
    path = root / {"missing": "missing.mp4", "empty": "empty.mp4", "text": "text.mp4",
                   "corrupt": "junk.webm", "empty-folder": "frames"}[kind]
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello, not a video")
    elif kind == "corrupt":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "empty-folder":
        path.mkdir()
    return path


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", "no such file"),
        ("empty", "is empty"),
        ("text", "not a readable video"),
        ("corrupt", "not a readable video"),
        ("empty-folder", "no image files"),
    ],
)
def test_bad_inputs_give_one_line_errors_naming_the_file(tmp_path, kind, message):
    path = _bad_input(kind, tmp_path)
    with pytest.raises(InputError) as err:
        list(iter_frames(path))
    assert message in str(err.value)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
