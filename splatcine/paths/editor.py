"""The camera-path editor's state: a path YAML document edited in place, with undo.

The state *is* the document, held as a ruamel.yaml round-trip tree, so the comments of an
opened file stay beside the keys they were written on, and saving writes the documented
language, not a dump of internal objects. After every edit the text is read back through
`splatcine.paths.loads`, the reader `splatcine path ...` uses: `Editor.path` is exactly what
`paths.load` of the saved file gives, and `Editor.error` is the CLI's own
`file:line field: message` line. An edit that makes the path invalid is kept (the user may
be half-way through a change) and the error is shown; `save` refuses while there is one.

    from splatcine.paths import Editor
    ed = Editor("shot2.yaml", scene="scene/")   # a new file when shot2.yaml does not exist
    ed.add_keyframe(position=[0, -3, 1], look_at=[0, 0, 0.5])
    ed.add_move("orbit", 30, duration=2)
    ed.set_target("ltx")
    ed.path.cam_from_world                     # [F, 4, 4] OpenCV, as `paths.load` would give
    ed.undo(); ed.save()

No viser and no torch here: the browser front end is `splatcine.viewer`, and the low-res
render for the unseen colouring and the preview video loads the renderer on first use.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from splatcine.atomic import atomic_file
from splatcine.errors import InputError, SplatcineError
from splatcine.paths import targets
from splatcine.paths.build import SampledPath
from splatcine.paths.schema import MOVE_KEYS
from splatcine.scene import Scene, load_scene

MOVES = (*MOVE_KEYS, "hold")  # what `add_move` takes: the film moves, and a hold
KEYFRAME_GAP = 1.0  # seconds between a new keyframe and the end of the one before
NEW_TARGET = "wan"  # a new file's target model
DIGITS_POSITION = 4  # decimals written for positions and look-at points (0.1 mm on a 1 m set)
DIGITS_ROTATION = 6  # decimals of a quaternion: about 1e-4 degrees
DIGITS_TIME = 3  # milliseconds
UNDO_DEPTH = 200


@dataclass(frozen=True)
class KeyframeCamera:
    """Where a keyframe puts the camera, as the sampled path passes through it."""

    index: int
    time: float  # seconds
    cam_from_world: np.ndarray  # [4, 4] OpenCV
    vfov: float  # degrees
    from_frame: int | None


@dataclass(frozen=True)
class QuickRender:
    """A low-resolution render of some frames of the path (for the page, not for a model)."""

    frames: np.ndarray  # [n] indices into the sampled path
    times: np.ndarray  # [n] seconds
    color: np.ndarray  # [n, h, w, 3] uint8
    unseen_fraction: np.ndarray  # [n] share of each frame the binary unseen mask covers


class Editor:
    """Keyframes, moves and target of one camera path, with undo/redo, validation and save."""

    def __init__(
        self,
        path_yaml: Path | str | None = None,
        scene: Scene | Path | str | None = None,
        *,
        text: str | None = None,
    ):
        """Open `path_yaml` (or `text`), or start a new path when neither exists."""
        self.file = Path(path_yaml) if path_yaml is not None else None
        self.scene = scene if scene is None or isinstance(scene, Scene) else load_scene(Path(scene))
        self._yaml = YAML()  # round trip: comments, key order and flow style survive
        self._yaml.indent(mapping=2, sequence=4, offset=2)
        self._yaml.width = 100
        if text is None and self.file is not None and self.file.exists():
            try:
                text = self.file.read_text()
            except (OSError, UnicodeDecodeError) as err:
                raise InputError(f"{self.file}: cannot read ({err})") from None
        self._doc = self._parse(text) if text is not None else self._new_document()
        self._undo: list[str] = []
        self._redo: list[str] = []
        self._saved_text: str | None = text
        self._gaussians = None  # loaded for the first quick render
        self.notices: list[str] = []  # what the last edit changed besides what was asked
        self._check()

    # ---- reading the state --------------------------------------------------------------

    @property
    def name(self) -> str:
        """How errors name the file (the CLI names it the same way)."""
        return str(self.file) if self.file is not None else "new-path.yaml"

    @property
    def text(self) -> str:
        """The YAML the editor would save."""
        out = io.StringIO()
        self._yaml.dump(self._doc, out)
        return out.getvalue()

    @property
    def path(self) -> SampledPath | None:
        """The sampled cameras, or None while the path is invalid (see `error`)."""
        return self._path

    @property
    def error(self) -> str | None:
        """The CLI's one-line message for the current text, or None when it is valid."""
        return self._error

    @property
    def dirty(self) -> bool:
        return self.text != self._saved_text

    @property
    def keyframes(self) -> list[dict[str, Any]]:
        """The keyframes as written (`start` counts as keyframe 0), as plain dicts."""
        return [_plain(k) for k in self._anchors()]

    @property
    def moves(self) -> list[dict[str, Any]]:
        return [_plain(m) for m in self._doc.get("moves") or []]

    @property
    def target(self) -> str:
        target = self._doc.get("target", "none")
        return str(target.get("model", "none") if isinstance(target, dict) else target)

    def target_rules(self, model: str | None = None) -> str:
        """The frame and size rules of a target, in words: "wan: 4n+1 frames, sides x16, ..."."""
        model = model or self.target
        preset = targets.PRESETS[model]
        width, height = preset.resolution
        return (f"{model}: {targets.describe(targets.parse_rule(preset.frame_rule))}, "
                f"sides a multiple of {preset.side_multiple}, "
                f"default {width}x{height} at {preset.fps:g} fps")  # fmt: skip

    def keyframe_cameras(self) -> list[KeyframeCamera]:
        """Each keyframe's camera on the current path (empty while the path is invalid)."""
        path = self._path
        if path is None:
            return []
        out = []
        for i, kf in enumerate(self._anchors()):
            time = float(kf.get("time") or 0.0)
            k = int(np.argmin(np.abs(path.key_times - time)))
            out.append(KeyframeCamera(i, time, path.key_cam_from_world[k], float(path.key_vfov[k]),
                                      kf.get("from_frame")))  # fmt: skip
        return out

    # ---- edits ----------------------------------------------------------------------------

    def add_keyframe(
        self,
        position: Sequence[float] | None = None,
        *,
        rotation: Sequence[float] | None = None,
        look_at: Sequence[float] | None = None,
        from_frame: int | None = None,
        time: float | None = None,
        fov: float | None = None,
    ) -> int:
        """Add a keyframe (a pose, or a source camera by `from_frame`); returns its index.

        `rotation` is world_from_cam [w, x, y, z] in OpenCV axes. Without `time` it comes
        `KEYFRAME_GAP` seconds after the last keyframe ends. A single `start` becomes
        keyframe 0 at time 0.
        """
        keyframe = CommentedMap()

        def edit() -> int:
            anchors = self._keyframe_list()
            if time is None:
                last = anchors[-1] if len(anchors) else None
                t = float(last.get("time") or 0.0) + float(last.get("hold") or 0.0) + KEYFRAME_GAP if last else 0.0
            else:
                t = float(time)
            keyframe["time"] = round(t, DIGITS_TIME)
            if from_frame is not None:
                keyframe["from_frame"] = int(from_frame)
            else:
                _set_pose(keyframe, position, rotation, look_at)
            if fov is not None:
                keyframe["fov"] = round(float(fov), 3)
            index = sum(1 for k in anchors if float(k.get("time") or 0.0) <= t)
            anchors.insert(index, keyframe)
            self._fit_duration()
            return index

        return self._edit(edit)

    def move_keyframe(
        self,
        index: int,
        position: Sequence[float],
        *,
        rotation: Sequence[float] | None = None,
        look_at: Sequence[float] | None = None,
    ) -> None:
        """Put keyframe `index` at a new pose (a `from_frame` keyframe becomes an explicit one)."""

        def edit() -> None:
            keyframe = self._anchor(index)
            for key in ("from_frame", "position", "rotation", "look_at", "up"):
                keyframe.pop(key, None)
            _set_pose(keyframe, position, rotation, look_at, at=_after_time(keyframe))

        self._edit(edit)

    def set_keyframe(self, index: int, **fields: Any) -> int:
        """Set `time`, `fov`, `easing`, `hold`, `up` (None removes the key); returns the new index.

        Keyframes are kept in time order, so a changed time may move the keyframe in the list.
        """
        _check_keys(fields, ("time", "fov", "easing", "hold", "up"), f"keyframes[{index}]")

        def edit() -> int:
            keyframe = self._anchor(index)
            for key, value in fields.items():
                _set(keyframe, key, _rounded(key, value))
            self._fit_duration()
            if "time" not in fields or "start" in self._doc:
                return index
            anchors = self._doc["keyframes"]
            order = sorted(range(len(anchors)), key=lambda i: float(anchors[i].get("time") or 0.0))
            if order != list(range(len(anchors))):  # sorted is stable: equal times keep their order
                anchors[:] = [anchors[i] for i in order]
            return order.index(index)

        return self._edit(edit)

    def delete_keyframe(self, index: int) -> None:
        def edit() -> None:
            self._anchor(index)  # raises for a bad index
            if "start" in self._doc:
                del self._doc["start"]
            else:
                del self._doc["keyframes"][index]

        self._edit(edit)

    def add_move(
        self,
        kind: str,
        value: float | dict[str, Any],
        *,
        duration: float = 2.0,
        easing: str | None = None,
        index: int | None = None,
    ) -> int:
        """Add a film move (`dolly`, `orbit`, ... with its amount or parameters) or a `hold`.

        The move plays after the keyframes and the moves before it; returns its index.
        """
        if kind not in MOVES:
            raise InputError(f"{kind!r} is not a move; one of {', '.join(MOVES)}")
        move = CommentedMap()
        if kind == "hold":
            move["hold"] = round(float(value), DIGITS_TIME)
        else:
            move[kind] = _flow(value) if isinstance(value, dict) else value
            move["duration"] = round(float(duration), DIGITS_TIME)
            if easing is not None:
                move["easing"] = easing

        def edit() -> int:
            if "moves" not in self._doc or self._doc["moves"] is None:
                self._doc["moves"] = CommentedSeq()
            moves = self._doc["moves"]
            at = len(moves) if index is None else index
            moves.insert(at, move)
            self._fit_duration()
            return at

        return self._edit(edit)

    def set_move(self, index: int, **fields: Any) -> None:
        """Set a move's fields: its amount (`orbit=45`, `zoom={"fov": 30}`), `duration`,
        `easing` or `hold`; None removes a key."""
        _check_keys(fields, (*MOVES, "duration", "easing"), f"moves[{index}]")

        def edit() -> None:
            move = self._move(index)
            for key, value in fields.items():
                _set(move, key, _flow(value) if isinstance(value, dict) else _rounded(key, value))
            self._fit_duration()

        self._edit(edit)

    def delete_move(self, index: int) -> None:
        def edit() -> None:
            self._move(index)
            del self._doc["moves"][index]
            if not self._doc["moves"]:
                del self._doc["moves"]

        self._edit(edit)

    def set_target(self, model: str) -> None:
        """Pick the video model; a written `frames` or `resolution` is moved to the nearest
        the model accepts (each change is listed in `notices`)."""
        if model not in targets.PRESETS:
            raise InputError(f"target {model!r} is not one of {', '.join(targets.PRESETS)}")

        def edit() -> None:
            _set(self._doc, "target", model, at=0)
            preset = targets.PRESETS[model]
            rule = targets.parse_rule(preset.frame_rule)
            frames = self._doc.get("frames")
            if isinstance(frames, int) and not targets.fits(frames, rule):
                self._doc["frames"] = targets.nearest_count(frames, rule)
                self.notices.append(f"frames {frames} -> {self._doc['frames']} ({targets.describe(rule)})")
            resolution = self._doc.get("resolution")
            if isinstance(resolution, list) and len(resolution) == 2:
                fitted = [targets.nearest_side(int(s), preset.side_multiple) for s in resolution]
                if fitted != list(resolution):
                    self._doc["resolution"] = _flow(fitted)
                    self.notices.append(f"resolution {resolution[0]}x{resolution[1]} -> {fitted[0]}x{fitted[1]} "
                                        f"(sides a multiple of {preset.side_multiple})")  # fmt: skip

        self._edit(edit)

    def set(self, key: str, value: Any) -> None:
        """Set a top-level field (`fps`, `duration`, `frames`, `resolution`, `vfov`, ...); None removes it."""
        self._edit(lambda: _set(self._doc, key, _rounded(key, value)))

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.text)
        self._doc = self._parse(self._undo.pop())
        self._check()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.text)
        self._doc = self._parse(self._redo.pop())
        self._check()
        return True

    def save(self, path_yaml: Path | str | None = None, *, overwrite: bool = False) -> Path:
        """Write the YAML (atomically) to `path_yaml` or the opened file; returns where.

        Refuses while the path is invalid, and will not replace a file other than the one
        the editor opened or saved before unless `overwrite`.
        """
        target = Path(path_yaml) if path_yaml is not None else self.file
        if target is None:
            raise InputError("save: give a file name (the editor was started without one)")
        if self._error is not None:
            raise InputError(f"not saved: {self._error}")
        ours = self.file is not None and target.resolve() == self.file.resolve()
        if target.exists() and not ours and not overwrite:
            raise InputError(f"{target}: already exists (save over it with overwrite)")
        text = self.text
        with atomic_file(target) as tmp:
            tmp.write_text(text)
        if not ours:  # the file is now the one being edited: errors name it
            self.file = target
            self._check()
        self._saved_text = text
        return target

    # ---- low-resolution renders (the page's unseen colouring and preview video) ----------

    def quick_render(self, max_side: int = 128, max_frames: int | None = 32,
                     path: SampledPath | None = None) -> QuickRender:  # fmt: skip
        """Render up to `max_frames` evenly spaced frames at `max_side` pixels on the longer side.

        Uses the render stage's public `render_cameras`, so colour and the unseen fraction are
        the ones `splatcine render` would give at that size. `path`: a path this editor gave
        before (a caller rendering in the background while edits go on); default the current one.
        """
        path = path if path is not None else self._require_path()
        if self.scene is None or self.scene.splat_path is None:
            raise InputError("a quick render needs a scene with a trained splat (splat.ply)")
        from splatcine.cameras import Camera
        from splatcine.render import render_cameras

        count = len(path) if max_frames is None else min(len(path), max_frames)
        frames = np.unique(np.round(np.linspace(0, len(path) - 1, count)).astype(int))
        scale = max_side / max(path.width, path.height)
        width, height = max(16, round(path.width * scale)), max(16, round(path.height * scale))
        cameras = [Camera(path.cam_from_world[i], path.intrinsics[i].resized(width, height)) for i in frames]
        shot = render_cameras(self.gaussians(), cameras, self.scene.cameras, fps=path.fps)
        return QuickRender(frames, path.times[frames], shot.color, shot.unseen_fraction)

    def write_preview(self, out: Path | str, max_side: int = 192) -> Path:
        """A low-resolution video of the whole path (every frame), for the page."""
        from splatcine.io.video import write_video

        render = self.quick_render(max_side=max_side - max_side % 2, max_frames=None)
        color = render.color[:, : render.color.shape[1] // 2 * 2, : render.color.shape[2] // 2 * 2]
        out = Path(out)
        with atomic_file(out) as tmp:
            write_video(tmp, color, fps=self._require_path().fps)
        return out

    def gaussians(self):
        """The scene's splat (loaded once)."""
        if self._gaussians is None:
            if self.scene is None or self.scene.splat_path is None:
                raise InputError("the scene has no splat.ply yet (run `splatcine train` first)")
            from splatcine.io.ply import read_gaussians_ply

            self._gaussians = read_gaussians_ply(self.scene.splat_path)
        return self._gaussians

    # ---- internals ------------------------------------------------------------------------

    def _edit(self, change: Callable[[], Any]) -> Any:
        """Apply one edit as one undo step, and validate the result."""
        before = self.text
        self.notices = []
        try:
            result = change()
        except SplatcineError:
            self._doc = self._parse(before)
            raise
        if self.text != before:
            self._undo = (self._undo + [before])[-UNDO_DEPTH:]
            self._redo.clear()
        self._check()
        return result

    def _check(self) -> None:
        from splatcine import paths

        try:
            self._path, self._error = paths.loads(self.text, self.scene, name=self.name), None
        except InputError as err:
            self._path, self._error = None, str(err)

    def _require_path(self) -> SampledPath:
        if self._path is None:
            raise InputError(self._error or "the path is invalid")
        return self._path

    def _parse(self, text: str) -> CommentedMap:
        try:
            doc = self._yaml.load(text)
        except Exception as err:  # ruamel raises many kinds; the reader names the line
            from splatcine import paths

            paths.loads(text, name=self.name)  # raises the CLI's message for the same text
            raise InputError(f"{self.name}: YAML error: {err}") from None
        if doc is None:
            return CommentedMap()
        if not isinstance(doc, CommentedMap):
            raise InputError(f"{self.name}: a camera path is a YAML mapping, not {type(doc).__name__}")
        return doc

    def _new_document(self) -> CommentedMap:
        doc = CommentedMap()
        doc["target"] = NEW_TARGET
        if self.scene is not None and self.scene.frames:  # start where the source shot starts
            first = CommentedMap(time=0.0, from_frame=self.scene.frames[0].source_frame)
            doc["keyframes"] = CommentedSeq([first])
        return doc

    def _anchors(self) -> list[CommentedMap]:
        if self._doc.get("start") is not None:
            return [self._doc["start"]]
        return list(self._doc.get("keyframes") or [])

    def _anchor(self, index: int) -> CommentedMap:
        anchors = self._anchors()
        if not 0 <= index < len(anchors):
            raise InputError(f"keyframes[{index}]: there are {len(anchors)} keyframes")
        return anchors[index]

    def _move(self, index: int) -> CommentedMap:
        moves = self._doc.get("moves") or []
        if not 0 <= index < len(moves):
            raise InputError(f"moves[{index}]: there are {len(moves)} moves")
        return moves[index]

    def _keyframe_list(self) -> CommentedSeq:
        """The `keyframes` list, turning a single `start` into keyframe 0 at time 0."""
        doc = self._doc
        if doc.get("start") is not None:
            start = doc["start"]
            if "time" not in start:
                start.insert(0, "time", 0.0)
            at = list(doc).index("start")
            del doc["start"]
            doc.insert(at, "keyframes", CommentedSeq([start]))
        elif doc.get("keyframes") is None:
            at = list(doc).index("moves") if "moves" in doc else len(doc)
            doc.pop("keyframes", None)
            doc.insert(at, "keyframes", CommentedSeq())
        return doc["keyframes"]

    def _fit_duration(self) -> None:
        """Lengthen a written `duration` that the keyframes and moves now outrun."""
        duration = self._doc.get("duration")
        if not isinstance(duration, (int, float)):
            return
        end = _timeline_end(self._anchors(), self._doc.get("moves") or [])
        if end > duration + 1e-9:
            self._doc["duration"] = round(end, DIGITS_TIME)
            self.notices.append(f"duration {duration:g} s -> {end:g} s to hold the whole path")


def _timeline_end(anchors: list, moves: list) -> float:
    end = 0.0
    if anchors:
        last = anchors[-1]
        end = float(last.get("time") or 0.0) + float(last.get("hold") or 0.0)
    for move in moves:
        seconds = move.get("hold") if move.get("hold") is not None else move.get("duration")
        end += float(seconds) if isinstance(seconds, (int, float)) else 0.0
    return end


def _set_pose(keyframe: CommentedMap, position, rotation, look_at, at: int | None = None) -> None:
    if position is None or (rotation is None) == (look_at is None):
        raise InputError("a keyframe needs a position with exactly one of rotation or look_at, or from_frame")
    items = [("position", _flow(np.round(np.asarray(position, float), DIGITS_POSITION)))]
    if rotation is not None:
        q = np.asarray(rotation, float)
        q = q / np.linalg.norm(q) * (1.0 if q[0] >= 0 else -1.0)  # one sign per rotation
        items.append(("rotation", _flow(np.round(q, DIGITS_ROTATION))))
    else:
        items.append(("look_at", _flow(np.round(np.asarray(look_at, float), DIGITS_POSITION))))
    at = len(keyframe) if at is None else at
    for offset, (key, value) in enumerate(items):
        keyframe.insert(at + offset, key, value)


def _after_time(keyframe: CommentedMap) -> int:
    return list(keyframe).index("time") + 1 if "time" in keyframe else 0


def _set(mapping: CommentedMap, key: str, value: Any, at: int | None = None) -> None:
    """Set or (for None) remove a key, keeping its place and comment when it exists."""
    if value is None:
        mapping.pop(key, None)
    elif key in mapping or at is None:
        mapping[key] = value
    else:
        mapping.insert(at, key, value)


def _rounded(key: str, value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return _flow([_rounded(key, v) for v in value])
    if isinstance(value, (float, np.floating)):
        value = round(float(value), DIGITS_TIME if key in ("time", "hold", "duration") else DIGITS_POSITION)
        return int(value) if value == int(value) and key in ("frames",) else value
    if isinstance(value, np.integer):
        return int(value)
    return value


def _flow(value: Any) -> Any:
    """A list as `[x, y, z]` and a mapping as `{angle: 30, ...}`, as the examples write them."""
    if isinstance(value, dict):
        out = CommentedMap((k, _flow(v)) for k, v in value.items())
        out.fa.set_flow_style()
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        out = CommentedSeq(_number(v) for v in value)
        out.fa.set_flow_style()
        return out
    return _number(value)


def _number(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return 0.0 if value == 0.0 else value  # no -0.0 in the file
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_keys(fields: dict[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in fields:
        if key not in allowed:
            raise InputError(f"{where}.{key}: not a field the editor sets ({', '.join(allowed)})")
