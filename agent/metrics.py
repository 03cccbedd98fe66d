"""Offline step metrics (AITW / AndroidControl style): does a predicted action match the recorded one?

Rules, per recorded (reference) action type; `type_match` needs the same action type:
- tap, double tap, long press: correct if the predicted point lies inside the target
  element's bounds when a UI tree was recorded (the smallest clickable node under the
  reference point, else the smallest node), otherwise within `TAP_DIAGONAL_FRACTION`
  (14%) of the frame diagonal of the reference point, in frame px. (AITW measures 0.14
  in normalised coordinates; the issue's contract is 14% of the diagonal.)
- scroll, swipe, drag: the direction matches (a swipe's direction is the finger's
  dominant axis of motion, so a scroll "down" and a swipe "up" are different types);
- type_text, answer: the text matches after normalisation (NFKC, case-fold, collapsed
  white space);
- key_press: the same key or hotkey; open_app: the same normalised name;
  finish: the same status; anything else: the type alone.
All points are frame px of the recorded frame.
"""

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from vlagent.agent.actions import Action

TAP_DIAGONAL_FRACTION = 0.14
POINT_TYPES = ("tap", "double_tap", "long_press")
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class StepScore:
    """One step's verdict: `type_match`, `match` (type and arguments), and why."""

    reference: str
    predicted: str | None
    type_match: bool
    match: bool
    detail: str = ""


def normalize_text(text: str) -> str:
    """NFKC, case-folded, white space collapsed and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def stroke_direction(x1: float, y1: float, x2: float, y2: float) -> str:
    """The dominant direction of finger motion: "up", "down", "left" or "right"."""
    dx, dy = x2 - x1, y2 - y1
    if abs(dx) > abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def target_box(ui_boxes: list[tuple[Box, bool]], x: float, y: float) -> Box | None:
    """The smallest clickable box (else the smallest box) containing (x, y); all frame px.

    `ui_boxes` is [(box, clickable), ...] from the recorded UI tree.
    """
    under = [(box, clickable) for box, clickable in ui_boxes
             if box[0] <= x < box[2] and box[1] <= y < box[3] and box[2] > box[0] and box[3] > box[1]]
    candidates = [box for box, clickable in under if clickable] or [box for box, _ in under]
    if not candidates:
        return None
    return min(candidates, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


def _keys(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _arguments_match(predicted: Action, reference: Action, frame_size: tuple[float, float],
                     box: Box | None) -> tuple[bool, str]:
    kind = reference.type
    if kind in POINT_TYPES:
        if box is not None:
            inside = box[0] <= predicted.x <= box[2] and box[1] <= predicted.y <= box[3]
            return inside, "inside the target element" if inside else "outside the target element"
        limit = TAP_DIAGONAL_FRACTION * math.hypot(*frame_size)
        distance = math.hypot(predicted.x - reference.x, predicted.y - reference.y)
        return distance <= limit, f"{distance:.1f} px from the reference (limit {limit:.1f})"
    if kind == "scroll":
        return predicted.direction == reference.direction, f"direction {predicted.direction}"
    if kind in ("swipe", "drag"):
        want = stroke_direction(reference.x1, reference.y1, reference.x2, reference.y2)
        got = stroke_direction(predicted.x1, predicted.y1, predicted.x2, predicted.y2)
        return got == want, f"direction {got} (reference {want})"
    if kind in ("type_text", "answer"):
        same = normalize_text(predicted.text) == normalize_text(reference.text)
        return same, "text matches" if same else f"text {predicted.text[:40]!r} != {reference.text[:40]!r}"
    if kind == "key_press":
        same = _keys(predicted.key) == _keys(reference.key)
        return same, f"key {predicted.key}"
    if kind == "open_app":
        same = normalize_text(predicted.app) == normalize_text(reference.app)
        return same, f"app {predicted.app!r}"
    if kind == "finish":
        return predicted.status == reference.status, f"status {predicted.status}"
    return True, "type only"


def score_step(predicted: Action | None, reference: Action, frame_size: tuple[float, float],
               box: Box | None = None) -> StepScore:
    """Compare a prediction (None: the policy gave no valid action) with the recorded action.

    `frame_size` is (width, height) in frame px; `box` is the target element (frame px),
    when a UI tree was recorded.
    """
    if predicted is None:
        return StepScore(reference.type, None, False, False, "no valid prediction")
    if predicted.type != reference.type:
        return StepScore(reference.type, predicted.type, False, False, f"type {predicted.type} != {reference.type}")
    match, detail = _arguments_match(predicted, reference, frame_size, box)
    return StepScore(reference.type, predicted.type, True, match, detail)


@dataclass
class Tally:
    """Running counts: steps, type matches, full matches, and per reference type."""

    steps: int = 0
    type_matches: int = 0
    matches: int = 0
    by_type: Counter = field(default_factory=Counter)
    matches_by_type: Counter = field(default_factory=Counter)

    def add(self, score: StepScore) -> None:
        self.steps += 1
        self.type_matches += score.type_match
        self.matches += score.match
        self.by_type[score.reference] += 1
        self.matches_by_type[score.reference] += score.match

    def merge(self, other: "Tally") -> None:
        self.steps += other.steps
        self.type_matches += other.type_matches
        self.matches += other.matches
        self.by_type.update(other.by_type)
        self.matches_by_type.update(other.matches_by_type)

    @property
    def type_accuracy(self) -> float:
        return self.type_matches / self.steps if self.steps else 0.0

    @property
    def step_accuracy(self) -> float:
        return self.matches / self.steps if self.steps else 0.0

    def to_dict(self) -> dict:
        return {"steps": self.steps, "type_matches": self.type_matches, "matches": self.matches,
                "type_accuracy": self.type_accuracy, "step_accuracy": self.step_accuracy,
                "by_type": {kind: {"steps": n, "matches": self.matches_by_type[kind]}
                            for kind, n in sorted(self.by_type.items())}}
