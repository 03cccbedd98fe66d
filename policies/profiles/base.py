"""What every prompt profile shares: the screen the model saw, the history it is shown, the
typed parse error, and the coordinate helpers that keep each family's space explicit.

A profile is a module with a pure prompt builder (`messages`), a pure parser (`parse`) and a
pure writer (`format_answer`, for training targets and round-trip tests). Coordinates in a
model's answer are in the profile's `space` and reach frame px only through
`perception.coords`:
- "norm1000": 0..1000 on each axis of the whole image (Qwen2-VL, UI-TARS 1.0, vlagent);
- "model_px": absolute px of the smart-resized model input (Qwen2.5-VL, UI-TARS 1.5).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vlagent.agent.errors import PolicyOutputError
from vlagent.perception.coords import (
    Size,
    Transform,
    apply_box,
    clamp_point,
    image_to_norm1000,
    model_to_frame,
    norm1000_to_image,
)
from vlagent.perception.errors import VlagentError

SPACES = ("norm1000", "model_px")
HISTORY_STEPS = 8  # previous steps shown to a model, most recent last (bounded prompt length)
HISTORY_CHARS = 400  # a previous answer longer than this is cut in the history
FEEDBACK_CHARS = 300  # the loop's feedback (a parse error) shown to the model, at most
MAX_ANSWER_CHARS = 20_000  # longer answers are refused before any parsing
MAX_NUMBER_DIGITS = 12  # a coordinate with more digits than this is refused (no huge ints)


class AnswerFormatError(PolicyOutputError):
    """A model answer its profile's parser cannot read; `reason` says what was expected."""


class ProfileError(VlagentError, ValueError):
    """An unknown profile name, or a model whose family cannot be told (names the known ones)."""


@dataclass(frozen=True)
class Screen:
    """The image the model saw: `frame_size` (w, h) frame px and `model_size` (w, h) px of the
    smart-resized model input."""

    frame_size: Size
    model_size: Size

    def to_frame(self, space: str) -> Transform:
        """The transform from a coordinate space (SPACES) to frame px."""
        if space == "norm1000":
            return norm1000_to_image(self.frame_size)
        if space == "model_px":
            return model_to_frame(self.model_size, self.frame_size)
        raise ProfileError(f"unknown coordinate space {space!r}; known: {', '.join(SPACES)}")

    def from_frame(self, space: str) -> Transform:
        """The transform from frame px to a coordinate space."""
        if space == "norm1000":
            return image_to_norm1000(self.frame_size)
        return self.to_frame(space).inverse()

    def point_to_frame(self, space: str, x: float, y: float) -> tuple[float, float]:
        """A model-space point in frame px, clamped into the frame."""
        fx, fy = self.to_frame(space).apply(float(x), float(y))
        return clamp_point(fx, fy, self.frame_size)

    def box_to_frame(self, space: str, box) -> tuple[float, float, float, float]:
        return apply_box(self.to_frame(space), tuple(float(v) for v in box))


@dataclass(frozen=True)
class HistoryItem:
    """One previous step as a profile shows it: the action taken (frame px), the model's raw
    answer for it ("" when the action came from elsewhere), the target label and thought."""

    action: object
    raw_text: str = ""
    label: str | None = None
    thought: str | None = None


@dataclass(frozen=True)
class ProfileAnswer:
    """A parsed answer: the Action (frame px), the target label and its box in norm-1000 when
    the answer named one, and the model's thought when the family writes one."""

    action: object
    label: str | None = None
    box_norm: tuple[float, float, float, float] | None = None
    thought: str | None = None


@dataclass(frozen=True)
class Profile:
    """One model family's conventions. `messages(instruction, history, screen, feedback)` and
    `parse(text, screen)` / `format_answer(action, screen, target, thought)` are pure;
    `space` is where its answers' coordinates live (SPACES); `min_pixels`/`max_pixels` the
    family's processor defaults (px of the resized input), which a remote server applies unless
    told otherwise; `follow_up(history, screen)` is the action owed without asking the model
    (an answer that also ends the task), or None."""

    name: str
    space: str
    messages: Callable
    parse: Callable
    format_answer: Callable
    min_pixels: int
    max_pixels: int
    description: str
    follow_up: Callable = field(default=lambda history, screen: None)


def describe(action, label: str | None = None) -> str:
    """A one-sentence summary of an action, for thoughts written in training targets."""
    kind = getattr(action, "type", "action")
    target = f" {label}" if label else ""
    if kind in ("tap", "click"):
        return f"Tap{target or ' the target'}."
    if kind == "long_press":
        return f"Long-press{target or ' the target'}."
    if kind == "type_text":
        return f"Type {json.dumps(action.text, ensure_ascii=False)}."
    if kind == "open_app":
        return f"Open {action.app}."
    if kind == "answer":
        return f"The answer is {json.dumps(action.text, ensure_ascii=False)}."
    if kind == "finish":
        return "The task is done." if action.status == "success" else "The task cannot be done."
    if kind == "key_press":
        return f"Press {action.key if isinstance(action.key, str) else '+'.join(action.key)}."
    if kind in ("scroll", "swipe"):
        return "Scroll to see more."
    return f"{kind.replace('_', ' ').capitalize()}."


def shown(text: str, limit: int = 40) -> str:
    """repr(text), cut to `limit` characters (reasons are fed back to the model: keep them short)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def recent(history: Sequence[HistoryItem]) -> list[HistoryItem]:
    """The last HISTORY_STEPS items, oldest first."""
    return list(history)[-HISTORY_STEPS:]


def clipped(text: str, limit: int = HISTORY_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def check_answer(text: object) -> str:
    """The answer as text, refused when it is not a string or too long to be an answer."""
    if not isinstance(text, str):
        raise AnswerFormatError(repr(text)[:200], f"expected text, got {type(text).__name__}")
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerFormatError(text[:200], f"answer of {len(text)} characters is longer than {MAX_ANSWER_CHARS}")
    return text


def bounded_int(digits: str) -> int:
    """`parse_int` for json.loads: a coordinate never needs MAX_NUMBER_DIGITS digits; a huge
    integer would only make int() slow or raise."""
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"integer of {len(digits)} digits")
    return int(digits)


def json_object(text: str, raw: str, what: str) -> dict:
    """One JSON object from model text (never eval), or AnswerFormatError."""
    try:
        value = json.loads(text, parse_int=bounded_int, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise AnswerFormatError(raw, f"{what} is not valid JSON: {shown(text)}") from None
    if not isinstance(value, dict):
        raise AnswerFormatError(raw, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a coordinate")


def number(value: object, raw: str, what: str) -> float:
    """A finite coordinate number (JSON int or float, or a numeric string)."""
    import math

    if isinstance(value, bool):
        raise AnswerFormatError(raw, f"{what} must be a number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > MAX_NUMBER_DIGITS + 4:
            raise AnswerFormatError(raw, f"{what} must be a number, got {shown(value)}")
        try:
            value = float(text)
        except ValueError:
            raise AnswerFormatError(raw, f"{what} must be a number, got {shown(text)}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AnswerFormatError(raw, f"{what} must be a finite number, got {shown(repr(value))}")
    return float(value)


def point_pair(value: object, raw: str, what: str) -> tuple[float, float]:
    """[x, y] (a JSON array of two numbers) -> (x, y)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise AnswerFormatError(raw, f"{what} must be [x, y], got {shown(json.dumps(value) if not isinstance(value, str) else value)}")
    return number(value[0], raw, what), number(value[1], raw, what)


def rounded(value: float) -> int:
    return int(round(value))
