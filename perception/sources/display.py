"""The X display, reached lazily: pyautogui fails at import without `DISPLAY` and an existing
`XAUTHORITY`, so it is imported here, on first use, and never at module import.

`import_pyautogui()` returns the module with its fail-safe on (moving the pointer into a screen
corner raises `pyautogui.FailSafeException`, the user's way to stop a runaway agent) and no
per-call pause (waits are the loop's job), or raises `DisplayError` naming what is missing.
"""

import os

from vlagent.perception.errors import VlagentError


class DisplayError(VlagentError, OSError):
    """No usable display for desktop capture or input."""

    hint = "set DISPLAY to a running X server (e.g. Xvfb :99) and XAUTHORITY to its cookie file"


def import_pyautogui():
    """pyautogui, imported now (see the module docstring)."""
    if not os.environ.get("DISPLAY"):
        raise DisplayError("desktop input and capture need an X display, and DISPLAY is not set")
    try:
        import pyautogui
    except ImportError as error:
        raise DisplayError(f"desktop input needs pyautogui (pip install 'vlagent[desktop]'): {error}") from None
    except Exception as error:  # noqa: BLE001 - Xlib raises its own errors for a bad display or cookie
        raise DisplayError(f"cannot open display {os.environ.get('DISPLAY')!r} "
                           f"(XAUTHORITY={os.environ.get('XAUTHORITY')!r}): {type(error).__name__}: {error}") from None
    pyautogui.FAILSAFE = True
    pyautogui.PAUSE = 0.0
    return pyautogui
