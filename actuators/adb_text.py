"""How text reaches an Android device: pure planning, no I/O.

Android's `input text` types only what the virtual keyboard map has keys for (printable
ASCII), rewrites `%s` to a space (so a literal "%s" cannot be typed at all) and reads only
its first argument. So:

- **safe ASCII** — printable ASCII (0x20-0x7E) without the two characters "%s" — goes
  through `input text` with each space written as `%s` (the argument is then also
  shlex-quoted by `shell_line`, so `;`, `$()`, quotes and backticks stay text);
- **anything else** (non-ASCII, newlines, tabs, a literal "%s") goes through ADBKeyboard's
  `ADB_INPUT_B64` broadcast: base64 of the UTF-8 bytes, which is shell-safe by
  construction, in chunks that each decode on their own.

Chunks keep each shell line short: old adbd versions cap a service line at 4 KiB.
"""

import base64

ADB_KEYBOARD_IME = "com.android.adbkeyboard/.AdbIME"
INPUT_TEXT_CHUNK = 400  # characters of text per `input text` argument
IME_CHUNK = 600  # characters per broadcast: <= 2400 UTF-8 bytes -> <= 3200 base64 chars


def is_safe_ascii(text: str) -> bool:
    """Whether `input text` can type `text` exactly (after `%s` encoding of spaces)."""
    return all(" " <= char <= "~" for char in text) and "%s" not in text


def encode_input_text(text: str) -> str:
    """The `input text` argument for safe ASCII: spaces become `%s`.

    Raises ValueError for text `is_safe_ascii` rejects.
    """
    if not is_safe_ascii(text):
        raise ValueError("text is not safe for `input text` (non-ASCII, control characters or a literal %s)")
    return text.replace(" ", "%s")


def _chunks(text: str, size: int) -> list[str]:
    return [text[start:start + size] for start in range(0, len(text), size)]


def input_text_commands(text: str) -> list[list[str]]:
    """argv lists that type safe-ASCII `text` with `input text`."""
    return [["input", "text", encode_input_text(piece)] for piece in _chunks(text, INPUT_TEXT_CHUNK)]


def ime_text_commands(text: str) -> list[list[str]]:
    """argv lists that type any Unicode `text` through ADBKeyboard's base64 broadcast."""
    commands = []
    for piece in _chunks(text, IME_CHUNK):
        encoded = base64.b64encode(piece.encode("utf-8")).decode("ascii")  # lone surrogates raise
        commands.append(["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", encoded])
    return commands


def ime_clear_command() -> list[str]:
    """ADBKeyboard's broadcast that empties the focused field."""
    return ["am", "broadcast", "-a", "ADB_CLEAR_TEXT"]


def ime_select_commands() -> list[list[str]]:
    """Enable and select ADBKeyboard as the input method."""
    return [["ime", "enable", ADB_KEYBOARD_IME], ["ime", "set", ADB_KEYBOARD_IME]]
