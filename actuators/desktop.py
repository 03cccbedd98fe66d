"""`DesktopActuator`: every desktop Action through pyautogui, confined to a region, Unicode via the clipboard.

- Points arrive in frame px and go to logical screen px through `frame.to_device` (the
  `ScreenSource` transform: scale, monitor and region offset, HiDPI); nothing else rescales.
- `region` = (left, top, width, height) in logical px confines every action: a point outside it
  raises `OutsideRegionError` inside, which `execute` turns into `ActionResult(ok=False)` naming it,
  so the loop records the refusal and nothing moves. Default: the captured area.
- Tap = left click; `Click` = any button, 1-3 clicks; DoubleTap; LongPress = press, hold, release;
  Hover = move only; Swipe/Drag = press, move over `seconds`, release; Scroll = wheel clicks at the
  point (`SCROLL_CLICKS_PER_SCREEN` per screen of `amount`), horizontal with shift on X11;
  KeyPress = a key or a hotkey chord; TypeText: plain ASCII through `typewrite`, anything else
  pasted from the clipboard (xclip or xsel, installed by scripts/install-system.sh) with the
  clipboard's previous text put back afterwards; `clear` selects all first, `submit` presses enter.
- OpenApp is refused (ok=False). Wait, Answer and Finish send nothing.
- pyautogui's fail-safe stays on: moving the pointer into a screen corner aborts the next action
  with `pyautogui.FailSafeException`, which propagates (the user stopped the agent).

`ActionResult.sent` lists the pyautogui calls made, e.g. `{"calls": [["click", 640.0, 400.0, "left", 1]]}`.
"""

import shutil
import subprocess
import time
from typing import Any

from vlagent.agent.action_map import DEFAULT_SCROLL_AMOUNT, to_device
from vlagent.agent.actions import (
    Action,
    Answer,
    Click,
    DoubleTap,
    Drag,
    Finish,
    Hover,
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
from vlagent.perception.errors import VlagentError, error_text
from vlagent.perception.frame import Frame
from vlagent.perception.sources.display import import_pyautogui

SCROLL_CLICKS_PER_SCREEN = 10
TYPE_INTERVAL_S = 0.01
KEYS = {"enter": "enter", "escape": "esc", "backspace": "backspace", "delete": "delete", "tab": "tab",
        "space": "space", "up": "up", "down": "down", "left": "left", "right": "right", "page_up": "pageup",
        "page_down": "pagedown", "home": "home", "end": "end", "ctrl": "ctrl", "alt": "alt", "shift": "shift",
        "meta": "win", "insert": "insert", "caps_lock": "capslock", "print_screen": "printscreen",
        "menu": "apps", "volume_up": "volumeup", "volume_down": "volumedown", "volume_mute": "volumemute"}


class DesktopError(VlagentError, RuntimeError):
    """A desktop action that cannot be performed (no clipboard tool, an action a desktop lacks)."""


class OutsideRegionError(DesktopError):
    """A point outside the region actions are confined to; nothing was sent."""


def key_name(key: str) -> str:
    """pyautogui's name for a canonical key name (agent.actions.KEY_NAMES)."""
    if key in KEYS:
        return KEYS[key]
    if len(key) == 1 or (key.startswith("f") and key[1:].isdigit()):
        return key
    raise DesktopError(f"the desktop has no {key!r} key")


def inside(region: tuple[float, float, float, float], x: float, y: float) -> bool:
    left, top, width, height = region
    return left <= x < left + width and top <= y < top + height


def _clipboard_tool() -> tuple[list[str], list[str]]:
    if shutil.which("xclip"):
        return ["xclip", "-selection", "clipboard", "-o"], ["xclip", "-selection", "clipboard", "-i"]
    if shutil.which("xsel"):
        return ["xsel", "--clipboard", "--output"], ["xsel", "--clipboard", "--input"]
    raise DesktopError("typing non-ASCII text needs xclip or xsel (bash scripts/install-system.sh installs xclip)")


class DesktopActuator:
    """Perform Actions with pyautogui (see the module docstring)."""

    def __init__(self, region: Any = None, settle_s: float = 0.05):
        from vlagent.perception.sources.screen import parse_region

        self.region = parse_region(region)
        self.settle_s = settle_s
        self._gui = import_pyautogui()

    def _point(self, x: float, y: float, region) -> tuple[float, float]:
        if not inside(region, x, y):
            raise OutsideRegionError(f"({x:.0f}, {y:.0f}) logical px lies outside the allowed region "
                                     f"{tuple(round(v) for v in region)} (left, top, width, height)")
        return x, y

    def execute(self, action: Action, frame: Frame) -> ActionResult:
        start = time.monotonic()
        device = to_device(action, frame.to_device)
        width, height = frame.to_device.dst
        region = self.region or (0.0, 0.0, width, height)
        calls: list[list] = []
        try:
            self._perform(device, region, calls, (width, height))
        except DesktopError as error:
            return ActionResult(ok=False, action=device, executed=bool(calls), sent={"calls": calls},
                                message=error_text(error, with_type=True), seconds=time.monotonic() - start)
        if calls and self.settle_s:
            time.sleep(self.settle_s)
        return ActionResult(ok=True, action=device, sent={"calls": calls}, executed=bool(calls),
                            seconds=time.monotonic() - start)

    def _perform(self, a: Action, region, calls: list, size) -> None:
        gui = self._gui
        if isinstance(a, (Tap, Click, DoubleTap)):
            x, y = self._point(a.x, a.y, region)
            button = a.button if isinstance(a, Click) else "left"
            clicks = a.clicks if isinstance(a, Click) else 2 if isinstance(a, DoubleTap) else 1
            gui.click(x, y, clicks=clicks, interval=0.05 if clicks > 1 else 0.0, button=button)
            calls.append(["click", x, y, button, clicks])
        elif isinstance(a, Hover):
            x, y = self._point(a.x, a.y, region)
            gui.moveTo(x, y)
            calls.append(["moveTo", x, y])
        elif isinstance(a, LongPress):
            x, y = self._point(a.x, a.y, region)
            gui.mouseDown(x, y)
            time.sleep(a.seconds)
            gui.mouseUp(x, y)
            calls.append(["mouseDown/Up", x, y, a.seconds])
        elif isinstance(a, (Swipe, Drag)):
            x1, y1 = self._point(a.x1, a.y1, region)
            x2, y2 = self._point(a.x2, a.y2, region)
            gui.moveTo(x1, y1)
            gui.dragTo(x2, y2, duration=a.seconds, button="left")
            calls.append(["dragTo", x1, y1, x2, y2, a.seconds])
        elif isinstance(a, Scroll):
            x = region[0] + region[2] / 2 if a.x is None else a.x
            y = region[1] + region[3] / 2 if a.y is None else a.y
            x, y = self._point(x, y, region)
            clicks = max(1, round((a.amount or DEFAULT_SCROLL_AMOUNT) * SCROLL_CLICKS_PER_SCREEN))
            if a.direction in ("up", "down"):
                amount = clicks if a.direction == "up" else -clicks  # pyautogui: positive scrolls up
                gui.scroll(amount, x=x, y=y)
                calls.append(["scroll", amount, x, y])
            else:
                amount = clicks if a.direction == "left" else -clicks
                gui.hscroll(amount, x=x, y=y)
                calls.append(["hscroll", amount, x, y])
        elif isinstance(a, KeyPress):
            keys = [a.key] if isinstance(a.key, str) else list(a.key)
            names = [key_name(k) for k in keys]
            if len(names) == 1:
                gui.press(names[0])
            else:
                gui.hotkey(*names)
            calls.append(["hotkey", *names])
        elif isinstance(a, TypeText):
            self._type(a, calls)
        elif isinstance(a, OpenApp):
            raise DesktopError("open_app is not a desktop action (click the app's icon or use a key)")
        elif isinstance(a, (Wait, Answer, Finish)):
            return
        else:
            raise DesktopError(f"a desktop cannot take a {a.type} action")

    def _type(self, a: TypeText, calls: list) -> None:
        gui = self._gui
        if a.clear:
            gui.hotkey("ctrl", "a")
            gui.press("backspace")
            calls.append(["clear"])
        if a.text.isascii() and a.text.isprintable():
            gui.typewrite(a.text, interval=TYPE_INTERVAL_S)
            calls.append(["typewrite", a.text])
        elif a.text:
            self._paste(a.text)
            calls.append(["paste", a.text])
        if a.submit:
            gui.press("enter")
            calls.append(["hotkey", "enter"])

    def _paste(self, text: str) -> None:
        """Put `text` on the clipboard, paste it with ctrl+v, then restore what the clipboard held."""
        read, write = _clipboard_tool()
        previous = subprocess.run(read, capture_output=True, timeout=5)
        try:
            # xclip stays behind to serve the selection: it must not inherit (and hold open) our pipes
            subprocess.run(write, input=text.encode("utf-8"), check=True, timeout=5,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._gui.hotkey("ctrl", "v")
            time.sleep(0.2)  # the application requests the selection asynchronously
        except (OSError, subprocess.SubprocessError) as error:
            raise DesktopError(f"cannot put text on the clipboard with {write[0]}: {error}") from None
        finally:
            if previous.returncode == 0:
                subprocess.run(write, input=previous.stdout, timeout=5, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
