"""One step's act path, shared by every entry point: cap durations -> gate -> execute.

`gated_execute` is the only way an `Action` reaches an actuator: `vlagent act`, the loop
(`vlagent run`, `vlagent demo`) and the Gymnasium env all call it, so the safety gate,
the time caps and the dry-run rule cannot differ between them.

1. **Caps.** A wait's or a gesture's `seconds` is cut to `max_action_seconds` (from
   `LoopConfig.max_action_seconds` and the episode's remaining wall time), so no action
   can outlast the budget; the executed, recorded action is the capped one and
   `StepOutcome.capped` says what was asked.
2. **UI tree on demand.** When the gate needs a UI tree the frame lacks (a point or stroke
   action, see `SafetyGate.needs_ui_tree`) and the source can read one
   (`source.read_ui_tree()`, bounds in device px), it is read now, before anything is
   sent, so it shows the screen the action will land on. If the read fails, the frame stays
   without a tree and the gate treats the action as unverifiable (`ui_tree_error` says why).
3. **Gate.** A denied action is not executed: `ActionResult(ok=False, executed=False)`.
4. **Execute**, unless `dry_run`: then `ActionResult(ok=True, executed=False)`.
"""

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from vlagent.agent.actions import Action
from vlagent.agent.interfaces import ActionResult, Actuator
from vlagent.agent.safety import SafetyDecision, SafetyGate
from vlagent.perception.errors import VlagentError, error_text
from vlagent.perception.frame import Frame

_TIMED_FIELDS = ("seconds",)  # wait, long press, swipe, drag, twist: all carry `seconds`


@dataclass(frozen=True)
class StepOutcome:
    """What one gated step did. `action` is what was gated and (maybe) executed, after caps;
    `frame` is the frame the gate judged (with a UI tree read on demand, if any); timings
    are seconds ({"safety", "actuate"})."""

    action: Action
    frame: Frame
    safety: SafetyDecision
    result: ActionResult
    capped: dict[str, float] | None = None
    ui_tree_error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def cap_durations(action: Action, limit_s: float | None) -> tuple[Action, dict[str, float] | None]:
    """`action` with every duration field cut to `limit_s` seconds (None: no cap), and what
    was cut ({"asked_s", "capped_s"}) or None when nothing was."""
    if limit_s is None:
        return action, None
    limit_s = max(0.0, float(limit_s))
    for name in _TIMED_FIELDS:
        value = getattr(action, name, None)
        if isinstance(value, float | int) and value > limit_s:
            return action.model_copy(update={name: limit_s}), {"asked_s": float(value), "capped_s": limit_s}
    return action, None


def with_ui_tree(frame: Frame, source: Any) -> tuple[Frame, str | None]:
    """`frame` with a UI tree read now from `source` (device px), or `frame` unchanged and why not."""
    read = getattr(source, "read_ui_tree", None)
    if read is None:
        return frame, "the frame source cannot read a UI tree"
    try:
        nodes = read()
    except VlagentError as error:  # recorded, and the gate then treats the action as unverifiable
        return frame, f"reading the UI tree failed: {error_text(error, with_type=True)}"
    return dataclasses.replace(frame, ui_tree=tuple(nodes)), None


def gated_execute(action: Action, frame: Frame, *, gate: SafetyGate, actuator: Actuator, source: Any = None,
                  grounding: dict[str, Any] | None = None, dry_run: bool = False,
                  max_action_seconds: float | None = None) -> StepOutcome:
    """Cap, gate and execute one action (frame px of `frame`); see the module docstring."""
    action, capped = cap_durations(action, max_action_seconds)
    started = time.perf_counter()
    tree_error = None
    if gate.needs_ui_tree(action, frame):
        frame, tree_error = with_ui_tree(frame, source)
    safety = gate.review(action, frame, grounding)
    safety_s = time.perf_counter() - started
    actuate_s = 0.0
    if not safety.allowed:
        result = ActionResult(False, action, message="blocked by the safety gate", executed=False)
    elif dry_run:
        result = ActionResult(True, action, message="dry run: not executed", executed=False)
    else:
        started = time.perf_counter()
        result = actuator.execute(action, frame)
        actuate_s = time.perf_counter() - started
    return StepOutcome(action, frame, safety, result, capped, tree_error,
                       {"safety": safety_s, "actuate": actuate_s})
