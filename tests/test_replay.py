"""Offline teacher-forced replay: the CLI acceptance path, the metrics, and teacher forcing."""

import json
import shutil
import subprocess
import sys

import pytest

from vlagent.agent.actions import Finish, KeyPress, LongPress, OpenApp, Scroll, Swipe, Tap, TypeText
from vlagent.agent.episode import load_episode
from vlagent.agent.interfaces import Decision
from vlagent.agent.metrics import TAP_DIAGONAL_FRACTION, normalize_text, score_step, target_box
from vlagent.agent.replay import score_episode
from vlagent.policies.scripted import ScriptedPolicy


def _vlagent(*args, env=None):
    executable = shutil.which("vlagent")
    command = [executable] if executable else [sys.executable, "-m", "vlagent.agent.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def oracle_episode(tmp_path_factory):
    """`vlagent run ... --policy oracle --record out/` on a multi-step sim task."""
    root = tmp_path_factory.mktemp("run")
    out = root / "out"
    done = _vlagent("run", "--env", "sim-phone:0", "--task", "clock.alarm_create", "--policy", "oracle",
                    "--record", str(out), "--headless", "--env-opt", "width=360", "--env-opt", "height=800",
                    "--env-opt", f"state_file={root / 'state.json'}", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "finished" and result["success"] is True
    return out


def test_cli_replay_of_an_oracle_run_scores_100_percent(oracle_episode):
    done = _vlagent("replay", str(oracle_episode), "--policy", "oracle", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    aggregate = report["aggregate"]
    assert aggregate["steps"] == len(load_episode(oracle_episode).steps) >= 5
    assert aggregate["step_accuracy"] == 1.0 and aggregate["type_accuracy"] == 1.0
    assert report["episodes"][0]["cut_off_step"] is None
    table = _vlagent("replay", str(oracle_episode.parent), "--policy", "oracle")  # a dataset directory
    assert table.returncode == 0 and "100.0%" in table.stdout and "Aggregate" in table.stdout


def test_a_different_policy_scores_less_and_history_is_teacher_forced(oracle_episode):
    episode = load_episode(oracle_episode)
    recorded = [episode.action(i) for i in range(len(episode.steps))]
    assert score_episode(episode, ScriptedPolicy(recorded)).tally.step_accuracy == 1.0

    wrong = list(recorded)
    wrong[0] = Tap(x=1.0, y=1.0)  # far from the target, same type
    wrong[1] = KeyPress(key="back")  # another type
    seen_histories = []

    class Recording(ScriptedPolicy):
        def act(self, observation, history):
            seen_histories.append(list(history))
            return super().act(observation, history)

    score = score_episode(episode, Recording(wrong))
    assert score.tally.steps == len(recorded)
    assert score.tally.matches == len(recorded) - 2 and score.tally.type_matches == len(recorded) - 1
    assert [s.match for _, s in score.scores][:2] == [False, False]
    # later steps still see the recorded actions, not the policy's own mistakes
    assert seen_histories[2][0].action == recorded[0] and seen_histories[2][1].action == recorded[1]


def test_tap_rules_target_element_and_diagonal():
    size = (1000.0, 2000.0)
    reference = Tap(x=500, y=500)
    box = (400.0, 450.0, 600.0, 550.0)
    assert score_step(Tap(x=590, y=540), reference, size, box).match
    assert not score_step(Tap(x=610, y=500), reference, size, box).match  # outside, though only 110 px away
    limit = TAP_DIAGONAL_FRACTION * (1000**2 + 2000**2) ** 0.5  # about 313 px
    assert score_step(Tap(x=500, y=500 + limit - 1), reference, size).match
    assert not score_step(Tap(x=500, y=500 + limit + 1), reference, size).match
    assert score_step(LongPress(x=505, y=505), LongPress(x=500, y=500), size).match
    assert not score_step(LongPress(x=500, y=500), reference, size).type_match
    assert not score_step(None, reference, size).type_match


def test_target_box_prefers_the_smallest_clickable_element():
    boxes = [((0, 0, 100, 100), False), ((10, 10, 90, 90), True), ((20, 20, 40, 40), False)]
    assert target_box(boxes, 30, 30) == (10, 10, 90, 90)
    assert target_box([((0, 0, 100, 100), False), ((20, 20, 40, 40), False)], 30, 30) == (20, 20, 40, 40)
    assert target_box(boxes, 500, 500) is None


def test_direction_and_text_rules():
    size = (100.0, 200.0)
    assert score_step(Scroll(direction="down", x=5, y=5), Scroll(direction="down"), size).match
    assert not score_step(Scroll(direction="up"), Scroll(direction="down"), size).match
    up = Swipe(x1=50, y1=150, x2=50, y2=50)
    assert score_step(Swipe(x1=10, y1=190, x2=12, y2=100), up, size).match
    assert not score_step(Swipe(x1=10, y1=100, x2=90, y2=100), up, size).match
    assert normalize_text("  Ｈello\u00a0  WORLD ") == "hello world"
    assert score_step(TypeText(text="hello  world"), TypeText(text="Hello World", submit=True), size).match
    assert not score_step(TypeText(text="hello"), TypeText(text="help"), size).match
    assert score_step(OpenApp(app="Settings"), OpenApp(app="settings"), size).match
    assert not score_step(Finish(status="failure"), Finish(), size).match


def test_replay_skips_steps_without_a_recorded_action(tmp_path):
    from tests.agent_helpers import small_env
    from vlagent.agent.recorder import EpisodeRecorder, StepData

    env = small_env(tmp_path)
    recorder = EpisodeRecorder(tmp_path / "ep")
    recorder.start({"task": {"instruction": "x"}})
    frame = env.source.capture()
    recorder.write_step(StepData(step=0, frame=frame, started_at=0.0, event="parse_error"))
    recorder.write_step(StepData(step=1, frame=frame, started_at=0.0, decision=Decision(Tap(x=10, y=10))))
    recorder.finish({"status": "finished"})
    score = score_episode(load_episode(tmp_path / "ep"), ScriptedPolicy([Tap(x=12, y=12)]))
    assert [index for index, _ in score.scores] == [1] and score.tally.step_accuracy == 1.0
