"""`run_episode`: observe -> decide -> gate -> act -> settle -> record, until done.

The loop knows nothing about the simulator, ADB or models: it combines a FrameSource, a
Policy and an Actuator, asks an optional `success_check()` at the end, and writes every
step through an optional EpisodeRecorder before starting the next.

Guards, all from `LoopConfig`:
- budgets that bound wall time: `max_steps`; `max_seconds` for the episode, checked
  between steps and also bounding each wait inside one: the policy runs in a worker thread
  and is given at most `step_timeout_s` and the time left (a policy that does not answer
  ends the episode with status "timeout"; its thread is abandoned, never joined), waits'
  and gestures' durations are capped to `max_action_seconds` and the time left
  (`vlagent.agent.step`), and settling to the time left;
- unparseable output (`PolicyOutputError` or `ActionParseError` from `Policy.act`, or an
  action outside the frame): fed back through `Observation.feedback` with
  `Observation.retry` set and retried `parse_retries` times, then the episode ends with
  status "parse_error";
- loops: the same action (canonical JSON) proposed on an unchanged screen
  `repeat_limit` times is withheld and the policy is asked to re-plan once; proposing it
  again ends the episode with status "loop";
- safety: every action goes through `vlagent.agent.step.gated_execute` (the same path as
  `vlagent act` and the Gymnasium env); a denied one is recorded with `executed: false`
  and ends the episode ("blocked") or is fed back, per `SafetyConfig.on_block`;
- dry run: everything is decided, gated and recorded, and nothing is executed;
- cancellation: `cancel` (a threading.Event, also checked while the policy thinks) ends
  with status "cancelled"; KeyboardInterrupt (Ctrl-C, and SIGTERM under
  `vlagent.agent.signals.interrupt_on_sigterm`) and any other exception write a final
  result ("cancelled" / "error", every finished step kept) before re-raising. Errors are
  described with `error_text`, so even an exception whose `str()` raises is recorded.
"""

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vlagent.agent.actions import ActionParseError, Answer, Finish, action_to_json, parse_action
from vlagent.agent.config import LoopConfig, SafetyConfig
from vlagent.agent.errors import PolicyOutputError, error_text
from vlagent.agent.interfaces import (
    Actuator,
    Decision,
    FrameSource,
    Observation,
    Policy,
)
from vlagent.agent.recorder import EpisodeRecorder, StepData
from vlagent.agent.safety import SafetyGate
from vlagent.agent.settle import frames_differ, wait_until_stable
from vlagent.agent.signals import signals_held
from vlagent.agent.step import gated_execute
from vlagent.perception.frame import Frame

STAGES = ("capture", "preprocess", "model", "safety", "actuate", "settle", "record")


@dataclass(frozen=True)
class EpisodeResult:
    """How an episode ended.

    status: "finished" (the policy finished, or the success check passed with
    stop_on_success), "max_steps", "timeout", "loop", "parse_error", "blocked",
    "cancelled" or "error". success: the success check's verdict when one was given,
    else the policy's Finish claim, else False. timings: seconds per stage, summed.
    """

    status: str
    success: bool
    reason: str
    steps: int
    seconds: float
    answer: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    record_dir: Path | None = None

    def to_dict(self) -> dict:
        return {"status": self.status, "success": self.success, "reason": self.reason, "steps": self.steps,
                "seconds": round(self.seconds, 6), "answer": self.answer,
                "timings": {k: round(v, 6) for k, v in self.timings.items()}}


@dataclass
class _Attempt:
    """One step's decision: the accepted Decision (or None), the failed tries, and timing.
    `stalled` is "timeout" or "cancelled" when the policy gave no answer in time."""

    decision: Decision | None
    failures: list[dict]
    seconds: float
    feedback: str | None
    stalled: str | None = None


class _PolicyStalled(Exception):
    """The policy did not answer in time, or cancel was set while it thought."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _call_policy(policy: Policy, observation: Observation, history: list[Decision], timeout_s: float,
                 cancel: threading.Event | None) -> Decision:
    """`policy.act` in a daemon thread, waited on for at most `timeout_s` seconds.

    A daemon thread, not an executor: a hung policy must not keep the process alive at
    exit. Its exception is re-raised here; a stall raises `_PolicyStalled`."""
    box: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["decision"] = policy.act(observation, list(history))
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            box["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name="vlagent-policy", daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not done.wait(min(0.05, max(deadline - time.monotonic(), 0.0))):
        if cancel is not None and cancel.is_set():
            raise _PolicyStalled("cancelled")
        if time.monotonic() >= deadline:
            raise _PolicyStalled("timeout")
    if "error" in box:
        raise box["error"]
    return box["decision"]


def _output_failure(error: BaseException, decision: Decision | None) -> tuple[str, str]:
    """(reason, raw text) of an unusable answer; never fails, whatever the error holds."""
    if isinstance(error, PolicyOutputError):
        reason = error.reason if isinstance(error.reason, str) and error.reason else error_text(error)
        raw = error.raw_text if isinstance(error.raw_text, str) else ""
    else:
        reason = error_text(error)
        raw = getattr(decision, "raw_text", "")
        raw = raw if isinstance(raw, str) else ""
    return reason, raw


def _ask(policy: Policy, observation: Observation, history: list[Decision], retries: int, timeout_s: float,
         cancel: threading.Event | None = None) -> _Attempt:
    """Ask until the answer parses inside the frame, at most 1 + retries times, all within
    `timeout_s` seconds of policy time."""
    failures: list[dict] = []
    feedback, retry = observation.feedback, observation.retry
    started = time.perf_counter()
    for _ in range(1 + retries):
        ask = Observation(observation.frame, observation.instruction, observation.step, feedback, retry)
        decision = None
        try:
            left = timeout_s - (time.perf_counter() - started)
            if left <= 0:
                raise _PolicyStalled("timeout")
            decision = _call_policy(policy, ask, history, left, cancel)
            parse_action(getattr(decision, "action", None), frame_size=observation.frame.size)
            return _Attempt(decision, failures, time.perf_counter() - started, feedback)
        except _PolicyStalled as stall:
            return _Attempt(None, failures, time.perf_counter() - started, feedback, stall.why)
        except (PolicyOutputError, ActionParseError) as error:
            reason, raw = _output_failure(error, decision)
        failures.append({"raw_text": raw, "error": reason, "feedback": feedback})
        feedback = (f"Your previous output could not be used: {reason}. "
                    f"Previous output: {raw[:500]!r}. Answer with exactly one valid action.")
        retry = True
    return _Attempt(None, failures, time.perf_counter() - started, feedback)


class _Repeats:
    """Counts the same action proposed on an unchanged screen."""

    def __init__(self, config: LoopConfig):
        self.settle = config.settle
        self.key: str | None = None
        self.frame: Frame | None = None
        self.count = 0

    def observe(self, decision: Decision, frame: Frame) -> int:
        key = action_to_json(decision.action)
        unchanged = self.frame is not None and frames_differ(
            self.frame, frame, self.settle.pixel_threshold) <= self.settle.max_changed
        self.count = self.count + 1 if key == self.key and unchanged else 1
        self.key, self.frame = key, frame
        return self.count


def _split_timings(decision: Decision | None, policy_seconds: float) -> dict[str, float]:
    timings = dict(decision.timings) if decision is not None else {}
    timings.setdefault("preprocess", 0.0)
    timings.setdefault("model", max(policy_seconds - timings["preprocess"], 0.0))
    timings["policy"] = policy_seconds
    return timings


class _Episode:
    """The state of one run (history, timings, the recorder) and its stages, which
    `run_episode` calls in order; each stage fills the step's `StepData` or passes."""

    def __init__(self, source, policy, actuator, instruction, config, gate, recorder, success_check, cancel,
                 on_step):
        self.source, self.policy, self.actuator = source, policy, actuator
        self.instruction, self.config, self.gate = instruction, config, gate
        self.recorder, self.success_check, self.cancel = recorder, success_check, cancel
        self.on_step = on_step
        self.history: list[Decision] = []
        self.totals = dict.fromkeys(STAGES, 0.0)
        self.repeats = _Repeats(config)
        self.started = time.monotonic()
        self.step_started = 0.0
        self.next_frame: Frame | None = None
        self.last_frame: Frame | None = None
        self.feedback: str | None = None
        self.answer: str | None = None
        self.steps = 0

    def time_left(self) -> float:
        """Seconds of the wall-time budget left (>= 0)."""
        return max(self.config.max_seconds - (time.monotonic() - self.started), 0.0)

    def policy_time(self) -> float:
        return min(self.config.step_timeout_s, self.time_left())

    # -- stages, in order ------------------------------------------------------------------
    def budget_spent(self) -> EpisodeResult | None:
        if self.cancel is not None and self.cancel.is_set():
            return self.result("cancelled", "cancelled")
        if time.monotonic() - self.started >= self.config.max_seconds:
            return self.result("timeout", f"wall-time budget of {self.config.max_seconds:g} s spent")
        return None

    def observe(self, index: int) -> StepData:
        """The frame the settle stage left, else a fresh capture."""
        self.step_started = time.perf_counter()
        frame, seconds = self.next_frame, 0.0
        if frame is None:
            frame = self.source.capture()
            seconds = time.perf_counter() - self.step_started
        self.next_frame, self.last_frame = None, frame
        data = StepData(step=index, frame=frame, started_at=time.time(), feedback=self.feedback,
                        timings={"capture": seconds})
        self.feedback = None
        return data

    def decide(self, data: StepData) -> None:
        """Ask the policy (with retries); withhold a repeated action and ask it to re-plan once.
        Leaves `data.decision` None with event "parse_error" or "loop" when nothing is usable."""
        frame = data.frame
        attempt = _ask(self.policy, Observation(frame, self.instruction, data.step, data.feedback), self.history,
                       self.config.parse_retries, self.policy_time(), self.cancel)
        data.attempts, seconds = attempt.failures, attempt.seconds
        decision, event = attempt.decision, None
        if decision is None:
            event = _stall_event(attempt.stalled)
        elif self.repeats.observe(decision, frame) >= self.config.repeat_limit:
            replan = _ask(self.policy, Observation(frame, self.instruction, data.step, _replan_feedback(decision),
                                                   retry=True),
                          self.history, self.config.parse_retries, self.policy_time(), self.cancel)
            data.attempts += [_withheld(decision, "repeated on an unchanged screen"), *replan.failures]
            seconds += replan.seconds
            decision, event = replan.decision, "replanned"
            if replan.stalled is not None:
                event = _stall_event(replan.stalled)
            elif decision is None or self.repeats.observe(decision, frame) >= self.config.repeat_limit:
                if decision is not None:
                    data.attempts.append(_withheld(decision, "repeated again after re-planning"))
                decision, event = None, "loop"
        data.decision, data.event = decision, event
        data.timings.update(_split_timings(decision, seconds))

    def gate_and_act(self, data: StepData) -> None:
        """Cap, gate and execute the decided action (`gated_execute`), unless cancel is set."""
        if data.decision is None:
            return
        if self.cancel is not None and self.cancel.is_set():
            data.event = "cancelled"
            return
        outcome = gated_execute(data.decision.action, data.frame, gate=self.gate, actuator=self.actuator,
                                source=self.source, grounding=data.decision.grounding, dry_run=self.config.dry_run,
                                max_action_seconds=min(self.config.max_action_seconds, self.time_left()))
        data.frame, data.safety, data.result = outcome.frame, outcome.safety, outcome.result
        data.timings.update(outcome.timings)
        extra = {"capped": outcome.capped, "ui_tree_error": outcome.ui_tree_error}
        if any(value is not None for value in extra.values()):
            data.extra = {**(data.extra or {}), **{k: v for k, v in extra.items() if v is not None}}
        if outcome.action is not data.decision.action:  # a capped duration: record what really ran
            data.decision = dataclasses.replace(data.decision, action=outcome.action)
        if not data.safety.allowed:
            data.event = "blocked"

    def settle(self, data: StepData) -> None:
        """Wait (bounded) for a stable screen after an executed action; keep it as the next frame."""
        settle = self.config.settle
        if data.result is None or not data.result.executed or not settle.enabled or isinstance(
                data.result.action, Finish):
            return
        started = time.perf_counter()
        outcome = wait_until_stable(self.source.capture, interval_s=settle.interval_s,
                                    stable_frames=settle.stable_frames,
                                    timeout_s=min(settle.timeout_s, self.time_left()),
                                    threshold=settle.pixel_threshold, max_changed=settle.max_changed)
        self.next_frame = outcome.frame
        data.screen_changed = frames_differ(data.frame, outcome.frame, settle.pixel_threshold) > settle.max_changed
        data.settle = {"stable": outcome.stable, "captures": outcome.captures, "seconds": outcome.seconds,
                       "last_difference": outcome.last_difference}
        data.timings["settle"] = time.perf_counter() - started

    def record(self, data: StepData) -> None:
        """Write the step (fsync'ed) before the loop moves on; add it to the history."""
        for stage in STAGES:
            data.timings.setdefault(stage, 0.0)
        data.timings["total"] = time.perf_counter() - self.step_started
        if self.recorder is not None:
            line = self.recorder.write_step(data)
            data.timings["record"] = line["timings"]["record"]
        for stage in STAGES:
            self.totals[stage] += data.timings[stage]
        self.steps = data.step + 1
        if data.result is not None:
            self.history.append(data.decision)
        if self.on_step is not None:
            self.on_step(data)

    def after(self, data: StepData) -> EpisodeResult | None:
        """How the step ends the episode, if it does; else the feedback for the next step."""
        if data.event == "parse_error":
            return self.result("parse_error", f"no valid action after {len(data.attempts)} attempts: "
                                              f"{data.attempts[-1]['error']}")
        if data.event == "loop":
            return self.result("loop", f"the policy repeated {self.repeats.key} on an unchanged screen "
                                       f"{self.config.repeat_limit} times, also after re-planning")
        if data.event == "cancelled":
            return self.result("cancelled", "cancelled before acting")
        if data.event == "policy_timeout":
            if self.time_left() <= 0:
                return self.result("timeout", f"wall-time budget of {self.config.max_seconds:g} s spent while "
                                              "the policy was thinking")
            return self.result("timeout", f"the policy did not answer within {self.config.step_timeout_s:g} s "
                                          "(loop.step_timeout_s)")
        action = data.decision.action
        if data.event == "blocked":
            reasons = "; ".join(data.safety.reasons)
            if self.gate.on_block == "stop":
                return self.result("blocked", f"safety gate denied {action_to_json(action)}: {reasons}")
            self.feedback = (f"Your action {action_to_json(action)} was blocked by the safety gate ({reasons}). "
                             "Choose a different action.")
            return None
        if isinstance(action, Answer):
            self.answer = action.text
        if not data.result.ok:
            self.feedback = f"Your action {action_to_json(action)} failed: {data.result.message}"
        if isinstance(action, Finish):
            return self.result("finished", action.reason or f"the policy finished with {action.status}",
                               claimed=action.status == "success")
        if self.config.stop_on_success and self.success_check is not None and self.success_check():
            return self.result("finished", "the success check passed", claimed=True)
        return None

    # -- ending ---------------------------------------------------------------------------
    def result(self, status: str, reason: str, claimed: bool | None = None) -> EpisodeResult:
        success = bool(self.success_check()) if self.success_check is not None else bool(claimed)
        return EpisodeResult(status, success, reason, self.steps, time.monotonic() - self.started, self.answer,
                             dict(self.totals), self.recorder.dir if self.recorder is not None else None)

    def finish(self, result: EpisodeResult) -> EpisodeResult:
        if self.recorder is not None:
            final = self.next_frame if self.next_frame is not None else self.source.capture()
            with signals_held():
                self.recorder.finish(result.to_dict(), final_frame=final)
        return result

    def abort(self, status: str, error: BaseException) -> None:
        """Write a final result for an exception that is about to propagate."""
        if self.recorder is not None and not self.recorder.finished:
            reason = error_text(error, with_type=True)
            result = EpisodeResult(status, False, reason, self.steps, time.monotonic() - self.started,
                                   self.answer, dict(self.totals), self.recorder.dir)
            with signals_held():
                self.recorder.finish(result.to_dict(), final_frame=self.last_frame)


def _stall_event(stalled: str | None) -> str:
    """The step event for an attempt that produced no decision."""
    if stalled == "cancelled":
        return "cancelled"
    if stalled == "timeout":
        return "policy_timeout"
    return "parse_error"


def _withheld(decision: Decision, why: str) -> dict:
    return {"raw_text": decision.raw_text, "error": why, "action": decision.action.model_dump(mode="json")}


def _replan_feedback(decision: Decision) -> str:
    return (f"You proposed {action_to_json(decision.action)} again, but the screen did not change after it. "
            "It has no effect: re-plan and choose a different action, or finish.")


def run_episode(
    source: FrameSource,
    policy: Policy,
    actuator: Actuator,
    *,
    instruction: str,
    config: LoopConfig | None = None,
    gate: SafetyGate | None = None,
    recorder: EpisodeRecorder | None = None,
    success_check: Callable[[], bool] | None = None,
    cancel: threading.Event | None = None,
    on_step: Callable[[StepData], None] | None = None,
) -> EpisodeResult:
    """Run one episode; see the module docstring.

    The recorder must already be started; the loop finishes it. `on_step` is called with
    each step after it is recorded (for progress display).
    """
    config = config or LoopConfig()
    gate = gate or SafetyGate(SafetyConfig())
    run = _Episode(source, policy, actuator, instruction, config, gate, recorder, success_check, cancel, on_step)
    try:
        for index in range(config.max_steps):
            outcome = run.budget_spent()
            if outcome is not None:
                return run.finish(outcome)
            data = run.observe(index)
            run.decide(data)
            run.gate_and_act(data)
            run.settle(data)
            run.record(data)
            outcome = run.after(data)
            if outcome is not None:
                return run.finish(outcome)
        return run.finish(run.result("max_steps", f"step budget of {config.max_steps} spent"))
    except KeyboardInterrupt as error:
        run.abort("cancelled", error)
        raise
    except BaseException as error:
        run.abort("error", error)
        raise
