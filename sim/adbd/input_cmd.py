"""`input`: Android's input injection command, as the simulated device runs it.

Behaviour follows AOSP's InputShellCommand where clients trip over it:
- `input text STR` uses only its first argument (extra words are silently ignored),
  turns `%s` into a space, and fails for any character the virtual keyboard cannot type
  (anything outside printable ASCII, tab and newline) with Android's exception text, typing
  nothing. So an unescaped space drops words and non-ASCII fails loudly, as on a phone.
- `input swipe x1 y1 x2 y2 [ms]` blocks for its duration (default 300 ms); a swipe that
  does not move and lasts >= 500 ms is a long press (the usual adb long-press idiom).
- Coordinates are floats in display px (the current rotation); a point off the screen is
  injected and lands nowhere, as on a phone (no error).
"""

import time

from vlagent.sim.adbd.keycodes import NAMES_BY_CODE, PHONE_KEYS, parse_keycode
from vlagent.sim.adbd.shell import Output
from vlagent.sim.phone import PhoneInputError

SOURCES = {"keyboard", "mouse", "joystick", "touchnavigation", "touchpad", "trackball", "stylus",
           "dpad", "gamepad", "touchscreen", "rotaryencoder"}
DEFAULT_SWIPE_MS = 300
LONG_PRESS_MS = 500
USAGE = "Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]\n"


def _exception(command: str, message: str) -> Output:
    return Output(b"", f"Exception occurred while executing '{command}':\n{message}\n".encode(), 255)


def decode_input_text(text: str) -> str:
    """Android's `%s` -> space rewrite, with its exact quirks (a literal "%s" is untypeable)."""
    chars = list(text)
    escape = False
    index = 0
    while index < len(chars):
        if escape:
            escape = False
            if chars[index] == "s":
                chars[index] = " "
                del chars[index - 1]
                index -= 1
        if chars[index] == "%":
            escape = True
        index += 1
    return "".join(chars)


def typeable(char: str) -> bool:
    """Whether Android's virtual keyboard map has key events for `char`."""
    return char in "\t\n" or " " <= char <= "~"


class InputCommand:
    """The `input` program bound to one SimDevice."""

    def __init__(self, device):
        self.device = device

    def __call__(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        if args and args[0] in SOURCES:
            args = args[1:]
        if len(args) >= 2 and args[0] == "-d":
            args = args[2:]
        if not args:
            return Output(b"", USAGE.encode(), 1)
        command, rest = args[0], args[1:]
        handler = {"text": self.text, "tap": self.tap, "swipe": self.swipe, "draganddrop": self.drag,
                   "keyevent": self.keyevent, "keycombination": self.keycombination}.get(command)
        if handler is None:
            return Output(b"", f"Error: Unknown command: {command}\n{USAGE}".encode(), 1)
        try:
            return handler(rest)
        except (ValueError, IndexError) as error:
            return _exception(command, f"java.lang.IllegalArgumentException: {error}")

    def text(self, args: list[str]) -> Output:
        if not args:
            return _exception("text", "java.lang.IllegalArgumentException: Argument expected after \"text\"")
        text = decode_input_text(args[0])
        if not all(typeable(char) for char in text):
            return _exception("text", "java.lang.NullPointerException: Attempt to get length of null array")
        phone = self.device.phone
        for index, piece in enumerate(text.split("\n")):
            if index:
                phone.key("enter")
            if piece:
                phone.type_text(piece)
        self.device.changed()
        return Output()

    def tap(self, args: list[str]) -> Output:
        x, y = _floats(args, 2, "tap")
        self._touch(self.device.phone.tap, x, y)
        return Output()

    def swipe(self, args: list[str]) -> Output:
        x1, y1, x2, y2 = _floats(args, 4, "swipe")
        ms = _duration(args)
        time.sleep(ms / 1000.0)
        phone = self.device.phone
        if (x1, y1) == (x2, y2) and ms >= LONG_PRESS_MS:
            self._touch(phone.long_press, x1, y1, ms / 1000.0)
        else:
            self._touch(phone.swipe, x1, y1, x2, y2, ms / 1000.0)
        return Output()

    def drag(self, args: list[str]) -> Output:
        x1, y1, x2, y2 = _floats(args, 4, "draganddrop")
        ms = _duration(args)
        time.sleep(ms / 1000.0)
        self._touch(self.device.phone.swipe, x1, y1, x2, y2, ms / 1000.0)
        return Output()

    def _touch(self, gesture, *args) -> None:
        try:
            gesture(*args)
        except PhoneInputError:
            pass  # a touch off the screen is injected and lands nowhere, as on a phone
        self.device.changed()

    def keyevent(self, args: list[str]) -> Output:
        long_press = "--longpress" in args
        codes = [parse_keycode(arg) for arg in args if not arg.startswith("--")]
        if not codes:
            raise ValueError("Argument expected after \"keyevent\"")
        for code in codes:
            self._press(code, long_press)
        self.device.changed()
        return Output()

    def keycombination(self, args: list[str]) -> Output:
        codes = [parse_keycode(arg) for arg in args]
        if len(codes) < 2:
            raise ValueError("keycombination requires at least 2 keycodes")
        # The simulated apps have no shortcuts: the chord is injected and changes nothing.
        self.device.changed()
        return Output()

    def _press(self, code: int, long_press: bool) -> None:
        name = NAMES_BY_CODE.get(code)
        key = PHONE_KEYS.get(name or "")
        if key is None and name is not None and len(name) == 1:
            key = name.lower()  # letters and digits type themselves
        if key is not None:
            self.device.phone.key(key)


def _floats(args: list[str], count: int, command: str) -> list[float]:
    if len(args) < count:
        raise ValueError(f"{command} needs {count} coordinates, got {len(args)}")
    try:
        return [float(value) for value in args[:count]]
    except ValueError:
        raise ValueError(f"invalid coordinates for {command}: {' '.join(args[:count])}") from None


def _duration(args: list[str]) -> int:
    if len(args) > 4:
        try:
            return max(0, int(args[4]))
        except ValueError:
            raise ValueError(f"invalid duration {args[4]!r}") from None
    return DEFAULT_SWIPE_MS
