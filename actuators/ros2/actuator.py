"""`Ros2Actuator`: robot Actions as ROS 2 messages.

- `Twist` -> geometry_msgs/Twist on `cmd_vel` (or TwistStamped with `stamped=True`, what
  Jazzy's diff_drive_controller takes), linear.x m/s and angular.z rad/s, clamped to `limits`;
  one message per `execute` (the control node re-sends it while it is fresh).
- `NavigateTo` -> geometry_msgs/PoseStamped on `goal_topic` ("/goal_pose", what Nav2's
  goal tool publishes): position (x, y, 0) m, orientation the yaw (rad) about z as a quaternion,
  in the action's `frame_id`.
- `Stop` -> a zero Twist (or TwistStamped).
- Wait, Answer, Finish send nothing (`executed=False`); a phone action is refused with
  `ok=False` and nothing sent.

Non-finite velocities raise `VelocityError` and are never published. Header stamps are wall
time (s since the epoch), as ROS 2 nodes stamp by default. `ActionResult.sent` names the topic
and the values sent, e.g. `{"topic": "/cmd_vel", "linear": 0.2, "angular": -0.1}`.
"""

import math
import time
from typing import Any

from vlagent.actuators.ros2.velocity import ZERO, Velocity, VelocityLimits, clamp
from vlagent.agent.actions import Action, Answer, Finish, NavigateTo, Stop, Twist, Wait
from vlagent.agent.interfaces import ActionResult
from vlagent.perception.frame import Frame


def stamp_now(now_s: float | None = None) -> Any:
    """builtin_interfaces/Time for wall time `now_s` (s since the epoch; default now)."""
    from vlagent.actuators.ros2.messages import Time

    now_s = time.time() if now_s is None else now_s
    sec = math.floor(now_s)
    return Time(sec=int(sec), nanosec=min(int(round((now_s - sec) * 1e9)), 999_999_999))


def velocity_message(velocity: Velocity, stamped: bool = False, frame_id: str = "base_link",
                     now_s: float | None = None) -> Any:
    """A Twist (or TwistStamped, stamped `now_s` in `frame_id`) for a base velocity."""
    from vlagent.actuators.ros2.messages import Header, TwistStamped, Vector3
    from vlagent.actuators.ros2.messages import Twist as TwistMsg

    twist = TwistMsg(linear=Vector3(x=float(velocity.linear)), angular=Vector3(z=float(velocity.angular)))
    if not stamped:
        return twist
    return TwistStamped(header=Header(stamp=stamp_now(now_s), frame_id=frame_id), twist=twist)


def velocity_of(msg: Any) -> Velocity:
    """The base velocity (linear.x, angular.z) of a Twist or TwistStamped message."""
    twist = getattr(msg, "twist", msg)
    return Velocity(float(twist.linear.x), float(twist.angular.z))


def goal_message(goal: NavigateTo, now_s: float | None = None) -> Any:
    """geometry_msgs/PoseStamped for a NavigateTo: (x, y) m, yaw rad about z, in `goal.frame_id`."""
    from vlagent.actuators.ros2.messages import Header, Point, Pose, PoseStamped, Quaternion

    for name in ("x", "y", "yaw"):
        if not math.isfinite(getattr(goal, name)):
            from vlagent.actuators.ros2.velocity import VelocityError
            raise VelocityError(f"navigation goal {name}={getattr(goal, name)!r} is not finite")
    orientation = Quaternion(z=math.sin(goal.yaw / 2.0), w=math.cos(goal.yaw / 2.0))
    return PoseStamped(header=Header(stamp=stamp_now(now_s), frame_id=goal.frame_id),
                       pose=Pose(position=Point(x=float(goal.x), y=float(goal.y)), orientation=orientation))


class Ros2Actuator:
    """Publish robot Actions through a `Transport` (see the module docstring).

    transport: a `vlagent.actuators.ros2.transport` Transport; None creates a `CycloneTransport()`,
      closed by `close()`. cmd_vel: the velocity topic. stamped: TwistStamped instead of Twist.
    frame_id: the TwistStamped frame. goal_topic: where NavigateTo goes. limits: the clamps.
    """

    def __init__(self, transport: Any = None, cmd_vel: str = "/cmd_vel", stamped: bool = False,
                 frame_id: str = "base_link", goal_topic: str = "/goal_pose", limits: VelocityLimits | None = None):
        from vlagent.actuators.ros2.transport import CycloneTransport, dds_topic

        dds_topic(cmd_vel), dds_topic(goal_topic)  # a bad name fails here, not at the first action
        self.cmd_vel, self.stamped, self.frame_id, self.goal_topic = cmd_vel, stamped, frame_id, goal_topic
        self.limits = limits or VelocityLimits()
        self._owned = transport is None
        self.transport = CycloneTransport() if transport is None else transport

    def send_velocity(self, velocity: Velocity) -> Velocity:
        """Publish `velocity` (clamped; VelocityError if not finite) on cmd_vel; returns what was sent."""
        sent = clamp(velocity, self.limits)
        self.transport.publish(self.cmd_vel, velocity_message(sent, self.stamped, self.frame_id))
        return sent

    def execute(self, action: Action, frame: Frame | None = None) -> ActionResult:
        start = time.monotonic()
        if isinstance(action, (Twist, Stop)):
            wanted = Velocity(action.linear, action.angular) if isinstance(action, Twist) else ZERO
            sent = self.send_velocity(wanted)
            return ActionResult(ok=True, action=action, seconds=time.monotonic() - start,
                                sent={"topic": self.cmd_vel, "linear": sent.linear, "angular": sent.angular},
                                message="" if sent == wanted else "clamped to the velocity limits")
        if isinstance(action, NavigateTo):
            self.transport.publish(self.goal_topic, goal_message(action))
            return ActionResult(ok=True, action=action, seconds=time.monotonic() - start,
                                sent={"topic": self.goal_topic, "x": action.x, "y": action.y, "yaw": action.yaw,
                                      "frame_id": action.frame_id})
        if isinstance(action, (Wait, Answer, Finish)):
            return ActionResult(ok=True, action=action, executed=False, message="nothing to send")
        return ActionResult(ok=False, action=action, executed=False,
                            message=f"a robot cannot take a {action.type} action (robot actions: twist, navigate_to, stop)")

    def close(self) -> None:
        """Close the transport when this actuator created it; idempotent."""
        if self._owned:
            self.transport.close()
