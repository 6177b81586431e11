"""Video-model presets fit the frame count and image size to what each model accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from path_helpers import START, load_text

from splatcine.errors import InputError
from splatcine.paths import targets


def with_target(target: str, extra: str = "", duration: float = 3.0):
    return load_text(f"target: {target}\n{extra}\n{START}duration: {duration}\n")


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.05, max_value=20.0), st.sampled_from(["wan", "hunyuan", "ltx"]))
def test_derived_frame_counts_fit_the_rule_and_stay_near_the_duration(duration, model):
    path = with_target(model, duration=duration)
    step = {"wan": 4, "hunyuan": 4, "ltx": 8}[model]
    wanted = round(duration * path.fps) + 1
    assert (len(path) - 1) % step == 0 and len(path) > step  # kn+1, at least one step
    assert abs(len(path) - wanted) <= step / 2 or len(path) == step + 1
    assert path.times[0] == 0.0 and path.times[-1] == pytest.approx(duration)  # retimed, never cut


@pytest.mark.parametrize(
    "model,fps,size,multiple",
    [
        ("wan", 16, (832, 480), 16),
        ("hunyuan", 24, (1280, 720), 16),
        ("ltx", 24, (768, 512), 32),
        ("cogvideox", 8, (720, 480), 16),
    ],
)
def test_presets_give_their_defaults(model, fps, size, multiple):
    path = with_target(model)
    assert path.fps == fps and (path.width, path.height) == size
    assert path.width % multiple == 0 and path.height % multiple == 0


@pytest.mark.parametrize(
    "model,frames,size",
    [("voyager", 49, (768, 512)), ("gen3c", 121, (1280, 704)), ("cameractrl", 16, (384, 256)),
     ("recammaster", 81, (832, 480))],
)
def test_conditioning_model_presets_give_what_their_scripts_read(model, frames, size):
    path = with_target(model, duration=4)
    assert len(path) == frames and (path.width, path.height) == size
    assert targets.fit_problem(model, len(path), path.width, path.height) is None


def test_gen3c_takes_only_its_own_size_and_chunks_of_120_frames():
    with pytest.raises(InputError, match="does not fit target gen3c \\(it takes exactly 1280x704\\)"):
        with_target("gen3c", "resolution: [832, 480]")
    assert len(with_target("gen3c", duration=10)) == 241  # 10 s at 24 fps: the nearest 120n+1
    assert targets.fit_problem("gen3c", 121, 832, 480) == "1280x704 (this shot is 832x480)"
    assert targets.fit_problem("voyager", 81, 768, 512) == "49 frames (this shot has 81)"


def test_cogvideox_is_always_49_frames():
    assert len(with_target("cogvideox", duration=2)) == 49
    assert len(with_target("cogvideox", duration=30)) == 49


def test_explicit_values_that_do_not_fit_are_errors_with_the_nearest():
    with pytest.raises(
        InputError, match=r"frames: 50 does not fit target wan \(4n\+1 frames\); nearest is 49"
    ):
        load_text(f"target: wan\nframes: 50\n{START}")
    with pytest.raises(
        InputError, match=r"resolution: 1280x720 does not fit target ltx .*nearest is 1280x736"
    ):
        load_text(f"target: ltx\nresolution: [1280, 720]\n{START}duration: 1\n")


def test_a_preset_rule_can_be_overridden():
    path = load_text(
        "target: {model: cogvideox, frame_rule: 8n+1, side_multiple: 8}\n"
        f"frames: 81\nresolution: [1360, 768]\n{START}"
    )
    assert len(path) == 81 and (path.width, path.height) == (1360, 768) and path.fps == 8
    with pytest.raises(InputError, match="target.frame_rule: 'n\\+1x' is not a frame rule"):
        load_text(f"target: {{model: wan, frame_rule: n+1x}}\n{START}duration: 1\n")


def test_no_target_keeps_the_exact_count():
    path = load_text(f"fps: 10\n{START}duration: 1.3\n")
    assert len(path) == 14  # 13 intervals of 0.1 s
    assert path.times[1] == pytest.approx(0.1)


def test_rule_helpers():
    rule = targets.parse_rule("4n+1")
    assert [targets.nearest_count(n, rule) for n in (1, 5, 6, 7, 8, 50, 51)] == [
        5,
        5,
        5,
        9,
        9,
        49,
        53,
    ]
    assert targets.nearest_count(80, (0, 49)) == 49
    assert targets.nearest_side(721, 32) == 736 and targets.nearest_side(5, 16) == 16
