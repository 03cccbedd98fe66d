"""A room with coloured objects and a differential-drive robot, as a seeded spec and its MJCF.

`random_world(seed, required=None, excluded=())` draws a `WorldSpec`: a square room (walls), a
checkered floor in one of a few tints, 3-5 objects (shapes ball, box, cylinder; colours from
`PALETTE`, each pair distinct), light direction and brightness, and the robot's start pose.
`required` (colour, shape) is always placed, in front of the robot's start within its camera's
field of view or beside it (so some tasks need a turn); `excluded` pairs never appear (an absent
target stays absent). `world_xml(spec, width, height)` is the MuJoCo model.

Frame: world x/y in metres, z up; the robot's yaw in radians, 0 along +x, counter-clockwise
positive (REP 103). Objects stand on the floor. Shadows are off (they cost 6-10x on software GL).
"""

import math
import random
from dataclasses import dataclass, field

PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "green": (0.15, 0.70, 0.20),
    "blue": (0.12, 0.25, 0.85),
    "yellow": (0.92, 0.85, 0.10),
    "purple": (0.55, 0.20, 0.70),
    "orange": (0.95, 0.50, 0.08),
}
SHAPES = ("ball", "box", "cylinder")
ROOM_HALF_M = 3.0  # the room is 6 m x 6 m
ROBOT_RADIUS_M = 0.18
CAMERA_HEIGHT_M = 0.25
CAMERA_FOVY_DEG = 60.0
FLOOR_TINTS = ((0.55, 0.52, 0.47), (0.45, 0.47, 0.50), (0.50, 0.45, 0.40))


@dataclass(frozen=True)
class SimObject:
    """One object: `colour` and `shape` name it ("the red ball"); (x, y) m; `size` m (radius or half-side)."""

    colour: str
    shape: str
    x: float
    y: float
    size: float

    @property
    def name(self) -> str:
        return f"{self.colour}_{self.shape}"

    @property
    def label(self) -> str:
        return f"the {self.colour} {self.shape}"

    @property
    def height(self) -> float:
        return 2 * self.size if self.shape == "ball" else (2 * self.size if self.shape == "box" else 3 * self.size)


@dataclass(frozen=True)
class WorldSpec:
    """Everything a seed decides; `robot` = (x m, y m, yaw rad)."""

    seed: int
    objects: tuple[SimObject, ...]
    robot: tuple[float, float, float]
    floor: tuple[float, float, float]
    light_dir: tuple[float, float, float]
    light_level: float
    noise: float = 4.0  # camera noise: std of added Gaussian noise, intensity levels
    extra: dict = field(default_factory=dict)

    def find(self, colour: str, shape: str) -> SimObject | None:
        return next((o for o in self.objects if o.colour == colour and o.shape == shape), None)


def _free(x: float, y: float, size: float, placed: list[SimObject], robot: tuple[float, float, float]) -> bool:
    if max(abs(x), abs(y)) > ROOM_HALF_M - size - 0.3:
        return False
    if math.hypot(x - robot[0], y - robot[1]) < ROBOT_RADIUS_M + size + 0.6:
        return False
    return all(math.hypot(x - o.x, y - o.y) > o.size + size + 0.35 for o in placed)


def random_world(seed: int, required: tuple[str, str] | None = None,
                 excluded: tuple[tuple[str, str], ...] = (), required_in_view: bool = True) -> WorldSpec:
    """A seeded world (see the module docstring)."""
    rng = random.Random(seed)
    robot = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-math.pi, math.pi))
    pairs = [(c, s) for c in PALETTE for s in SHAPES if (c, s) not in excluded and (c, s) != required]
    rng.shuffle(pairs)
    placed: list[SimObject] = []
    if required is not None:
        for _ in range(500):
            distance = rng.uniform(1.6, 2.6)
            half_fov = math.radians(CAMERA_FOVY_DEG * 4 / 3) / 2 * 0.6
            offset = rng.uniform(-half_fov, half_fov) if required_in_view else rng.choice((-1, 1)) * rng.uniform(0.9, 2.0)
            bearing = robot[2] + offset
            size = rng.uniform(0.14, 0.2)
            x, y = robot[0] + distance * math.cos(bearing), robot[1] + distance * math.sin(bearing)
            if _free(x, y, size, placed, robot):
                placed.append(SimObject(required[0], required[1], x, y, size))
                break
        else:
            raise RuntimeError(f"seed {seed}: no room for the {required} target")
    used_colours_shapes = {(o.colour, o.shape) for o in placed}
    wanted = rng.randint(3, 5)
    for colour, shape in pairs:
        if len(placed) >= wanted:
            break
        if (colour, shape) in used_colours_shapes:
            continue
        for _ in range(50):
            size = rng.uniform(0.12, 0.2)
            x, y = rng.uniform(-2.6, 2.6), rng.uniform(-2.6, 2.6)
            if _free(x, y, size, placed, robot):
                placed.append(SimObject(colour, shape, x, y, size))
                used_colours_shapes.add((colour, shape))
                break
    light = (rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), -1.0)
    return WorldSpec(seed=seed, objects=tuple(placed), robot=robot, floor=rng.choice(FLOOR_TINTS), light_dir=light,
                     light_level=rng.uniform(0.6, 0.9), noise=rng.uniform(2.0, 6.0))


def _rgba(rgb: tuple[float, float, float]) -> str:
    return f"{rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} 1"


def _object_geom(o: SimObject) -> str:
    common = f'name="{o.name}" rgba="{_rgba(PALETTE[o.colour])}" contype="1" conaffinity="1"'
    if o.shape == "ball":
        return f'<geom {common} type="sphere" size="{o.size:.3f}" pos="{o.x:.3f} {o.y:.3f} {o.size:.3f}"/>'
    if o.shape == "box":
        return f'<geom {common} type="box" size="{o.size:.3f} {o.size:.3f} {o.size:.3f}" pos="{o.x:.3f} {o.y:.3f} {o.size:.3f}"/>'
    half = 1.5 * o.size
    return f'<geom {common} type="cylinder" size="{o.size:.3f} {half:.3f}" pos="{o.x:.3f} {o.y:.3f} {half:.3f}"/>'


def world_xml(spec: WorldSpec, width: int = 320, height: int = 240) -> str:
    """The MJCF of `spec`, with an offscreen buffer of at least `width` x `height` px for the camera."""
    h = ROOM_HALF_M
    walls = "\n".join(
        f'<geom name="wall_{i}" type="box" size="{sx} {sy} 0.4" pos="{px} {py} 0.4" rgba="0.82 0.80 0.76 1" '
        'contype="1" conaffinity="1"/>'
        for i, (sx, sy, px, py) in enumerate([(h, 0.05, 0, h), (h, 0.05, 0, -h), (0.05, h, h, 0), (0.05, h, -h, 0)]))
    objects = "\n".join(_object_geom(o) for o in spec.objects)
    x, y, yaw = spec.robot
    level = spec.light_level
    lx, ly, lz = spec.light_dir
    return f"""<mujoco model="vlagent-room">
  <option timestep="0.005" gravity="0 0 0"/>
  <visual><global offwidth="{max(width, 64)}" offheight="{max(height, 64)}"/><quality shadowsize="0"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.3 0.3 0.3"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1="{_rgba(spec.floor)[:-2]}"
             rgb2="{' '.join(f'{c * 0.8:.3f}' for c in spec.floor)}" width="256" height="256"/>
    <material name="floor" texture="grid" texrepeat="6 6"/>
  </asset>
  <worldbody>
    <light pos="0 0 3" dir="{lx:.3f} {ly:.3f} {lz:.3f}" diffuse="{level:.3f} {level:.3f} {level:.3f}" castshadow="false"/>
    <geom name="floor" type="plane" size="{h} {h} 0.1" material="floor" contype="0" conaffinity="0"/>
    {walls}
    {objects}
    <body name="robot" pos="0 0 0.1">
      <joint name="x" type="slide" axis="1 0 0" damping="0"/>
      <joint name="y" type="slide" axis="0 1 0" damping="0"/>
      <joint name="yaw" type="hinge" axis="0 0 1" damping="0"/>
      <geom name="base" type="cylinder" size="{ROBOT_RADIUS_M} 0.08" rgba="0.2 0.2 0.22 1" mass="8" contype="1" conaffinity="1"/>
      <camera name="front" pos="{ROBOT_RADIUS_M - 0.02} 0 {CAMERA_HEIGHT_M - 0.1}" xyaxes="0 -1 0 0.1 0 1" fovy="{CAMERA_FOVY_DEG}"/>
    </body>
  </worldbody>
  <keyframe><key name="start" qpos="{x:.4f} {y:.4f} {yaw:.4f}"/></keyframe>
</mujoco>"""
