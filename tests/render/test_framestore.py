"""Maps streamed to `.npy` a frame at a time are ordinary NumPy files, read back a frame at a time."""

from __future__ import annotations

import numpy as np
import pytest

from splatcine.render.framestore import NpyFrames, NpyWriter, npz_writer


@pytest.mark.parametrize(("shape", "dtype"), [((5, 4, 6, 3), np.uint8), ((3, 7, 2), np.float16), ((4, 2, 2), np.bool_)])
def test_frames_written_one_by_one_load_whole_and_one_by_one(tmp_path, shape, dtype):
    data = (np.random.default_rng(0).random(shape) * 200).astype(dtype)
    with NpyWriter(tmp_path / "a.npy", shape, dtype) as writer:
        for frame in data:
            writer.append(frame)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), data)  # numpy's own reader
    frames = NpyFrames(tmp_path / "a.npy")
    assert (len(frames), frames.shape, frames.dtype) == (shape[0], shape, np.dtype(dtype))
    for i in (0, shape[0] - 1, -1):
        np.testing.assert_array_equal(frames[i], data[i])
    with pytest.raises(IndexError):
        frames[shape[0]]
    np.testing.assert_array_equal(np.asarray(frames), data)


def test_npz_member_streamed_loads_with_numpy_and_no_pickle(tmp_path):
    data = np.random.default_rng(1).random((3, 5, 4)).astype(np.float16)
    with npz_writer(tmp_path / "d.npz", "depth", data.shape, np.float16) as writer:
        for frame in data:
            writer.append(frame)
    with np.load(tmp_path / "d.npz", allow_pickle=False) as npz:
        assert npz.files == ["depth"]
        np.testing.assert_array_equal(npz["depth"], data)


def test_a_short_or_misshapen_stream_is_an_error_not_a_file_that_looks_whole(tmp_path):
    writer = NpyWriter(tmp_path / "b.npy", (3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="frame 0 is"):
        writer.append(np.zeros((2, 3), np.float32))
    writer.append(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="1 frames written of 3"):
        writer.close()
