"""The desktop on a real X server: Xvfb started here (a free display number, an XAUTHORITY file of our
own), a Tk application of the tests' own (tests/desktop_app.py) that records what it receives, and
`vlagent run --env desktop` with a policy that reads the app's geometry (tests/desktop_policies.py).

The screen is 1280x800 while the policy sees a half-size capture of a region offset by (40, 30):
every click must still land on its widget, which only holds if the frame -> screen transform is
right. The typed text must arrive byte-exact, non-ASCII included (pasted via the clipboard).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "desktop_app.py"
TEXT = "Grüße, 世界 ✓ — naïve"
SCREEN = (1280, 800)
APP_AT = (100, 80)

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xauth") is None,
                                reason="needs Xvfb and xauth (bash scripts/install-system.sh)")


def _free_display() -> int:
    for number in range(90, 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb(tmp_path):
    number = _free_display()
    auth = tmp_path / "Xauthority"
    auth.touch()
    subprocess.run(["xauth", "-f", str(auth), "add", f":{number}", ".", secrets.token_hex(16)], check=True)
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-auth", str(auth),
                               "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"Xvfb :{number} did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    env = {**os.environ, "DISPLAY": f":{number}", "XAUTHORITY": str(auth), "PYTHONPATH": str(ROOT)}
    yield env
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def app(xvfb, tmp_path):
    state = tmp_path / "app"
    state.mkdir()
    process = subprocess.Popen([sys.executable, str(APP), str(state), *map(str, APP_AT)], env=xvfb,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (state / "geometry.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Tk app did not start: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    yield state
    process.terminate()
    process.wait(timeout=10)


def _events(state):
    return [json.loads(line) for line in (state / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def _run(env, state, tmp_path, *options, record=None):
    config = tmp_path / "desktop.toml"
    config.write_text('[safety]\nunverifiable = "allow"\n[loop.settle]\ntimeout_s = 0.5\n')
    command = [sys.executable, "-m", "vlagent.agent.cli", "run", "--env", "desktop", "--task", "the Tk task",
               "--policy", "tests.desktop_policies:tk_task", "--policy-opt", f"state_dir={state}",
               "--config", str(config), "--headless", "--max-steps", "30",
               "--env-opt", "scale=0.5", "--env-opt", "region=40,30,900,700", *options]
    if record is not None:
        command += ["--record", str(record)]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_the_agent_loop_completes_a_tk_task_through_a_downscaled_offset_capture(xvfb, app, tmp_path):
    done = _run(xvfb, app, tmp_path, record=tmp_path / "episodes")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    events = _events(app)
    clicks = [e for e in events if e["event"] == "click"]
    assert [e["name"] for e in events if e["event"] == "button"] == ["Save"], (events, done.stderr[-2000:])
    entries = [e["text"] for e in events if e["event"] == "entry"]
    assert entries and entries[-1] == TEXT, entries  # byte-exact, non-ASCII included
    assert [e["item"] for e in events if e["event"] == "menu"] == ["Rename"]
    assert any(e["button"] == 3 and e["widget"].endswith("label") for e in clicks), clicks  # a right click, on the label
    firsts = [e["first"] for e in events if e["event"] == "list"]
    assert firsts and firsts[-1] + 7 >= 40, firsts  # scrolled until Item 40 shows
    geometry = json.loads((app / "geometry.json").read_text())
    for click in clicks:  # every click landed on a widget the task aimed at, never beside it
        assert not click["widget"].endswith(("tk", ".!frame")), click
    save = geometry["Save"]
    first = clicks[0]
    assert save[0] <= first["x"] < save[0] + save[2] and save[1] <= first["y"] < save[1] + save[3]
    (episode,) = [p.parent for p in (tmp_path / "episodes").rglob("episode.json")]
    meta = json.loads((episode / "episode.json").read_text())
    assert meta["env"] == "desktop" and meta["device"]["kind"] == "desktop" and meta["result"]["status"] == "finished"
    steps = [json.loads(line) for line in (episode / "steps.jsonl").read_text().splitlines()]
    first = steps[0]
    assert first["frame_size"] == [450, 350]  # the 900x700 region at half scale
    assert first["frame_meta"]["region"] == [40, 30, 900, 700] and first["frame_meta"]["cursor"] is not None
    # the HTML report shows a desktop episode like a phone one: every frame, the right click drawn
    page = tmp_path / "report.html"
    report = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "report", str(episode), "-o", str(page)],
                            env=xvfb, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    html_text = page.read_text(encoding="utf-8")
    assert html_text.count('src="data:image/jpeg;base64,') == len(steps)
    right_click = next(s for s in steps if s["action"] and s["action"]["type"] == "click")
    assert f'cx="{right_click["action"]["x"]:.1f}"' in html_text  # the click's overlay, in frame px


def test_an_action_outside_the_confined_region_is_refused_and_recorded(xvfb, app, tmp_path):
    done = _run(xvfb, app, tmp_path, "--policy-opt", "outside=true", "--env-opt", "confine=90,70,600,460",
                record=tmp_path / "episodes")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert not [e for e in _events(app) if e["event"] == "click"], "nothing may reach the screen"
    steps = [json.loads(line) for path in (tmp_path / "episodes").rglob("steps.jsonl")
             for line in path.read_text().splitlines()]
    refused = [s for s in steps if "OutsideRegionError" in json.dumps(s)]
    assert refused, steps


def test_the_packages_import_without_a_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY")}
    code = ("import vlagent.agent, vlagent.perception, vlagent.actuators, vlagent.policies; "
            "import vlagent.actuators.desktop, vlagent.perception.sources.screen, vlagent.agent.desktop_env, sys; "
            "assert 'pyautogui' not in sys.modules and 'mss' not in sys.modules; "
            "from vlagent.perception.sources.display import import_pyautogui, DisplayError\n"
            "try:\n    import_pyautogui()\nexcept DisplayError as e:\n    print('typed:', e)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "typed: desktop input and capture need an X display" in done.stdout


def test_the_frame_to_screen_transform_is_one_chain_scale_offset_and_hidpi():
    from vlagent.perception.sources.screen import desktop_transform

    # a 900x700 region at (40, 30), captured at half size, on a 2x HiDPI screen (logical = physical / 2)
    t = desktop_transform(capture_size=(900, 700), frame_size=(450, 350), origin=(40, 30), logical_scale=0.5)
    assert t.apply(0, 0) == (20.0, 15.0)
    assert t.apply(450, 350) == pytest.approx((470.0, 365.0))
    x, y = t.inverse().apply(*t.apply(123.5, 77.25))
    assert (x, y) == pytest.approx((123.5, 77.25))


def test_desktop_options_and_keys_are_checked():
    from vlagent.actuators.desktop import DesktopError, inside, key_name
    from vlagent.agent.errors import ConfigError
    from vlagent.perception.sources.screen import parse_monitor, parse_region

    assert parse_monitor(None) == 1 and parse_monitor("2") == 2 and parse_monitor("all") == 0
    assert parse_region("40,30,900,700") == (40, 30, 900, 700) and parse_region(None) is None
    for bad in ("0", "left", -1):
        with pytest.raises(ConfigError):
            parse_monitor(bad)
    for bad in ("1,2,3", "0,0,0,10", "a,b,c,d"):
        with pytest.raises(ConfigError):
            parse_region(bad)
    assert key_name("enter") == "enter" and key_name("escape") == "esc" and key_name("f5") == "f5" and key_name("a") == "a"
    with pytest.raises(DesktopError):
        key_name("volume_dial")
    assert inside((10, 10, 100, 50), 10, 10) and not inside((10, 10, 100, 50), 110, 30)


def test_click_and_hover_extend_the_one_schema_and_phones_refuse_them():
    from vlagent.actuators.sim import SimActuator
    from vlagent.agent.actions import Click, Hover, action_to_json, parse_action
    from vlagent.perception.frame import Frame
    from vlagent.sim.phone import Phone

    for action in (Click(x=5, y=6, button="right"), Click(x=1, y=2, clicks=2), Hover(x=3, y=4)):
        assert parse_action(action_to_json(action)) == action
    with pytest.raises(ValueError):
        parse_action({"type": "click", "x": 1, "y": 1, "button": "side"})
    phone = Phone(1080, 2400, seed=0)
    frame = Frame(image=phone.render(), captured_at=0.0)
    for action in (Click(x=5, y=6, button="right"), Hover(x=3, y=4)):
        result = SimActuator(phone).execute(action, frame)
        assert not result.ok and "not a phone action" in result.message


def test_captured_pixels_match_an_independent_grab_full_and_downscaled(xvfb, app, monkeypatch):
    import numpy as np
    from PIL import ImageGrab

    for key in ("DISPLAY", "XAUTHORITY"):
        monkeypatch.setenv(key, xvfb[key])
    from vlagent.perception.sources.screen import ScreenSource

    full_source, half_source = ScreenSource(1, region="40,30,900,700"), ScreenSource(1, region="40,30,900,700", scale=0.5)
    try:
        full, half = full_source.capture().image, half_source.capture().image
    finally:
        full_source.close()
        half_source.close()
    reference = np.asarray(ImageGrab.grab(bbox=(40, 30, 940, 730), xdisplay=xvfb["DISPLAY"]).convert("RGB"))
    assert full.shape == (700, 900, 3) and np.array_equal(full, reference)  # RGB order, the region's pixels
    assert half.shape == (350, 450, 3)
    reduced = reference.reshape(350, 2, 450, 2, 3).mean(axis=(1, 3))
    assert np.abs(half.astype(float) - reduced).mean() < 2.0  # a 2x box downscale of the same pixels
