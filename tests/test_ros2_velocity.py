"""The robot side's pure parts: velocity clamps and ramps, the Twist/goal messages, the robot
config, bag replay's pairing and scores, the bag recorder's round trip, the backend choice."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlagent.actuators.ros2.velocity import (
    ZERO,
    Velocity,
    VelocityError,
    VelocityLimits,
    bounded,
    clamp,
    ramp,
)
from vlagent.agent.bag_replay import pair_references, policy_velocity, score_pairs, sign
from vlagent.agent.errors import ConfigError, VlagentError

LIMITS = VelocityLimits(max_linear=0.5, max_angular=1.0, max_linear_accel=1.0, max_angular_accel=2.0)


def test_clamp_keeps_each_component_within_its_limit():
    assert clamp(Velocity(2.0, -3.0), LIMITS) == Velocity(0.5, -1.0)
    assert clamp(Velocity(0.2, 0.3), LIMITS) == Velocity(0.2, 0.3)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "fast", None])
def test_non_finite_velocities_never_pass(bad):
    with pytest.raises(VelocityError) as caught:
        clamp(Velocity(bad, 0.0), LIMITS)
    assert "linear" in str(caught.value) and isinstance(caught.value, VlagentError)
    with pytest.raises(VelocityError):
        bounded(ZERO, Velocity(0.0, bad), 0.05, LIMITS)


def test_ramp_limits_speeding_up_but_never_braking():
    assert ramp(ZERO, Velocity(0.5, 1.0), 0.05, LIMITS) == pytest.approx(Velocity(0.05, 0.1))
    assert ramp(Velocity(0.5, 1.0), ZERO, 0.05, LIMITS) == ZERO  # stopping is immediate
    assert ramp(Velocity(0.5, 1.0), Velocity(0.1, 0.2), 0.05, LIMITS) == Velocity(0.1, 0.2)  # slowing too
    reversed_ = ramp(Velocity(0.4, 0.0), Velocity(-0.4, 0.0), 0.05, LIMITS)
    assert reversed_.linear == pytest.approx(-0.05)  # through zero at once, then up within the budget


@given(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5), st.floats(0, 1))
def test_bounded_is_always_within_limits_and_never_speeds_up_faster_than_allowed(pl, pa, tl, ta, dt):
    previous = clamp(Velocity(pl, pa), LIMITS)
    sent = bounded(previous, Velocity(tl, ta), dt, LIMITS)
    assert abs(sent.linear) <= LIMITS.max_linear and abs(sent.angular) <= LIMITS.max_angular
    if abs(sent.linear) > abs(previous.linear) and sent.linear * previous.linear >= 0:
        assert abs(sent.linear) - abs(previous.linear) <= LIMITS.max_linear_accel * dt + 1e-9


@pytest.mark.parametrize("name", ["max_linear", "max_angular_accel"])
@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf])
def test_limits_must_be_finite_and_positive(name, value):
    with pytest.raises(VelocityError, match=name):
        VelocityLimits(**{name: value})


def test_twist_and_goal_messages_carry_ros_units_and_frames():
    pytest.importorskip("cyclonedds")
    from vlagent.actuators.ros2.actuator import (
        goal_message,
        stamp_now,
        velocity_message,
        velocity_of,
    )
    from vlagent.actuators.ros2.messages import PoseStamped, Twist, TwistStamped
    from vlagent.agent.actions import NavigateTo

    plain = velocity_message(Velocity(0.2, -0.3))
    assert isinstance(plain, Twist) and (plain.linear.x, plain.angular.z, plain.linear.y) == (0.2, -0.3, 0.0)
    stamped = velocity_message(Velocity(0.2, -0.3), stamped=True, frame_id="base_footprint", now_s=12.25)
    assert isinstance(stamped, TwistStamped) and stamped.header.frame_id == "base_footprint"
    assert (stamped.header.stamp.sec, stamped.header.stamp.nanosec) == (12, 250_000_000)
    assert velocity_of(stamped) == velocity_of(plain) == Velocity(0.2, -0.3)
    goal = goal_message(NavigateTo(x=1.5, y=-2.0, yaw=math.pi / 2, frame_id="map"), now_s=1.0)
    assert isinstance(goal, PoseStamped) and goal.header.frame_id == "map"
    assert (goal.pose.position.x, goal.pose.position.y) == (1.5, -2.0)
    q = goal.pose.orientation
    assert (q.x, q.y) == (0.0, 0.0) and q.z == pytest.approx(math.sqrt(0.5)) and q.w == pytest.approx(math.sqrt(0.5))
    assert stamp_now(5.9999999999).nanosec <= 999_999_999


def test_robot_config_rejects_unsafe_settings():
    from vlagent.agent.config import apply_overrides, config_from_dict

    config = config_from_dict({"robot": {"rate_hz": 10, "ttl_s": 0.3, "max_linear": 0.2}})
    assert (config.robot.rate_hz, config.robot.ttl_s, config.robot.max_linear) == (10, 0.3, 0.2)
    for key, value in [("robot.rate_hz", 0), ("robot.rate_hz", 500), ("robot.ttl_s", 0), ("robot.max_linear", -1),
                       ("robot.backend", "ros1")]:
        with pytest.raises(ConfigError, match=key.split(".")[1]):
            apply_overrides(config, {key: value})
    with pytest.raises(ConfigError, match="ttl"):
        config_from_dict({"robot": {"ttl": 1}})  # a typo is an error, not a silent default


def test_pairing_takes_the_first_reference_inside_each_frames_window():
    frames = [100, 200, 300]
    references = [90, 150, 160, 320, 450]
    assert pair_references(frames, references, last_window_ns=100) == [1, None, 3]
    assert pair_references(frames, [], 100) == [None, None, None]
    assert pair_references([100], [250], last_window_ns=100) == [None]


def test_scores_are_sign_agreement_and_mean_absolute_error():
    assert sign(0.0005) == 0 and sign(-0.2) == -1 and sign(0.2) == 1
    pairs = [(Velocity(0.3, 0.4), Velocity(0.3, 0.4)), (Velocity(0.1, -0.4), Velocity(0.3, 0.4))]
    score = score_pairs(pairs)
    assert score["linear_sign_agreement"] == 1.0 and score["angular_sign_agreement"] == 0.5
    assert score["linear_mae"] == pytest.approx(0.1) and score["angular_mae"] == pytest.approx(0.4)
    assert score_pairs([]) == {}


def test_policy_velocity_of_each_action_kind():
    from vlagent.agent.actions import Finish, NavigateTo, Stop, Tap, Twist, Wait

    assert policy_velocity(Twist(linear=0.1, angular=-0.2)) == Velocity(0.1, -0.2)
    assert policy_velocity(Stop()) == policy_velocity(Wait()) == policy_velocity(Finish()) == ZERO
    assert policy_velocity(NavigateTo(x=1, y=2)) is None and policy_velocity(Tap(x=1, y=1)) is None


def test_a_bag_round_trips_and_is_never_overwritten(tmp_path):
    pytest.importorskip("cyclonedds")
    pytest.importorskip("rosbags")
    from vlagent.actuators.ros2 import messages as m
    from vlagent.agent.ros2_bag import BagError, BagRecorder, bag_topics, read_bag

    path = tmp_path / "bag"
    image = m.Image(height=2, width=3, encoding="rgb8", step=9, data=bytes(range(18)))
    with BagRecorder(path, {"/cam": m.Image, "/cmd_vel": m.Twist}) as recorder:
        recorder.write("/cmd_vel", m.Twist(linear=m.Vector3(x=0.25)), time_ns=2_000)
        recorder.write("/cam", image, time_ns=1_000)
        with pytest.raises(BagError, match="/other"):
            recorder.write("/other", m.Twist())
    assert bag_topics(path) == {"/cam": ("sensor_msgs/msg/Image", 1), "/cmd_vel": ("geometry_msgs/msg/Twist", 1)}
    read = list(read_bag(path))
    assert [(topic, time_ns) for topic, _, time_ns, _ in read] == [("/cam", 1_000), ("/cmd_vel", 2_000)]
    assert read[0][3].data == image.data and read[1][3].linear.x == 0.25
    with pytest.raises(BagError, match="already exists"):
        BagRecorder(path, {"/cam": m.Image})
    with pytest.raises(BagError, match="not a readable rosbag2 bag"):
        list(read_bag(tmp_path / "missing"))


def test_backend_choice_errors_are_typed():
    from vlagent.actuators.ros2.backend import open_transport
    from vlagent.actuators.ros2.errors import Ros2ConfigError, Ros2Error
    from vlagent.actuators.ros2.rclpy_transport import rclpy_available

    with pytest.raises(Ros2ConfigError, match="ros1"):
        open_transport("ros1")
    if not rclpy_available():
        with pytest.raises(Ros2Error, match="rclpy"):
            open_transport("rclpy")


def test_a_policy_named_by_its_factory_is_imported_and_bad_names_are_typed():
    from vlagent.agent.registry import PolicyContext, RegistryError, make_policy

    policy = make_policy("tests.ros2_policies:timed", PolicyContext(options={"delay_s": 0}))
    assert type(policy).__name__ == "TimedPolicy"
    for name, match in [("nosuchmodule_xyz:make", "cannot be imported"), ("tests.ros2_policies:nothing", "no nothing"),
                        ("nosuch", "unknown policy")]:
        with pytest.raises(RegistryError, match=match):
            make_policy(name, PolicyContext())
