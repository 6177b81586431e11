"""Bad path files end in one located InputError, never a traceback or a NaN camera."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from path_helpers import START, load_text

from splatcine.errors import InputError
from splatcine.paths.schema import MOVE_KEYS


def error_of(text: str, scene=None) -> str:
    with pytest.raises(InputError) as info:
        load_text(text, scene, name="cameras/bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_out_of_range_names_file_line_field_and_range():
    message = error_of("""\
        fps: 16
        keyframes:
          - time: 0
            position: [0, -4, 1]
            look_at: [0, 0, 0]
          - time: 1
            position: [1, -4, 1]
            look_at: [0, 0, 0]
          - time: 2
            position: [2, -4, 1]
            look_at: [0, 0, 0]
            fov: 190
        """)
    assert message == "cameras/bad.yaml:12 keyframes[2].fov: 190 is outside 1-170 degrees"


def test_unknown_keys_suggest_the_nearest_valid_key():
    message = error_of(START + "moves:\n  - dolly: 1\n    duraton: 2\n")
    assert message.startswith(
        "cameras/bad.yaml:4 moves[0].duraton: unknown key 'duraton'; did you mean 'duration'?"
    )
    assert "did you mean 'vfov'?" in error_of("vfv: 40\n" + START)
    assert "did you mean 'dolly_zoom'?" in error_of(
        START + "moves:\n  - dolly-zoom: 1\n    duration: 1\n"
    )
    assert "did you mean 'wan'?" in error_of("target: wann\n" + START)


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "start: {position: [0, 0, 0], look_at: [0, 0, 0]}\nduration: 1\n",
            "bad.yaml:1 start.look_at: look_at target equals",
        ),
        (
            "start: {position: [0, 0, 0], look_at: [0, 0, 1]}\nduration: 1\n",
            "bad.yaml:1 start.up: up vector is parallel",
        ),
        ("up: [0, 0, 0]\n" + START + "duration: 1\n", "bad.yaml:1 up: the up vector is zero"),
        (
            START + "moves:\n  - dolly: 1\n    duration: 0\n",
            "bad.yaml:4 moves[0].duration: 0 is outside above 0",
        ),
        (START + "moves:\n  - dolly: 1\n", "bad.yaml:3 moves[0]: needs a duration"),
        (START, "bad.yaml:1 the path has no length"),
        ("fps: .nan\n" + START, "bad.yaml:1 fps: nan is not a finite number"),
        ("fps: 16\nfps: 24\n" + START, "bad.yaml:2 fps: key given twice"),
        (
            "keyframes:\n  - {time: 1, position: [0, -4, 1], look_at: [0, 0, 0]}\n"
            "  - {time: 1, position: [1, -4, 1], look_at: [0, 0, 0]}\n",
            "bad.yaml:3 keyframes[1].time: 1 s must come after keyframes[0] ends at 1 s",
        ),
        ("start: {from_frame: 3}\nduration: 1\n", "bad.yaml:1 start.from_frame: needs a scene"),
        (
            "units: metres\n" + START + "duration: 1\n",
            "bad.yaml:1 units: metres need a scene with a metric scale",
        ),
        (
            "start: {position: [0, -4, 1], rotation: [0, 0, 0, 0]}\nduration: 1\n",
            "bad.yaml:1 start.rotation: is a zero quaternion",
        ),
        (
            "start: {position: [0, -4, 1]}\n",
            "bad.yaml:1 start: needs exactly one of look_at or rotation",
        ),
        (
            "start: {from_frame: 0, look_at: [0, 0, 0]}\n",
            "bad.yaml:1 start: from_frame takes the source camera's pose",
        ),
        (
            "start: {position: [0, -4, 1], rotation: [1, 0, 0, 0], up: [0, 0, 1]}\n",
            "bad.yaml:1 start: up only applies with look_at",
        ),
        (
            "start: {position: [0, -4], look_at: [0, 0, 0]}\n",
            "bad.yaml:1 start.position: has too few numbers",
        ),
        (
            "start: {position: [0, 1, 0], rotation: [1, 0, 0, 0]}\n"
            "moves:\n  - orbit: 90\n    duration: 1\n",
            "bad.yaml:3 moves[0].orbit: needs a pivot",
        ),
        (
            START + "moves:\n  - dolly_zoom: 5\n    duration: 1\n",
            "bad.yaml:3 moves[0].dolly_zoom.distance: 5 would reach the subject",
        ),
        (
            START + "moves:\n  - zoom: 100\n    duration: 1\n",
            "bad.yaml:3 moves[0]: the lens ends at",
        ),
        ("- a list\n", "cameras/bad.yaml: a camera path is a YAML mapping"),
        ("fps: [1,\n", "bad.yaml:2 YAML syntax error"),
        (START + "duration: 1\nframes: 10\n", "bad.yaml:1 give duration or frames, not both"),
    ],
)
def test_degenerate_and_malformed_input_is_a_clear_error(text, expected):
    assert expected in error_of(text)


def test_a_from_frame_the_scene_lacks_is_an_error(scene):
    message = error_of("start: {from_frame: 5}\nduration: 1\n", scene)
    assert message.startswith("cameras/bad.yaml:1 start.from_frame:")
    assert "no camera for source frame 5" in message and "0, 4, 8, 12, 16, 20" in message


def test_a_tracking_camera_that_runs_into_its_target_is_an_error():
    text = """\
        keyframes:
          - {time: 0, position: [-1, 0, 0], look_at: [0, 0, 0.1]}
          - {time: 1, position: [1, 0, 0], look_at: [0, 0, -0.1]}
          - {time: 2, position: [2, 0, 0], look_at: [0, 0, 0]}
        interpolation: {position: linear}
        fps: 2
        """
    assert "look_at" in error_of(text) or "equals" in error_of(text)


# Property tests ------------------------------------------------------------------------------

KEYS = [
    "fps",
    "duration",
    "frames",
    "resolution",
    "vfov",
    "focal_mm",
    "target",
    "units",
    "up",
    "interpolation",
    "start",
    "keyframes",
    "moves",
    "time",
    "position",
    "look_at",
    "rotation",
    "fov",
    "from_frame",
    "hold",
    "easing",
    "angle",
    "pivot",
    "factor",
    *MOVE_KEYS,
    "junk",
]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-10, max_value=10),
    st.integers(min_value=-200, max_value=200),
    st.sampled_from([0, 1, -1, 1e308, -1e308, 1e-300, 179.9, 0.5]),
)
SCALARS = st.one_of(
    NUMBERS,
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["wan", "ltx", "metres", "linear", "ease-in", "slerp", "4n+1"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


def assert_clean(text: str, scene=None) -> None:
    """Either a clean InputError or a finite, orthonormal path."""
    try:
        path = load_text(text, scene, name="fuzz.yaml")
    except InputError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert np.isfinite(path.cam_from_world).all()
    R = path.cam_from_world[:, :3, :3]
    assert np.allclose(
        R @ R.transpose(0, 2, 1), np.eye(3), atol=1e-6
    )  # rotations built from unit quaternions
    assert all(
        math.isfinite(k.fx) and 1.0 - 1e-9 <= k.vfov_deg <= 170.0 + 1e-9 for k in path.intrinsics
    )
    assert len(path.times) == len(path) and np.isfinite(path.times).all()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_random_documents_never_crash(doc):
    assert_clean(yaml.safe_dump(doc))


@FUZZ
@given(st.text(max_size=80))
def test_random_text_never_crashes(text):
    assert_clean(text)


TEMPLATE = textwrap.dedent("""\
    fps: {0}
    vfov: {1}
    keyframes:
      - {{time: 0, position: [{2}, -4, 1], look_at: [0, {3}, 0.5], fov: {4}}}
      - {{time: {5}, position: [1, {6}, 1], rotation: [0.574, {7}, 0, 0], hold: {8}}}
    moves:
      - {{dolly: {9}, pan: {10}, orbit: {{angle: {11}, pivot: [0, 0, 0.5]}}, duration: {12}}}
      - {{dolly_zoom: {13}, tilt: {14}, duration: 1}}
      - {{zoom: {15}, roll: {16}, crane: {17}, truck: {18}, pedestal: {19}, duration: 0.5}}
    """)


VALID = [10, 40, 0, 0, 45, 1, -4, -0.819, 0.5, 0.5, 10, 20, 1, -0.5, 5, 1.5, 5, 0.2, 0.1, 0.1]


@FUZZ
@given(st.dictionaries(st.integers(0, len(VALID) - 1), NUMBERS, max_size=3))
def test_random_numbers_in_a_valid_path_never_give_nan(changes):
    numbers = [changes.get(i, v) for i, v in enumerate(VALID)]
    assert_clean(TEMPLATE.format(*(yaml.safe_dump(n).split("\n")[0] for n in numbers)))


@FUZZ
@given(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4), st.sampled_from(["start", "moves"])
)
def test_random_fields_beside_a_scene_never_crash(scene, extra, where):
    doc = {"start": {"from_frame": 8}, "duration": 1}
    if where == "start":
        doc["start"].update(extra)
    else:
        doc["moves"] = [dict(extra, duration=1)]
    assert_clean(yaml.safe_dump(doc), scene)
