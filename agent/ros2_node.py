"""`ControlNode`: a policy drives a ROS 2 base, with a watchdog that keeps a stalled model from moving it.

Two threads, one direction of data:
- The **worker** (a daemon thread) captures the newest camera frame (never a queued one), asks
  the policy, and turns its Decision into the current command: a `Twist` becomes a velocity,
  clamped, valid until `min(arrival + ttl_s, arrival + action.seconds)`; `Stop`, `Wait` and an
  unusable answer clear it (zero at once); `NavigateTo` publishes a goal and leaves cmd_vel to
  the navigation stack; `Answer`/`Finish` end the node. Each decision's text goes to
  `text_topic` (std_msgs/String) and its velocity to `decision_topic` (TwistStamped).
- The **control loop** (the calling thread, `rate_hz`) sends, every period, the current command
  while it is fresh and zero otherwise, clamped and ramped (`actuators.ros2.velocity`): the TTL
  watchdog is this freshness test, so a policy that stalls for any reason (a slow model, a hung
  call) brings the base to zero within `ttl_s` plus one control period, whatever the worker does.

E-stop: a std_msgs/Bool on `estop_topic`. True drops the current command and holds zero; the
policy is not asked while it is set; after False, only decisions on frames received after the
clear can move the robot. Shutdown (SIGINT, SIGTERM, the time limit, the task's end, an error in
either thread) sends zero as the last message, with signals held, before the transport closes
(which waits for reliable readers to acknowledge it).

Units: seconds (monotonic clock), m/s, rad/s. Recording (optional `BagRecorder`): the frames
handed to the policy (the message as received, logged at hand-over, so a frame's decision comes
after it and before the next frame), every cmd_vel message sent, the model text, the decisions,
e-stop changes and the task.
"""

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlagent.actuators.ros2.actuator import Ros2Actuator, velocity_message
from vlagent.actuators.ros2.velocity import (
    ZERO,
    Velocity,
    VelocityError,
    VelocityLimits,
    bounded,
    clamp,
)
from vlagent.agent.actions import Answer, Finish, NavigateTo, Stop, Twist, Wait, action_to_json
from vlagent.agent.config import RobotConfig
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation
from vlagent.agent.ros2_bag import TASK_TOPIC
from vlagent.agent.signals import interrupt_on_sigterm, signals_held

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    """The velocity to re-send until `expires_at` (monotonic s); `frame_at`: when its frame arrived."""

    velocity: Velocity
    expires_at: float
    frame_at: float


@dataclass
class NodeSummary:
    """How a node run ended (`outcome`: finished, gave_up, answered, interrupted, time_up,
    policy_failed, failed), with counts of what happened; `error` is the failure's one-line text."""

    outcome: str = "running"
    answer: str | None = None
    error: str | None = None
    decisions: int = 0
    policy_errors: int = 0
    frame_timeouts: int = 0
    estops: int = 0
    sent: int = 0
    sent_zero: int = 0
    bag_counts: dict[str, int] = field(default_factory=dict)


def limits_of(config: RobotConfig) -> VelocityLimits:
    return VelocityLimits(config.max_linear, config.max_angular, config.max_linear_accel, config.max_angular_accel)


class ControlNode:
    """Run `policy` on `camera` frames for `task` and drive the base through `transport`.

    camera: a FrameSource whose frames carry `meta["age_s"]` (`Ros2CameraSource`); recorder: an
    optional `BagRecorder` with the node's topics (see `recorded_topics`); on_event(kind, data): an
    optional observer (called from both threads) for the CLI.
    """

    def __init__(self, transport: Any, camera: Any, policy: Any, task: str, config: RobotConfig,
                 recorder: Any = None, on_event: Callable[[str, dict], None] | None = None):
        from vlagent.actuators.ros2 import messages

        self.transport, self.camera, self.policy, self.task, self.config = transport, camera, policy, task, config
        self.recorder, self._on_event = recorder, on_event
        self.limits = limits_of(config)
        self.actuator = Ros2Actuator(transport, config.cmd_vel_topic, config.stamped, config.frame_id,
                                     config.goal_topic, self.limits)
        self.period_s = 1.0 / config.rate_hz
        self.summary = NodeSummary()
        self._lock = threading.Lock()
        self._command: Command | None = None
        self._navigating = False
        self._estop = False
        self._estop_cleared_at = -math.inf
        self._done = threading.Event()
        self._msgs = messages
        self._estop_subscription = transport.subscribe(config.estop_topic, messages.Bool, callback=self._on_estop)

    # -- events and recording ---------------------------------------------------------------

    def _event(self, kind: str, **data: Any) -> None:
        if self._on_event is not None:
            self._on_event(kind, data)

    def _record(self, topic: str, msg: Any, time_ns: int | None = None) -> None:
        if self.recorder is not None:
            self.recorder.write(topic, msg, time_ns)

    def _end(self, outcome: str, answer: str | None = None, error: str | None = None) -> None:
        with self._lock:
            if self.summary.outcome == "running":
                self.summary.outcome, self.summary.answer, self.summary.error = outcome, answer, error
        self._done.set()

    # -- e-stop (DDS thread) -----------------------------------------------------------------

    def _on_estop(self, msg: Any) -> None:
        engaged = bool(msg.data)
        with self._lock:
            if engaged == self._estop:
                return
            self._estop = engaged
            if engaged:
                self._command, self._navigating = None, False
                self.summary.estops += 1
            else:
                self._estop_cleared_at = time.monotonic()
        self._record(self.config.estop_topic, self._msgs.Bool(data=engaged))
        self._event("estop", engaged=engaged)

    # -- the worker ---------------------------------------------------------------------------

    def _set_command(self, command: Command | None, navigating: bool = False) -> None:
        with self._lock:
            if command is not None and (self._estop or command.frame_at <= self._estop_cleared_at):
                return  # decided on a frame from before (or during) an e-stop: never acted on
            self._command, self._navigating = command, navigating

    def _publish_decision(self, decision: Decision, velocity: Velocity | None) -> None:
        text = self._msgs.String(data=decision.raw_text or action_to_json(decision.action))
        self.transport.publish(self.config.text_topic, text)
        self._record(self.config.text_topic, text)
        if velocity is not None:
            stamped = velocity_message(velocity, stamped=True, frame_id=self.config.frame_id)
            self.transport.publish(self.config.decision_topic, stamped)
            self._record(self.config.decision_topic, stamped)

    def _publish_info(self, decision: Decision, step: int, frame: Any, message: Any, decided_s: float) -> None:
        stamp = getattr(getattr(message, "header", None), "stamp", None)
        info = {"step": step, "action": decision.action.model_dump(mode="json"), "thought": decision.thought,
                "frame_stamp_ns": None if stamp is None else int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec),
                "frame_age_ms": round(1000 * float(frame.meta.get("age_s", 0.0)), 3),
                "frame_size": [int(frame.image.shape[1]), int(frame.image.shape[0])],
                "grounding": decision.grounding,
                "timings_ms": {"decide": round(1000 * decided_s, 3),
                               **{k: round(1000 * float(v), 3) for k, v in (decision.timings or {}).items()}}}
        msg = self._msgs.String(data=json.dumps(info))
        self.transport.publish(self.config.info_topic, msg)
        self._record(self.config.info_topic, msg)

    def _apply(self, decision: Decision, frame_at: float) -> bool:
        """Make `decision` the current command; False when it ends the node."""
        action, now = decision.action, time.monotonic()
        if isinstance(action, Twist):
            velocity = clamp(Velocity(action.linear, action.angular), self.limits)
            self._publish_decision(decision, velocity)
            hold = min(self.config.ttl_s, action.seconds)
            self._set_command(Command(velocity, now + hold, frame_at) if hold > 0 else None)
            return True
        self._set_command(None)
        self._publish_decision(decision, ZERO if isinstance(action, (Stop, Wait, Answer, Finish)) else None)
        if isinstance(action, NavigateTo):
            self.actuator.execute(action)
            with self._lock:
                self._navigating = not self._estop
        elif isinstance(action, Wait):
            self._done.wait(min(action.seconds, self.config.max_wait_s))
        elif isinstance(action, (Answer, Finish)):
            if isinstance(action, Answer):
                self._end("answered", answer=action.text)
            else:
                self._end("finished" if action.status == "success" else "gave_up", answer=action.reason)
            return False
        elif not isinstance(action, Stop):
            raise PolicyOutputError(decision.raw_text, f"{action.type} is not a robot action "
                                                       "(robot actions: twist, navigate_to, stop, wait, answer, finish)")
        return True

    def _work(self) -> None:
        from vlagent.perception.sources.ros2 import Ros2FrameTimeout

        history: list[Decision] = []
        feedback, retry, failures = None, False, 0
        try:
            while not self._done.is_set():
                with self._lock:
                    estopped = self._estop
                if estopped:
                    self._done.wait(self.period_s)
                    continue
                try:
                    frame = self.camera.capture()
                except Ros2FrameTimeout as error:
                    self._set_command(None)  # blind: hold zero until frames come back
                    self.summary.frame_timeouts += 1
                    self._event("frame_timeout", error=str(error))
                    continue
                frame_at = time.monotonic() - float(frame.meta.get("age_s", 0.0))
                message = getattr(self.camera, "last_message", None)
                if message is not None:  # logged at hand-over, so each decision follows its frame in the bag
                    self._record(self.config.camera_topic, message)
                observation = Observation(frame=frame, instruction=self.task, step=len(history),
                                          feedback=feedback, retry=retry)
                try:
                    asked = time.perf_counter()
                    decision = self.policy.act(observation, history)
                    decided_s = time.perf_counter() - asked
                    if self._done.is_set():
                        return  # the node ended while the policy thought: act on nothing
                    history.append(decision)
                    self.summary.decisions += 1
                    self._publish_info(decision, len(history) - 1, frame, message, decided_s)
                    self._event("decision", step=len(history) - 1, action=action_to_json(decision.action),
                                text=decision.raw_text)
                    if not self._apply(decision, frame_at):
                        return
                    feedback, retry, failures = None, False, 0
                except (PolicyOutputError, VelocityError) as error:
                    self._set_command(None)
                    failures += 1
                    self.summary.policy_errors += 1
                    feedback, retry = str(error), True
                    self._event("policy_error", error=str(error))
                    if failures >= self.config.policy_error_limit:
                        self._end("policy_failed", error=f"{failures} unusable policy answers in a row: {error}")
                        return
        except Exception as error:  # noqa: BLE001 - the node must stop the robot and say why, not die silently
            log.exception("the policy worker failed")
            self._set_command(None)
            self._end("failed", error=f"{type(error).__name__}: {error}")

    # -- the control loop ---------------------------------------------------------------------

    def _target(self, now: float) -> Velocity | None:
        """The velocity to send now, or None to leave cmd_vel to a navigation goal."""
        with self._lock:
            if self._estop:
                return ZERO
            if self._navigating:
                return None
            command = self._command
        if command is None or now >= command.expires_at:
            return ZERO
        return command.velocity

    def _send(self, velocity: Velocity) -> None:
        msg = velocity_message(velocity, self.config.stamped, self.config.frame_id)
        self.transport.publish(self.config.cmd_vel_topic, msg)
        self._record(self.config.cmd_vel_topic, msg)
        self.summary.sent += 1
        self.summary.sent_zero += velocity.is_zero

    def run(self, max_seconds: float | None = None) -> NodeSummary:
        """Drive until the task ends, `max_seconds` pass, SIGINT/SIGTERM, or an error; zero is sent last."""
        task_msg = self._msgs.String(data=self.task)
        self._record(TASK_TOPIC, task_msg)
        worker = threading.Thread(target=self._work, name="vlagent-policy", daemon=True)
        start = time.monotonic()
        deadline = math.inf if max_seconds is None else start + max_seconds
        sent, last = ZERO, start
        try:
            with interrupt_on_sigterm():
                worker.start()
                tick = start
                while not self._done.is_set():
                    now = time.monotonic()
                    if now >= deadline:
                        self._end("time_up")
                        break
                    target = self._target(now)
                    if target is not None:
                        sent = bounded(sent, target, now - last, self.limits)
                        self._send(sent)
                    else:
                        sent = ZERO  # a navigation goal drives; the next command ramps up from rest
                    last = now
                    tick = max(tick + self.period_s, now)
                    self._done.wait(max(0.0, tick - time.monotonic()))
        except KeyboardInterrupt:
            self._end("interrupted")
        except BaseException as error:
            self._end("failed", error=f"{type(error).__name__}: {error}")
            raise
        finally:
            self._done.set()
            with signals_held():
                self._stop_robot()
        return self.summary

    def _stop_robot(self) -> None:
        """The last message: zero. Tried even when the loop failed; a failure here is raised, not hidden."""
        try:
            self._send(ZERO)
        finally:
            self._estop_subscription.close()


def recorded_topics(config: RobotConfig) -> dict[str, type]:
    """The topics (and message classes) a node's bag records."""
    from vlagent.actuators.ros2 import messages as m

    return {
        TASK_TOPIC: m.String,
        config.camera_topic: m.CompressedImage if config.compressed else m.Image,
        config.cmd_vel_topic: m.TwistStamped if config.stamped else m.Twist,
        config.text_topic: m.String,
        config.decision_topic: m.TwistStamped,
        config.info_topic: m.String,
        config.estop_topic: m.Bool,
    }
