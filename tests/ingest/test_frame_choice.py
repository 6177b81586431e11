"""Ingest's frame choice: motion measurement, keyframe spacing, blur and cut detection."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from splatcine.errors import InputError, ReconstructionError
from splatcine.ingest import IngestSettings, ingest
from splatcine.ingest.blur import sharp_mask, sharpness
from splatcine.ingest.cuts import detect_cuts
from splatcine.ingest.motion import frame_motion, motion_gray, select_by_motion
from splatcine.io.video import write_image


def _texture(rng: np.random.Generator, h: int = 180, w: int = 320, tint=(1.0, 1.0, 1.0)) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.random((h, w)), 2.0)
    noise = (noise - noise.min()) / np.ptp(noise)
    return (np.stack([noise * t for t in tint], axis=2) * 255).astype(np.uint8)


def _pan(texture: np.ndarray, shifts: list[int], width: int = 256) -> list[np.ndarray]:
    return [np.ascontiguousarray(texture[:, s:s + width]) for s in shifts]


@pytest.mark.parametrize("shift", [0, 3, 7])
def test_frame_motion_measures_a_known_shift(rng, shift):
    a, b = _pan(_texture(rng, w=400), [20, 20 + shift])
    measured, _ = frame_motion(motion_gray(a), motion_gray(b), scale=1.0)
    assert measured == pytest.approx(shift, abs=0.3)  # sub-pixel peak fit on a smooth texture


def test_keyframes_are_spread_by_motion_not_by_index():
    motion = np.array([0.0] + [1.0] * 10 + [10.0] * 10)  # slow start, fast end
    keep = select_by_motion(motion, np.ones(21, bool), max_frames=6, min_step=1.0)
    travelled = np.concatenate([[0.0], np.cumsum(motion[1:])])[keep]
    steps = np.diff(travelled)
    assert keep[0] == 0 and keep[-1] == 20 and len(keep) == 6
    assert steps.max() <= 2.0 * steps.min()  # even in motion, while a stride would not be
    assert sum(k <= 10 for k in keep) == 1  # the slow half holds a tenth of the motion


def test_keyframes_skip_non_candidates_and_respect_min_step():
    motion = np.ones(30)
    candidates = np.ones(30, bool)
    candidates[[5, 6, 7]] = False
    keep = select_by_motion(motion, candidates, max_frames=100, min_step=4.0)
    assert not {5, 6, 7} & set(keep)
    assert len(keep) == 8  # 29 px of motion / 4 px per step, plus the first frame


def test_blurred_frames_are_found_relative_to_their_neighbours(rng):
    frames = _pan(_texture(rng, w=400), list(range(0, 60, 4)))
    frames[7] = ndimage.gaussian_filter(frames[7], (2.5, 2.5, 0))
    scores = np.array([sharpness(motion_gray(f)) for f in frames])
    assert list(np.flatnonzero(~sharp_mask(scores))) == [7]


def _coherence(frames: list[np.ndarray]) -> np.ndarray:
    grays = [motion_gray(f) for f in frames]
    return np.array([1.0] + [frame_motion(a, b)[1] for a, b in zip(grays[:-1], grays[1:])])


def test_hard_cut_is_found_and_smooth_motion_is_not_a_cut(rng):
    # the same texture seen from two places: a cut that colour histograms would not see
    texture = _texture(rng, w=800)
    first = _pan(texture, list(range(0, 60, 4)))
    second = _pan(texture, list(range(400, 440, 3)))
    coherence = _coherence(first + second)
    assert detect_cuts(coherence) == [len(first)]
    assert detect_cuts(coherence[: len(first)]) == []


def test_speeding_up_is_not_a_cut(rng):
    shifts = np.cumsum([0] + [2] * 8 + [9] * 8)  # a move that suddenly gets four times faster
    frames = _pan(_texture(rng, w=500), [int(s) for s in shifts])
    assert detect_cuts(_coherence(frames)) == []


def _write_folder(path, frames):
    path.mkdir()
    for i, frame in enumerate(frames):
        write_image(path / f"{i:04d}.png", frame)
    return path


def test_ingest_stops_at_cuts_and_takes_one_segment(tmp_path, rng):
    texture = _texture(rng, w=800)
    first = _pan(texture, list(range(0, 60, 4)))
    second = _pan(texture, list(range(400, 460, 4)))
    shot = _write_folder(tmp_path / "shot", first + second)
    with pytest.raises(ReconstructionError, match=r"1 hard cut\(s\), at frame\(s\) 15;.*--segment"):
        ingest(shot)
    second_only = ingest(shot, settings=IngestSettings(segment=1))
    assert min(second_only.source_frames) >= 15 and second_only.cuts == [15]
    first_only = ingest(shot, settings=IngestSettings(frame_range=(0, 15)))
    assert max(first_only.source_frames) < 15 and first_only.cuts == []


def test_ingest_refuses_a_static_camera(tmp_path, rng):
    still = _texture(rng)
    shot = _write_folder(tmp_path / "still", [still] * 10)
    with pytest.raises(ReconstructionError, match="does not translate: 0.0 degrees of parallax"):
        ingest(shot)


def test_ingest_keeps_masks_aligned_with_their_frames(tmp_path, rng):
    frames = _pan(_texture(rng, w=400), list(range(0, 60, 4)))
    shot = _write_folder(tmp_path / "shot", frames)
    masks = []
    for i in range(len(frames)):
        mask = np.zeros(frames[0].shape[:2], np.uint8)
        mask[:, i * 10:(i * 10) + 10] = 200  # any value >= 128 counts as "ignore"
        masks.append(mask)
    mask_dir = _write_folder(tmp_path / "masks", masks)
    got = ingest(shot, masks=mask_dir, settings=IngestSettings(max_frames=5))
    assert got.masks is not None and len(got.masks) == len(got.frames) == 5
    for source, mask in zip(got.source_frames, got.masks):
        cols = np.flatnonzero(mask.max(axis=0))
        assert set(np.unique(mask)) <= {0, 255}
        assert cols.min() == source * 10 and cols.max() == source * 10 + 9


def test_masks_must_match_the_frame_count(tmp_path, rng):
    frames = _pan(_texture(rng, w=400), list(range(0, 60, 4)))
    shot = _write_folder(tmp_path / "shot", frames)
    masks = _write_folder(tmp_path / "masks", [np.zeros(frames[0].shape[:2], np.uint8)] * (len(frames) - 1))
    with pytest.raises(InputError, match=r"masks: 14 masks for a shot of 15 frames"):
        ingest(shot, masks=masks)
