"""The `desktop[:MONITOR]` env: the X desktop through mss (frames) and pyautogui (actions).

`desktop` and `desktop:1` are the first monitor, `desktop:2` the second, `desktop:all` every
monitor. Options (config `env_options`, CLI `--env-opt KEY=VALUE`): `region` = LEFT,TOP,WIDTH,HEIGHT
(physical px of the monitor) to capture only part of it, `scale` (0-1, host-side downscale of
frames), `confine` = LEFT,TOP,WIDTH,HEIGHT in logical px that every action must fall in (default:
the captured area). Frames carry no UI tree, so the safety gate cannot verify what a click hits:
with the default `safety.unverifiable = "confirm"` it asks (interactive) or denies (headless);
set it to "allow" to let a headless run act. The task is the instruction text (no success check);
the desktop keeps its own state.
"""

from typing import Any

from vlagent.agent.envs import TaskHandle, _bool_option
from vlagent.agent.errors import ConfigError

OPTIONS = ("region", "scale", "confine")


class DesktopEnv:
    """A ScreenSource and a DesktopActuator on the same display."""

    state_file = None

    def __init__(self, monitor: str | None = None, region: Any = None, scale: float | None = None,
                 confine: Any = None):
        from vlagent.actuators.desktop import DesktopActuator
        from vlagent.perception.sources.screen import ScreenSource

        self.source = ScreenSource(monitor, region=region, scale=scale)
        if confine is None:  # default: the captured area, in logical px
            probe = self.source.capture()
            (x1, y1), (x2, y2) = probe.to_device.apply(0, 0), probe.to_device.apply(*probe.size)
            confine = (x1, y1, x2 - x1, y2 - y1)
        self.actuator = DesktopActuator(region=confine)
        self.spec = self.source.name

    @property
    def device(self) -> dict[str, Any]:
        return {"kind": "desktop", "monitor": self.source.monitor, "region": self.source.region,
                "scale": self.source.scale, "logical_scale": self.source.logical_scale,
                "confine": list(self.actuator.region) if self.actuator.region else None}

    def setup_task(self, ref: str) -> TaskHandle:
        return TaskHandle(id=None, instruction=ref.strip())

    def save(self) -> None:
        """Nothing to save: the desktop keeps its own state."""

    def close(self) -> None:
        self.source.close()


def open_desktop(argument: str | None, options: dict[str, Any]) -> DesktopEnv:
    """ENVS["desktop"]: "desktop[:MONITOR]"."""
    options = dict(options)
    if _bool_option(options, "fresh"):
        raise ConfigError("--fresh: a desktop keeps its own state and cannot be reset from here")
    scale = options.pop("scale", None)
    try:
        scale = float(scale) if scale is not None else None
    except (TypeError, ValueError):
        raise ConfigError(f"desktop option scale={scale!r} is not a number") from None
    region, confine = options.pop("region", None), options.pop("confine", None)
    if options:
        raise ConfigError(f"unknown desktop option(s): {', '.join(sorted(options))}; known: {', '.join(OPTIONS)}")
    return DesktopEnv(argument or None, region=region, scale=scale, confine=confine)
