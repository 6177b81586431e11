"""The editor in a real browser: headless Chromium opens the page, the splat draws, a keyframe
is added through the panel, the file is saved, and a screenshot shows the set.

Chromium is Debian's `chromium` package (scripts/setup.sh installs it), driven by playwright
with its own browser download bypassed (`executable_path`). The machine may have no network
and no GPU: WebGL runs on SwiftShader, Chromium's CPU rasterizer.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from splatcine import paths
from splatcine.cameras import invert_rigid
from splatcine.errors import InputError
from splatcine.io.video import read_image, write_image
from splatcine.paths import Editor

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and os.path.exists(p)), None)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytest.importorskip("viser", reason="viser is not installed (pip install 'splatcine[editor]')")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (scripts/setup.sh installs Debian's `chromium` as root)")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-unsafe-swiftshader",  # WebGL on the CPU: newer Chromium asks for this explicitly
]  # fmt: skip
VIEWPORT = {"width": 960, "height": 540}
# Generous limits: each step takes about a second on an idle machine, but SwiftShader shares the
# CPU with the server's quick renders, and on a machine loaded 10x over a click took 20 s.
DRAW_TIMEOUT = 90.0  # seconds for the page to connect and SwiftShader to draw the splat
STEP_TIMEOUT = 60.0  # seconds for one panel action to reach the server and come back
# A pixel belongs to the set when it is far from viser's white background: the darkest channel
# under 200 (the room's textures measure 20-180; antialiased frustum lines are thin and few).
BACKGROUND_CUT = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_share(png: Path) -> float:
    """Share of the 3D view's pixels (left of the panel) that are not background."""
    image = read_image(png)[..., :3]
    view = image[:, : int(image.shape[1] * 0.55)]  # the panel floats on the right
    return float((view.min(axis=-1) < BACKGROUND_CUT).mean())


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def editor_page(tmp_path, editor_scene, path_file):
    from splatcine.viewer import EditorApp

    app = EditorApp(Editor(path_file, scene=editor_scene), port=free_port())
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport=VIEWPORT)  # fmt: skip
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(app.url)
            yield app, page
        finally:
            browser.close()
            app.stop()


def test_edit_a_path_in_the_browser(editor_page, path_file, editor_scene, tmp_path):
    app, page = editor_page
    shot = tmp_path / "editor.png"

    def drawn() -> bool:
        page.screenshot(path=str(shot))
        return set_share(shot) > 0.2

    wait_for(drawn, DRAW_TIMEOUT, "the splat to draw")
    page.wait_for_timeout(1000)  # let progressive sorting settle before the picture is kept
    page.screenshot(path=str(shot))
    with_set = set_share(shot)

    # The same page with the splat hidden (through its checkbox) is the empty set.
    page.get_by_label("Splat", exact=True).dispatch_event("click")
    empty = tmp_path / "empty.png"
    wait_for(lambda: page.screenshot(path=str(empty)) and set_share(empty) < with_set / 3, STEP_TIMEOUT,
             "the splat to disappear")  # fmt: skip
    assert with_set > 0.3 and set_share(empty) < with_set / 3, (with_set, set_share(empty))
    page.get_by_label("Splat", exact=True).dispatch_event("click")

    # Orbit the browser camera with the mouse, then add a keyframe from the view.
    client = wait_for(lambda: next(iter(app.server.get_clients().values()), None), STEP_TIMEOUT, "the page to connect")
    before = client.camera.position.copy()
    page.mouse.move(260, 300)
    page.mouse.down()
    page.mouse.move(220, 300, steps=2)
    page.mouse.up()
    wait_for(lambda: np.linalg.norm(client.camera.position - before) > 0.05, STEP_TIMEOUT, "the camera to move")
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Add keyframe from view").dispatch_event("click")
    wait_for(lambda: len(app.editor.keyframes) == 2, STEP_TIMEOUT, "the keyframe")
    view_position, view_look_at, view_wxyz = (client.camera.position.copy(), client.camera.look_at.copy(),
                                              client.camera.wxyz.copy())  # fmt: skip

    page.get_by_role("button", name="Save").dispatch_event("click")
    wait_for(lambda: "keyframes:" in path_file.read_text(), STEP_TIMEOUT, "the file to be saved")
    saved = path_file.read_text()
    doc = yaml.safe_load(saved)
    assert "start" not in doc and len(doc["keyframes"]) == 2 and doc["keyframes"][0]["from_frame"] == 0
    assert "# Push in and arc round the room" in saved and "# forward, scene units" in saved
    np.testing.assert_allclose(doc["keyframes"][1]["position"], view_position, atol=1e-3)  # 4 decimals written
    np.testing.assert_allclose(doc["keyframes"][1]["look_at"], view_look_at, atol=1e-3)
    # the saved keyframe looks exactly the way the browser did
    loaded = paths.load(path_file, editor_scene)
    keyframe_1 = loaded.key_cam_from_world[np.argmin(np.abs(loaded.key_times - doc["keyframes"][1]["time"]))]
    w, x, y, z = view_wxyz
    np.testing.assert_allclose(invert_rigid(keyframe_1)[:3, :3], Rotation.from_quat([x, y, z, w]).as_matrix(),
                               atol=1e-3)  # fmt: skip  # positions rounded to 1e-4 at ~1 unit: ~1e-4 rad

    # The preview button puts a video of the low-resolution render in the page.
    page.get_by_role("button", name="Render preview").dispatch_event("click")
    shown = page.wait_for_selector("#splatcine-preview, #splatcine-error", state="attached", timeout=3 * STEP_TIMEOUT * 1000)
    assert shown.get_attribute("id") == "splatcine-preview", shown.inner_text()
    final = tmp_path / "final.png"
    app._on_connect(client)  # back to the page's opening view, behind the path, for the picture
    close = page.locator(".mantine-Notification-closeButton")  # "software WebGL" notice: not the picture
    if close.count():
        close.first.dispatch_event("click")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(final))

    # An invalid edit through the panel (keyframe 1 at the time of keyframe 0) shows the CLI's error.
    page.get_by_label("Time (s)", exact=True).fill("0")
    wait_for(lambda: app._key_time.value == 0.0, STEP_TIMEOUT, "the time field to reach the server")
    page.get_by_role("button", name="Apply to keyframe").dispatch_event("click")
    error = page.wait_for_selector("#splatcine-error", state="attached", timeout=STEP_TIMEOUT * 1000).inner_text()
    with pytest.raises(InputError) as cli:
        paths.loads(app.editor.text, editor_scene, name=str(path_file))
    assert error == f"error: {cli.value}"
    assert error.startswith(f"error: {path_file}:") and "keyframes[1].time: 0 s must come after" in error

    keep = os.environ.get("SPLATCINE_EDITOR_SCREENSHOT")  # README picture: made by this test
    if keep:
        write_image(Path(keep), read_image(final)[..., :3])  # a .jpg keeps it near 100 KB
