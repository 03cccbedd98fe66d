"""The simulated robot (MuJoCo, rendering on the CPU), its tasks, the servo policy, and `vlagent/Robot-v0`."""

import math
import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "osmesa")  # also set by conftest.py; read once, when mujoco is imported
pytest.importorskip("mujoco")

from vlagent.agent.actions import Finish, Twist  # noqa: E402
from vlagent.agent.interfaces import Observation  # noqa: E402
from vlagent.perception.coords import identity  # noqa: E402
from vlagent.perception.frame import Frame  # noqa: E402
from vlagent.policies.servo import ServoConfig, ServoPolicy, servo_config, target_label  # noqa: E402
from vlagent.sim.robot.robot import RobotSim  # noqa: E402
from vlagent.sim.robot.tasks import RobotTaskError, check, make_task  # noqa: E402
from vlagent.sim.robot.world import random_world  # noqa: E402


@pytest.fixture
def drive_task():
    return make_task("robot.drive_to:3")


def test_a_seed_decides_the_world_and_the_frame(drive_task):
    assert random_world(3) == random_world(3) and random_world(3) != random_world(4)
    with RobotSim(drive_task.world) as a, RobotSim(drive_task.world) as b:
        first, second = a.render(), b.render()
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    assert np.array_equal(first, second)  # noise is seeded too
    assert first.std() > 10  # a real picture, not a blank buffer


def test_the_base_obeys_twist_within_limits_and_stops_by_its_own_timeout(drive_task):
    with RobotSim(drive_task.world) as sim:
        sim.command(50.0, -50.0)  # far past the base's limits, within its 0.5 s timeout
        sim.advance(0.48)
        assert sim.speed()[0] == pytest.approx(sim.limits.max_linear)
        assert sim.speed()[1] == pytest.approx(-sim.limits.max_angular)
        sim.command(math.nan, 0.2)
        sim.advance(1.0)
        assert sim.speed() == (0.0, 0.0)  # a non-finite command means zero
    with RobotSim(drive_task.world) as sim:
        x0, y0, yaw0 = sim.pose()
        for _ in range(10):  # a driver re-sending at 10 Hz for 1 s
            sim.command(0.3, 0.0)
            sim.advance(0.1)
        assert sim.speed()[0] == pytest.approx(0.3, abs=1e-6)
        x1, y1, yaw1 = sim.pose()
        assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(0.27, abs=0.03)  # 1 s at 0.3 m/s, ramp included
        assert math.atan2(y1 - y0, x1 - x0) == pytest.approx(yaw0, abs=0.01)  # straight along the heading
        sim.advance(0.45)
        assert sim.speed()[0] > 0  # within the 0.5 s timeout it keeps going
        sim.advance(0.5)
        assert sim.speed() == (0.0, 0.0)  # the driver went quiet: the base stopped by itself


def test_walls_stop_the_base():
    task = make_task("robot.find_absent:5")
    with RobotSim(task.world) as sim:
        for _ in range(200):  # 20 s toward whatever is ahead: a wall or an object ends it
            sim.command(0.6, 0.0)
            sim.advance(0.1)
        x, y, _ = sim.pose()
        assert max(abs(x), abs(y)) < 3.0 - 0.18 + 0.02


def test_the_true_box_follows_the_target(drive_task):
    with RobotSim(drive_task.world) as sim:
        box = sim.target_box(drive_task.target)
        assert box is not None and 0 <= box[0] < box[2] <= 320 and 0 <= box[1] < box[3] <= 240
        centre = (box[0] + box[2]) / 2
        bearing = sim.bearing_to(drive_task.target)
        assert (centre < 160) == (bearing > 0)  # counter-clockwise bearing = left of the image centre
        for _ in range(12):  # turn away: the target leaves the view
            sim.command(0.0, 1.5)
            sim.advance(0.1)
        assert sim.target_box(drive_task.target) is None
        assert sim.target_box("no_such_object") is None


def test_task_ids_instructions_and_checks():
    assert make_task("robot.drive_to:7").instruction.startswith("drive to the ")
    assert make_task("robot.face:7").instruction.startswith("turn to face the ")
    absent = make_task("robot.find_absent:7")
    assert absent.target is None and absent.instruction.endswith(" cone")
    assert not any(o.shape == "cone" for o in absent.world.objects)
    for bad in ("robot.fly:1", "drive_to:1", "robot.drive_to:x"):
        with pytest.raises(RobotTaskError):
            make_task(bad)
    with RobotSim(absent.world) as sim:
        assert check(absent, sim, ended_by_driver=True).success
        assert not check(absent, sim, ended_by_driver=False).success  # the time limit ended it: wandering
    task = make_task("robot.drive_to:7")
    with RobotSim(task.world) as sim:
        assert not check(task, sim, ended_by_driver=True).success  # it starts metres away


def _observation(box, instruction="drive to the red ball", t=0.0, size=(320, 240)):
    frame = Frame(image=np.zeros((size[1], size[0], 3), np.uint8), captured_at=t, to_device=identity(size),
                  source="test", meta={"box": box})
    return Observation(frame=frame, instruction=instruction)


class BoxGrounder:
    """The box handed in with the frame (the test's far side), as a grounder."""

    def ground(self, frame, label):
        self.label = label
        return frame.meta["box"]


def test_the_servo_turns_toward_the_box_drives_when_aligned_and_stops_when_close():
    grounder = BoxGrounder()
    policy = ServoPolicy(grounder, ServoConfig())
    right = policy.act(_observation((250, 100, 290, 140)), []).action
    assert isinstance(right, Twist) and right.angular < 0 and right.linear == 0.0  # turn right first
    assert grounder.label == "the red ball"
    ahead = policy.act(_observation((150, 100, 170, 130)), []).action
    assert ahead.linear > 0.2 and abs(ahead.angular) < 0.2
    closer = policy.act(_observation((130, 120, 190, 190)), []).action
    assert 0 < closer.linear < ahead.linear  # slows down as the target grows
    done = policy.act(_observation((120, 130, 200, 220)), []).action  # base at 0.92 of the frame
    assert isinstance(done, Finish) and done.status == "success"


def test_the_servo_searches_a_bounded_time_then_gives_up():
    policy = ServoPolicy(BoxGrounder(), ServoConfig(search_seconds=5.0))
    first = policy.act(_observation(None, t=100.0), []).action
    assert isinstance(first, Twist) and first.linear == 0.0 and first.angular > 0  # search in place
    assert isinstance(policy.act(_observation(None, t=104.9), []).action, Twist)
    left, right = (10, 100, 30, 120), (290, 100, 310, 120)
    stray = policy.act(_observation(left, t=104.95), [])  # one stray box does not end the search ...
    assert stray.thought == "searching"
    confirmed = policy.act(_observation(left, t=104.97), [])  # ... two in a row do: servo toward it
    assert confirmed.thought == "approaching" and confirmed.action.angular > 0
    again = policy.act(_observation(None, t=106.0), []).action  # lost: the clock restarts, turn left
    assert isinstance(again, Twist) and again.angular > 0
    policy.act(_observation(right, t=106.5), [])
    policy.act(_observation(right, t=106.6), [])  # seen on the right (confirmed), lost again
    assert policy.act(_observation(None, t=107.0), []).action.angular < 0
    assert isinstance(policy.act(_observation(None, t=111.9), []).action, Twist)
    policy.act(_observation(left, t=111.95), [])  # a stray box while searching does not restart the clock
    gave_up = policy.act(_observation(None, t=112.1), []).action
    assert isinstance(gave_up, Finish) and gave_up.status == "failure" and "not visible" in gave_up.reason


def test_the_servo_faces_without_driving():
    policy = ServoPolicy(BoxGrounder())
    turn = policy.act(_observation((40, 100, 80, 140), "turn to face the green box"), []).action
    assert turn.linear == 0.0 and turn.angular > 0
    assert isinstance(policy.act(_observation((150, 100, 172, 140), "turn to face the green box"), []).action, Finish)


@pytest.mark.parametrize("instruction, label", [
    ("drive to the red ball", "the red ball"), ("Turn to face the green box.", "the green box"),
    ("stop in front of the blue cylinder", "the blue cylinder"), ("find the yellow cone", "the yellow cone"),
    ("the purple ball", "the purple ball"),
])
def test_target_labels(instruction, label):
    assert target_label(instruction) == label


def test_servo_options_are_validated():
    from vlagent.agent.errors import ConfigError

    assert servo_config({"k_angular": "2.5"}).k_angular == 2.5
    for bad in ({"k_angular": -1}, {"gain": 1}, {"stop_bottom": 2}):
        with pytest.raises(ConfigError, match="servo"):
            servo_config(bad)


def test_robot_gym_env_passes_check_env_and_drives_through_the_node_limits():
    gymnasium = pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    from vlagent.agent.registry import register_gym_envs

    register_gym_envs()
    env = gymnasium.make("vlagent/Robot-v0", task="robot.drive_to")
    check_env(env.unwrapped)
    frame, info = env.reset(seed=11)
    assert frame.shape == (240, 320, 3) and info["instruction"].startswith("drive to the ")
    start = info["distance_m"]
    total = 0.0
    for _ in range(5):
        frame, reward, terminated, truncated, info = env.step(np.array([5.0, 0.0], dtype=np.float32))
        total += reward
    # 5.0 m/s was clamped to the node's 0.5 m/s and ramped at 1 m/s^2: 1 s covers well under 0.5 m
    assert 0.05 < start - info["distance_m"] < 0.45 and total == pytest.approx(start - info["distance_m"], abs=1e-6)
    env.close()
