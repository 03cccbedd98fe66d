"""`vlagent report`: a self-contained page, rendered by headless Chromium with the overlay in place."""

import io
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from tests.agent_helpers import fast_loop, small_env
from vlagent.agent.episode import load_episode
from vlagent.agent.loop import run_episode
from vlagent.agent.recorder import EpisodeRecorder
from vlagent.agent.registry import PolicyContext, make_policy
from vlagent.agent.report import FRAME_WIDTH, TAP_COLOR, frame_origin, render_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    env = small_env(root)
    task = env.setup_task("settings.wifi_off")
    recorder = EpisodeRecorder(root / "ep")
    recorder.start({"task": task.describe(), "env": env.spec, "policy": {"name": "oracle"}})
    policy = make_policy("oracle", PolicyContext(env=env, task=task))
    run_episode(env.source, policy, env.actuator, instruction=task.instruction, config=fast_loop(),
                recorder=recorder, success_check=task.success_check)
    return load_episode(root / "ep")


def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: run `bash scripts/install-system.sh` (Debian package chromium)")
    return path


def test_report_is_rendered_by_chromium_with_the_tap_overlay(episode, tmp_path):
    page = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "report", str(episode.path), "-o", str(page)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert page.with_suffix(".gif").is_file()
    shot = tmp_path / "shot.png"
    size = (1000, 1400)
    subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    f"--window-size={size[0]},{size[1]}", page.as_uri()], capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    step = episode.steps[0]
    assert step["action"]["type"] == "tap"
    scale = FRAME_WIDTH / step["frame_size"][0]
    left, top = frame_origin(0, [tuple(s["frame_size"]) for s in episode.steps])
    x, y = left + step["action"]["x"] * scale, top + step["action"]["y"] * scale
    want = tuple(int(TAP_COLOR[i:i + 2], 16) for i in (1, 3, 5))
    hits = [image.getpixel((int(x) + dx, int(y) + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert all(max(abs(a - b) for a, b in zip(pixel, want, strict=True)) <= 8 for pixel in hits), hits
    # and the overlay colour is not simply everywhere: a point 40 px away shows the frame
    far = image.getpixel((int(x), int(y) + 40))
    assert max(abs(a - b) for a, b in zip(far, want, strict=True)) > 60


def test_report_is_self_contained_and_escapes_untrusted_text(episode):
    step = dict(episode.steps[0])
    step["raw_text"] = '<script>alert("x")</script><img src="http://evil.example/x.png">'
    tampered = type(episode)(episode.path, episode.meta, [step, *episode.steps[1:]])
    page = render_report(tampered)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert page.count('src="data:image/jpeg;base64,') == len(episode.steps)
    gif = re.search(r'src="data:image/gif;base64,([^"]+)"', page)
    assert gif is not None
    import base64

    movie = Image.open(io.BytesIO(base64.b64decode(gif.group(1))))
    assert movie.n_frames == len(episode.steps) + 1  # every step, then the final screen
    for kind in ("tap", "finish"):
        assert f"&quot;type&quot;: &quot;{kind}&quot;" in page
    assert "safety" in page.lower() and 'class="bar"' in page
