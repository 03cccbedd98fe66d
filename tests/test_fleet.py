"""`vlagent fleet` on a real local Ray instance: episodes over simulated phones, a worker killed.

The end-to-end test runs the CLI (torch blocked) with the shipped model's agent policy over
four sim phones, kills one worker's process (SIGKILL) after its episode has recorded a step,
and checks that every episode is in the table, each recorded intact, the dead one retried on
another device with the same actions an undisturbed run takes, and the dead attempt's steps
kept on disk.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.notorch import env_without_torch
from vlagent.agent.errors import ConfigError
from vlagent.agent.fleet.devices import Device, parse_devices
from vlagent.agent.fleet.tasks_file import parse_tasks
from vlagent.agent.registry import ENVS

pytest.importorskip("ray")

CLI = [sys.executable, "-m", "vlagent.agent.cli"]
TASKS = ["notes.create:1001", "settings.wifi_on:1001", "settings.wifi_off:1001", "settings.bluetooth:1001",
         "system.open_app:1001", "settings.airplane_on:1001", "camera.take_photo:1001", "clock.alarm_disable:1001"]
VICTIM = "notes.create:1001"  # six steps: the kill lands mid-episode


def test_envs_expand_ranges_and_name_each_device_resource():
    devices = parse_devices("adb:S1, adb:S2,sim-phone:1..3", ENVS)
    assert [d.spec for d in devices] == ["adb:S1", "adb:S2", "sim-phone:1", "sim-phone:2", "sim-phone:3"]
    assert [d.kind for d in devices] == ["adb", "adb", "sim-phone", "sim-phone", "sim-phone"]
    assert devices[0].resource == "vlagent-device:adb:S1"
    assert Device("sim-phone:2", "sim-phone").resource == "vlagent-device:sim-phone:2"


@pytest.mark.parametrize(("text", "message"), [
    ("sim-phone:1,,adb:S1", "empty item"),
    ("phone:1", "unknown env kind 'phone'"),
    ("sim-phone:1,sim-phone:1..2", "names sim-phone:1 twice"),
    ("sim-phone:3..1", "runs backwards"),
    ("sim-phone:1..5000", "at most"),
])
def test_bad_envs_name_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_devices(text, ENVS)


def test_task_lines_pick_their_env_kind():
    tasks = parse_tasks("# a fleet\n\nsettings.wifi_on:3\n@adb Turn on Wi-Fi\nOpen the camera\nsettings.wifi_on:3\n",
                        ENVS)
    assert [(t.index, t.task, t.kind) for t in tasks] == [
        (0, "settings.wifi_on:3", "sim-phone"), (1, "Turn on Wi-Fi", "adb"), (2, "Open the camera", None),
        (3, "settings.wifi_on:3", "sim-phone")]
    with pytest.raises(ConfigError, match="line 2: unknown env kind @robot"):
        parse_tasks("settings.wifi_on\n@robot go\n", ENVS)
    with pytest.raises(ConfigError, match="holds no task"):
        parse_tasks("# nothing\n", ENVS)


def _fleet(*args, cwd):
    return subprocess.run([*CLI, "fleet", *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env_without_torch())


def test_tasks_no_device_can_run_are_refused_before_ray_starts(tmp_path):
    (tmp_path / "tasks.txt").write_text("@adb Turn on Wi-Fi\n")
    done = _fleet("--envs", "sim-phone:1", "--tasks", "tasks.txt", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "error: tasks need env kind(s) adb, which no device in --envs is" in done.stderr
    assert "Traceback" not in done.stderr


def _events(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def _actions(episode_dir: Path) -> list[dict]:
    return [json.loads(line)["action"] for line in (episode_dir / "steps.jsonl").read_text().splitlines()]


def test_a_killed_worker_loses_no_episode(tmp_path):
    (tmp_path / "tasks.txt").write_text("\n".join(TASKS) + "\n")
    out = tmp_path / "out"
    fleet = subprocess.Popen([*CLI, "fleet", "--envs", "sim-phone:1..4", "--tasks", "tasks.txt", "--policy", "agent",
                              "--out", "out", "--json"], cwd=tmp_path, env=env_without_torch(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 240
        while killed is None and fleet.poll() is None and time.monotonic() < deadline:
            for event in _events(out / "events.jsonl"):
                if event["event"] == "start" and event["task"] == VICTIM and event["attempt"] == 1:
                    if _lines(Path(event["attempt_dir"]) / "steps.jsonl") >= 1:  # mid-episode: a step is on disk
                        os.kill(event["pid"], signal.SIGKILL)
                        killed = event
                        break
            time.sleep(0.02)
        stdout, stderr = fleet.communicate(timeout=300)
    finally:
        if fleet.poll() is None:
            fleet.kill()
            fleet.communicate()
    assert killed is not None, "the victim episode never started"
    assert fleet.returncode == 0, stderr
    summary = json.loads(stdout.splitlines()[-1])
    rows = summary["rows"]
    assert [r["task"] for r in rows] == TASKS  # the table holds every episode
    assert summary["worker_deaths"] == 1 and summary["finished"] == len(TASKS)
    for row in rows:  # each recorded intact: a result, every step line and frame on disk, a report
        episode = tmp_path / "out" / row["episode_dir"]
        meta = json.loads((episode / "episode.json").read_text())
        assert meta["result"] is not None and meta["result"]["status"] == row["status"]
        assert meta["result"]["steps_recorded"] == _lines(episode / "steps.jsonl") == row["steps"] >= 1
        for line in (episode / "steps.jsonl").read_text().splitlines():
            assert (episode / json.loads(line)["frame"]).is_file()
        assert (tmp_path / "out" / row["report"]).is_file()
    victim = rows[0]
    assert victim["attempts"] == 2 and victim["status"] == "finished"
    assert [d["device"] for d in victim["died"]] == [killed["device"]]
    assert victim["device"] != killed["device"]  # retried on another worker of the same kind
    dead_attempt = tmp_path / "out" / victim["died"][0]["dir"]
    assert json.loads((dead_attempt / "episode.json").read_text())["result"] is None  # the worker never finished it
    assert _lines(dead_attempt / "steps.jsonl") >= 1  # ...and the steps it recorded are kept
    devices = {d["device"]: d for d in summary["devices"]}
    assert devices[killed["device"]]["died"] == 1 and devices[killed["device"]]["alive"]  # Ray restarted it
    assert sum(d["done"] for d in devices.values()) == len(TASKS)
    index = (tmp_path / "out" / "index.html").read_text()
    assert all(r["report"] in index for r in rows) and victim["died"][0]["dir"] in index

    # The same episode in one process, undisturbed: the fleet's retry took the same actions.
    from vlagent.agent.config import AgentConfig
    from vlagent.agent.fleet.episode import fleet_policy_options, run_device_episode

    config = AgentConfig(policy="agent", policy_options=fleet_policy_options("agent", {}))
    alone = run_device_episode("sim-phone:9", VICTIM, config.model_dump(mode="json"), tmp_path / "alone")
    assert alone["status"] == victim["status"] and alone["steps"] == victim["steps"]
    assert _actions(tmp_path / "alone") == _actions(tmp_path / "out" / victim["episode_dir"])
