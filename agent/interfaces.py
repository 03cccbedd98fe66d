"""The small typed contracts that let any frame source, policy and actuator combine by name.

Data flows one way: FrameSource -> Frame -> Policy -> Decision (an Action in frame px)
-> safety gate -> Actuator -> ActionResult (what was really sent, in device px).
"""

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from vlagent.agent.actions import Action
from vlagent.perception.frame import Frame

__all__ = ["Frame", "Observation", "Decision", "ActionResult", "FrameSource", "Policy", "Actuator"]


@dataclass(frozen=True)
class Observation:
    """What a policy sees at one step: the frame, the task instruction, the step index (0-based),
    feedback from the loop (e.g. the parse error of the previous attempt, a re-plan request, a
    blocked or failed action), and `retry`: True only when the loop asks again at the same
    step because the previous answer was unusable (unparseable, or a repeat to re-plan), so a
    model policy may sample instead of repeating its greedy answer."""

    frame: Frame
    instruction: str
    step: int = 0
    feedback: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class Decision:
    """A policy's answer: the Action (frame px), the raw model text, an optional thought,
    and stage timings in seconds (e.g. {"preprocess": .., "model": ..})."""

    action: Action
    raw_text: str = ""
    thought: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    grounding: dict[str, Any] | None = None


@dataclass(frozen=True)
class ActionResult:
    """What the actuator did: `ok`, the device-level command it sent (device px, after
    clipping), a human-readable message, and how long execution took in seconds."""

    ok: bool
    action: Action
    sent: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    executed: bool = True


@runtime_checkable
class FrameSource(Protocol):
    def capture(self) -> Frame: ...


@runtime_checkable
class Policy(Protocol):
    def act(self, observation: Observation, history: list[Decision]) -> Decision: ...


@runtime_checkable
class Actuator(Protocol):
    def execute(self, action: Action, frame: Frame) -> ActionResult: ...
