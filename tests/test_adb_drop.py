"""A device that drops mid-episode: killing `vlagent sim-device` gives a typed error within
the reconnect bound, or — when it comes back on the same port with its state — a resumed
episode that finishes. Never a hang (every wait here is bounded by pytest-timeout too)."""

import threading
import time

import pytest

from vlagent.actuators.adb import AdbActuator
from vlagent.agent.config import LoopConfig
from vlagent.agent.loop import run_episode
from vlagent.perception.sources.adb import AdbDeviceGone, AdbSource
from vlagent.policies.oracle import OraclePolicy
from vlagent.sim.adbd.launch import AdbServer, SimDeviceProcess, free_port
from vlagent.sim.phone import PhoneState
from vlagent.sim.tasks import make_task

TASK = "settings.dark_theme_on"
BOUND_S = 3.0


class KillAtStep:
    """Wraps a policy; at `step`, after deciding, runs `on_step` (which kills the device)."""

    def __init__(self, policy, step: int, on_step):
        self.policy, self.step, self.on_step = policy, step, on_step
        self.fired_at: float | None = None

    def act(self, observation, history):
        decision = self.policy.act(observation, history)
        if observation.step == self.step and self.fired_at is None:
            self.on_step()
            self.fired_at = time.monotonic()
        return decision


@pytest.fixture(scope="module")
def server():
    server = AdbServer()
    yield server
    server.stop()


def start_sim(server, port: int, state_file) -> SimDeviceProcess:
    sim = SimDeviceProcess(server, "--width", "540", "--height", "1200", "--task", TASK,
                           "--state-file", str(state_file), port=port)
    return sim.start()


@pytest.mark.timeout(120)
def test_killed_device_raises_a_typed_error_within_the_bound(server, tmp_path):
    sim = start_sim(server, free_port(), tmp_path / "state.json")
    try:
        task = make_task(TASK, 0)
        source = AdbSource(sim.serial, ui_tree=True, port=server.port, reconnect_timeout_s=BOUND_S)
        policy = KillAtStep(OraclePolicy(task), 1, sim.kill)
        with AdbActuator(device=source.device) as actuator, pytest.raises(AdbDeviceGone) as caught:
            run_episode(source, policy, actuator, instruction=task.instruction, config=LoopConfig(max_steps=20))
        waited = time.monotonic() - policy.fired_at
        assert BOUND_S <= waited < BOUND_S + 4.0, waited
        assert caught.value.serial == sim.serial and caught.value.waited_s >= BOUND_S
    finally:
        sim.stop()


@pytest.mark.timeout(120)
def test_device_back_on_the_same_port_resumes_the_episode(server, tmp_path):
    state_file = tmp_path / "state.json"
    sim = start_sim(server, free_port(), state_file)
    restarted: list[SimDeviceProcess] = []

    def kill_and_restart_later() -> None:
        sim.kill()

        def restart() -> None:
            time.sleep(0.5)
            replacement = SimDeviceProcess(server, *sim.args, port=sim.port)
            replacement.spawn()  # no `adb connect`: bringing it back is the source's job
            restarted.append(replacement)

        threading.Thread(target=restart, daemon=True).start()

    try:
        task = make_task(TASK, 0)
        source = AdbSource(sim.serial, ui_tree=True, port=server.port, reconnect_timeout_s=20.0)
        before = task.is_successful(PhoneState.model_validate_json(source.device.service("vlagent:state")))
        policy = KillAtStep(OraclePolicy(task), 2, kill_and_restart_later)

        def succeeded() -> bool:
            return task.is_successful(PhoneState.model_validate_json(source.device.service("vlagent:state")))

        with AdbActuator(device=source.device) as actuator:
            result = run_episode(source, policy, actuator, instruction=task.instruction,
                                 config=LoopConfig(max_steps=20), success_check=succeeded)
        assert not before
        assert restarted, "the device was never restarted"
        assert result.status == "finished" and result.success, result
        assert source.device.reconnects >= 1
    finally:
        sim.stop()
        for replacement in restarted:
            replacement.stop()
