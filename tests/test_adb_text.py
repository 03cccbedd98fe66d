"""Acceptance: 500 strings typed through `AdbActuator` into a text field of `vlagent
sim-device`, read back with `uiautomator dump` through the real adb server, are identical;
and the device's shell log shows that nothing but the intended commands ran.

The strings are drawn with a seeded RNG from the categories that break other tools:
quotes, `$()`, backticks, `;`, `&&`, `%s`, newlines, emoji, CJK, RTL, combining marks and
1000-character strings (ASCII ones go through chunked `input text`, others through the
IME broadcast)."""

import random

import pytest

from vlagent.actuators.adb import AdbActuator
from vlagent.actuators.adb_text import ADB_KEYBOARD_IME
from vlagent.agent.actions import OpenApp, Tap, TypeText
from vlagent.perception.sources.adb import DUMP_PATH, AdbSource
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess, query

SHELL_BAIT = ["'", '"', "it's", 'say "hi"', "$(reboot)", "a$(id)b", "`id`", "x`reboot`y", ";", "a;reboot",
              "&&", "a && rm -rf /", "||", "|", "a|sh", "&", ">", "a>/sdcard/x", "<", "#", "a #comment", "\\",
              "\\n", "*", "?", "~", "~/x", "!", "{a,b}", "[x]", "$HOME", "${PATH}", "$?", "$$", "-n", "--help",
              "%s", "100%s", "a%sb%", "%%s", "%", "50% off", "$'x'", "\"$(id)\"", "'$(id)'"]
WHITESPACE = [" ", "  ", "\t", "\n", "line1\nline2", "trailing\n", "\r\n", "  lead", "trail  "]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "❤️", "🙂🙃"]
CJK = ["你好世界", "日本語のテキスト", "한국어 문장", "漢字かなカナ", "中文，标点。"]
RTL = ["שלום עולם", "مرحبا بالعالم", "\u200fעברית\u200f", "abc שלום def", "١٢٣"]
COMBINING = ["e\u0301", "n\u0303a", "Z\u0351\u0352\u0353", "a\u0308o\u0308u\u0308", "\u0915\u094d\u0937"]
PLAIN = ["hello", "Hello, World!", "user@example.com", "https://example.com/?q=1&x=2", "12:30", "C-3PO"]
POOLS = [SHELL_BAIT, WHITESPACE, EMOJI, CJK, RTL, COMBINING, PLAIN]
AUXILIARY = [["settings", "get", "secure", "default_input_method"], ["ime", "list", "-a", "-s"],
             ["ime", "enable", ADB_KEYBOARD_IME], ["ime", "set", ADB_KEYBOARD_IME],
             ["uiautomator", "dump", DUMP_PATH], ["cat", DUMP_PATH], ["screencap"], ["wm", "size"],
             ["dumpsys", "display"], ["pm", "list", "packages"]]  # queries, no side effects


def strings(count: int = 500, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    fixed = [item for pool in POOLS for item in pool if item.strip(" ")]
    long = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ;'\"$()`&|%s<>#\\") for _ in range(1000)),
        "".join(rng.choice("abc xyz 0123") for _ in range(1000)),
        "".join(rng.choice("你好世界😀ש\u0301 a;$`") for _ in range(1000)),
        "汉" * 1000,
    ]
    out = fixed + long
    while len(out) < count:
        parts = [rng.choice(rng.choice(POOLS)) for _ in range(rng.randint(1, 5))]
        text = rng.choice(["", " ", "\n"]).join(parts)
        if text.strip(" "):
            out.append(text)
    return out[:count]


def test_string_generator_covers_the_categories():
    texts = strings()
    assert len(texts) == 500 and len(set(texts)) > 400
    for needle in ["'", '"', "$(", "`", ";", "&&", "%s", "\n", "😀", "你", "ש", "\u0301"]:
        assert sum(needle in text for text in texts) >= 5, needle
    assert sum(len(text) >= 1000 for text in texts) >= 4


@pytest.fixture(scope="module")
def device():
    server = AdbServer()
    sim = SimDeviceProcess(server, "--width", "540", "--height", "1200")
    try:
        sim.start()
        yield server, sim
    finally:
        sim.stop()
        server.stop()


def focus_note_field(source: AdbSource, actuator: AdbActuator):
    """Open a new note and focus its body field; returns the last frame and the argv sent."""
    sent = []

    def run(action, frame):
        result = actuator.execute(action, frame)
        assert result.ok, result.message
        sent.extend(result.sent["argv"])

    frame = source.capture()
    run(OpenApp(app="Notes"), frame)
    frame = source.capture()
    button = next(node for node in frame.ui_tree if node.content_desc == "New text note")
    run(Tap(x=button.center[0], y=button.center[1]), frame)
    frame = source.capture()
    field = next(node for node in frame.ui_tree if node.resource_id.endswith("edit_note_text"))
    run(Tap(x=field.center[0], y=field.center[1]), frame)
    return source.capture(), sent


def test_500_strings_round_trip_exactly_and_run_nothing_else(device):
    server, sim = device
    source = AdbSource(sim.serial, ui_tree=True, port=server.port)
    assert query(source.device, "task::0")["ok"]  # a fresh phone and an empty command log
    with AdbActuator(device=source.device) as actuator:
        frame, sent = focus_note_field(source, actuator)
        mismatches = []
        for text in strings():
            result = actuator.execute(TypeText(text=text, clear=True), frame)
            assert result.ok, (text, result.message)
            sent += result.sent["argv"]
            focused = [node for node in source.read_ui_tree() if node.focused]
            if len(focused) != 1 or focused[0].text != text:
                mismatches.append((text, focused[0].text if focused else None))
    assert not mismatches, mismatches[:5]
    log = query(source.device, "log")
    ran = [argv for argv in log if argv not in AUXILIARY]
    assert ran == sent, "the device ran commands other than those the actuator sent"
    typing = sent[3:]
    assert all(argv[:2] == ["input", "text"] and len(argv) == 3
               or argv[:4] in (["am", "broadcast", "-a", "ADB_CLEAR_TEXT"], ["am", "broadcast", "-a", "ADB_INPUT_B64"])
               for argv in typing), [argv for argv in typing if argv[0] not in ("am", "input")][:3]
    assert any(argv[:2] == ["input", "text"] for argv in typing) and any("ADB_INPUT_B64" in argv for argv in typing)
