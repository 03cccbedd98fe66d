"""Score a policy offline against a recorded robot bag: its commands against the recorded ones.

For each camera frame in the bag (in log-time order) the policy decides, with the bag's task
(`/vlagent/task`, else the `task` argument) as the instruction and its own earlier decisions
as history. The reference for frame i is the first reference message logged in
[t_i, t_{i+1}) (for the last frame, within `last_window_s`): the decision the recorded run made
on that frame. References are `/vlagent/decision` when the bag has it (a `vlagent ros2-node`
bag), else the bag's one Twist/TwistStamped topic (any bag, e.g. a teleoperated run). Frames
without a reference are counted as `unpaired` and not scored.

A policy's Twist scores as (linear, angular); Stop, Wait and Finish as zero; other actions are
counted as `not_velocity` and not scored. Metrics: sign agreement of linear and of angular
(signs with a dead band of `SIGN_DEADBAND`: |v| below it counts as 0) and mean absolute error
(m/s, rad/s). Pure functions here; reading goes through `agent.ros2_bag`.
"""

import math
from bisect import bisect_left
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vlagent.actuators.ros2.velocity import ZERO, Velocity
from vlagent.agent.actions import Finish, Stop, Twist, Wait
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Observation
from vlagent.agent.ros2_bag import TASK_TOPIC, BagError, read_bag

SIGN_DEADBAND = 1e-3  # m/s or rad/s: below this a velocity counts as zero for sign agreement
DECISION_TOPIC = "/vlagent/decision"
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
TWIST_TYPES = ("geometry_msgs/msg/Twist", "geometry_msgs/msg/TwistStamped")


def sign(value: float, deadband: float = SIGN_DEADBAND) -> int:
    return 0 if abs(value) < deadband else (1 if value > 0 else -1)


def pair_references(frame_times: list[int], reference_times: list[int], last_window_ns: int) -> list[int | None]:
    """For each frame time (sorted, ns) the index of its reference (see the module docstring), or None."""
    pairs: list[int | None] = []
    for i, start in enumerate(frame_times):
        end = frame_times[i + 1] if i + 1 < len(frame_times) else start + last_window_ns
        j = bisect_left(reference_times, start)
        pairs.append(j if j < len(reference_times) and reference_times[j] < end else None)
    return pairs


@dataclass
class BagScore:
    """One bag's replay score; accuracies are fractions (0-1) of scored frames, errors in m/s and rad/s."""

    path: str
    camera_topic: str
    reference_topic: str
    frames: int = 0
    scored: int = 0
    unpaired: int = 0
    not_velocity: int = 0
    policy_errors: int = 0
    linear_sign_agreement: float = math.nan
    angular_sign_agreement: float = math.nan
    linear_mae: float = math.nan
    angular_mae: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def score_pairs(pairs: list[tuple[Velocity, Velocity]]) -> dict[str, float]:
    """Sign agreement and mean absolute error of (policy, reference) velocity pairs."""
    if not pairs:
        return {}
    n = len(pairs)
    return {
        "linear_sign_agreement": sum(sign(p.linear) == sign(r.linear) for p, r in pairs) / n,
        "angular_sign_agreement": sum(sign(p.angular) == sign(r.angular) for p, r in pairs) / n,
        "linear_mae": sum(abs(p.linear - r.linear) for p, r in pairs) / n,
        "angular_mae": sum(abs(p.angular - r.angular) for p, r in pairs) / n,
    }


def _one_topic(topics: dict[str, str], types: tuple[str, ...], wanted: str | None, what: str, path: Path) -> str:
    if wanted is not None:
        if wanted not in topics:
            raise BagError(f"{path}: no topic {wanted!r} (topics: {', '.join(sorted(topics))})")
        return wanted
    found = sorted(t for t, kind in topics.items() if kind in types)
    if len(found) != 1:
        raise BagError(f"{path}: {'no' if not found else 'more than one'} {what} topic "
                       f"({', '.join(found) or 'none'}); name one")
    return found[0]


def policy_velocity(action: Any) -> Velocity | None:
    """What a policy's action asks of the base: Twist as is, Stop/Wait/Finish zero, else None."""
    if isinstance(action, Twist):
        return Velocity(action.linear, action.angular)
    if isinstance(action, (Stop, Wait, Finish)):
        return ZERO
    return None


def score_bag(path: str | Path, policy: Any, task: str | None = None, camera_topic: str | None = None,
              reference_topic: str | None = None, last_window_s: float = 1.0, on_frame=None) -> BagScore:
    """Replay every camera frame of the bag at `path` through `policy`; see the module docstring."""
    from vlagent.actuators.ros2.actuator import velocity_of
    from vlagent.agent.ros2_bag import bag_topics
    from vlagent.perception.coords import identity
    from vlagent.perception.frame import Frame
    from vlagent.perception.sources.ros2 import decode_compressed, decode_image

    path = Path(path)
    topics = {topic: kind for topic, (kind, _count) in bag_topics(path).items()}
    camera = _one_topic(topics, IMAGE_TYPES, camera_topic, "camera", path)
    if reference_topic is None and topics.get(DECISION_TOPIC) in TWIST_TYPES:
        reference_topic = DECISION_TOPIC
    reference = _one_topic(topics, TWIST_TYPES, reference_topic, "reference velocity", path)
    frames, references, recorded_task = [], [], None
    for topic, kind, time_ns, msg in read_bag(path):
        if topic == camera:
            frames.append((time_ns, kind, msg))
        elif topic == reference:
            references.append((time_ns, velocity_of(msg)))
        elif topic == TASK_TOPIC and recorded_task is None:
            recorded_task = msg.data
    instruction = recorded_task or task
    if not instruction:
        raise BagError(f"{path}: the bag has no {TASK_TOPIC} message; give the task")
    score = BagScore(str(path), camera, reference, frames=len(frames))
    pairs_index = pair_references([t for t, _, _ in frames], [t for t, _ in references], int(last_window_s * 1e9))
    pairs, history = [], []
    for (time_ns, kind, msg), ref_index in zip(frames, pairs_index, strict=True):
        image = decode_compressed(msg) if kind.endswith("CompressedImage") else decode_image(msg)
        frame = Frame(image=image, captured_at=time_ns / 1e9, to_device=identity((image.shape[1], image.shape[0])),
                      source=f"bag:{camera}", meta={"topic": camera})
        try:
            decision = policy.act(Observation(frame=frame, instruction=instruction, step=len(history)), history)
        except PolicyOutputError:
            score.policy_errors += 1
            continue
        finally:
            if on_frame is not None:
                on_frame()
        history.append(decision)
        velocity = policy_velocity(decision.action)
        if ref_index is None:
            score.unpaired += 1
        elif velocity is None:
            score.not_velocity += 1
        else:
            pairs.append((velocity, references[ref_index][1]))
    score.scored = len(pairs)
    for name, value in score_pairs(pairs).items():
        setattr(score, name, value)
    return score
