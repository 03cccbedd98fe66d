"""Robot tasks: an instruction, a seeded world with (or without) its target, and a success check.

Task ids are "robot.TEMPLATE[:SEED]" (seed 0 when absent). Templates:

| template | instruction | success, judged on the simulator's state when the episode ends |
|---|---|---|
| `drive_to` | "drive to the red ball" | within `NEAR_M` of the target's surface, facing it (|bearing| <= 25 deg) |
| `face` | "turn to face the green box" | |bearing| <= 10 deg, stopped (target placed beside the start) |
| `stop_in_front` | "stop in front of the blue cylinder" | within `NEAR_M`, |bearing| <= 20 deg, stopped |
| `find_absent` | "find the yellow cone" | the target is not in the room: success is to stop by itself (the driver ended the episode, not the time limit) having travelled at most `WANDER_M` |

The target's colour and shape are drawn per seed for the first three (any palette colour, any
shape); the absent task always asks for a cone, a shape the room never holds. "Stopped" means
|linear| < 0.02 m/s and |angular| < 0.05 rad/s. `check(sim, ended_by_driver)` returns a `TaskResult`.
"""

import math
import random
from dataclasses import asdict, dataclass

from vlagent.sim.robot.world import PALETTE, SHAPES, WorldSpec, random_world

NEAR_M = 0.6
WANDER_M = 3.0
TEMPLATES = ("drive_to", "face", "stop_in_front", "find_absent")


class RobotTaskError(ValueError):
    """A task id that names no robot task."""


@dataclass(frozen=True)
class RobotTask:
    """One task: `id`, `instruction`, the world, and the target (None when it is absent by design)."""

    id: str
    template: str
    seed: int
    instruction: str
    world: WorldSpec
    target: str | None  # the object's name in the world ("red_ball"), None for find_absent
    target_label: str   # "the red ball"
    time_limit_s: float = 45.0


@dataclass(frozen=True)
class TaskResult:
    """The outcome: `success`, a `reason`, and the measurements it was judged on (m, deg, m/s)."""

    task: str
    success: bool
    reason: str
    distance_m: float | None
    bearing_deg: float | None
    stopped: bool
    travelled_m: float
    sim_time_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def parse_task_id(task_id: str) -> tuple[str, int]:
    name, _, seed = task_id.partition(":")
    template = name.removeprefix("robot.")
    if template not in TEMPLATES or not name.startswith("robot."):
        raise RobotTaskError(f"unknown robot task {task_id!r}; templates: {', '.join('robot.' + t for t in TEMPLATES)}")
    try:
        return template, int(seed) if seed else 0
    except ValueError:
        raise RobotTaskError(f"robot task {task_id!r}: the seed must be an integer") from None


def make_task(task_id: str) -> RobotTask:
    """The task for "robot.TEMPLATE[:SEED]"; `RobotTaskError` for anything else."""
    template, seed = parse_task_id(task_id)
    rng = random.Random(f"{template}:{seed}")
    if template == "find_absent":
        colour = rng.choice(list(PALETTE))
        world = random_world(seed)
        return RobotTask(f"robot.{template}:{seed}", template, seed, f"find the {colour} cone", world, None,
                         f"the {colour} cone", time_limit_s=30.0)
    colour, shape = rng.choice(list(PALETTE)), rng.choice(SHAPES)
    world = random_world(seed, required=(colour, shape), required_in_view=template != "face")
    verb = {"drive_to": "drive to", "face": "turn to face", "stop_in_front": "stop in front of"}[template]
    label = f"the {colour} {shape}"
    return RobotTask(f"robot.{template}:{seed}", template, seed, f"{verb} {label}", world, f"{colour}_{shape}", label)


def _stopped(sim) -> bool:
    linear, angular = sim.speed()
    return abs(linear) < 0.02 and abs(angular) < 0.05


def check(task: RobotTask, sim, ended_by_driver: bool) -> TaskResult:
    """Judge `task` on the simulator's state now (see the module docstring)."""
    stopped, travelled = _stopped(sim), sim.odometer_m
    common = {"task": task.id, "stopped": stopped, "travelled_m": round(travelled, 3), "sim_time_s": round(sim.time_s, 2)}
    if task.target is None:
        ok = ended_by_driver and stopped and travelled <= WANDER_M
        reason = ("stopped by itself" if ok else "ran into the time limit" if not ended_by_driver
                  else f"travelled {travelled:.1f} m" if travelled > WANDER_M else "still moving")
        return TaskResult(success=ok, reason=reason, distance_m=None, bearing_deg=None, **common)
    distance, bearing = sim.distance_to(task.target), math.degrees(sim.bearing_to(task.target))
    if task.template == "face":
        ok, reason = abs(bearing) <= 10 and stopped, f"bearing {bearing:.0f} deg"
    else:
        limit = 25 if task.template == "drive_to" else 20
        ok = distance <= NEAR_M and abs(bearing) <= limit and (stopped or task.template == "drive_to")
        reason = f"{distance:.2f} m away, bearing {bearing:.0f} deg" + ("" if stopped else ", moving")
    return TaskResult(success=ok, reason=reason, distance_m=round(distance, 3), bearing_deg=round(bearing, 1), **common)
