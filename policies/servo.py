"""`ServoPolicy`: visual servoing from a grounded box to a Twist.

Each decision grounds the instruction's target ("drive to the red ball" -> "the red ball") in the
frame through a `Grounder` (`ground(frame, label) -> box in frame px | None`), then:
- **box seen**: x error e = (box centre x - W/2) / (W/2) in -1..1 (positive: target to the right);
  angular = clamp(-k_angular * e); when |e| <= align_tolerance, drive: linear = max_linear scaled
  down as the target grows. "Large" is either the box's bottom edge reaching `stop_bottom` (a
  fraction of the frame height from the top: for an object standing on the floor, how low its
  base shows depends on its distance only, whatever its size) or its height reaching
  `stop_height`. Large and |e| <= align_tolerance: `Finish(success)` (the node then sends zero).
  For "turn to face ..." only angular is used, and |e| <= face_tolerance finishes.
- **box lost** (never seen, or gone): rotate in place at `search_angular` toward where the box was
  last seen (counter-clockwise when never seen) for at most `search_seconds`, then
  `Finish(failure, "<target> not visible")`: a target that is absent ends the task stopped, never
  wandering. A box that reappears in `confirm_frames` decisions in a row resumes servoing and
  resets the search clock (one stray box from a grounding model does not restart the search).

Units: frame px, rad/s, m/s, seconds (of the frames' capture clock). Gains and limits are a
`ServoConfig` (policy options: `--policy-opt k_angular=2.0`). Pure decision logic; the only state
is the search clock and the side the target was last seen on.
"""

import re
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vlagent.agent.actions import Finish, Twist, action_to_json
from vlagent.agent.errors import ConfigError
from vlagent.agent.interfaces import Decision, Observation

_VERBS = re.compile(r"^\s*(please\s+)?(drive|go|move|navigate|head)\s+(over\s+)?to(wards?)?\s+|"
                    r"^\s*(please\s+)?(turn|rotate)\s+(to\s+)?(face|towards?)\s+|"
                    r"^\s*(please\s+)?stop\s+(in\s+front\s+of|at|by|near)\s+|"
                    r"^\s*(please\s+)?(find|approach|look\s+for|search\s+for)\s+", re.IGNORECASE)
_FACE = re.compile(r"^\s*(please\s+)?(turn|rotate)\b", re.IGNORECASE)


class ServoConfig(BaseModel):
    """Gains and limits of the servo (see the module docstring for what each does)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_angular: float = Field(1.6, gt=0, le=20, description="rad/s per unit of normalised x error")
    max_angular: float = Field(0.9, gt=0, le=5, description="rad/s")
    max_linear: float = Field(0.35, gt=0, le=3, description="m/s")
    min_linear: float = Field(0.08, ge=0, le=3, description="m/s while approaching, however close")
    stop_height: float = Field(0.8, gt=0, le=1, description="box height / frame height at which to stop")
    stop_bottom: float = Field(0.85, gt=0, le=1, description="box bottom / frame height at which to stop")
    horizon: float = Field(0.5, ge=0, lt=1, description="box bottom / frame height of a far object (slow-down start)")
    align_tolerance: float = Field(0.25, gt=0, le=1, description="|x error| under which it drives")
    face_tolerance: float = Field(0.06, gt=0, le=1, description="|x error| that counts as facing")
    search_angular: float = Field(0.7, gt=0, le=5, description="rad/s while searching")
    search_seconds: float = Field(11.0, ge=0, le=600, description="longest search before giving up")
    confirm_frames: int = Field(2, ge=1, le=30, description="frames in a row a box must be seen in to end a search")
    hold_s: float = Field(0.5, gt=0, le=10, description="how long each Twist is meant to hold")


class Grounder(Protocol):
    def ground(self, frame: Any, label: str) -> tuple[float, float, float, float] | None:
        """The target's box (x1, y1, x2, y2) in frame px, or None when it is not visible."""


def target_label(instruction: str) -> str:
    """The object an instruction names: "drive to the red ball" -> "the red ball"."""
    label = _VERBS.sub("", instruction, count=1).strip().rstrip(".!")
    return label or instruction.strip()


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


class ServoPolicy:
    """Box -> Twist servoing with a bounded search (see the module docstring)."""

    def __init__(self, grounder: Grounder, config: ServoConfig | None = None):
        self.grounder, self.config = grounder, config or ServoConfig()
        self._search_started: float | None = None
        self._seen_in_a_row = 0
        self._last_side = 1.0  # +1: last seen on the left (turn counter-clockwise), -1: on the right

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        c, frame = self.config, observation.frame
        label = target_label(observation.instruction)
        facing_only = bool(_FACE.match(observation.instruction))
        box = self.grounder.ground(frame, label)
        now = float(frame.captured_at)
        width, height = frame.image.shape[1], frame.image.shape[0]
        grounding = None if box is None else {"label": label, "box_px": list(box)}
        self._seen_in_a_row = 0 if box is None else self._seen_in_a_row + 1
        if box is not None:
            error = ((box[0] + box[2]) / 2 - width / 2) / (width / 2)
            self._last_side = -1.0 if error > 0 else 1.0
        searching = self._search_started is not None
        if box is None or (searching and self._seen_in_a_row < c.confirm_frames):
            if self._search_started is None:
                self._search_started = now
            if now - self._search_started >= c.search_seconds:
                return self._decide(Finish(status="failure", reason=f"{label} not visible"), "lost", grounding)
            return self._decide(Twist(linear=0.0, angular=self._last_side * c.search_angular, seconds=c.hold_s),
                                "searching", grounding)
        self._search_started = None
        box_height, box_bottom = (box[3] - box[1]) / height, box[3] / height
        large = box_height >= c.stop_height or box_bottom >= c.stop_bottom
        if facing_only:
            if abs(error) <= c.face_tolerance:
                return self._decide(Finish(status="success", reason=f"facing {label}"), "done", grounding)
            return self._decide(Twist(linear=0.0, angular=round(_clamp(-c.k_angular * error, c.max_angular), 4),
                                      seconds=c.hold_s), "turning", grounding)
        if large and abs(error) <= c.align_tolerance:
            return self._decide(Finish(status="success", reason=f"at {label}"), "done", grounding)
        angular = _clamp(-c.k_angular * error, c.max_angular)
        linear = 0.0
        if abs(error) <= c.align_tolerance:
            closeness = max(box_height / c.stop_height,
                            (box_bottom - c.horizon) / max(c.stop_bottom - c.horizon, 1e-6))
            linear = min(c.max_linear, max(c.min_linear, c.max_linear * (1.0 - min(1.0, closeness)) * 2.0))
        return self._decide(Twist(linear=round(linear, 4), angular=round(angular, 4), seconds=c.hold_s), "approaching",
                            grounding)

    def _decide(self, action, phase: str, grounding) -> Decision:
        """The decision; its text is the grounding model's answer when the grounder has one (what
        the node publishes as model text), else the action's JSON."""
        text = getattr(self.grounder, "last_text", None)
        timings = dict(getattr(self.grounder, "last_timings", None) or {})
        return Decision(action=action, raw_text=text if text is not None else action_to_json(action),
                        thought=phase, grounding=grounding, timings=timings)


def servo_config(options: dict[str, Any]) -> ServoConfig:
    """A ServoConfig from policy options (unknown keys and bad values are ConfigErrors)."""
    try:
        return ServoConfig.model_validate(options)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_url=False))
        raise ConfigError(f"servo policy options: {problems}") from None


def from_context(context) -> ServoPolicy:
    """Registry factory ("servo"): `grounder=sim-truth` (the simulator's true box over ROS 2) or
    `grounder=model` (the grounding model, `model=DIR`, default the shipped robot package
    `perception/robot_model`); the other options are `ServoConfig` fields."""
    from vlagent.policies.model_options import KEYS as MODEL_KEYS

    options = dict(context.options)
    kind = options.pop("grounder", "model")
    model = {key: options.pop(key) for key in list(options) if key in MODEL_KEYS}
    config = servo_config(options)
    if kind == "sim-truth":
        from vlagent.policies.sim_truth import SimTruthGrounder

        if context.transport is None:
            raise ConfigError("grounder=sim-truth reads the simulator's boxes over ROS 2: use it with vlagent ros2-node")
        return ServoPolicy(SimTruthGrounder(context.transport), config)
    if kind == "model":
        from vlagent.perception.robot_model import path as robot_model
        from vlagent.policies.grounding import ModelGrounder

        model.setdefault("model", str(robot_model()))  # the shipped robot grounding package
        return ServoPolicy(ModelGrounder.open(model), config)
    raise ConfigError(f"servo policy: unknown grounder {kind!r} (sim-truth or model)")
