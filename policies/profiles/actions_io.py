"""Small helpers the profile writers share: an Action's point, a scroll written as the finger
stroke that causes it, and pydantic validation turned into the profile's typed error."""

from __future__ import annotations

from pydantic import ValidationError

from vlagent.policies.profiles.base import AnswerFormatError

# A scroll written as a swipe: the stroke spans this fraction of the frame around its centre.
SCROLL_STROKE = 0.4


def scroll_stroke(direction: str, frame_size, x=None, y=None) -> tuple[float, float, float, float]:
    """The finger stroke (x1, y1, x2, y2 frame px) that scrolls `direction`: content moves
    with the finger, so revealing what lies below ("down") moves the finger up."""
    width, height = frame_size
    cx = width / 2 if x is None else x
    cy = height / 2 if y is None else y
    dx = SCROLL_STROKE * width / 2
    dy = SCROLL_STROKE * height / 2
    if direction == "down":
        return cx, cy + dy, cx, cy - dy
    if direction == "up":
        return cx, cy - dy, cx, cy + dy
    if direction == "right":
        return cx + dx, cy, cx - dx, cy
    return cx - dx, cy, cx + dx, cy


def build(raw: str, what: str, make):
    """`make()` (an Action constructor call), with pydantic's ValidationError as AnswerFormatError."""
    try:
        return make()
    except ValidationError as error:
        details = "; ".join(item["msg"] for item in error.errors(include_url=False))[:200]
        raise AnswerFormatError(raw, f"invalid {what}: {details}") from None
