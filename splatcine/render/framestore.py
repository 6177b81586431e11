"""Per-frame maps on disk as standard `.npy` files, written and read one frame at a time.

A shot's maps (`maps/color.npy` [F, H, W, 3], ...) are ordinary NumPy files that
`np.load` opens whole; splatcine writes them frame by frame (`NpyWriter`: the header with
the final shape, then each frame's bytes appended) and reads single frames back
(`NpyFrames[i]`: a seek and one read), so a render's memory does not grow with its length.
No memory map is kept: pages of a map would stay resident for as long as it is mapped.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np


class NpyWriter:
    """Write an array [F, ...] of `dtype` frame by frame, in order, to a path or an open binary file
    (e.g. a member of a zip opened with `ZipFile.open(name, "w")`, which makes an `.npz`)."""

    def __init__(self, file: Path | BinaryIO, shape: tuple[int, ...], dtype: np.dtype | str):
        self.name = Path(file).name if isinstance(file, (str, Path)) else getattr(file, "name", "array")
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._file: BinaryIO = open(file, "wb") if isinstance(file, (str, Path)) else file
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self._file, header)
        self._written = 0

    def append(self, frame: np.ndarray) -> None:
        if frame.shape != self.shape[1:]:
            raise ValueError(f"{self.name}: frame {self._written} is {frame.shape}, expected {self.shape[1:]}")
        self._file.write(np.ascontiguousarray(frame, dtype=self.dtype).tobytes())
        self._written += 1

    def close(self) -> None:
        self._file.close()
        if self._written != self.shape[0]:
            raise ValueError(f"{self.name}: {self._written} frames written of {self.shape[0]}")

    def __enter__(self) -> "NpyWriter":
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()


@contextlib.contextmanager
def npz_writer(path: Path, key: str, shape: tuple[int, ...], dtype) -> Iterator[NpyWriter]:
    """An `.npz` (deflate-compressed, like `np.savez_compressed`) holding one array `key`, written
    frame by frame; `np.load(path)[key]` reads it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with NpyWriter(archive.open(f"{key}.npy", "w", force_zip64=True), shape, dtype) as writer:
            yield writer


class NpyFrames:
    """Frames of a `.npy` array [F, ...] read one at a time (`frames[i]` is a fresh array)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(version, np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
            self._offset = f.tell()
        if fortran or not shape:
            raise ValueError(f"{self.path}: not a C-ordered frame array")
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._frame_items = int(np.prod(self.shape[1:], dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, i: int) -> np.ndarray:
        if not isinstance(i, (int, np.integer)):
            raise TypeError("NpyFrames reads one frame at a time: index with an int (np.load reads all)")
        i = int(i) + (self.shape[0] if i < 0 else 0)
        if not 0 <= i < self.shape[0]:
            raise IndexError(f"frame {i} of {self.shape[0]}")
        with open(self.path, "rb") as f:
            f.seek(self._offset + i * self._frame_items * self.dtype.itemsize)
            return np.fromfile(f, dtype=self.dtype, count=self._frame_items).reshape(self.shape[1:])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        data = np.load(self.path)
        return data if dtype is None else data.astype(dtype)
