"""Android keycodes as the simulated device understands them (`input keyevent`).

The actuator keeps its own name -> keycode table (`actuators.adb_keys`); the two are kept
apart on purpose, so that a wrong code on either side fails the end-to-end tests instead of
agreeing with itself. Values are Android's `KeyEvent.KEYCODE_*` constants.
"""

KEYCODES: dict[str, int] = {
    "HOME": 3, "BACK": 4, "CALL": 5, "ENDCALL": 6,
    **{str(digit): 7 + digit for digit in range(10)},
    "STAR": 17, "POUND": 18, "DPAD_UP": 19, "DPAD_DOWN": 20, "DPAD_LEFT": 21, "DPAD_RIGHT": 22,
    "DPAD_CENTER": 23, "VOLUME_UP": 24, "VOLUME_DOWN": 25, "POWER": 26, "CAMERA": 27, "CLEAR": 28,
    **{chr(ord("A") + i): 29 + i for i in range(26)},
    "COMMA": 55, "PERIOD": 56, "ALT_LEFT": 57, "ALT_RIGHT": 58, "SHIFT_LEFT": 59, "SHIFT_RIGHT": 60,
    "TAB": 61, "SPACE": 62, "ENTER": 66, "DEL": 67, "GRAVE": 68, "MINUS": 69, "EQUALS": 70,
    "LEFT_BRACKET": 71, "RIGHT_BRACKET": 72, "BACKSLASH": 73, "SEMICOLON": 74, "APOSTROPHE": 75,
    "SLASH": 76, "AT": 77, "MENU": 82, "NOTIFICATION": 83, "SEARCH": 84, "PAGE_UP": 92,
    "PAGE_DOWN": 93, "ESCAPE": 111, "FORWARD_DEL": 112, "CTRL_LEFT": 113, "CTRL_RIGHT": 114,
    "CAPS_LOCK": 115, "META_LEFT": 117, "META_RIGHT": 118, "SYSRQ": 120, "MOVE_HOME": 122,
    "MOVE_END": 123, "INSERT": 124, **{f"F{i}": 130 + i for i in range(1, 13)},
    "VOLUME_MUTE": 164, "APP_SWITCH": 187, "WAKEUP": 224, "SLEEP": 223,
}
NAMES_BY_CODE = {code: name for name, code in KEYCODES.items()}

# What the simulated phone does with a code: the phone's own key name, or None (no effect).
PHONE_KEYS: dict[str, str] = {
    "HOME": "home", "BACK": "back", "ENTER": "enter", "DEL": "backspace", "FORWARD_DEL": "delete",
    "APP_SWITCH": "app_switch", "MENU": "menu", "SEARCH": "search", "POWER": "power",
    "VOLUME_UP": "volume_up", "VOLUME_DOWN": "volume_down", "VOLUME_MUTE": "volume_mute",
    "NOTIFICATION": "notifications", "TAB": "tab", "ESCAPE": "escape", "SPACE": "space",
    "DPAD_UP": "up", "DPAD_DOWN": "down", "DPAD_LEFT": "left", "DPAD_RIGHT": "right",
    "PAGE_UP": "page_up", "PAGE_DOWN": "page_down", "MOVE_HOME": "begin", "MOVE_END": "end",
    "CAMERA": "camera", "INSERT": "insert",
}


def parse_keycode(text: str) -> int:
    """`66`, `KEYCODE_ENTER` or `ENTER` -> 66, as `input keyevent` accepts them.

    Raises ValueError naming the unknown key.
    """
    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name[len("KEYCODE_"):] if name.startswith("KEYCODE_") else name
    if name not in KEYCODES:
        raise ValueError(f"unknown keycode {text!r}")
    return KEYCODES[name]
