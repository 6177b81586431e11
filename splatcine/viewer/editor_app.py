"""The camera-path editor in the browser: a viser page over a `splatcine.paths.Editor`.

Every button calls one `Editor` method and redraws; the page holds no path state of its
own, so what it shows is what `Editor.text` would save. Errors (the CLI's own
`file:line field: message`) appear in the panel. The low-resolution render that colours
the path by its unseen share runs in a background thread after each valid edit.
"""

from __future__ import annotations

import base64
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import viser

from splatcine.cameras import invert_rigid
from splatcine.errors import SplatcineError
from splatcine.paths import Editor, targets
from splatcine.paths.editor import MOVES
from splatcine.viewer import drawing

EASINGS = ("linear", "ease-in", "ease-out", "ease-in-out")
MAX_SOURCE_FRUSTUMS = 80  # more source cameras than this are thinned evenly (the page stays light)
COLOUR_RENDER = {"max_side": 64, "max_frames": 16}  # the quick render behind the path's colours
PREVIEW_SIDE = 160  # the preview video's longer side, pixels
OVERVIEW_DISTANCE = 0.4  # a new page's camera steps back this share of the source cameras' spread


class EditorApp:
    """Serve `editor` on http://host:port until `stop()`."""

    def __init__(self, editor: Editor, *, host: str = "127.0.0.1", port: int = 8080):
        self.editor = editor
        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.server.gui.configure_theme(control_width="medium", show_share_button=False)
        self._lock = threading.RLock()  # viser calls back from a thread pool
        self._selected = 0
        self._version = 0  # bumps on every edit; a quick render for an older one is dropped
        self._unseen: tuple[int, np.ndarray] | None = None  # (version, [F] unseen share)
        self._path_nodes: list = []  # what `_draw_path` drew last
        self._stopping, self._wake = False, threading.Event()
        self._worker = threading.Thread(target=self._unseen_worker, name="splatcine-unseen", daemon=True)
        self._worker.start()
        path = editor.path
        self._up = path.up if path is not None else np.array([0.0, 0.0, 1.0])
        self.server.scene.set_up_direction(tuple(self._up))
        self._draw_set()
        self._build_panel()
        self.server.on_client_connect(self._on_connect)
        self._refresh()

    @property
    def url(self) -> str:
        return f"http://{self.server.get_host()}:{self.server.get_port()}"

    def stop(self) -> None:
        """Stop serving; waits for a quick render in progress (seconds at most)."""
        self._stopping = True
        self._wake.set()
        self._worker.join()
        self.server.stop()

    # ---- the set ------------------------------------------------------------------------

    def _draw_set(self) -> None:
        scene, ed = self.server.scene, self.editor
        if ed.scene is not None and ed.scene.splat_path is not None:
            self._splat = scene.add_gaussian_splats("/set/splat", **drawing.splat_arrays(ed.gaussians()))
        else:
            self._splat = None
        frames = ed.scene.frames if ed.scene is not None else []
        centres = np.array([f.camera.center for f in frames]) if frames else np.zeros((0, 3))
        self._scale = drawing.camera_size(centres)
        self._extent = float(np.linalg.norm(np.ptp(centres, axis=0))) if len(centres) > 1 else 1.0
        if ed.scene is not None and len(ed.scene.points):
            self._points = scene.add_point_cloud("/set/points", points=ed.scene.points.astype(np.float32),
                                                 colors=ed.scene.point_colors, point_size=0.01 * self._scale / 0.15,
                                                 visible=False)  # fmt: skip
        else:
            self._points = None
        step = max(1, -(-len(frames) // MAX_SOURCE_FRUSTUMS))
        for frame in frames[::step]:
            k = frame.camera.intrinsics
            handle = drawing.add_frustum(scene, f"/set/sources/{frame.source_frame}", frame.camera.cam_from_world,
                                         k.vfov_deg, k.width / k.height, self._scale * 0.7, drawing.SOURCE_RGB)  # fmt: skip
            handle.on_click(lambda event, frame=frame: self._look_through(event.client, frame))

    def _look_through(self, client: viser.ClientHandle | None, frame) -> None:
        """Clicking a source camera: the browser looks through it, ready for a from_frame keyframe."""
        self._from_frame.value = frame.source_frame
        self._fly(client, frame.camera.cam_from_world, frame.camera.intrinsics.vfov_deg)

    # ---- the panel ----------------------------------------------------------------------

    def _build_panel(self) -> None:
        gui, ed = self.server.gui, self.editor
        self._status = gui.add_markdown("")
        self._error = gui.add_html("")
        with gui.add_folder("File"):
            self._file = gui.add_text("Save as", initial_value=str(ed.file or "next-shot.yaml"))
            gui.add_button("Save", icon=viser.Icon.DEVICE_FLOPPY).on_click(self._guard(lambda _: self._save()))
            gui.add_button("Undo", icon=viser.Icon.ARROW_BACK_UP).on_click(self._guard(lambda _: ed.undo()))
            gui.add_button("Redo", icon=viser.Icon.ARROW_FORWARD_UP).on_click(self._guard(lambda _: ed.redo()))
        with gui.add_folder("Target model"):
            self._target = gui.add_dropdown("Model", tuple(targets.PRESETS), initial_value=ed.target
                                            if ed.target in targets.PRESETS else "none")  # fmt: skip
            self._rules = gui.add_markdown("")
            self._target.on_update(self._guard(lambda _: ed.set_target(self._target.value)
                                               if self._target.value != ed.target else None))  # fmt: skip
        with gui.add_folder("Keyframes"):
            self._add_view = gui.add_button("Add keyframe from view", icon=viser.Icon.CAMERA_PLUS)
            self._add_view.on_click(self._guard(self._add_from_view))
            self._from_frame = gui.add_number("Source frame", initial_value=self._first_source(), step=1)
            gui.add_button("Add keyframe from source frame").on_click(
                self._guard(lambda _: self._select(ed.add_keyframe(from_frame=int(self._from_frame.value)))))
            self._key = gui.add_dropdown("Keyframe", ("0",))
            self._key.on_update(lambda _: self._select(int(self._key.value)) if self._key.value.isdigit() else None)
            self._key_time = gui.add_number("Time (s)", initial_value=0.0, min=0.0, step=0.05)
            self._key_fov = gui.add_number("FOV (deg, 0 = lens)", initial_value=0.0, min=0.0, max=170.0, step=0.5)
            self._key_easing = gui.add_dropdown("Easing in", EASINGS, initial_value="linear")
            self._key_hold = gui.add_number("Hold (s)", initial_value=0.0, min=0.0, step=0.1)
            gui.add_button("Apply to keyframe").on_click(self._guard(self._apply_keyframe))
            gui.add_button("Move keyframe to view").on_click(self._guard(self._move_to_view))
            gui.add_button("Delete keyframe", color="red").on_click(
                self._guard(lambda _: ed.delete_keyframe(self._selected)))
        with gui.add_folder("Moves"):
            self._move_kind = gui.add_dropdown("Move", MOVES, initial_value="dolly")
            self._move_amount = gui.add_number("Amount (units, deg, x)", initial_value=0.5, step=0.05)
            self._move_duration = gui.add_number("Duration (s)", initial_value=2.0, min=0.05, step=0.1)
            self._move_easing = gui.add_dropdown("Easing", EASINGS, initial_value="ease-in-out")
            gui.add_button("Add move").on_click(self._guard(self._add_move))
            self._moves = gui.add_markdown("")
            self._move_pick = gui.add_dropdown("Move to delete", ("-",))
            gui.add_button("Delete move", color="red").on_click(self._guard(
                lambda _: ed.delete_move(int(self._move_pick.value)) if self._move_pick.value.isdigit() else None))
        with gui.add_folder("Timeline"):
            self._time = gui.add_slider("Play head (s)", min=0.0, max=1.0, step=0.01, initial_value=0.0)
            self._time.on_update(lambda e: self._scrub(e.client))
            gui.add_button("Render preview").on_click(self._guard(self._preview))
            self._video = gui.add_html("")
        with gui.add_folder("Show"):
            self._show_splat = gui.add_checkbox("Splat", initial_value=True)
            self._show_splat.on_update(lambda _: self._set_visible(self._splat, self._show_splat.value))
            self._show_points = gui.add_checkbox("Sparse points", initial_value=False)
            self._show_points.on_update(lambda _: self._set_visible(self._points, self._show_points.value))

    def _guard(self, action: Callable) -> Callable:
        """Run a panel action as one edit: errors go to the page, the drawing is refreshed."""

        def run(event) -> None:
            with self._lock:
                try:
                    action(event)
                    message = None
                except SplatcineError as err:
                    message = str(err)
                self._refresh(message)

        return run

    def _first_source(self) -> int:
        scene = self.editor.scene
        return scene.frames[0].source_frame if scene is not None and scene.frames else 0

    # ---- actions ------------------------------------------------------------------------

    def _view(self, client: viser.ClientHandle | None) -> viser.CameraHandle:
        clients = list(self.server.get_clients().values())
        if client is None and not clients:
            raise SplatcineError("no browser is connected")
        return (client or clients[0]).camera

    def _add_from_view(self, event) -> None:
        self._select(self.editor.add_keyframe(**self._view_pose(event.client)))

    def _move_to_view(self, event) -> None:
        self.editor.move_keyframe(self._selected, **self._view_pose(event.client))

    def _view_pose(self, client: viser.ClientHandle | None) -> dict:
        """The browser camera as a keyframe: its position and the point it orbits (`look_at`),
        which is what it looks at; with the world up that fixes the rotation, as viser's own
        camera does. A rolled view (up tilted off the world up) is written as a rotation."""
        camera = self._view(client)
        if abs(float(np.dot(camera.up_direction, self._up)) - 1.0) < 1e-6:
            return {"position": camera.position, "look_at": camera.look_at}
        return {"position": camera.position, "rotation": camera.wxyz}

    def _apply_keyframe(self, _) -> None:
        fov = float(self._key_fov.value)
        self._select(self.editor.set_keyframe(
            self._selected, time=float(self._key_time.value), fov=fov if fov > 0 else None,
            easing=self._key_easing.value, hold=float(self._key_hold.value) or None))  # fmt: skip

    def _add_move(self, _) -> None:
        kind, amount = self._move_kind.value, float(self._move_amount.value)
        self.editor.add_move(kind, amount, duration=float(self._move_duration.value), easing=self._move_easing.value)

    def _save(self) -> None:
        name = Path(self._file.value.strip())
        same = self.editor.file is not None and name.resolve() == self.editor.file.resolve()
        saved = self.editor.save(name if not same else None)
        self._notice = f"saved {saved}"

    def _preview(self, _) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            video = self.editor.write_preview(Path(tmp) / "preview.mp4", max_side=PREVIEW_SIDE)
            data = base64.b64encode(video.read_bytes()).decode()
        self._video.content = (f'<video id="splatcine-preview" src="data:video/mp4;base64,{data}" '
                               'autoplay loop muted controls style="width:100%"></video>')  # fmt: skip

    def _select(self, index: int) -> None:
        self._selected = index
        keyframes = self.editor.keyframes
        if not 0 <= index < len(keyframes):
            return
        kf = keyframes[index]
        self._key_time.value = float(kf.get("time") or 0.0)
        self._key_fov.value = float(kf.get("fov") or 0.0)
        self._key_easing.value = kf.get("easing", "linear")
        self._key_hold.value = float(kf.get("hold") or 0.0)

    def _scrub(self, client: viser.ClientHandle | None) -> None:
        """The timeline flies the browser camera(s) along the sampled path."""
        path = self.editor.path
        if path is None:
            return
        i = int(np.argmin(np.abs(path.times - self._time.value)))
        clients = [client] if client is not None else list(self.server.get_clients().values())
        for c in clients:
            self._fly(c, path.cam_from_world[i], float(path.vfov[i]))

    def _fly(self, client: viser.ClientHandle | None, cam_from_world: np.ndarray, vfov_deg: float) -> None:
        clients = [client] if client is not None else list(self.server.get_clients().values())
        wxyz, position = drawing.pose_of(cam_from_world)
        for c in clients:
            with c.atomic():
                c.camera.up_direction = tuple(self._up)
                c.camera.wxyz = wxyz
                c.camera.position = position
                c.camera.fov = float(np.radians(vfov_deg))

    def _set_visible(self, handle, visible: bool) -> None:
        if handle is not None:
            handle.visible = visible

    def _on_connect(self, client: viser.ClientHandle) -> None:
        """A new page starts behind and above where the path starts, looking the same way."""
        path, scene = self.editor.path, self.editor.scene
        if path is not None:
            cam_from_world, vfov = path.cam_from_world[0], float(path.vfov[0])
        elif scene is not None and scene.frames:
            cam_from_world, vfov = scene.frames[0].camera.cam_from_world, scene.frames[0].camera.intrinsics.vfov_deg
        else:
            return
        world_from_cam = invert_rigid(cam_from_world)
        forward, centre = world_from_cam[:3, 2], world_from_cam[:3, 3]
        back = OVERVIEW_DISTANCE * self._extent
        eye = centre - back * forward + 0.5 * back * self._up
        with client.atomic():
            client.camera.up_direction = tuple(self._up)
            client.camera.position = eye
            client.camera.look_at = centre + back * forward
            client.camera.fov = float(np.radians(vfov))

    # ---- redraw -------------------------------------------------------------------------

    _notice = ""

    def _refresh(self, message: str | None = None) -> None:
        ed = self.editor
        self._version += 1
        error = message or ed.error
        self._error.content = (f'<div id="splatcine-error" style="color:#c62828;font-family:monospace;'
                               f'white-space:pre-wrap">error: {_escape(error)}</div>' if error else "")  # fmt: skip
        notes = [*ed.notices, self._notice] if self._notice else list(ed.notices)
        self._notice = ""
        path = ed.path
        summary = (f"**{len(path)} frames**, {path.seconds:.2f} s at {path.fps:g} fps, {path.width}x{path.height}"
                   if path is not None else "**the path is not valid yet**")  # fmt: skip
        self._status.content = "\n\n".join([f"`{ed.name}`{' (unsaved)' if ed.dirty else ''}: {summary}",
                                            *[f"_{n}_" for n in notes]])  # fmt: skip
        self._target.value = ed.target if ed.target in targets.PRESETS else "none"
        self._rules.content = f"Rules: {ed.target_rules()}"
        keys = [str(i) for i in range(len(ed.keyframes))] or ["-"]
        self._key.options = tuple(keys)
        self._selected = min(self._selected, max(len(ed.keyframes) - 1, 0))
        self._key.value = str(self._selected) if ed.keyframes else "-"
        self._select(self._selected)
        moves = ed.moves
        self._moves.content = "\n".join(f"{j}. `{_inline(m)}`" for j, m in enumerate(moves)) or "_no moves_"
        self._move_pick.options = tuple(str(j) for j in range(len(moves))) or ("-",)
        if path is not None:
            self._time.max = max(path.seconds, 0.01)
            self._time.step = 1.0 / path.fps
        self._draw_path()
        if path is not None and ed.scene is not None and ed.scene.splat_path is not None:
            self._wake.set()  # the worker measures the newest version once it is free

    def _draw_path(self) -> None:
        scene, path = self.server.scene, self.editor.path
        for handle in self._path_nodes:
            handle.remove()
        self._path_nodes = []
        if path is None:
            return
        centres = invert_rigid(path.cam_from_world)[:, :3, 3]
        unseen = self._unseen[1] if self._unseen is not None and self._unseen[0] == self._version else None
        if len(centres) > 1:
            points, colors = drawing.path_segments(centres, unseen)
            self._path_nodes.append(scene.add_line_segments("/path/curve", points, colors, thickness=3.0,
                                                             thickness_units="screen"))
        aspect = path.width / path.height
        for key in self.editor.keyframe_cameras():
            frustum = drawing.add_frustum(scene, f"/path/keys/{key.index}", key.cam_from_world, key.vfov, aspect,
                                          self._scale, drawing.KEYFRAME_RGB)  # fmt: skip
            frustum.on_click(self._guard(lambda _, i=key.index: self._select(i)))
            label = scene.add_label(f"/path/keys/{key.index}/number", str(key.index))
            self._path_nodes += [label, frustum]

    def _unseen_worker(self) -> None:
        """One background thread: after each valid edit, colour the path by its unseen share."""
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            self._measure_unseen(self._version)

    def _measure_unseen(self, version: int) -> None:
        try:
            editor_path = self.editor.path
            if editor_path is None:
                return
            render = self.editor.quick_render(**COLOUR_RENDER, path=editor_path)  # not under the lock: seconds
            share = np.interp(editor_path.times, render.times, render.unseen_fraction)
            with self._lock:
                if version != self._version:
                    return
                self._unseen = (version, share)
                self._draw_path()
        except SplatcineError as err:
            with self._lock:
                self._error.content = f'<div style="color:#c62828">unseen colouring: {_escape(str(err))}</div>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return str(value)
