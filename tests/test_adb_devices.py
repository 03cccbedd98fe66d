"""Device selection with two sim devices on one adb server, the frame-px -> device-px
mapping on a rotated device with a downscaled capture, raw versus PNG capture, and the
black frame of a FLAG_SECURE screen — all through the real adb server."""

import json
import subprocess
import sys

import numpy as np
import pytest

from vlagent.actuators.adb import AdbActuator
from vlagent.agent.actions import OpenApp, Tap
from vlagent.perception.sources.adb import AdbDeviceError, AdbSource
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess, query

LAUNCHER_ICON = "com.android.launcher3:id/icon"


@pytest.fixture(scope="module")
def server():
    server = AdbServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_devices(server):
    first = SimDeviceProcess(server, "--width", "540", "--height", "1200", "--seed", "1")
    second = SimDeviceProcess(server, "--width", "540", "--height", "1200", "--seed", "2", "--secure")
    try:
        first.start()
        second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_no_serial_with_two_devices_is_an_error_naming_both(server, two_devices, monkeypatch):
    first, second = two_devices
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
    with pytest.raises(AdbDeviceError, match="2 devices") as caught:
        AdbSource(port=server.port)
    assert first.serial in str(caught.value) and second.serial in str(caught.value)
    with pytest.raises(AdbDeviceError, match="2 devices"):
        AdbActuator(port=server.port).connect()
    with pytest.raises(AdbDeviceError, match="no device with serial"):
        AdbSource("emulator-5554", port=server.port)
    monkeypatch.setenv("ANDROID_SERIAL", second.serial)
    assert AdbSource(port=server.port).serial == second.serial


def test_actions_go_to_the_named_serial_only(server, two_devices):
    first, second = two_devices
    for sim in two_devices:
        query(AdbSource(sim.serial, port=server.port).device, "task::0")
    source = AdbSource(first.serial, ui_tree=True, port=server.port)
    with AdbActuator(first.serial, port=server.port) as actuator:
        frame = source.capture()
        assert actuator.execute(OpenApp(app="Clock"), frame).ok
        frame = source.capture()
        node = next(node for node in frame.ui_tree if node.clickable and node.package.endswith("deskclock"))
        assert actuator.execute(Tap(x=node.center[0], y=node.center[1]), frame).ok
    other = AdbSource(second.serial, port=server.port).device
    first_state, second_state = query(source.device, "state"), query(other, "state")
    assert first_state["ui"]["stack"][-1]["app"] == "com.google.android.deskclock"
    assert second_state["ui"]["stack"] == [] and second_state["opened_apps"] == []
    assert not [argv for argv in query(other, "log") if argv[0] in ("input", "monkey", "am")]


def test_secure_screen_captures_black_and_is_flagged(server, two_devices):
    frame = AdbSource(two_devices[1].serial, port=server.port).capture()
    assert frame.meta["black"] and frame.image.max() == 0
    assert not AdbSource(two_devices[0].serial, port=server.port).capture().meta["black"]


@pytest.fixture(scope="module")
def landscape(server):
    sim = SimDeviceProcess(server, "--width", "540", "--height", "1200", "--rotation", "1")
    try:
        yield sim.start()
    finally:
        sim.stop()


def test_rotated_device_with_scaled_capture_maps_taps_onto_their_target(server, landscape):
    source = AdbSource(landscape.serial, scale=0.5, ui_tree=True, port=server.port)
    query(source.device, "task::0")
    frame = source.capture()
    assert frame.size == (600, 270) and frame.rotation == 1
    assert frame.device_size == (1200, 540) and frame.meta["natural_size"] == (540, 1200)
    icon = next(node for node in frame.ui_tree if node.resource_id == LAUNCHER_ICON and node.text == "Clock")
    x, y = frame.to_frame_px(*icon.center)
    with AdbActuator(device=source.device) as actuator:
        result = actuator.execute(Tap(x=x, y=y), frame)
    assert result.ok
    _, _, tx, ty = result.sent["argv"][0]
    assert icon.contains(float(tx), float(ty)), (icon.bounds, tx, ty)
    assert query(source.device, "state")["ui"]["stack"][-1]["app"] == "com.google.android.deskclock"


def test_raw_and_png_captures_agree(server, landscape):
    raw = AdbSource(landscape.serial, port=server.port).capture()
    png = AdbSource(landscape.serial, prefer_raw=False, port=server.port).capture()
    assert raw.meta["capture"] == "raw" and png.meta["capture"] == "png"
    assert raw.size == png.size == (1200, 540)
    assert np.array_equal(raw.image, png.image)


def vlagent(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vlagent.agent.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_runs_an_episode_on_adb_serial_and_refuses_an_ambiguous_env(server, two_devices):
    first, _ = two_devices
    result = vlagent("run", "--env", f"adb:{first.serial}", "--task", "settings.wifi_off", "--policy", "oracle",
                     "--env-opt", "ui_tree=1", "--env-opt", f"port={server.port}", "--headless", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["success"] is True
    refused = vlagent("observe", "--env", "adb", "--env-opt", f"port={server.port}")
    assert refused.returncode == 2 and "devices are connected" in refused.stderr, refused.stderr
    assert first.serial in refused.stderr


def test_the_adb_client_and_adbutils_drive_the_sim_device(server, landscape, tmp_path):
    import adbutils

    serial = landscape.serial
    shell = [server.adb, "-P", str(server.port), "-s", serial, "shell"]
    assert subprocess.run([*shell, "false"], timeout=30).returncode == 1  # shell,v2 carries the exit code
    echoed = subprocess.run([*shell, "echo", "'a  b;c'"], capture_output=True, text=True, timeout=30)
    assert echoed.stdout == "a  b;c\n"
    assert "Physical size: 540x1200" in server.run("-s", serial, "shell", "wm", "size")
    device = adbutils.AdbClient(port=server.port).device(serial)
    assert device.shell2("false").returncode == 1  # shell: (v1) with adbutils' `; echo X4EXIT:$?`
    assert device.shell2("false", v2=True).returncode == 1
    assert device.window_size() == (1200, 540) and device.rotation() == 1
    assert device.dump_hierarchy().startswith("<?xml")  # shell: + sync: RECV
    assert "Exception" in device.shell(["input", "text", "héllo"])  # Android's input text refuses non-ASCII
    server.run("-s", serial, "pull", "/data/local/tmp/uidump.xml", str(tmp_path / "dump.xml"))  # adbutils wrote it
    assert (tmp_path / "dump.xml").read_text().startswith("<?xml")
