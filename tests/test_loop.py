"""run_episode on the real simulator: task success, retries, loop detection, budgets, faults."""

import threading

import pytest

from tests.agent_helpers import fast_loop, small_env
from vlagent.agent.actions import Finish, Tap, action_to_json
from vlagent.agent.episode import load_episode
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation
from vlagent.agent.loop import STAGES, run_episode
from vlagent.agent.recorder import EpisodeRecorder
from vlagent.agent.registry import PolicyContext, make_policy

INERT = (180.0, 720.0)  # between the launcher's last icon row and the navigation bar


def _recorder(path):
    recorder = EpisodeRecorder(path)
    recorder.start({"task": {"id": None, "instruction": "test"}})
    return recorder


class FlakyThenTap:
    """Gives unparseable output `failures` times per step, then taps Settings; finishes after one tap."""

    def __init__(self, failures: int):
        self.failures = failures
        self.feedback: list[str | None] = []
        self.calls = 0

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        self.calls += 1
        self.feedback.append(observation.feedback)
        if history:
            return Decision(Finish())
        if self.calls <= self.failures:
            raise PolicyOutputError(f"I think I should tap settings (attempt {self.calls})", "no action JSON found")
        node = next(n for n in observation.frame.ui_tree if n.text == "Settings")
        return Decision(Tap(x=node.center[0], y=node.center[1]), raw_text="tap settings")


class InertTapper:
    """Keeps tapping an inert spot; with `obey_replan`, finishes when told to re-plan."""

    def __init__(self, obey_replan: bool = False):
        self.obey_replan = obey_replan
        self.feedback: list[str | None] = []

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        self.feedback.append(observation.feedback)
        if self.obey_replan and observation.feedback and "re-plan" in observation.feedback:
            return Decision(Finish(status="failure", reason="nothing to do"))
        action = Tap(x=INERT[0], y=INERT[1])
        return Decision(action, raw_text=action_to_json(action))


def test_oracle_finishes_a_sim_task_and_every_stage_is_timed(tmp_path):
    env = small_env(tmp_path)
    task = env.setup_task("settings.wifi_off")
    policy = make_policy("oracle", PolicyContext(env=env, task=task))
    result = run_episode(env.source, policy, env.actuator, instruction=task.instruction, config=fast_loop(),
                         recorder=_recorder(tmp_path / "ep"), success_check=task.success_check)
    assert result.status == "finished" and result.success, result
    assert env.phone.state.settings.wifi is False
    episode = load_episode(tmp_path / "ep")
    assert len(episode.steps) == result.steps and episode.cut_off_step is None
    for step in episode.steps:
        assert set(STAGES) | {"total", "policy"} <= set(step["timings"])
        assert all(v >= 0 for v in step["timings"].values())
    executed = [s for s in episode.steps if s["action"]["type"] == "tap"]
    assert all(s["settle"]["stable"] and s["screen_changed"] for s in executed)


def test_unparseable_output_is_retried_with_the_error_fed_back(tmp_path):
    env = small_env(tmp_path)
    policy = FlakyThenTap(failures=2)
    result = run_episode(env.source, policy, env.actuator, instruction="open settings",
                         config=fast_loop(parse_retries=2), recorder=_recorder(tmp_path / "ep"))
    assert result.status == "finished", result
    assert env.phone.current_app == "com.android.settings"
    assert policy.feedback[0] is None
    assert "no action JSON found" in policy.feedback[1] and "attempt 1" in policy.feedback[1]
    assert "attempt 2" in policy.feedback[2]
    first = load_episode(tmp_path / "ep").steps[0]
    assert [a["error"] for a in first["attempts"]] == ["no action JSON found"] * 2
    assert first["action"]["type"] == "tap" and first["raw_text"] == "tap settings"


def test_retries_run_out_into_a_typed_parse_error(tmp_path):
    env = small_env(tmp_path)
    before = env.phone.to_json()
    result = run_episode(env.source, FlakyThenTap(failures=5), env.actuator, instruction="open settings",
                         config=fast_loop(parse_retries=1), recorder=_recorder(tmp_path / "ep"))
    assert result.status == "parse_error" and not result.success
    assert "no action JSON found" in result.reason
    assert env.phone.to_json() == before
    episode = load_episode(tmp_path / "ep")
    assert episode.steps[0]["event"] == "parse_error" and episode.steps[0]["action"] is None
    assert len(episode.steps[0]["attempts"]) == 2
    assert episode.result["status"] == "parse_error"


def test_an_action_outside_the_frame_counts_as_unparseable(tmp_path):
    class OffScreen:
        calls = 0

        def act(self, observation, history):
            self.calls += 1
            if history:
                return Decision(Finish())
            x = 5000.0 if self.calls == 1 else 10.0
            return Decision(Tap.model_construct(x=x, y=10.0, type="tap"), raw_text=f"tap {x}")

    env = small_env(tmp_path)
    result = run_episode(env.source, OffScreen(), env.actuator, instruction="x", config=fast_loop(),
                         recorder=_recorder(tmp_path / "ep"))
    assert result.status == "finished"
    attempt = load_episode(tmp_path / "ep").steps[0]["attempts"][0]
    assert "outside" in attempt["error"] and attempt["raw_text"] == "tap 5000.0"


def test_the_same_tap_on_an_unchanged_screen_ends_in_a_loop(tmp_path):
    env = small_env(tmp_path)
    policy = InertTapper()
    result = run_episode(env.source, policy, env.actuator, instruction="x", config=fast_loop(max_steps=20),
                         recorder=_recorder(tmp_path / "ep"))
    assert result.status == "loop", result  # without detection this would run all 20 steps
    assert result.steps == 3
    assert any(f and "re-plan" in f for f in policy.feedback)
    steps = load_episode(tmp_path / "ep").steps
    assert [s["event"] for s in steps] == [None, None, "loop"]
    assert steps[2]["action"] is None and steps[2]["result"] is None


def test_replanning_breaks_the_loop_when_the_policy_listens(tmp_path):
    env = small_env(tmp_path)
    result = run_episode(env.source, InertTapper(obey_replan=True), env.actuator, instruction="x",
                         config=fast_loop(max_steps=20), recorder=_recorder(tmp_path / "ep"))
    assert result.status == "finished" and result.steps == 3
    last = load_episode(tmp_path / "ep").steps[-1]
    assert last["event"] == "replanned" and last["action"]["type"] == "finish"
    assert last["attempts"][0]["error"] == "repeated on an unchanged screen"


def test_step_budget(tmp_path):
    class Alternate:
        def act(self, observation, history):
            y = 700.0 if len(history) % 2 else 720.0
            return Decision(Tap(x=180.0, y=y))

    env = small_env(tmp_path)
    result = run_episode(env.source, Alternate(), env.actuator, instruction="x", config=fast_loop(max_steps=4))
    assert result.status == "max_steps" and result.steps == 4


def test_wall_time_budget(tmp_path):
    class Slow(InertTapper):
        def act(self, observation, history):
            threading.Event().wait(0.3)
            return Decision(Tap(x=180.0, y=700.0 + len(history)))

    env = small_env(tmp_path)
    result = run_episode(env.source, Slow(), env.actuator, instruction="x",
                         config=fast_loop(max_steps=50, max_seconds=0.5))
    assert result.status == "timeout" and 1 <= result.steps <= 3


def test_cancel_event_stops_cleanly_with_a_record(tmp_path):
    cancel = threading.Event()

    class CancelAfterTwo:
        def act(self, observation, history):
            if len(history) == 1:
                cancel.set()
            return Decision(Tap(x=180.0, y=700.0 + len(history)))

    env = small_env(tmp_path)
    result = run_episode(env.source, CancelAfterTwo(), env.actuator, instruction="x", config=fast_loop(),
                         recorder=_recorder(tmp_path / "ep"), cancel=cancel)
    assert result.status == "cancelled"
    episode = load_episode(tmp_path / "ep")
    assert episode.result["status"] == "cancelled" and episode.cut_off_step is None
    assert episode.steps[-1]["event"] == "cancelled" and episode.steps[-1]["result"] is None


def test_ctrl_c_and_faults_leave_a_finished_record_and_propagate(tmp_path):
    class Interrupt:
        def act(self, observation, history):
            if history:
                raise KeyboardInterrupt
            return Decision(Tap(x=180.0, y=700.0))

    class Broken:
        def execute(self, action, frame):
            raise ConnectionError("device went away")

    env = small_env(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_episode(env.source, Interrupt(), env.actuator, instruction="x", config=fast_loop(),
                    recorder=_recorder(tmp_path / "a"))
    episode = load_episode(tmp_path / "a")
    assert episode.result["status"] == "cancelled" and len(episode.steps) == 1

    with pytest.raises(ConnectionError):
        run_episode(env.source, InertTapper(), Broken(), instruction="x", config=fast_loop(),
                    recorder=_recorder(tmp_path / "b"))
    episode = load_episode(tmp_path / "b")
    assert episode.result["status"] == "error" and "device went away" in episode.result["reason"]


def test_dry_run_executes_nothing(tmp_path):
    env = small_env(tmp_path)
    task = env.setup_task("settings.wifi_off")
    before = env.phone.to_json()
    policy = make_policy("oracle", PolicyContext(env=env, task=task))
    result = run_episode(env.source, policy, env.actuator, instruction=task.instruction,
                         config=fast_loop(dry_run=True), recorder=_recorder(tmp_path / "ep"),
                         success_check=task.success_check)
    assert env.phone.to_json() == before
    assert not result.success
    steps = load_episode(tmp_path / "ep").steps
    assert steps and all(s["result"] is None or s["result"]["executed"] is False for s in steps)
    assert steps[0]["action"]["type"] == "tap" and steps[0]["result"]["message"].startswith("dry run")
