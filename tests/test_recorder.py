"""The episode format: round trips, frame formats, coordinate records, and damaged files."""

import json

import numpy as np
import pytest

from tests.agent_helpers import fast_loop, small_env
from vlagent.agent.episode import load_episode
from vlagent.agent.errors import EpisodeFormatError
from vlagent.agent.loop import run_episode
from vlagent.agent.recorder import EpisodeRecorder, RecorderError
from vlagent.agent.registry import PolicyContext, make_policy


def _record(tmp_path, name="ep", frame_format="png", frame_width=None, task_id="settings.wifi_off"):
    env = small_env(tmp_path, frame_width=frame_width)
    task = env.setup_task(task_id)
    recorder = EpisodeRecorder(tmp_path / name, frame_format=frame_format)
    recorder.start({"task": task.describe(), "env": env.spec, "device": env.device})
    frames = []
    policy = make_policy("oracle", PolicyContext(env=env, task=task))
    result = run_episode(env.source, policy, env.actuator, instruction=task.instruction, config=fast_loop(),
                         recorder=recorder, success_check=task.success_check,
                         on_step=lambda data: frames.append(data.frame))
    return load_episode(tmp_path / name), frames, result


@pytest.mark.parametrize("frame_format", ["png", "webp"])
def test_round_trip_is_lossless(tmp_path, frame_format):
    episode, frames, result = _record(tmp_path, frame_format=frame_format)
    assert episode.finished and episode.cut_off_step is None and episode.notes == []
    assert episode.meta["version"] == 1 and episode.meta["format"] == "vlagent-episode"
    assert episode.result["status"] == result.status and episode.result["success"] is True
    assert episode.instruction == "Turn off Wi-Fi"
    assert (episode.path / episode.result["final_frame"]).is_file()
    assert len(episode.steps) == len(frames) == result.steps
    for index, original in enumerate(frames):
        assert episode.steps[index]["frame"].endswith(f".{frame_format}")
        loaded = episode.frame(index)
        assert np.array_equal(loaded.image, original.image)
        assert loaded.ui_tree == original.ui_tree
        assert loaded.to_device == original.to_device
        assert episode.decision(index).action == episode.action(index)


def test_actions_are_recorded_in_frame_and_device_px(tmp_path):
    episode, _, _ = _record(tmp_path, frame_width=180)  # a half-size capture of the 360x800 phone
    assert episode.meta["transforms"]["frame_to_device"] == {"kind": "scale", "src": [180.0, 400.0],
                                                             "dst": [360.0, 800.0]}
    taps = [s for s in episode.steps if s["action"]["type"] == "tap"]
    assert taps
    for step in taps:
        assert step["frame_size"] == [180, 400]
        assert step["action_device"]["x"] == pytest.approx(2 * step["action"]["x"])
        assert step["action_device"]["y"] == pytest.approx(2 * step["action"]["y"])
        assert step["result"]["sent"] == {"phone.tap": [step["action_device"]["x"], step["action_device"]["y"]]}


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return data


def test_a_torn_last_line_is_reported_and_the_rest_kept(tmp_path):
    episode, _, _ = _record(tmp_path)
    steps_file = episode.path / "steps.jsonl"
    data = steps_file.read_bytes()
    lines = data.split(b"\n")
    cut = len(data) - len(lines[-2]) // 2 - 1  # half of the last line, no newline
    _truncate(steps_file, cut)
    damaged = load_episode(episode.path)
    assert len(damaged.steps) == len(episode.steps) - 1
    assert damaged.cut_off_step == len(episode.steps) - 1
    assert "cut off" in damaged.notes[0]
    assert damaged.steps == episode.steps[:-1]


def test_an_unfinished_episode_names_the_step_in_flight(tmp_path):
    env = small_env(tmp_path)
    recorder = EpisodeRecorder(tmp_path / "ep")
    recorder.start({"task": {"instruction": "x"}})
    episode = load_episode(tmp_path / "ep")
    assert episode.steps == [] and episode.cut_off_step == 0 and not episode.finished
    from vlagent.agent.recorder import StepData

    recorder.write_step(StepData(step=0, frame=env.source.capture(), started_at=0.0))
    episode = load_episode(tmp_path / "ep")
    assert len(episode.steps) == 1 and episode.cut_off_step == 1 and episode.action(0) is None


def test_corruption_is_an_error_not_a_cut_off(tmp_path):
    episode, _, _ = _record(tmp_path)
    steps_file = episode.path / "steps.jsonl"
    original = steps_file.read_bytes()
    steps_file.write_bytes(b"{not json}\n" + original.split(b"\n", 1)[1])
    with pytest.raises(EpisodeFormatError, match="line 1"):
        load_episode(episode.path)
    steps_file.write_bytes(original)
    (episode.path / episode.steps[1]["frame"]).unlink()
    with pytest.raises(EpisodeFormatError, match="does not exist"):
        load_episode(episode.path)
    meta = json.loads((episode.path / "episode.json").read_text())
    (episode.path / "episode.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(EpisodeFormatError, match="version 99"):
        load_episode(episode.path)
    with pytest.raises(EpisodeFormatError, match="not an episode"):
        load_episode(tmp_path / "nowhere")


def test_the_recorder_will_not_overwrite_by_accident(tmp_path):
    _record(tmp_path)
    with pytest.raises(RecorderError, match="already holds"):
        EpisodeRecorder(tmp_path / "ep").start({})
    recorder = EpisodeRecorder(tmp_path / "ep", overwrite=True)
    recorder.start({})
    assert not list((tmp_path / "ep" / "frames").iterdir())
    with pytest.raises(RecorderError):
        EpisodeRecorder(tmp_path / "x", frame_format="bmp")


def test_a_second_recorder_on_the_same_directory_fails_overwrite_or_not(tmp_path):
    from vlagent.agent.recorder import RecorderLockedError

    first = EpisodeRecorder(tmp_path / "ep")
    first.start({"run": "first"})
    for overwrite in (False, True):
        with pytest.raises(RecorderLockedError, match="being recorded by another recorder"):
            EpisodeRecorder(tmp_path / "ep", overwrite=overwrite).start({"run": "second"})
    assert json.loads((tmp_path / "ep" / "episode.json").read_text())["run"] == "first"
    first.finish({"status": "finished"})
    again = EpisodeRecorder(tmp_path / "ep", overwrite=True)  # the lock went with the first recorder
    again.start({"run": "third"})
    again.finish({"status": "finished"})


def test_the_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    import subprocess
    import sys

    from vlagent.agent.recorder import RecorderLockedError

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from vlagent.agent.recorder import EpisodeRecorder; "
        f"r = EpisodeRecorder({str(tmp_path / 'ep')!r}); r.start({{'run': 'other'}}); "
        "print('started', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "started"
        with pytest.raises(RecorderLockedError, match=f"pid {holder.pid}"):
            EpisodeRecorder(tmp_path / "ep", overwrite=True).start({"run": "mine"})
    finally:
        holder.kill()
        holder.wait(timeout=30)
    mine = EpisodeRecorder(tmp_path / "ep", overwrite=True)  # killed: the kernel released its lock
    mine.start({"run": "mine"})
    mine.finish({"status": "finished"})
    assert json.loads((tmp_path / "ep" / "episode.json").read_text())["run"] == "mine"
