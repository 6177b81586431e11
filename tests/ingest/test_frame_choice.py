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
from splatcine.io.video import write_image, write_video


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


def test_keyframes_lean_towards_motion_but_keep_covering_time():
    motion = np.array([0.0] + [1.0] * 50 + [10.0] * 50)  # slow start, fast end
    keep = select_by_motion(motion, np.ones(101, bool), max_frames=20)
    assert keep[0] == 0 and keep[-1] == 100 and len(keep) == 20  # exactly max_frames, ends included
    slow = sum(k <= 50 for k in keep)
    assert 3 <= slow <= 8  # fewer than a stride's 10 (the slow half moves a tenth as much), never none
    assert max(np.diff(keep)) <= 101 // 20 * 2 + 1  # no stretch of the shot left without a keyframe


def test_a_move_the_motion_measure_misses_still_keeps_max_frames():
    # a forward dolly reads as almost no phase-correlation motion: the old spacing kept 6 of 300
    motion = np.full(300, 0.05)
    keep = select_by_motion(motion, np.ones(300, bool), max_frames=60)
    assert len(keep) == 60 and max(np.diff(keep)) <= 6  # a stride's coverage


def test_a_short_shot_keeps_every_candidate():
    motion = np.array([0.0, 0.1, 0.1, 30.0, 0.1, 0.1])
    candidates = np.array([True, True, False, True, True, True])
    assert select_by_motion(motion, candidates, max_frames=60) == [0, 1, 3, 4, 5]


def test_max_frames_is_an_upper_bound():
    keep = select_by_motion(np.ones(500), np.ones(500, bool), max_frames=7)
    assert len(keep) == 7 and len(set(keep)) == 7


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
    shot = tmp_path / "shot.mp4"  # a video: a folder of photos is a capture and has no cuts
    write_video(shot, first + second, fps=24)
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


def test_repeated_frames_are_dropped_and_are_not_cuts(tmp_path, rng):
    """Frame-rate conversion shows each frame three times: identical frames, then a jump. The old
    detector saw a cut at every jump (its neighbours, the repeats, were perfectly coherent)."""
    distinct = _pan(_texture(rng, w=900), list(range(0, 640, 32)))  # fast: 32 px per distinct frame
    frames = [f for f in distinct for _ in range(3)]
    shot = _write_folder(tmp_path / "x3", frames)
    video = tmp_path / "x3.mp4"
    write_video(video, frames, fps=24)
    got = ingest(video)
    assert got.cuts == [] and got.jumps == []
    assert len(got.source_frames) == len(distinct)  # one of each repeated triple
    assert len(got.duplicates) == 2 * len(distinct)
    assert len({tuple(f[::16, ::16].ravel()) for f in got.frames}) == len(distinct)
    assert ingest(shot).cuts == []


def test_a_photo_folder_has_no_cuts(tmp_path, rng):
    texture = _texture(rng, w=800)
    shot = _write_folder(tmp_path / "photos", _pan(texture, list(range(0, 60, 4))) + _pan(texture, [400, 404, 408]))
    got = ingest(shot)
    assert got.cuts == [] and got.is_folder and len(got.frames) == 18


def test_a_suspected_cut_is_kept_when_geometry_links_it(tmp_path, rng):
    texture = _texture(rng, w=800)
    frames = _pan(texture, list(range(0, 60, 4))) + _pan(texture, list(range(400, 460, 4)))
    video = tmp_path / "cut.mp4"
    write_video(video, frames, fps=24)
    seen = []

    def linked(a, b):  # stands in for `splatcine.sfm.is_geometric_cut`: "matches link them"
        seen.append((a.shape, b.shape))
        return False

    got = ingest(video, confirm_cut=linked)
    assert got.cuts == [] and got.jumps == [15] and len(seen) == 1
    with pytest.raises(ReconstructionError, match=r"1 hard cut\(s\), at frame\(s\) 15"):
        ingest(video, confirm_cut=lambda a, b: True)


def test_a_photo_folder_of_mixed_sizes_is_read(tmp_path, rng):
    texture = _texture(rng, h=300, w=800)
    frames = [texture[:180, :256], texture[:300, 100:300], texture[:180, 300:556]]
    got = ingest(_write_folder(tmp_path / "mixed", frames))
    assert [f.shape[:2] for f in got.frames] == [(180, 256), (300, 200), (180, 256)]
