"""One error boundary: every command given bad input prints one `error:` line (and a hint
where there is one), exits 2, and shows a traceback only with --debug. Also: a device
dropped mid-episode, and two runs recording into one directory."""

import json
import subprocess
import sys
import time

import pytest

from vlagent.agent.cli import COMMANDS, hoist_debug
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess


def vlagent(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vlagent.agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def _bad_inputs(tmp_path):
    missing = str(tmp_path / "missing")
    not_json = tmp_path / "config.toml"
    not_json.write_text("[loop]\nmax_steps = 'many'\n")
    state = ["--env-opt", f"state_file={tmp_path / 'state.json'}"]
    return {
        "version": (["version", "--verbose", "--no-such-flag"], "No such option"),  # a usage error from click
        "run": (["run", "--task", "no.such", "--headless", *state], "vlagent tasks"),
        "replay": (["replay", missing, "--policy", "oracle"], "not an episode directory"),
        "report": (["report", missing], "missing"),
        "observe": (["observe", "--env", "no-such-env"], "unknown env"),
        "act": (["act", "--env", "sim-phone:0", *state, '{"type": []}'], "action type"),
        "import-androidcontrol": (["import-androidcontrol", missing, "-o", str(tmp_path / "out")], "missing"),
        "model-info": (["model-info", missing], "missing"),
        "sim-device": (["sim-device", "--task", "no.such", "--port", "0"], "no.such"),
        "export": (["export", missing, str(tmp_path / "pkg")], "missing"),
        "tasks": (["tasks", "--format", "xml"], "No such option"),
        "ground": (["ground", "--image", missing, "--query", "Settings"], "cannot read image"),
        "demo": (["demo", "--tasks", "no.such:1", "--out", str(tmp_path / "demo")], "no.such"),
        "train-demo": (["train-demo", "--minutes", "-1", "--out", str(tmp_path / "train")], "--minutes"),
        "ros2-node": (["ros2-node", "--task", "x", "--rate", "500", "--loopback"], "robot.rate_hz"),
        "sim-robot": (["sim-robot", "--task", "robot.nope"], "unknown robot task"),
        "train-robot": (["train-robot", "--minutes", "0", "--out", str(tmp_path / "robot")], "--minutes"),
        "serve": (["serve", "--host", "0.0.0.0", "--port", "0"], "--port"),
        "fleet": (["fleet", "--envs", "sim-phone:4..1", "--tasks", missing], "runs backwards"),
    }


def test_every_command_is_covered_by_the_bad_input_table(tmp_path):
    assert set(_bad_inputs(tmp_path)) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_input_is_one_line_and_exit_status_two(tmp_path, command):
    args, expected = _bad_inputs(tmp_path)[command]
    done = vlagent(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert expected in done.stderr, done.stderr
    if "No such option" not in expected:  # click's own usage errors keep click's format
        lines = [line for line in done.stderr.splitlines() if line.startswith(("error:", "hint:"))]
        assert lines and lines[0].startswith("error: "), done.stderr
        assert sum(line.startswith("error:") for line in lines) == 1, done.stderr


def test_ground_with_the_torch_backend_on_an_onnx_only_package_is_one_line(tmp_path):
    from PIL import Image

    Image.new("RGB", (120, 240), "white").save(tmp_path / "shot.png")
    done = vlagent("ground", "--image", str(tmp_path / "shot.png"), "--query", "Settings", "--backend", "torch")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and "safetensors" in done.stderr


def test_hints_name_what_to_do(tmp_path):
    done = vlagent("run", "--task", "no.such", "--headless", "--env-opt", f"state_file={tmp_path / 's.json'}")
    assert "hint: `vlagent tasks` lists the task ids" in done.stderr


def test_debug_shows_the_traceback_anywhere_on_the_line(tmp_path):
    for args in (["--debug", "run", "--task", "no.such"], ["run", "--task", "no.such", "--debug"]):
        done = vlagent(*args, "--headless", "--env-opt", f"state_file={tmp_path / 's.json'}")
        assert done.returncode != 0 and "Traceback" in done.stderr and "TaskError" in done.stderr, done.stderr
    assert hoist_debug(["act", "--debug", "--", "--debug"]) == ["--debug", "act", "--", "--debug"]


def test_a_device_dropped_mid_episode_is_one_line_and_the_record_is_kept(tmp_path):
    server = AdbServer()
    sim = SimDeviceProcess(server, "--width", "540", "--height", "1200", "--seed", "0")
    record = tmp_path / "ep"
    try:
        sim.start()
        process = subprocess.Popen(
            [sys.executable, "-m", "vlagent.agent.cli", "run", "--env", f"adb:{sim.serial}",
             "--env-opt", f"port={server.port}", "--env-opt", "reconnect_timeout_s=2",
             "--task", "multi.send_contact_number:0", "--policy", "oracle", "--record", str(record), "--headless"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not ((record / "steps.jsonl").is_file() and (record / "steps.jsonl").read_text().count("\n") >= 2):
            assert time.monotonic() < deadline and process.poll() is None, "the run never got going"
            time.sleep(0.05)
        sim.kill()
        _, stderr = process.communicate(timeout=60)
    finally:
        sim.stop()
        server.stop()
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and sim.serial in errors[0], stderr
    result = json.loads((record / "episode.json").read_text())["result"]
    assert result["status"] == "error" and result["steps_recorded"] >= 2


def test_two_runs_recording_into_one_directory(tmp_path):
    """The second run fails at once with a clear error, --overwrite or not; the first run's
    record stays whole (it is then stopped with SIGTERM and ends "cancelled")."""
    import signal

    record = tmp_path / "ep"
    actions = json.dumps([{"type": "wait", "seconds": round(0.001 * i, 3)} for i in range(1, 200)])
    common = ["run", "--task", "wait a little", "--policy", "scripted", "--policy-opt", f"actions={actions}",
              "--record", str(record), "--headless", "--max-steps", "200", "--env-opt", "width=360",
              "--env-opt", "height=800"]
    first = subprocess.Popen([sys.executable, "-m", "vlagent.agent.cli", *common, "--env-opt",
                              f"state_file={tmp_path / 'a.json'}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (record / "steps.jsonl").is_file():
            assert time.monotonic() < deadline and first.poll() is None, "the first run never started recording"
            time.sleep(0.05)
        seconds = []
        for extra in ([], ["--overwrite"]):
            started = time.monotonic()
            second = vlagent(*common, *extra, "--env-opt", f"state_file={tmp_path / 'b.json'}")
            seconds.append(time.monotonic() - started)
            assert second.returncode == 2 and "being recorded by another recorder" in second.stderr, second.stderr
            assert "Traceback" not in second.stderr
        assert first.poll() is None, "the first run ended before the second tried: the test proves nothing"
        first.send_signal(signal.SIGTERM)
        _, first_err = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130, first_err
    meta = json.loads((record / "episode.json").read_text())
    lines = (record / "steps.jsonl").read_text().splitlines()
    assert meta["result"]["status"] == "cancelled" and meta["result"]["steps_recorded"] == len(lines) >= 1
    assert meta["task"]["instruction"] == "wait a little"
    for line in lines:
        assert (record / json.loads(line)["frame"]).is_file()
