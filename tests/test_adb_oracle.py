"""Acceptance: the oracle finishes 10 tasks on `vlagent sim-device` through the real adb
server, acting only through `AdbActuator` and seeing only through `AdbSource`. Success is
read from the simulated phone's own state (the `vlagent:state` service), never from the
policy's claim."""

import pytest

from vlagent.actuators.adb import AdbActuator
from vlagent.agent.config import LoopConfig, SafetyConfig
from vlagent.agent.loop import run_episode
from vlagent.agent.safety import SafetyGate
from vlagent.perception.sources.adb import AdbSource
from vlagent.policies.oracle import OraclePolicy
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess, query
from vlagent.sim.phone import PhoneState
from vlagent.sim.tasks import make_task

TASKS = [
    "settings.dark_theme_on",  # scroll
    "settings.bluetooth_on_wifi_off",
    "clock.alarm_create_labelled",  # text, unicode
    "clock.alarm_delete",  # long press
    "messages.send_unicode",
    "contacts.change_number",  # scroll, text
    "calculator.chain",
    "notes.create_with_text",
    "browser.open_site",
    "multi.calculate_to_note",  # two apps
]


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


def test_oracle_finishes_ten_tasks_through_adb(device):
    server, sim = device
    source = AdbSource(sim.serial, ui_tree=True, port=server.port)
    outcomes = {}
    with AdbActuator(device=source.device) as actuator:
        for task_id in TASKS:
            reply = query(source.device, f"task:{task_id}:0")
            assert reply["ok"], reply
            task = make_task(task_id, 0)

            def succeeded(task=task) -> bool:
                return task.is_successful(PhoneState.model_validate_json(source.device.service("vlagent:state")))

            assert not succeeded(), f"{task_id} is already done before the episode"
            # The gate has its own tests; here every oracle action must reach the device.
            result = run_episode(source, OraclePolicy(task), actuator, instruction=task.instruction,
                                 config=LoopConfig(max_steps=task.step_budget + 10),
                                 gate=SafetyGate(SafetyConfig(enabled=False)), success_check=succeeded)
            outcomes[task_id] = (result.status, result.success, result.reason)
    failed = {task: outcome for task, outcome in outcomes.items() if not (outcome[0] == "finished" and outcome[1])}
    assert not failed, failed
    commands = {argv[0] for argv in query(source.device, "log")}
    assert commands <= {"screencap", "uiautomator", "cat", "input", "am", "monkey", "settings", "ime", "wm",
                        "dumpsys", "pm"}, commands
