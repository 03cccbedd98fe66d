"""kill -9 while recording: every finished step survives intact, and the reader names the cut-off step."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from vlagent.agent.episode import load_episode

TRIALS = 10
CONFIG = """
[loop.settle]
interval_s = 0.04
stable_frames = 2
"""


def _start(tmp_path, trial, sigint_ignored=False):
    config = tmp_path / "slow.toml"
    config.write_text(CONFIG)
    out = tmp_path / f"ep{trial}"
    command = [sys.executable, "-m", "vlagent.agent.cli", "run", "--env", "sim-phone:0", "--task", "multi.send_contact_number",
               "--policy", "oracle", "--record", str(out), "--config", str(config), "--headless",
               "--env-opt", "width=360", "--env-opt", "height=800", "--env-opt", f"state_file={tmp_path / 'state.json'}"]
    # sigint_ignored: started as a background job of a script is (SIGINT inherited as ignored)
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=ignore)
    return process, out


def _wait_for(path, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the recorder exited early with {process.returncode}"
        assert time.monotonic() < deadline, "the episode never started"
        time.sleep(0.01)


def test_sigkill_at_random_moments_loses_at_most_the_step_in_flight(tmp_path):
    rng = random.Random(int(os.environ.get("VLAGENT_SIGKILL_SEED", "2024")))
    outcomes = []
    for trial in range(TRIALS):
        process, out = _start(tmp_path, trial)
        _wait_for(out / "episode.json", process)
        time.sleep(rng.uniform(0.0, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        episode = load_episode(out)  # raises on anything but a clean cut-off
        raw_lines = (out / "steps.jsonl").read_bytes().split(b"\n")
        complete = [json.loads(line) for line in raw_lines[:-1]]
        assert [s["step"] for s in complete] == list(range(len(complete)))
        assert episode.steps == complete
        for step in episode.steps:
            with Image.open(out / step["frame"]) as image:
                assert image.size == tuple(step["frame_size"])
                image.load()  # the whole PNG is there, not just its header
            assert step["action"] is not None and step["timings"]["total"] >= 0
        if episode.finished:
            assert episode.cut_off_step is None
        else:
            assert episode.cut_off_step == len(episode.steps)
            assert episode.notes
        outcomes.append((len(episode.steps), episode.finished))
    assert any(not finished for _, finished in outcomes), outcomes  # at least some kills landed mid-episode
    assert len({steps for steps, _ in outcomes}) >= 2, outcomes  # ... at different steps


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "sigint-inherited-ignored"])
def test_ctrl_c_finishes_the_record_as_cancelled(tmp_path, sigint_ignored):
    process, out = _start(tmp_path, "int", sigint_ignored)
    _wait_for(out / "steps.jsonl", process)
    deadline = time.monotonic() + 30
    while (out / "steps.jsonl").read_bytes().count(b"\n") < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    episode = load_episode(out)
    assert episode.result["status"] == "cancelled" and "KeyboardInterrupt" in episode.result["reason"]
    assert episode.cut_off_step is None and len(episode.steps) >= 2
    assert episode.result["steps_recorded"] == len(episode.steps)
