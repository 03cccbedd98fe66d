"""Robot camera frames with the objects they show, for training and scoring robot grounding.

A `RobotView` is one frame of the simulated robot's camera (`sim.robot`, 320x240 frame px),
downscaled to the model-input size, with
- `screen.targets`: every object showing at least `MIN_TARGET_PX` frame px, labelled as a task
  names it ("the red ball"), its box the visible bounds (MuJoCo segmentation, occlusion included)
  in norm-1000 of the frame, rounded outward to multiples of 10 (so it contains the object);
- `absent`: labels of colour/shape pairs that do not show at all (not in the room, behind the
  robot, hidden, or a cone: a shape the room never holds); the model answers `NOT_VISIBLE`
  for them. Objects showing 1..MIN_TARGET_PX-1 px are in neither list (a query could not be
  answered either way from a few pixels).
Views of one world: the robot's start pose (what a task's first frame shows) with a small yaw
jitter, poses aimed at one of its objects from 0.2-2.8 m (what an approach shows, up to the
servo's stop), and uniform poses. Worlds are `random_world(seed, required=...)`, as the tasks
draw them; training world seeds start at TRAIN_WORLD_SEED0, held-out ones at EVAL_WORLD_SEED0,
and the robot tasks' own seeds (below 100,000) are used by neither.

Frame px -> norm-1000 goes through `perception.coords`; only the outward rounding (screens.norm_box).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vlagent.perception.image_ops import resize_bicubic, to_rgb_image
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.train.samples import ABSENT, Sample, box_text
from vlagent.perception.train.screens import Screen, Target, norm_box, parallel_map
from vlagent.policies.grounding import NOT_VISIBLE
from vlagent.policies.prompts import grounding_prompt

TRAIN_WORLD_SEED0 = 100_000
EVAL_WORLD_SEED0 = 3_000_000
FRAME_SIZE = (320, 240)  # the simulated camera, frame px (width, height)
MIN_TARGET_PX = 80
QUERY_SHAPES = ("ball", "box", "cylinder", "cone")
# What an absent query asks for: no such object in the room (a cone, or a pair the room lacks: the
# robot tasks' "absent target"), an object of the room out of view, or a pair sharing the colour or
# the shape of an object in view ("the orange ball" beside an orange box: the hardest).
ABSENT_KINDS = ("not_in_room", "out_of_view", "look_alike")


@dataclass
class RobotView:
    screen: Screen
    absent: list[str]


def _free_pose(spec, x: float, y: float) -> bool:
    from vlagent.sim.robot.world import ROBOT_RADIUS_M, ROOM_HALF_M

    if max(abs(x), abs(y)) > ROOM_HALF_M - ROBOT_RADIUS_M - 0.1:
        return False
    return all(math.hypot(x - o.x, y - o.y) > o.size + ROBOT_RADIUS_M + 0.03 for o in spec.objects)


def view_poses(spec, rng: random.Random, n: int) -> list[tuple[float, float, float]]:
    """`n` collision-free robot poses (x m, y m, yaw rad) in `spec`'s room (see the module docstring)."""
    from vlagent.sim.robot.world import ROBOT_RADIUS_M

    poses = [(spec.robot[0], spec.robot[1], spec.robot[2] + rng.uniform(-0.3, 0.3))]
    while len(poses) < n:
        kind = rng.random()
        if kind < 0.15:
            x, y, yaw = spec.robot[0], spec.robot[1], spec.robot[2] + rng.uniform(-1.2, 1.2)
        elif kind < 0.8 and spec.objects:
            o = rng.choice(spec.objects)
            distance = o.size + ROBOT_RADIUS_M + rng.uniform(0.2, 2.8) ** 1.3 / 2.8 ** 0.3
            around = rng.uniform(-math.pi, math.pi)
            x, y = o.x + distance * math.cos(around), o.y + distance * math.sin(around)
            yaw = math.atan2(o.y - y, o.x - x) + rng.uniform(-0.6, 0.6)
        else:
            x, y, yaw = rng.uniform(-2.7, 2.7), rng.uniform(-2.7, 2.7), rng.uniform(-math.pi, math.pi)
        if _free_pose(spec, x, y):
            poses.append((x, y, yaw))
    return poses


def world_for(seed: int):
    """The world of a view seed, drawn as `sim.robot.tasks` draws a task's world."""
    from vlagent.sim.robot.world import PALETTE, SHAPES, random_world

    rng = random.Random(f"robot-frames:{seed}")
    required = (rng.choice(list(PALETTE)), rng.choice(SHAPES))
    return random_world(seed, required=required, required_in_view=rng.random() < 0.75)


def render_views(seed: int, processor: ImageProcessor, n: int) -> list[RobotView]:
    """`n` views of world `seed` (see the module docstring)."""
    from vlagent.sim.robot.robot import RobotSim
    from vlagent.sim.robot.world import PALETTE

    spec = world_for(seed)
    rng = random.Random(seed)
    labels = {o.name: o.label for o in spec.objects}
    every = [f"the {c} {s}" for c in PALETTE for s in QUERY_SHAPES]
    width, height = FRAME_SIZE
    h, w = processor.resized_size(height, width)
    out = []
    with RobotSim(spec, width, height) as sim:
        for k, (x, y, yaw) in enumerate(view_poses(spec, rng, n)):
            sim.place(x, y, yaw)
            frame = sim.render()
            shown = sim.visible_boxes(min_px=1)
            clear = sim.visible_boxes(min_px=MIN_TARGET_PX)
            targets = [Target(labels[name], tuple(int(round(v)) for v in box), norm_box(box, FRAME_SIZE))
                       for name, box in sorted(clear.items())]
            seen = {labels[name] for name in shown}
            image = np.asarray(resize_bicubic(to_rgb_image(frame), (w, h), None, 1))
            out.append(RobotView(Screen(seed, f"robot:{seed}:{k}", image, targets),
                                 [label for label in every if label not in seen]))
    return out


def _views_job(seed: int, arg: tuple[int, int, int]) -> list[RobotView]:
    return render_views(seed, ImageProcessor(min_pixels=arg[0], max_pixels=arg[1], threads=1), arg[2])


def build_views(seeds, processor: ImageProcessor, views_per_world: int, cache: str | Path | None = None,
                log=lambda _: None, workers: int = 1) -> list[RobotView]:
    """The views of worlds `seeds`, rendered by `workers` processes, cached in `cache`.npy/.json."""
    seeds = list(seeds)
    key = {"seeds": [seeds[0], seeds[-1], len(seeds)], "views": views_per_world, "max_pixels": processor.max_pixels,
           "min_target_px": MIN_TARGET_PX}
    if cache is not None:
        meta_path, img_path = Path(cache).with_suffix(".json"), Path(cache).with_suffix(".npy")
        if meta_path.is_file() and img_path.is_file():
            meta = json.loads(meta_path.read_text())
            if meta["key"] == key:
                images = np.load(img_path)
                return [RobotView(Screen(m["seed"], m["screen_id"], images[i],
                                         [Target(t["label"], tuple(t["bounds"]), tuple(t["box"])) for t in m["targets"]]),
                                  m["absent"]) for i, m in enumerate(meta["views"])]
    views: list[RobotView] = []
    arg = (processor.min_pixels, processor.max_pixels, views_per_world)
    with parallel_map(_views_job, seeds, arg, workers) as results:
        for n, world_views in enumerate(results):
            views.extend(world_views)
            if n % 100 == 0:
                log(f"rendered {n}/{len(seeds)} robot worlds")
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.save(img_path, np.stack([v.screen.image for v in views]))
        meta = {"key": key, "views": [{"seed": v.screen.seed, "screen_id": v.screen.screen_id, "absent": v.absent,
                                       "targets": [asdict(t) for t in v.screen.targets]} for v in views]}
        meta_path.write_text(json.dumps(meta))
    return views


def absent_sample(view: RobotView, label: str) -> Sample:
    """A query for `label`, not in view: the answer is NOT_VISIBLE, and (for the dense heads) the
    view's objects are there and none of them is the queried one."""
    return Sample(view.screen.image, grounding_prompt(label), NOT_VISIBLE, ABSENT, list(view.screen.targets))


def absent_samples(views: list[RobotView], rng: random.Random, per_view: int = 2, hard_share: float = 0.5) -> list[Sample]:
    """`per_view` "not visible" queries per view; a share `hard_share` of them hard ones (the colour
    or the shape of an object in view: "the orange ball" beside an orange box) where the view has such labels."""
    out = []
    for view in views:
        shown = [t.label.split() for t in view.screen.targets]
        hard = [a for a in view.absent if any(a.split()[1] == s[1] or a.split()[2] == s[2] for s in shown)]
        for _ in range(per_view):
            pool = hard if hard and rng.random() < hard_share else view.absent
            out.append(absent_sample(view, rng.choice(pool)))
    return out


def absent_kind(view: RobotView, label: str) -> str:
    """Which of ABSENT_KINDS a query for `label` (not in view) is."""
    shown = [t.label.split() for t in view.screen.targets]
    words = label.split()
    if any(words[1] == s[1] or words[2] == s[2] for s in shown):
        return "look_alike"
    in_room = {o.label for o in world_for(view.screen.seed).objects}
    return "out_of_view" if label in in_room else "not_in_room"


def held_out_robot(n: int, processor: ImageProcessor, views_per_world: int = 10, workers: int = 1,
                   cache: str | Path | None = None) -> tuple[list[Sample], list[Sample]]:
    """(`n` grounding queries, `n` absent queries) on held-out worlds, one query of each kind per view
    where it has one."""
    views, seed = [], EVAL_WORLD_SEED0
    present: list[Sample] = []
    absent: list[Sample] = []
    rng = random.Random(EVAL_WORLD_SEED0)
    while len(present) < n or len(absent) < n:
        worlds = range(seed, seed + max(4, (n // views_per_world) + 1))
        views = build_views(worlds, processor, views_per_world, None if cache is None else f"{cache}-{seed}",
                            workers=workers)
        seed = worlds[-1] + 1
        for view in views:
            if view.screen.targets and len(present) < n:
                target = rng.choice(view.screen.targets)
                present.append(Sample(view.screen.image, grounding_prompt(target.label),
                                      box_text(target.label, target.box), target))
            if view.absent and len(absent) < n:
                label = rng.choice(view.absent)
                sample = absent_sample(view, label)
                sample.kind = absent_kind(view, label)
                absent.append(sample)
    return present, absent


def score_present(answer: str, sample: Sample) -> tuple[bool, bool, float]:
    """(format valid, centre in the true box, IoU) of an answer to a query whose object is in view."""
    from vlagent.perception.train.evaluate import score_grounding

    return score_grounding(answer, sample, FRAME_SIZE)


def score_absent(answer: str) -> bool:
    """An answer to a query whose object is not in view is right when it says so and holds no box."""
    return answer.strip().lower() == NOT_VISIBLE


def evaluate_robot(generate, present: list[Sample], absent: list[Sample]) -> dict:
    """Figures (fractions in 0..1) over held-out robot queries; `generate(prompt, image) -> text`."""
    scores = [score_present(generate(s.prompt, s.image), s) for s in present]
    said_absent = [score_absent(generate(s.prompt, s.image)) for s in absent]
    kinds = {kind: [ok for s, ok in zip(absent, said_absent, strict=True) if s.kind == kind] for kind in ABSENT_KINDS}
    per_kind = {f"robot_not_visible_{kind}": float(np.mean(oks)) if oks else None for kind, oks in kinds.items()}
    per_kind |= {f"robot_not_visible_{kind}_n": len(oks) for kind, oks in kinds.items()}
    return per_kind | {"robot_present_n": len(scores),
            "robot_format_validity": float(np.mean([v for v, _, _ in scores])) if scores else None,
            "robot_grounding_accuracy": float(np.mean([h for _, h, _ in scores])) if scores else None,
            "robot_mean_iou": float(np.mean([u for _, _, u in scores])) if scores else None,
            "robot_absent_n": len(said_absent),
            "robot_not_visible_accuracy": float(np.mean(said_absent)) if said_absent else None}
