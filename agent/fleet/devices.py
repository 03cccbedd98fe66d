"""The fleet's devices: `--envs` parsed into `Device`s with their Ray placement resource.

"adb:S1,adb:S2,sim-phone:1..8" names ten devices: two phones over ADB and eight simulated
phones (a range A..B expands to every integer argument from A to B). Each device's actor asks
for one unit of the custom resource `vlagent-device:SPEC`, so it can only be placed on a Ray
node that advertises that resource: the machine where that phone is plugged in
(`ray start --resources='{"vlagent-device:adb:S1": 1}'`). A local Ray instance started by
`vlagent fleet` advertises every device's resource itself.
"""

import re
from dataclasses import dataclass

from vlagent.agent.errors import ConfigError

RESOURCE_PREFIX = "vlagent-device:"
_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
MAX_RANGE = 1024  # a typo such as 1..80000 should fail, not start 80000 actors


@dataclass(frozen=True)
class Device:
    """One device: its env spec ("sim-phone:3"), env kind ("sim-phone") and Ray resource."""

    spec: str
    kind: str

    @property
    def resource(self) -> str:
        return RESOURCE_PREFIX + self.spec


def _expand(item: str) -> list[str]:
    kind, sep, argument = item.partition(":")
    match = _RANGE.match(argument.strip()) if sep else None
    if match is None:
        return [item]
    first, last = int(match.group(1)), int(match.group(2))
    if last < first:
        raise ConfigError(f"--envs {item!r}: the range {argument} runs backwards")
    if last - first + 1 > MAX_RANGE:
        raise ConfigError(f"--envs {item!r}: {last - first + 1} devices in one range (at most {MAX_RANGE})")
    return [f"{kind}:{number}" for number in range(first, last + 1)]


def parse_devices(text: str, known_kinds) -> list[Device]:
    """`--envs` -> devices, in the order given. ConfigError names an unknown env kind, an empty
    item, a bad range or a device named twice."""
    devices: list[Device] = []
    seen: set[str] = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ConfigError(f"--envs {text!r} has an empty item")
        for spec in _expand(item):
            kind = spec.partition(":")[0].strip()
            if kind not in known_kinds:
                raise ConfigError(f"--envs: unknown env kind {kind!r} in {item!r}; known: {', '.join(sorted(known_kinds))}")
            if spec in seen:
                raise ConfigError(f"--envs names {spec} twice; each device runs one loop at a time")
            seen.add(spec)
            devices.append(Device(spec, kind))
    if not devices:
        raise ConfigError("--envs names no device")
    return devices
