"""Pure parts of the ADB path: the transport packet format, screencap and dumpsys parsing,
text planning (checked against the simulated device's model of Android), keys and apps."""

import base64
import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vlagent.actuators.adb_apps import parse_package_list, resolve_package
from vlagent.actuators.adb_keys import ANDROID_KEYS, keycode
from vlagent.actuators.adb_text import ime_text_commands, input_text_commands, is_safe_ascii
from vlagent.agent.actions import KEY_NAMES
from vlagent.perception.sources.adb_device import shell_line, shell_v2_packets
from vlagent.perception.sources.screencap import (
    ScreencapError,
    UnsupportedFormat,
    is_black,
    parse_png_screencap,
    parse_raw_screencap,
    parse_rotation,
    parse_wm_size,
    xml_from_dump,
)
from vlagent.sim.adbd import protocol as p
from vlagent.sim.adbd.input_cmd import decode_input_text, typeable
from vlagent.sim.adbd.keycodes import KEYCODES
from vlagent.sim.adbd.shell import Output, Shell


def test_packet_round_trip_and_checks():
    packet = p.Packet(p.A_WRTE, 7, 9, b"hello")
    raw = p.encode(packet)
    command, arg0, arg1, length, check = p.decode_header(raw[:24])
    assert (command, arg0, arg1, length) == (p.A_WRTE, 7, 9, 5)
    assert check == sum(b"hello") and raw[24:] == b"hello"
    assert struct.unpack("<I", raw[20:24])[0] == p.A_WRTE ^ 0xFFFFFFFF
    with pytest.raises(p.ProtocolError, match="magic"):
        p.decode_header(raw[:20] + b"\0\0\0\0")
    with pytest.raises(p.ProtocolError, match="payload check"):
        p.verify(b"hello", 0, p.A_VERSION_MIN)
    p.verify(b"hello", 0, p.A_VERSION)  # newer peers skip the sum


def test_service_parsing_and_shell_v2_framing():
    request = p.parse_service(b"shell,v2,raw:echo hi\0")
    assert (request.kind, request.options, request.argument) == ("shell", ("v2", "raw"), "echo hi")
    stream = p.shell_packet(p.SHELL_STDOUT, b"out") + p.shell_packet(p.SHELL_EXIT, b"\x03")
    assert shell_v2_packets(stream) == [(1, b"out"), (3, b"\x03")]
    assert shell_v2_packets(stream[:-1]) == [(1, b"out")]  # a truncated tail is dropped


def rgba_bytes(image: np.ndarray, header: int) -> bytes:
    height, width = image.shape[:2]
    rgba = np.dstack([image, np.full((height, width), 255, np.uint8)])
    fields = [width, height, 1] + ([1] if header == 16 else [])
    return struct.pack(f"<{len(fields)}I", *fields) + rgba.tobytes()


@pytest.mark.parametrize("header", [12, 16])
def test_raw_screencap_decodes_both_headers(header):
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    decoded, info = parse_raw_screencap(rgba_bytes(image, header))
    assert np.array_equal(decoded, image) and info["size"] == (7, 5)


def test_raw_screencap_rejects_bad_input():
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ScreencapError, match="pixel bytes"):
        parse_raw_screencap(rgba_bytes(image, 16)[:-3])
    with pytest.raises(UnsupportedFormat):
        parse_raw_screencap(struct.pack("<4I", 4, 4, 99, 0) + bytes(64))
    bgra = struct.pack("<3I", 1, 1, 5) + bytes([10, 20, 30, 255])
    assert parse_raw_screencap(bgra)[0].tolist() == [[[30, 20, 10]]]


def test_png_screencap_and_black_detection():
    image = np.zeros((20, 30, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    assert np.array_equal(parse_png_screencap(buffer.getvalue()), image)
    assert is_black(image)
    image[10, 10] = 200
    assert not is_black(image)
    with pytest.raises(ScreencapError):
        parse_png_screencap(b"not a png")


def test_dumpsys_and_wm_parsers():
    assert parse_wm_size("Physical size: 1080x2400\n") == (1080, 2400)
    assert parse_wm_size("Physical size: 1080x2400\nOverride size: 720x1600\n") == (720, 1600)
    assert parse_rotation("  mCurrentOrientation=3\n") == 3
    assert parse_rotation("DisplayViewport{type=INTERNAL, orientation=1, x=2}") == 1
    assert parse_rotation("    SurfaceOrientation: 2") == 2
    assert parse_rotation("mCurrentRotation=ROTATION_270") == 3
    with pytest.raises(ScreencapError):
        parse_rotation("nothing here")
    assert xml_from_dump("UI hierchary dumped to: x\n<?xml a?><hierarchy></hierarchy>\n") == \
        "<?xml a?><hierarchy></hierarchy>"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_input_text_plan_types_exactly_what_android_shows(text):
    """Safe text, encoded and then quoted into a shell line, reaches the device's `input text`
    as one argument that Android's %s rewrite turns back into the text."""
    if not is_safe_ascii(text):
        assert "%s" in text
        return
    seen: list[list[str]] = []

    def record(argv, stdin):
        seen.append(argv)
        return Output()

    shell = Shell({"input": record})
    for argv in input_text_commands(text):
        shell.run(shell_line(argv))
    assert [argv for argv in seen] == input_text_commands(text)  # one argument each, unchanged by sh
    assert all(typeable(char) for argv in seen for char in decode_input_text(argv[2]))
    typed = "".join(decode_input_text(argv[2]) for argv in input_text_commands(text))
    assert typed == text


@given(st.text(max_size=1500).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
@settings(max_examples=100, deadline=None)
def test_ime_plan_round_trips_any_unicode(text):
    commands = ime_text_commands(text)
    decoded = "".join(base64.b64decode(argv[-1]).decode("utf-8") for argv in commands)
    assert decoded == text
    assert all(len(shell_line(argv)) < 4000 for argv in commands)
    assert all(set(argv[-1]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") for argv in commands)


def test_every_key_name_has_an_android_keycode_the_device_knows():
    assert set(ANDROID_KEYS) == set(KEY_NAMES)
    for name in KEY_NAMES:
        assert keycode(name)[len("KEYCODE_"):] in KEYCODES, name


def test_app_resolution_uses_installed_packages_only():
    installed = parse_package_list("package:com.android.settings\npackage:com.vlagent.shop\n"
                                   "package:com.google.android.keep\npackage:com.example.shop.lite\n")
    assert resolve_package("Settings", installed) == "com.android.settings"
    assert resolve_package("com.google.android.keep", installed) == "com.google.android.keep"
    assert resolve_package("Notes", installed) == "com.google.android.keep"
    assert resolve_package("Keep", installed, {"keep": "com.google.android.keep"}) == "com.google.android.keep"
    with pytest.raises(LookupError, match="ambiguous"):
        resolve_package("shop", installed)
    with pytest.raises(LookupError, match="no installed app"):
        resolve_package("Chrome", installed)


def test_adb_path_imports_no_torch():
    from tests.notorch import run_without_torch

    result = run_without_torch(
        "import sys, actuators.adb, perception.sources.adb, sim.adbd.server, agent.commands.sim_device, "
        "vlagent.agent.adb_env; assert 'torch' not in sys.modules"
    )
    assert result.returncode == 0, result.stderr
