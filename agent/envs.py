"""Envs: a frame source and an actuator on one device, plus its tasks and persistence.

An env is named by a spec "NAME[:ARGUMENT]" (see agent.registry.ENVS) and satisfies
`Env`: `source`, `actuator`, `device` (a JSON description), `setup_task(ref) ->
TaskHandle` (an env without built-in tasks returns `TaskHandle(None, ref)`: the text is the
instruction and there is no success check), `save()` (persist state, if any) and `close()`.

`sim-phone[:SEED]` is a simulated phone. Its state persists between CLI commands in a
state file (JSON of the whole phone), by default `$VLAGENT_STATE_DIR/sim-phone-SEED.json`
(`~/.local/state/vlagent/` when the variable is unset): `vlagent observe`, `act` and `run`
print that path on stderr and take `--fresh` to start from a new phone instead (README,
"State"). Options (config `env_options`,
CLI `--env-opt KEY=VALUE`): `width`, `height` (device px, default 1080x2400; a saved phone
of another size is replaced by a new one of the size asked for), `frame_width`
(downscaled capture, px), `state_file` (path), `fresh` (ignore an existing state file).
A sim task (`--task ID` or its exact instruction) resets the phone to the task's set-up
state; free text is used as the instruction as is.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vlagent.agent.errors import ConfigError
from vlagent.agent.interfaces import Actuator, FrameSource
from vlagent.agent.recorder import write_atomic

DEFAULT_STATE_DIR = "~/.local/state/vlagent"


@dataclass
class TaskHandle:
    """A task as the loop needs it: the instruction, and a success check when the env has one.

    `id` is None for a free-text instruction; `raw` is the env's own task object.
    """

    id: str | None
    instruction: str
    params: dict[str, Any] = field(default_factory=dict)
    success_check: Callable[[], bool] | None = None
    step_budget: int | None = None
    raw: Any = None

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "instruction": self.instruction, "params": self.params, "step_budget": self.step_budget}


@runtime_checkable
class Env(Protocol):
    """What `vlagent run/observe/act` need from an env (ENVS factories return one)."""

    spec: str
    source: FrameSource
    actuator: Actuator

    @property
    def device(self) -> dict[str, Any]: ...

    def setup_task(self, ref: str) -> TaskHandle: ...

    def save(self) -> Any: ...

    def close(self) -> None: ...


def _int_option(options: dict[str, Any], name: str, default: int | None) -> int | None:
    value = options.pop(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"env option {name}={value!r} is not an integer") from None


def _bool_option(options: dict[str, Any], name: str) -> bool:
    value = options.pop(name, False)
    if isinstance(value, str):
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"env option {name}={value!r} is not a boolean")
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def default_state_file(seed: int) -> Path:
    root = os.environ.get("VLAGENT_STATE_DIR") or DEFAULT_STATE_DIR
    return Path(root).expanduser() / f"sim-phone-{seed}.json"


class SimPhoneEnv:
    """A simulated phone with a persistent state file."""

    def __init__(self, seed: int = 0, *, width: int | None = None, height: int | None = None,
                 frame_width: int | None = None, state_file: str | Path | None = None, fresh: bool = False):
        from vlagent.actuators.sim import SimActuator
        from vlagent.perception.sources.sim import SimSource
        from vlagent.sim.phone import (  # DEFAULT_SIZE: device px (portrait) of a new phone
            DEFAULT_SIZE,
            Phone,
        )

        self.seed = seed
        self.fresh = fresh
        self.state_file = Path(state_file) if state_file is not None else default_state_file(seed)
        saved = Phone.from_json(self.state_file.read_bytes()) if self.state_file.is_file() and not fresh else None
        if saved is not None and (width or saved.state.width, height or saved.state.height) == (
                saved.state.width, saved.state.height):
            self.phone = saved
        else:  # no saved phone, or the options ask for another size: a new phone honours them
            self.phone = Phone(width=width or DEFAULT_SIZE[0], height=height or DEFAULT_SIZE[1], seed=seed)
        self.source = SimSource(self.phone, frame_width=frame_width)
        self.actuator = SimActuator(self.phone)
        self.spec = f"sim-phone:{seed}"

    @property
    def device(self) -> dict[str, Any]:
        return {"kind": "sim-phone", "seed": self.seed, "size": list(self.phone.size),
                "rotation": self.phone.rotation, "state_file": str(self.state_file)}

    def setup_task(self, ref: str) -> TaskHandle:
        """Set up a sim task by id ("clock.alarm_create", "clock.alarm_create:3") or exact
        instruction; text with spaces that names no task becomes a free instruction."""
        from vlagent.sim.tasks import TaskError, find_task

        try:
            task = find_task(ref, self.seed)
        except TaskError:
            if not any(ch.isspace() for ch in ref.strip()):
                raise
            return TaskHandle(id=None, instruction=ref.strip())
        width, height = self.phone.state.width, self.phone.state.height
        self.phone.restore(task.new_phone(width, height).snapshot())
        return TaskHandle(id=task.id, instruction=task.instruction, params=dict(task.params),
                          success_check=lambda: task.is_successful(self.phone.state),
                          step_budget=task.step_budget, raw=task)

    def save(self) -> Path:
        """Write the phone's state to the state file (atomically)."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_file, self.phone.to_json().encode("utf-8"))
        return self.state_file

    def close(self) -> None:
        self.actuator.close()


def open_sim_phone(argument: str | None, options: dict[str, Any]) -> SimPhoneEnv:
    """ENVS["sim-phone"]: "sim-phone:SEED" (SEED defaults to 0)."""
    try:
        seed = int(argument) if argument else 0
    except ValueError:
        raise ConfigError(f"sim-phone:SEED needs an integer seed, got {argument!r}") from None
    options = dict(options)
    env = SimPhoneEnv(
        seed,
        width=_int_option(options, "width", None),
        height=_int_option(options, "height", None),
        frame_width=_int_option(options, "frame_width", None),
        state_file=options.pop("state_file", None),
        fresh=_bool_option(options, "fresh"),
    )
    if options:
        raise ConfigError(f"unknown sim-phone option(s): {', '.join(sorted(options))}; "
                          "known: width, height, frame_width, state_file, fresh")
    return env
