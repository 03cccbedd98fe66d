"""The compact action grammar: one line of model text <-> one `Action` (frame px).

The agent policy asks the model for exactly one line in this grammar; the training data
(perception/train) writes its targets with `format_action_line`, so targets and parser can
never disagree. Every on-screen target is written in Qwen2-VL box tokens, norm-1000
relative to the whole frame the model saw:

    tap <|object_ref_start|>LABEL<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>
    long_press <|object_ref_start|>LABEL<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>
    type "TEXT"            TEXT is a JSON string literal (any Unicode); replaces the field's text
    scroll up|down|left|right
    key back|home|enter|app_switch
    open_app "NAME"        NAME is a JSON string literal
    wait
    answer "TEXT"          TEXT is a JSON string literal
    finish success|failure

Parsing: a tap or long press acts on the box centre, mapped norm-1000 -> frame px with
`perception.coords.norm1000_to_image(frame_size)`. String literals are read with
`json.loads`, never eval (and only once the argument opens with `"`, so no number reaches
`int()`). Anything malformed raises `ActionGrammarError`, a `PolicyOutputError`, so a policy
can let it propagate straight into the loop's retry path; parsing takes time linear in the
line's length, and a reason quotes at most a short prefix of what it names.

Formatting is lossy by design: a tap writes its target's box, not the exact tap point;
a swipe becomes the scroll it causes (the finger moving up reveals content below:
`scroll down`); `type` always clears the field first; a finish loses its reason.

Written by hand: nine fixed verbs do not justify a parser generator on the runtime path,
and the box part is delegated to `perception.grounding`, the one box-token reader.
"""

import json
import math
from dataclasses import dataclass

from pydantic import ValidationError

from vlagent.agent.actions import (
    Action,
    Answer,
    Finish,
    KeyPress,
    LongPress,
    OpenApp,
    Scroll,
    Swipe,
    Tap,
    TypeText,
    Wait,
)
from vlagent.agent.errors import PolicyOutputError
from vlagent.perception.coords import (
    Box,
    Size,
    apply_box,
    clamp_box,
    clamp_point,
    image_to_norm1000,
    norm1000_to_image,
)
from vlagent.perception.grounding import (
    BOX_END,
    BOX_START,
    OBJECT_REF_END,
    OBJECT_REF_START,
    Grounding,
    GroundingParseError,
    format_grounding,
    parse_groundings,
)

GRAMMAR_KEYS = ("back", "home", "enter", "app_switch")
SCROLL_DIRECTIONS = ("up", "down", "left", "right")
FINISH_STATUSES = ("success", "failure")
VERBS = ("tap", "long_press", "type", "scroll", "key", "open_app", "wait", "answer", "finish")
IM_END = "<|im_end|>"


class ActionGrammarError(PolicyOutputError):
    """Text that is not one valid grammar line, or an Action the grammar cannot write.

    `raw_text` is the offending text (for formatting: the action's repr); `reason` says what
    was wrong in words a model can act on.
    """


@dataclass(frozen=True)
class ParsedAction:
    """One parsed line: the Action (frame px), the target label and its box in norm-1000
    (both None for actions without an on-screen target)."""

    action: Action
    label: str | None = None
    box_norm: Box | None = None


# ----- formatting ---------------------------------------------------------------------------

def _check_label(label: object, raw: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ActionGrammarError(raw, "a tap target needs a non-empty label")
    if "<|" in label or "\n" in label or "\r" in label:
        raise ActionGrammarError(raw, f"label {_shown(label)} may not contain special tokens or line breaks")
    return label.strip()


def _swipe_direction(action: Swipe) -> str:
    """The scroll direction a swipe causes: content moves with the finger, so a finger
    moving up reveals what lies below ("down")."""
    dx, dy = action.x2 - action.x1, action.y2 - action.y1
    if abs(dy) >= abs(dx):
        return "down" if dy < 0 else "up"
    return "right" if dx < 0 else "left"


def _quoted(text: str) -> str:
    # ensure_ascii=False keeps CJK etc. readable for the tokenizer; JSON still escapes
    # quotes, backslashes and control characters, so the line stays one line.
    return json.dumps(text, ensure_ascii=False)


def _target_text(action: Action, frame_size: Size, target, raw: str) -> str:
    if target is None:
        raise ActionGrammarError(raw, f"{action.type} needs target=(label, box in frame px)")
    try:
        label, box = target
        box = tuple(float(v) for v in box)
    except (TypeError, ValueError):
        raise ActionGrammarError(raw, f"target must be (label, (x1, y1, x2, y2) frame px), got {target!r}") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ActionGrammarError(raw, f"target box must be 4 finite frame px, got {box!r}")
    norm = clamp_box(apply_box(image_to_norm1000(frame_size), box), (1000.0, 1000.0))
    return format_grounding(Grounding(label=_check_label(label, raw), boxes=(norm,)))


def format_action_line(action: Action, frame_size: Size, target: tuple[str, Box] | None = None) -> str:
    """The grammar line for `action` (frame px) on a frame of `frame_size` (width, height px).

    Taps and long presses need `target` = (label, (x1, y1, x2, y2) in frame px); the box is
    written in norm-1000, rounded to integers. Raises ActionGrammarError for actions the
    grammar cannot express (double tap, drag, robot actions, other keys, type with submit).
    """
    raw = repr(action)
    if isinstance(action, (Tap, LongPress)):
        verb = "tap" if isinstance(action, Tap) else "long_press"
        return f"{verb} {_target_text(action, frame_size, target, raw)}"
    if isinstance(action, TypeText):
        if action.submit:
            raise ActionGrammarError(raw, "the grammar has no submit flag: write `key enter` as the next action")
        return f"type {_quoted(action.text)}"
    if isinstance(action, Scroll):
        return f"scroll {action.direction}"
    if isinstance(action, Swipe):
        return f"scroll {_swipe_direction(action)}"
    if isinstance(action, KeyPress):
        if action.key not in GRAMMAR_KEYS:
            raise ActionGrammarError(raw, f"key {action.key!r} is not one of {', '.join(GRAMMAR_KEYS)}")
        return f"key {action.key}"
    if isinstance(action, OpenApp):
        return f"open_app {_quoted(action.app)}"
    if isinstance(action, Wait):
        return "wait"
    if isinstance(action, Answer):
        return f"answer {_quoted(action.text)}"
    if isinstance(action, Finish):
        return f"finish {action.status}"
    raise ActionGrammarError(raw, f"the action grammar has no form for {getattr(action, 'type', type(action).__name__)}")


def history_line(action: Action, label: str | None = None) -> str:
    """The short form used in prompt history: like the grammar line, but a tap is written
    `tap LABEL` with no box tokens (keeps prompts short). Taps without a label: `tap`."""
    if isinstance(action, (Tap, LongPress)):
        verb = "tap" if isinstance(action, Tap) else "long_press"
        if label is None or not label.strip():
            return verb
        return f"{verb} {_check_label(label, repr(action))}"
    return format_action_line(action, (1.0, 1.0))


# ----- parsing ------------------------------------------------------------------------------

def _shown(text: str, limit: int = 40) -> str:
    """repr(text), cut to `limit` characters: reasons are fed back to the model, keep them short."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _literal(argument: str, raw: str, verb: str) -> str:
    form = f'{verb} needs one JSON string literal, like {verb} "text"'
    # Only a string literal may reach json.loads: a bare number of 5000 digits would make
    # int() raise ValueError (or, without CPython's digit limit, take quadratic time).
    if not argument.startswith('"'):
        raise ActionGrammarError(raw, form)
    try:
        value = json.loads(argument)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ActionGrammarError(raw, form) from None
    if not isinstance(value, str):  # unreachable after the '"' check; kept as the rule itself
        raise ActionGrammarError(raw, f"{verb} needs a JSON string, got {type(value).__name__}")
    return value


def _word(argument: str, allowed: tuple[str, ...], raw: str, verb: str) -> str:
    if argument not in allowed:
        raise ActionGrammarError(raw, f"{verb} needs one of {'|'.join(allowed)}, got {_shown(argument)}")
    return argument


def _parse_target(argument: str, raw: str, verb: str, frame_size: Size) -> tuple[str, Box, tuple[float, float]]:
    """(label, box norm-1000, centre frame px) from `<ref>LABEL</ref><box>(..),(..)</box>`."""
    form = f"{verb} {OBJECT_REF_START}LABEL{OBJECT_REF_END}{BOX_START}(x1,y1),(x2,y2){BOX_END}"
    if not argument.startswith(OBJECT_REF_START) or OBJECT_REF_END not in argument:
        raise ActionGrammarError(raw, f"{verb} needs a labelled box: {form}")
    label_text, _, box_text = argument[len(OBJECT_REF_START):].partition(OBJECT_REF_END)
    label = _check_label(label_text, raw)
    box_text = box_text.strip()
    if not box_text.startswith(BOX_START) or not box_text.endswith(BOX_END):
        raise ActionGrammarError(raw, f"{verb} target {_shown(label)} needs one box right after its label: {form}")
    try:
        groundings = parse_groundings(box_text)
    except GroundingParseError as error:
        raise ActionGrammarError(raw, f"bad box for {_shown(label)}: {str(error)[:200]}") from None
    if len(groundings) != 1 or len(groundings[0].boxes) != 1 or groundings[0].points:
        raise ActionGrammarError(raw, f"{verb} needs exactly one box (two corners) for {_shown(label)}")
    box = groundings[0].boxes[0]
    x1, y1, x2, y2 = apply_box(norm1000_to_image(frame_size), box)
    centre = clamp_point((x1 + x2) / 2, (y1 + y2) / 2, frame_size)
    return label, box, centre


def _build(verb: str, argument: str, raw: str, frame_size: Size) -> ParsedAction:
    if verb in ("tap", "long_press"):
        label, box, (x, y) = _parse_target(argument, raw, verb, frame_size)
        action = Tap(x=x, y=y) if verb == "tap" else LongPress(x=x, y=y)
        return ParsedAction(action, label, box)
    if verb == "type":
        return ParsedAction(TypeText(text=_literal(argument, raw, verb), clear=True))
    if verb == "scroll":
        return ParsedAction(Scroll(direction=_word(argument, SCROLL_DIRECTIONS, raw, verb)))
    if verb == "key":
        return ParsedAction(KeyPress(key=_word(argument, GRAMMAR_KEYS, raw, verb)))
    if verb == "open_app":
        return ParsedAction(OpenApp(app=_literal(argument, raw, verb)))
    if verb == "wait":
        if argument:
            raise ActionGrammarError(raw, f"wait takes no argument, got {_shown(argument)}")
        return ParsedAction(Wait())
    if verb == "answer":
        return ParsedAction(Answer(text=_literal(argument, raw, verb)))
    return ParsedAction(Finish(status=_word(argument, FINISH_STATUSES, raw, verb)))


def parse_action_line(text: str, frame_size: Size) -> ParsedAction:
    """Parse one grammar line into an Action in frame px of a `frame_size` (width, height) frame.

    Surrounding white space and one trailing `<|im_end|>` are ignored. Raises
    ActionGrammarError, and nothing else, on anything malformed.
    """
    if not isinstance(text, str):
        raise ActionGrammarError(repr(text), f"expected text, got {type(text).__name__}")
    line = text.strip()
    if line.endswith(IM_END):
        line = line[: -len(IM_END)].rstrip()
    if not line:
        raise ActionGrammarError(text, "empty output: answer with one action line, like `finish success`")
    if "\n" in line or "\r" in line:
        raise ActionGrammarError(text, "answer with exactly one action line")
    verb, _, argument = line.partition(" ")
    if verb not in VERBS:
        raise ActionGrammarError(text, f"unknown action {verb[:40]!r}; expected one of {', '.join(VERBS)}")
    try:
        return _build(verb, argument.strip(), text, frame_size)
    except ValidationError as error:
        details = "; ".join(item["msg"] for item in error.errors(include_url=False))
        raise ActionGrammarError(text, f"invalid {verb} action: {details}") from None
