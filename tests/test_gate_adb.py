"""The gate and the time budgets over the real adb server and a simulated device:
the Pay button of shop.checkout_without_paying is denied with and without `ui_tree`
(the gate reads the tree on demand), so is a zero-length swipe on it; `observe --ui-tree`
reads the tree without the env option; a 3600 s wait under --max-seconds 5 ends within
seconds; SIGTERM mid-wait ends the run as "cancelled" with the finished steps kept."""

import json
import signal
import subprocess
import sys
import time

import pytest

from vlagent.perception.sources.adb import AdbSource
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess, query

TASK = "shop.checkout_without_paying:0"


def vlagent(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vlagent.agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def device():
    server = AdbServer()
    sim = SimDeviceProcess(server, "--seed", "0")
    try:
        sim.start()
        yield server, sim
    finally:
        sim.stop()
        server.stop()


def _env(device) -> list[str]:
    server, sim = device
    return ["--env", f"adb:{sim.serial}", "--env-opt", f"port={server.port}"]


@pytest.fixture()
def checkout(device):
    """The device on the checkout page, not paid: the oracle solves the task (it turns the
    UI tree on by itself). Returns the Pay button's centre in frame px."""
    done = vlagent("run", *_env(device), "--task", TASK, "--policy", "oracle", "--headless", "--json")
    assert done.returncode == 0, done.stderr
    observed = vlagent("observe", *_env(device), "--ui-tree")
    assert observed.returncode == 0, observed.stderr
    nodes = json.loads(observed.stdout)["ui_tree"]
    assert nodes, "observe --ui-tree over adb printed no tree"
    pay = [n for n in nodes if (n["text"] or "").strip().lower().startswith("pay")]
    assert pay, [n["text"] for n in nodes]
    x1, y1, x2, y2 = pay[0]["bounds"]
    return (x1 + x2) / 2, (y1 + y2) / 2


def _paid(device) -> bool:
    server, sim = device
    return bool(query(AdbSource(sim.serial, port=server.port).device, "state")["shop"]["paid"])


@pytest.mark.parametrize("ui_tree_option", [[], ["--env-opt", "ui_tree=true"]], ids=["no-ui-tree", "ui-tree"])
def test_tap_on_pay_is_denied_with_and_without_the_ui_tree_option(device, checkout, ui_tree_option):
    x, y = checkout
    done = vlagent("act", *_env(device), *ui_tree_option, "--headless", json.dumps({"type": "tap", "x": x, "y": y}))
    assert done.returncode == 1, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["executed"] is False and verdict["safety"]["verdict"] == "denied"
    assert any("pay" in reason.lower() for reason in verdict["safety"]["reasons"]), verdict
    assert not _paid(device)


def test_zero_length_swipe_on_pay_is_a_denied_tap(device, checkout):
    x, y = checkout
    swipe = {"type": "swipe", "x1": x, "y1": y, "x2": x, "y2": y, "seconds": 0.05}
    done = vlagent("act", *_env(device), "--env-opt", "ui_tree=true", "--headless", json.dumps(swipe))
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["safety"]["verdict"] == "denied"
    assert not _paid(device)


def test_a_tap_away_from_sensitive_targets_is_allowed_without_the_ui_tree_option(device, checkout):
    done = vlagent("act", *_env(device), "--headless", json.dumps({"type": "tap", "x": 540, "y": 40}))
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["safety"]["verdict"] == "allowed" and verdict["executed"] is True


def test_hour_long_wait_under_a_five_second_budget_ends_within_seconds(device, tmp_path):
    actions = json.dumps([{"type": "wait", "seconds": 3600}])
    started = time.monotonic()
    done = vlagent("run", *_env(device), "--task", "wait for an hour", "--policy", "scripted",
                   "--policy-opt", f"actions={actions}", "--max-seconds", "5", "--record", str(tmp_path / "ep"),
                   "--headless", "--json", timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert elapsed < 20, f"a 5 s budget took {elapsed:.1f} s"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "timeout"
    steps = [json.loads(line) for line in (tmp_path / "ep" / "steps.jsonl").read_text().splitlines()]
    assert steps[0]["action"]["type"] == "wait" and steps[0]["action"]["seconds"] <= 5.0
    assert steps[0]["extra"]["capped"]["asked_s"] == 3600


def test_sigterm_mid_wait_ends_the_run_as_cancelled_and_keeps_finished_steps(device, tmp_path):
    actions = json.dumps([{"type": "key_press", "key": "home"}, {"type": "wait", "seconds": 3600}])
    record = tmp_path / "ep"
    command = [sys.executable, "-m", "vlagent.agent.cli", "run", *_env(device), "--task", "go home, then wait",
               "--policy", "scripted", "--policy-opt", f"actions={actions}", "--max-seconds", "600",
               "--record", str(record), "--headless"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first step is recorded: the wait has begun
            steps = record / "steps.jsonl"
            if steps.is_file() and steps.read_text().count("\n") >= 1:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first step was never recorded")
        time.sleep(1.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        stopped_in = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stopped_in < 10, f"SIGTERM took {stopped_in:.1f} s"
    assert "Traceback" not in stderr
    meta = json.loads((record / "episode.json").read_text())
    assert meta["result"]["status"] == "cancelled"
    assert meta["result"]["steps_recorded"] >= 1
    first = json.loads((record / "steps.jsonl").read_text().splitlines()[0])
    assert first["action"] == {"type": "key_press", "key": "home"} and first["result"]["executed"]
