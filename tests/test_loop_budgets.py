"""Budgets bound wall time, odd policy failures never crash the loop, and the retry flag.

The policies are real `Policy` objects that misbehave the way field policies do: one that
never answers, one that raises a PolicyOutputError holding None, one whose exception
cannot even be printed. The phone is the real simulator."""

import json
import threading
import time

from tests.agent_helpers import fast_loop, small_env
from vlagent.agent.actions import Tap, TypeText, Wait, action_to_json
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation
from vlagent.agent.loop import run_episode
from vlagent.agent.recorder import EpisodeRecorder


class Hangs:
    """Answers the first `answers` steps with a wait, then never answers again."""

    def __init__(self, answers: int = 0):
        self.answers = answers
        self.release = threading.Event()

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        if observation.step < self.answers:
            return Decision(Wait(seconds=0.0))
        self.release.wait(3600)
        return Decision(Wait(seconds=0.0))


class RaisesNoneOutputError:
    def act(self, observation, history):
        raise PolicyOutputError(None, None)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


class RaisesUnprintable:
    def act(self, observation, history):
        raise Unprintable()


def _recorded(tmp_path, name="ep"):
    recorder = EpisodeRecorder(tmp_path / name)
    recorder.start({"task": {"id": None, "instruction": "x"}})
    return recorder


def _meta(tmp_path, name="ep"):
    return json.loads((tmp_path / name / "episode.json").read_text())


def test_a_hung_policy_hits_the_step_timeout_and_the_finished_steps_are_kept(tmp_path):
    env = small_env(tmp_path)
    policy = Hangs(answers=2)
    started = time.monotonic()
    result = run_episode(env.source, policy, env.actuator, instruction="x",
                         config=fast_loop(step_timeout_s=1.0, max_seconds=60), recorder=_recorded(tmp_path))
    policy.release.set()
    assert time.monotonic() - started < 10
    assert result.status == "timeout" and "did not answer within 1 s" in result.reason
    meta = _meta(tmp_path)
    assert meta["result"]["status"] == "timeout" and meta["result"]["steps_recorded"] == 3
    last = json.loads((tmp_path / "ep" / "steps.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "policy_timeout" and last["action"] is None


def test_a_hung_policy_cannot_outlive_max_seconds(tmp_path):
    env = small_env(tmp_path)
    policy = Hangs()
    started = time.monotonic()
    result = run_episode(env.source, policy, env.actuator, instruction="x",
                         config=fast_loop(step_timeout_s=600, max_seconds=1.5))
    policy.release.set()
    assert time.monotonic() - started < 10
    assert result.status == "timeout" and "budget" in result.reason


def test_cancel_set_while_the_policy_thinks_ends_the_episode_promptly(tmp_path):
    env = small_env(tmp_path)
    policy, cancel = Hangs(), threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = run_episode(env.source, policy, env.actuator, instruction="x", config=fast_loop(), cancel=cancel,
                         recorder=_recorded(tmp_path))
    policy.release.set()
    assert time.monotonic() - started < 10
    assert result.status == "cancelled" and _meta(tmp_path)["result"]["status"] == "cancelled"


def test_long_waits_are_capped_by_config_and_by_the_budget_left(tmp_path):
    env = small_env(tmp_path)

    class WaitsLong:
        def act(self, observation, history):
            return Decision(Wait(seconds=3600))

    result = run_episode(env.source, WaitsLong(), env.actuator, instruction="x", recorder=_recorded(tmp_path),
                         config=fast_loop(max_steps=1, max_action_seconds=2.0))
    assert result.steps == 1
    step = json.loads((tmp_path / "ep" / "steps.jsonl").read_text().splitlines()[0])
    assert step["action"]["seconds"] == 2.0 and step["extra"]["capped"] == {"asked_s": 3600.0, "capped_s": 2.0}


def test_policy_output_error_holding_none_is_a_parse_error_not_a_crash(tmp_path):
    env = small_env(tmp_path)
    result = run_episode(env.source, RaisesNoneOutputError(), env.actuator, instruction="x",
                         config=fast_loop(parse_retries=1), recorder=_recorded(tmp_path))
    assert result.status == "parse_error" and result.steps == 1
    assert _meta(tmp_path)["result"]["status"] == "parse_error"


def test_an_exception_whose_str_raises_still_finishes_the_record(tmp_path):
    env = small_env(tmp_path)
    try:
        run_episode(env.source, RaisesUnprintable(), env.actuator, instruction="x", config=fast_loop(),
                    recorder=_recorded(tmp_path))
    except Unprintable:
        pass
    else:
        raise AssertionError("the policy's exception must propagate")
    result = _meta(tmp_path)["result"]
    assert result["status"] == "error" and result["reason"] == "Unprintable"


def test_only_a_retry_at_the_same_step_sets_the_retry_flag(tmp_path):
    """Feedback after a blocked action is not a retry; feedback after unparseable output is."""
    env = small_env(tmp_path)

    class Records:
        """Unparseable first, then a card number (blocked by the gate), then harmless taps."""

        def __init__(self):
            self.seen: list[Observation] = []

        def act(self, observation, history):
            self.seen.append(observation)
            if len(self.seen) == 1:
                raise PolicyOutputError("gibberish", "no action JSON found")
            action = TypeText(text="4111 1111 1111 1111") if len(self.seen) == 2 else Tap(x=1, y=1)
            return Decision(action, raw_text=action_to_json(action))

    from vlagent.agent.config import SafetyConfig
    from vlagent.agent.safety import make_gate

    policy = Records()
    gate = make_gate(SafetyConfig(on_block="continue"), interactive=False)
    run_episode(env.source, policy, env.actuator, instruction="x", config=fast_loop(max_steps=2), gate=gate)
    retry_flags = [(o.step, o.retry, o.feedback is not None) for o in policy.seen]
    assert retry_flags[0] == (0, False, False)
    assert retry_flags[1] == (0, True, True)  # asked again after unparseable output
    assert retry_flags[2] == (1, False, True)  # a new step after the blocked card number: feedback, no retry
