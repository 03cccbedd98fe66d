"""Names -> implementations, for the CLI and config files.

Four explicit tables map a name to a factory given as a "module:attribute" string; the
module is imported only when that name is used, so listing or choosing one never imports
the others (or torch). Nothing registers itself on import. To add an implementation, add
one line here.

Factory signatures:
- ENVS[name](spec_argument, options) -> agent.envs.Env, where "sim-phone:3" gives
  spec_argument "3" (None when absent) and options is the config's `env_options`;
- POLICIES[name](context: PolicyContext) -> Policy; a policy may also be named by its own
  factory, "package.module:factory" (imported only when used, the working directory
  importable), for policies outside vlagent; "remote:URL[#MODEL]" is a model policy over an
  OpenAI-compatible server (policies.remote);
- SOURCES / ACTUATORS[name](**options) -> FrameSource / Actuator, for composing by hand;
- GYM_ENVS[id] is a Gymnasium entry point; `register_gym_envs()` registers them (lazily:
  nothing is imported until `gymnasium.make`), and may be called repeatedly.
"""

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from vlagent.perception.errors import VlagentError

ENVS: dict[str, str] = {
    "sim-phone": "vlagent.agent.envs:open_sim_phone",
    "adb": "vlagent.agent.adb_env:open_adb",
    "desktop": "vlagent.agent.desktop_env:open_desktop",
}

POLICIES: dict[str, str] = {
    "oracle": "vlagent.agent.sim_oracle:make_oracle_policy",
    "scripted": "vlagent.policies.scripted:from_context",
    "grounding": "vlagent.policies.grounding:from_context",
    "agent": "vlagent.policies.agent:from_context",
    "servo": "vlagent.policies.servo:from_context",
}

SOURCES: dict[str, str] = {
    "sim-phone": "vlagent.perception.sources.sim:SimSource",
    "adb": "vlagent.perception.sources.adb:AdbSource",
    "ros2-camera": "vlagent.perception.sources.ros2:Ros2CameraSource",
    "desktop": "vlagent.perception.sources.screen:ScreenSource",
}

ACTUATORS: dict[str, str] = {
    "sim-phone": "vlagent.actuators.sim:SimActuator",
    "adb": "vlagent.actuators.adb:AdbActuator",
    "ros2": "vlagent.actuators.ros2.actuator:Ros2Actuator",
    "desktop": "vlagent.actuators.desktop:DesktopActuator",
}


GYM_ENVS: dict[str, str] = {
    "vlagent/Phone-v0": "vlagent.agent.gym_env:PhoneEnv",
    "vlagent/Robot-v0": "vlagent.agent.robot_gym_env:RobotEnv",
}


class RegistryError(VlagentError, LookupError):
    """An unknown name, or a factory string that does not import."""


@dataclass
class PolicyContext:
    """What a policy factory may use: the env (None in offline replay), the task (None when
    unknown), the episode metadata in replay, free-form options from config/CLI, and the ROS 2
    transport when a robot node runs the policy (None elsewhere)."""

    env: Any = None
    task: Any = None
    episode_meta: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    transport: Any = None  # the ROS 2 Transport, for policies run by vlagent ros2-node


def resolve(table: dict[str, str], name: str, kind: str) -> Any:
    """Import and return the factory registered as `name` in `table`."""
    target = table.get(name)
    if target is None:
        raise RegistryError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table)) or 'none'}")
    return import_factory(target, name, kind)


def import_factory(target: str, name: str, kind: str) -> Any:
    """The attribute named by a "module:attribute" string."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise RegistryError(f"{kind} {name!r}: {target!r} is not a 'module:attribute' factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise RegistryError(f"{kind} {name!r} needs {module_name}, which cannot be imported: {error}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise RegistryError(f"{kind} {name!r}: {module_name} has no {attribute}") from None


def split_spec(spec: str) -> tuple[str, str | None]:
    """"sim-phone:3" -> ("sim-phone", "3"); "adb:emulator-5554" -> ("adb", "emulator-5554")."""
    name, sep, argument = spec.partition(":")
    return name.strip(), (argument.strip() if sep else None)


def open_env(spec: str, options: dict[str, Any] | None = None) -> Any:
    """Open the env named by `spec` ("NAME[:ARGUMENT]")."""
    name, argument = split_spec(spec)
    return resolve(ENVS, name, "env")(argument, dict(options or {}))


def make_policy(name: str, context: PolicyContext) -> Any:
    """The policy registered as `name`, a remote model ("remote:URL[#MODEL]", policies.remote), or
    made by the factory `name` = "package.module:factory"."""
    if name.startswith("remote:"):
        from vlagent.policies.remote import from_spec

        return from_spec(name, context)
    if name not in POLICIES and ":" in name:
        # Like uvicorn's "module:app": the working directory is importable, so a user's own
        # policy module next to them works from the `vlagent` script too.
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return import_factory(name, name, "policy")(context)
    return resolve(POLICIES, name, "policy")(context)


def make_source(name: str, **options: Any) -> Any:
    return resolve(SOURCES, name, "frame source")(**options)


def make_actuator(name: str, **options: Any) -> Any:
    return resolve(ACTUATORS, name, "actuator")(**options)


def register_gym_envs() -> None:
    """Register every GYM_ENVS id with Gymnasium (idempotent; imports gymnasium, an optional
    dependency: the `sim` extra)."""
    try:
        import gymnasium
    except ImportError as error:
        raise RegistryError(f"the Gymnasium envs need gymnasium (pip install 'vlagent[sim]'): {error}") from None
    for env_id, entry_point in GYM_ENVS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, nondeterministic=False)
