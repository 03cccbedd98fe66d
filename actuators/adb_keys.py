"""Canonical key names (`agent.actions.KEY_NAMES`) -> Android `KEYCODE_*` names for
`input keyevent`. Every canonical name maps; a test checks the table covers KEY_NAMES."""

_NAMED = {
    "back": "BACK", "home": "HOME", "enter": "ENTER", "app_switch": "APP_SWITCH", "menu": "MENU",
    "search": "SEARCH", "power": "POWER", "camera": "CAMERA", "volume_up": "VOLUME_UP",
    "volume_down": "VOLUME_DOWN", "volume_mute": "VOLUME_MUTE", "notifications": "NOTIFICATION",
    "tab": "TAB", "escape": "ESCAPE", "space": "SPACE", "backspace": "DEL", "delete": "FORWARD_DEL",
    "insert": "INSERT", "up": "DPAD_UP", "down": "DPAD_DOWN", "left": "DPAD_LEFT", "right": "DPAD_RIGHT",
    "page_up": "PAGE_UP", "page_down": "PAGE_DOWN", "end": "MOVE_END", "begin": "MOVE_HOME",
    "ctrl": "CTRL_LEFT", "alt": "ALT_LEFT", "shift": "SHIFT_LEFT", "meta": "META_LEFT",
    "caps_lock": "CAPS_LOCK", "print_screen": "SYSRQ",
    "`": "GRAVE", "-": "MINUS", "=": "EQUALS", "[": "LEFT_BRACKET", "]": "RIGHT_BRACKET",
    "\\": "BACKSLASH", ";": "SEMICOLON", "'": "APOSTROPHE", ",": "COMMA", ".": "PERIOD", "/": "SLASH",
}
ANDROID_KEYS: dict[str, str] = {
    **_NAMED,
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
    **{char: char.upper() for char in "abcdefghijklmnopqrstuvwxyz0123456789"},
}


def keycode(name: str) -> str:
    """`KEYCODE_*` for a canonical key name; raises KeyError naming an unknown key."""
    try:
        return "KEYCODE_" + ANDROID_KEYS[name]
    except KeyError:
        raise KeyError(f"no Android keycode for key {name!r}") from None
