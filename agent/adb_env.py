"""The `adb[:SERIAL]` env: an Android device (or `vlagent sim-device`) through the adb server.

`adb:SERIAL` names the device (`adb:emulator-5554`, `adb:127.0.0.1:5555`); plain `adb`
takes `ANDROID_SERIAL`, else the only connected device, else fails naming them. Options
(config `env_options`, CLI `--env-opt KEY=VALUE`): `host`, `port` (the adb server),
`scale` (0-1, host-side downscale of frames), `ui_tree` (add `uiautomator dump` to each
frame; the oracle needs it), `png` (capture PNG instead of raw), `reconnect_timeout_s`,
`command_timeout_s`. Without `ui_tree`, a frame carries no tree, and the tree is read on
demand where one is needed: by the safety gate for a point or stroke action
(`vlagent.agent.step`), by `vlagent observe --ui-tree`, and on every frame once a policy
calls `require_ui_tree()` (the oracle does). The device keeps its own state: there is no
state file here, and `--fresh` is refused.

Tasks: on a simulated device (one that answers the `vlagent:task` service) a sim task id
sets the phone up and its success check reads the device's own state; on a real phone the
task is the instruction text, with no success check.
"""

import json
from typing import Any

from vlagent.agent.envs import TaskHandle, _bool_option
from vlagent.agent.errors import ConfigError

OPTIONS = ("host", "port", "scale", "ui_tree", "png", "reconnect_timeout_s", "command_timeout_s")


class AdbEnv:
    """A frame source and an actuator sharing one AdbDevice."""

    def __init__(self, serial: str | None = None, *, host: str | None = None, port: int | None = None,
                 scale: float | None = None, ui_tree: bool = False, png: bool = False,
                 reconnect_timeout_s: float = 10.0, command_timeout_s: float = 30.0):
        from vlagent.actuators.adb import AdbActuator
        from vlagent.perception.sources.adb import AdbSource

        self.source = AdbSource(serial, scale=scale, prefer_raw=not png, ui_tree=ui_tree, host=host, port=port,
                                reconnect_timeout_s=reconnect_timeout_s, command_timeout_s=command_timeout_s)
        self.actuator = AdbActuator(device=self.source.device, command_timeout_s=command_timeout_s).connect()
        self.spec = f"adb:{self.source.serial}"

    state_file = None  # the device keeps its own state

    def require_ui_tree(self) -> None:
        """Read the UI tree with every capture from now on (a policy that reads it each step)."""
        self.source.ui_tree = True

    @property
    def device(self) -> dict[str, Any]:
        return {"kind": "adb", "serial": self.source.serial, "natural_size": list(self.source.natural_size()),
                "rotation": self.source.rotation()}

    def setup_task(self, ref: str) -> TaskHandle:
        """A sim task on a simulated device; otherwise `ref` is the instruction."""
        from vlagent.perception.sources.adb_device import AdbDeviceError
        from vlagent.sim.tasks import TaskError, find_task

        try:
            task = find_task(ref)
        except TaskError:
            return TaskHandle(id=None, instruction=ref.strip())
        try:
            reply = json.loads(self.source.device.service(f"vlagent:task:{task.template_id}:{task.seed}"))
        except AdbDeviceError:
            return TaskHandle(id=None, instruction=task.instruction)  # a real phone: no sim to set up
        if not reply.get("ok"):
            raise ConfigError(f"the simulated device could not set up {task.id}: {reply.get('error')}")

        def succeeded() -> bool:
            from vlagent.sim.phone import PhoneState

            state = PhoneState.model_validate_json(self.source.device.service("vlagent:state"))
            return task.is_successful(state)

        return TaskHandle(id=task.id, instruction=task.instruction, params=dict(task.params),
                          success_check=succeeded, step_budget=task.step_budget, raw=task)

    def save(self) -> None:
        """Nothing to save: the device keeps its own state."""

    def close(self) -> None:
        self.actuator.close()
        self.source.close()


def open_adb(argument: str | None, options: dict[str, Any]) -> AdbEnv:
    """ENVS["adb"]: "adb[:SERIAL]"."""
    from vlagent.perception.sources.adb_device import AdbDeviceError

    options = dict(options)
    if _bool_option(options, "fresh"):
        raise ConfigError("--fresh: an adb device keeps its own state and cannot be reset from here")
    try:
        kwargs = {
            "host": options.pop("host", None),
            "port": int(options["port"]) if options.get("port") is not None else None,
            "scale": float(options["scale"]) if options.get("scale") is not None else None,
            "reconnect_timeout_s": float(options.pop("reconnect_timeout_s", 10.0)),
            "command_timeout_s": float(options.pop("command_timeout_s", 30.0)),
        }
    except (TypeError, ValueError) as error:
        raise ConfigError(f"bad adb env option: {error}") from None
    options.pop("port", None)
    options.pop("scale", None)
    kwargs["ui_tree"] = _bool_option(options, "ui_tree")
    kwargs["png"] = _bool_option(options, "png")
    if options:
        raise ConfigError(f"unknown adb option(s): {', '.join(sorted(options))}; known: {', '.join(OPTIONS)}")
    try:
        return AdbEnv(argument or None, **kwargs)
    except AdbDeviceError as error:
        raise ConfigError(str(error)) from None
