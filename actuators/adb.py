"""`AdbActuator`: executes phone Actions on an Android device through the adb server.

Mapping: every point goes frame px -> device px through `frame.to_device` (built by the
frame source from the capture's own size, so rotation and host-side scaling are already in
it), is clamped into the device and sent as the integer pixel that contains it.

Commands (argv lists, each argument `shlex.quote`d by `AdbDevice.shell`; `sent["argv"]`
in the result is exactly what ran):
- tap: `input tap X Y`; double tap: two of them in one shell line;
- long press: `input swipe X Y X Y MS` (a stroke that does not move);
- swipe / scroll: `input swipe X1 Y1 X2 Y2 MS`; drag: `input draganddrop ...`;
- type: `input text` for safe ASCII, ADBKeyboard's base64 broadcast for anything else
  (see `actuators.adb_text`); clear via ADB_CLEAR_TEXT, or MOVE_END + DEL without
  ADBKeyboard; submit: `input keyevent KEYCODE_ENTER`;
- key: `input keyevent KEYCODE_*`; a hotkey: `input keycombination`;
- open app: `monkey -p PACKAGE -c android.intent.category.LAUNCHER 1`, the package
  resolved from the installed ones (`actuators.adb_apps`);
- wait: sleeps on the host; answer / finish: nothing is sent (`executed=False`).

`execute` returns after the device's command exited (shell v2 exit status). A command
that fails returns `ok=False` with the device's message; a dropped device that comes back
returns `ok=False` too (the episode goes on), one that does not raises `AdbDeviceGone`
within the reconnect bound.
"""

import math
import time

from vlagent.actuators.adb_apps import AppResolver
from vlagent.actuators.adb_keys import keycode
from vlagent.actuators.adb_text import (
    ADB_KEYBOARD_IME,
    ime_clear_command,
    ime_select_commands,
    ime_text_commands,
    input_text_commands,
    is_safe_ascii,
)
from vlagent.agent.action_map import scroll_stroke, to_device
from vlagent.agent.actions import (
    Action,
    Answer,
    DoubleTap,
    Drag,
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
from vlagent.agent.interfaces import ActionResult
from vlagent.perception.coords import pixel_index
from vlagent.perception.errors import VlagentError
from vlagent.perception.frame import Frame
from vlagent.perception.sources.adb_device import (
    AdbCommandError,
    AdbConnectionLost,
    AdbDevice,
    AdbDeviceError,
    AdbDeviceGone,
)

__all__ = ["AdbActuator", "AdbDeviceError", "AdbDeviceGone", "AdbConnectionLost", "AdbTextError"]

DEFAULT_SCROLL_AMOUNT = 0.5  # screens
CLEAR_FALLBACK_DELETES = 256  # DEL presses when the field's length is unknown and ADBKeyboard is absent


class AdbTextError(VlagentError, RuntimeError):
    """Text that needs ADBKeyboard (non-ASCII, newlines, a literal %s) on a device without it."""


class AdbActuator:
    """Executes Actions on one device; `connect()` / `close()` or use it as a context manager."""

    def __init__(self, serial: str | None = None, host: str | None = None, port: int | None = None,
                 device: AdbDevice | None = None, reconnect_timeout_s: float = 10.0,
                 command_timeout_s: float = 30.0, scroll_seconds: float = 0.5,
                 apps: dict[str, str] | None = None):
        self._options = (serial, host, port, reconnect_timeout_s, command_timeout_s)
        self.device = device
        self.scroll_seconds = scroll_seconds
        self.command_timeout_s = command_timeout_s
        self._apps = apps or {}
        self._resolver: AppResolver | None = None

    def connect(self) -> "AdbActuator":
        """Select the device (explicit serial, else the only one; else AdbDeviceError)."""
        if self.device is None:
            self.device = AdbDevice(*self._options)
        self._resolver = AppResolver(self.device, self._apps)
        return self

    def __enter__(self) -> "AdbActuator":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: every command opens and closes its own adb connection."""

    @property
    def serial(self) -> str:
        if self.device is None:
            raise AdbDeviceError("the actuator is not connected: call connect() first")
        return self.device.serial

    # ----- execute --------------------------------------------------------------------
    def execute(self, action: Action, frame: Frame) -> ActionResult:
        """Run `action` (frame px of `frame`) on the device; see the module docstring."""
        if self.device is None:
            self.connect()
        started = time.monotonic()
        if isinstance(action, (Answer, Finish)):
            return ActionResult(True, action, {}, f"{action.type}: nothing to send to the device", 0.0, False)
        if isinstance(action, Wait):
            time.sleep(action.seconds)
            return ActionResult(True, action, {"sleep_s": action.seconds}, "waited", time.monotonic() - started)
        commands: list[list[str]] = []
        try:
            commands = self._commands(action, frame)
            result = self.device.shell(*commands, timeout=self.command_timeout_s + _gesture_seconds(action))
        except (AdbTextError, LookupError, ValueError) as error:
            return ActionResult(False, action, {}, str(error), time.monotonic() - started, False)
        except AdbCommandError as error:
            return ActionResult(False, action, {"argv": commands, "exit_code": error.code}, str(error),
                                time.monotonic() - started)
        except AdbConnectionLost as error:
            return ActionResult(False, action, {"argv": commands}, str(error), time.monotonic() - started)
        return ActionResult(True, action, {"argv": commands, "exit_code": result.code}, "ok",
                            time.monotonic() - started)

    def _commands(self, action: Action, frame: Frame) -> list[list[str]]:
        """The argv lists for `action`, in device px."""
        device_action = to_device(action, frame.to_device)
        size = frame.device_size
        if isinstance(device_action, (Tap, DoubleTap)):
            tap = ["input", "tap", *_px(device_action.x, device_action.y, size)]
            return [tap, tap] if isinstance(device_action, DoubleTap) else [tap]
        if isinstance(device_action, LongPress):
            point = _px(device_action.x, device_action.y, size)
            return [["input", "swipe", *point, *point, _ms(device_action.seconds)]]
        if isinstance(device_action, (Swipe, Drag)):
            verb = "swipe" if isinstance(device_action, Swipe) else "draganddrop"
            return [["input", verb, *_px(device_action.x1, device_action.y1, size),
                     *_px(device_action.x2, device_action.y2, size), _ms(device_action.seconds)]]
        if isinstance(device_action, Scroll):
            return [self._scroll(device_action, size)]
        if isinstance(device_action, TypeText):
            return self._type(device_action, frame)
        if isinstance(device_action, KeyPress):
            keys = [device_action.key] if isinstance(device_action.key, str) else device_action.key
            if len(keys) == 1:
                return [["input", "keyevent", keycode(keys[0])]]
            return [["input", "keycombination", *(keycode(key) for key in keys)]]
        if isinstance(device_action, OpenApp):
            package = self._resolver.package(device_action.app)
            return [["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"]]
        raise ValueError(f"{action.type} is not a phone action")

    def _scroll(self, action: Scroll, size: tuple[float, float]) -> list[str]:
        """A swipe whose finger moves against `direction` by `amount` screens around (x, y)."""
        start, end = scroll_stroke(action, size, DEFAULT_SCROLL_AMOUNT)
        return ["input", "swipe", *_px(*start, size), *_px(*end, size), _ms(self.scroll_seconds)]

    def _type(self, action: TypeText, frame: Frame) -> list[list[str]]:
        text = action.text
        ascii_route = is_safe_ascii(text)
        needs_ime = not ascii_route or action.clear
        ime_ready = self._ensure_ime(required=not ascii_route) if needs_ime else False
        commands: list[list[str]] = []
        if action.clear:
            commands.append(ime_clear_command() if ime_ready else self._delete_all(frame))
        if text:
            commands += input_text_commands(text) if ascii_route else ime_text_commands(text)
        if action.submit:
            commands.append(["input", "keyevent", "KEYCODE_ENTER"])
        if not commands:
            raise ValueError("type_text with empty text and neither clear nor submit sends nothing")
        return commands

    def _ensure_ime(self, required: bool) -> bool:
        """Select ADBKeyboard when installed; raise AdbTextError if `required` and it is not."""
        current = self.device.shell(["settings", "get", "secure", "default_input_method"]).text.strip()
        if current == ADB_KEYBOARD_IME:
            return True
        installed = self.device.shell(["ime", "list", "-a", "-s"]).text.split()
        if ADB_KEYBOARD_IME not in installed:
            if required:
                raise AdbTextError(f"typing non-ASCII text, newlines or '%s' needs ADBKeyboard ({ADB_KEYBOARD_IME}), "
                                   f"which is not installed on {self.device.serial}")
            return False
        self.device.shell(*ime_select_commands())
        return True

    def _delete_all(self, frame: Frame) -> list[str]:
        focused = [node for node in frame.ui_tree or () if node.focused]
        count = len(focused[-1].text) if focused and focused[-1].text else CLEAR_FALLBACK_DELETES
        return ["input", "keyevent", "KEYCODE_MOVE_END", *(["KEYCODE_DEL"] * count)]


def _px(x: float, y: float, size: tuple[float, float]) -> list[str]:
    """The device pixel containing (x, y) device px, as `input` arguments."""
    column, row = pixel_index(x, y, size)
    return [str(column), str(row)]


def _ms(seconds: float) -> str:
    return str(max(0, int(math.floor(seconds * 1000 + 0.5))))


def _gesture_seconds(action: Action) -> float:
    return float(getattr(action, "seconds", 0.0) or 0.0)
