"""The one Action schema shared by every policy, actuator, recorder and replay.

Every action is a frozen pydantic model; `Action` is their discriminated union on the
field `type`, whose value is the snake_case class name. Units and spaces:

- x, y, x1, y1, x2, y2: **frame px** of the frame the policy perceived, origin top-left,
  x to the right, continuous (the centre of pixel (i, j) is (i + 0.5, j + 0.5)).
  Actuators map frame px to device px through `perception.coords`; nothing else rescales.
- seconds: wall-clock seconds, >= 0.
- Robot: linear in m/s, angular in rad/s, x/y in metres and yaw in radians in `frame_id`.

`parse_action` is the only way untrusted input (model output, JSON files, CLI) becomes an
Action; anything invalid raises `ActionParseError`, and only that.
"""

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vlagent.perception.errors import VlagentError, error_text

MAX_TEXT_LENGTH = 8192
MAX_SECONDS = 3600.0
MAX_SCROLL_AMOUNT = 10.0

# Canonical key names. Actuators translate them (Android keycodes, pyautogui names).
KEY_NAMES = frozenset(
    {
        "back", "home", "enter", "app_switch", "menu", "search", "power", "camera",
        "volume_up", "volume_down", "volume_mute", "notifications",
        "tab", "escape", "space", "backspace", "delete", "insert",
        "up", "down", "left", "right", "page_up", "page_down", "end", "begin",
        "ctrl", "alt", "shift", "meta", "caps_lock", "print_screen",
        *(f"f{i}" for i in range(1, 13)),
        *"abcdefghijklmnopqrstuvwxyz0123456789",
        *"`-=[]\\;',./",
    }
)
KEY_ALIASES = {
    "return": "enter", "esc": "escape", "recents": "app_switch", "recent_apps": "app_switch",
    "appswitch": "app_switch", "overview": "app_switch", "control": "ctrl", "cmd": "meta",
    "command": "meta", "super": "meta", "win": "meta", "windows": "meta", "option": "alt",
    "del": "delete", "pageup": "page_up", "pagedown": "page_down", "pgup": "page_up",
    "pgdn": "page_down", "arrow_up": "up", "arrow_down": "down", "arrow_left": "left",
    "arrow_right": "right", "volumeup": "volume_up", "volumedown": "volume_down",
}


class ActionParseError(VlagentError, ValueError):
    """Raised for any input that is not a valid Action; the message names what was wrong."""


def _canonical_key(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key.startswith("keycode_"):
        key = key[len("keycode_"):]
    key = KEY_ALIASES.get(key, key)
    if key not in KEY_NAMES:
        raise ValueError(f"unknown key name {name!r}")
    return key


class _ActionBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _inside_frame(self, info: ValidationInfo) -> "_ActionBase":
        size = (info.context or {}).get("frame_size") if info else None
        if size is None:
            return self
        width, height = size
        for x_name, y_name in self._points():
            x, y = getattr(self, x_name), getattr(self, y_name)
            if x is None or y is None:
                continue
            if not (0 <= x <= width and 0 <= y <= height):
                raise ValueError(
                    f"({x_name}, {y_name}) = ({x}, {y}) lies outside the {width}x{height} frame"
                )
        return self

    @classmethod
    def _points(cls) -> tuple[tuple[str, str], ...]:
        return ()


FramePx = Annotated[float, Field(ge=0, description="frame px")]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, description="seconds")]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]


class _Point(_ActionBase):
    x: FramePx
    y: FramePx

    @classmethod
    def _points(cls):
        return (("x", "y"),)


class _Stroke(_ActionBase):
    x1: FramePx
    y1: FramePx
    x2: FramePx
    y2: FramePx
    seconds: Seconds = 0.3

    @classmethod
    def _points(cls):
        return (("x1", "y1"), ("x2", "y2"))


class Tap(_Point):
    """A single tap or left click at (x, y) frame px."""

    type: Literal["tap"] = "tap"


class DoubleTap(_Point):
    """Two taps in quick succession at (x, y) frame px."""

    type: Literal["double_tap"] = "double_tap"


class LongPress(_Point):
    """Press and hold at (x, y) frame px for `seconds`."""

    type: Literal["long_press"] = "long_press"
    seconds: Seconds = 1.0


class Swipe(_Stroke):
    """A finger stroke from (x1, y1) to (x2, y2) frame px over `seconds`."""

    type: Literal["swipe"] = "swipe"


class Drag(_Stroke):
    """Press at (x1, y1), move to (x2, y2) frame px over `seconds`, release (drag and drop)."""

    type: Literal["drag"] = "drag"
    seconds: Seconds = 1.0


class Scroll(_ActionBase):
    """Scroll the content so that what lies in `direction` comes into view.

    `down` reveals content below (the finger moves up). (x, y) in frame px is where to
    scroll, the frame centre when omitted; `amount` is in screens (1.0 = one screen
    extent along the direction), actuator default 0.5.
    """

    type: Literal["scroll"] = "scroll"
    direction: Literal["up", "down", "left", "right"]
    x: FramePx | None = None
    y: FramePx | None = None
    amount: Annotated[float, Field(gt=0, le=MAX_SCROLL_AMOUNT)] | None = None

    @classmethod
    def _points(cls):
        return (("x", "y"),)

    @model_validator(mode="after")
    def _both_or_neither(self) -> "Scroll":
        if (self.x is None) != (self.y is None):
            raise ValueError("scroll needs both x and y, or neither")
        return self


class TypeText(_ActionBase):
    """Type `text` (any Unicode) into the focused field; `clear` empties it first, `submit` presses enter after."""

    type: Literal["type_text"] = "type_text"
    text: Text
    clear: bool = False
    submit: bool = False


class KeyPress(_ActionBase):
    """Press a named key, or a hotkey given as a list of names pressed together (["ctrl", "c"])."""

    type: Literal["key_press"] = "key_press"
    key: str | list[str]

    @field_validator("key")
    @classmethod
    def _known_keys(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return _canonical_key(value)
        if not value:
            raise ValueError("a hotkey needs at least one key name")
        if len(value) > 5:
            raise ValueError("a hotkey has at most 5 keys")
        return [_canonical_key(name) for name in value]


class OpenApp(_ActionBase):
    """Open the app with this name or package id."""

    type: Literal["open_app"] = "open_app"
    app: Annotated[str, Field(min_length=1, max_length=256)]

    @field_validator("app")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("app name is blank")
        return value


class Wait(_ActionBase):
    """Do nothing for `seconds`."""

    type: Literal["wait"] = "wait"
    seconds: Seconds = 1.0


class Answer(_ActionBase):
    """Report `text` to the user (the answer to an information task)."""

    type: Literal["answer"] = "answer"
    text: Text


class Finish(_ActionBase):
    """End the episode, claiming success or failure."""

    type: Literal["finish"] = "finish"
    status: Literal["success", "failure"] = "success"
    reason: Text | None = None


class Click(_Point):
    """A mouse click at (x, y) frame px: `button` left, right or middle, `clicks` 1-3 (desktop only;
    on a phone a tap is the click, and `click` is refused)."""

    type: Literal["click"] = "click"
    button: Literal["left", "right", "middle"] = "left"
    clicks: Annotated[int, Field(ge=1, le=3)] = 1


class Hover(_Point):
    """Move the pointer to (x, y) frame px without pressing (desktop only)."""

    type: Literal["hover"] = "hover"


class Twist(_ActionBase):
    """Drive the base: `linear` m/s forward, `angular` rad/s counter-clockwise, for `seconds`."""

    type: Literal["twist"] = "twist"
    linear: float
    angular: float
    seconds: Seconds = 0.5


class NavigateTo(_ActionBase):
    """Send a navigation goal: (x, y) metres and `yaw` radians in `frame_id`."""

    type: Literal["navigate_to"] = "navigate_to"
    x: float
    y: float
    yaw: float = 0.0
    frame_id: Annotated[str, Field(min_length=1, max_length=256)] = "map"


class Stop(_ActionBase):
    """Stop all motion now."""

    type: Literal["stop"] = "stop"


Action = Annotated[
    Tap | DoubleTap | LongPress | Swipe | Scroll | Drag | TypeText | KeyPress | OpenApp | Wait
    | Answer | Finish | Twist | NavigateTo | Stop | Click | Hover,
    Field(discriminator="type"),
]

PHONE_ACTION_TYPES = (Tap, DoubleTap, LongPress, Swipe, Scroll, Drag, TypeText, KeyPress, OpenApp, Wait, Answer, Finish)
ROBOT_ACTION_TYPES = (Twist, NavigateTo, Stop, Wait, Answer, Finish)
DESKTOP_ACTION_TYPES = (Tap, Click, DoubleTap, LongPress, Hover, Swipe, Scroll, Drag, TypeText, KeyPress, Wait, Answer,
                        Finish)
ACTION_TYPES = {cls.model_fields["type"].default: cls
                for cls in (*PHONE_ACTION_TYPES, Twist, NavigateTo, Stop, Click, Hover)}

_ADAPTER: TypeAdapter = TypeAdapter(Action)


def _describe(error: ValidationError, limit: int = 10) -> str:
    """The first `limit` problems, "field: rule"; a dict with a million extra keys gets a
    short message, not a million-line one."""
    parts = []
    items = error.errors(include_url=False)
    for item in items[:limit]:
        location = ".".join(str(p)[:40] for p in item["loc"])
        parts.append(f"{location}: {item['msg']}" if location else item["msg"])
    if len(items) > limit:
        parts.append(f"and {len(items) - limit} more")
    return "; ".join(parts)


# A JSON integer longer than this cannot be a valid field value (every numeric field is a
# float, and floats end at ~1.8e308); refusing it up front keeps `int()` (quadratic in the
# digit count when CPython's digit limit is lifted) off untrusted input.
_MAX_INT_DIGITS = 400
_TYPE_NAMES = sorted(ACTION_TYPES)


def _json_int(digits: str) -> int:
    if len(digits) > _MAX_INT_DIGITS:
        raise ActionParseError(f"a JSON integer of {len(digits)} characters is too long for any action field")
    return int(digits)


def _loads(text: str | bytes | bytearray) -> Any:
    try:
        return json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise ActionParseError("action JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bytes that are no JSON encoding
        raise ActionParseError(f"action is not valid JSON: {error}") from None


def _parse_action(obj: Any, context: dict | None) -> Action:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    if isinstance(obj, (str, bytes, bytearray)):
        obj = _loads(obj)
    if not isinstance(obj, dict):
        raise ActionParseError(f"an action must be a JSON object, got {type(obj).__name__}")
    if "type" not in obj:
        raise ActionParseError(f"action has no 'type' field; expected one of {_TYPE_NAMES}")
    type_name = obj["type"]
    if not isinstance(type_name, str):  # checked before `in`: a list or dict is unhashable
        raise ActionParseError(f"action type must be a string, got {type(type_name).__name__}")
    if type_name not in ACTION_TYPES:
        shown = type_name if len(type_name) <= 40 else type_name[:40] + "..."
        raise ActionParseError(f"unknown action type {shown!r}; expected one of {_TYPE_NAMES}")
    try:
        return _ADAPTER.validate_python(obj, context=context)
    except ValidationError as error:
        raise ActionParseError(f"invalid {type_name} action: {_describe(error)}") from None


def parse_action(obj: Any, frame_size: tuple[int, int] | None = None) -> Action:
    """Validate a dict, a JSON string (str or UTF-8/16/32 bytes) or an Action into an Action.

    `frame_size` is (width, height) in frame px; when given, every point must lie inside it.
    Raises ActionParseError naming the field and the rule on anything invalid, and nothing
    else whatever `obj` is (short of running out of memory); time is linear in its size.
    """
    context = {"frame_size": tuple(frame_size)} if frame_size is not None else None
    try:
        return _parse_action(obj, context)
    except (ActionParseError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - the contract: untrusted input raises ActionParseError only
        # Anything else (a RecursionError in validation, a dict subclass or key type whose
        # methods fail, a foreign model's model_dump) still means "not a valid action".
        raise ActionParseError(f"invalid action: {error_text(error, with_type=True)}") from None


def action_to_json(action: Action) -> str:
    """Serialise an Action to compact JSON that `parse_action` reads back unchanged."""
    fields = action.model_dump(mode="json")
    return json.dumps({"type": fields.pop("type"), **fields}, ensure_ascii=False, separators=(",", ":"))


def action_json_schema() -> dict:
    """The JSON Schema of `Action`, for documentation and for constrained decoding."""
    return _ADAPTER.json_schema()
