"""Serve a simulated robot (`vlagent.sim.robot`) on ROS 2, so a node drives it as it would a real one.

`serve_robot(task, transport, ...)` runs the simulator in real time (simulated time follows the
monotonic clock) and, at `camera_hz`:
- publishes the camera as sensor_msgs/Image (rgb8, stamped with wall time, frame "camera") on
  `camera_topic`, and the task target's true box for that frame on `policies.sim_truth.TRUTH_TOPIC`
  (JSON with the Image's stamp; the oracle grounder reads it);
- applies the newest geometry_msgs/Twist (or TwistStamped) from `cmd_vel_topic`. The simulated base
  keeps its own cmd_vel timeout (0.5 s): a driver that goes quiet, or dies, leaves it stopped.

The episode ends when the driver has been quiet for `idle_s` after its first command (the node
finished and exited) or when the task's time limit passes (simulated seconds); SIGINT/SIGTERM
(KeyboardInterrupt) stop it without a result. Then the task is judged on the simulator's state (`sim.robot.tasks.check`) and the result is
published as JSON (std_msgs/String) on `RESULT_TOPIC` and returned.

This module composes the simulator with the ROS 2 transport, as the Gymnasium env composes the
phone with its actuator: the simulator itself imports nothing from the agent.
"""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from vlagent.sim.robot.robot import RobotSim
from vlagent.sim.robot.tasks import RobotTask, TaskResult, check

RESULT_TOPIC = "/sim/task_result"
CAMERA_FRAME = "camera"


@dataclass(frozen=True)
class BridgeOutcome:
    """The judged `result`, frames published, commands received, `quiet_stop_s`: simulated seconds
    from the last command received to the base standing still (None if it never stood still after
    one), and the last command received."""

    result: TaskResult
    frames: int
    commands: int
    quiet_stop_s: float | None
    last_command: tuple[float, float] | None = None  # (linear m/s, angular rad/s) of the last command

    def to_dict(self) -> dict:
        return {**self.result.to_dict(), "frames": self.frames, "commands": self.commands,
                "quiet_stop_s": None if self.quiet_stop_s is None else round(self.quiet_stop_s, 3),
                "last_command": None if self.last_command is None else list(self.last_command)}


def serve_robot(task: RobotTask, transport: Any, camera_topic: str = "/camera/image_raw",
                cmd_vel_topic: str = "/cmd_vel", stamped: bool = False, camera_hz: float = 15.0,
                idle_s: float = 2.0, width: int = 320, height: int = 240, on_frame=None) -> BridgeOutcome:
    """Run `task` until it ends (see the module docstring); returns the judged outcome."""
    from vlagent.actuators.ros2 import messages as m
    from vlagent.actuators.ros2.actuator import stamp_now, velocity_of
    from vlagent.policies.sim_truth import TRUTH_TOPIC

    lock = threading.Lock()
    latest: list[Any] = [None]  # (linear, angular, monotonic receive time) of the newest command
    seen = [0]

    def on_command(msg):
        velocity = velocity_of(msg)
        with lock:
            latest[0] = (velocity.linear, velocity.angular, time.monotonic())
            seen[0] += 1

    subscription = transport.subscribe(cmd_vel_topic, m.TwistStamped if stamped else m.Twist, callback=on_command)
    sim = RobotSim(task.world, width, height)
    period = 1.0 / camera_hz
    applied_at = None
    ended_by_driver = False
    frames, last_command_sim, stopped_sim = 0, None, None
    try:
        previous = tick = time.monotonic()
        while True:
            now = time.monotonic()
            sim.advance(min(now - previous, 0.25))  # a stall of this process does not teleport the robot
            previous = now
            with lock:
                command = latest[0]
            if command is not None and command[2] != applied_at:
                applied_at = command[2]
                sim.command(command[0], command[1])
                last_command_sim, stopped_sim = sim.time_s, None
            linear, angular = sim.speed()
            if last_command_sim is not None and stopped_sim is None and abs(linear) < 1e-3 and abs(angular) < 1e-3:
                stopped_sim = sim.time_s
            if command is not None and now - command[2] > idle_s:
                ended_by_driver = True
                break
            if sim.time_s >= task.time_limit_s:
                break
            wall = time.time()
            image = sim.render()
            header = m.Header(stamp=stamp_now(wall), frame_id=CAMERA_FRAME)
            transport.publish(camera_topic, m.Image(header=header, height=height, width=width, encoding="rgb8",
                                                    step=width * 3, data=image.tobytes()))
            box = sim.target_box(task.target) if task.target else None
            truth = {"stamp": [header.stamp.sec, header.stamp.nanosec], "label": task.target_label,
                     "box": None if box is None else list(box)}
            transport.publish(TRUTH_TOPIC, m.String(data=json.dumps(truth)))
            frames += 1
            if on_frame is not None:
                on_frame(sim, image, box)
            tick = max(tick + period, time.monotonic())
            time.sleep(max(0.0, tick - time.monotonic()))
        outcome = BridgeOutcome(check(task, sim, ended_by_driver), frames, seen[0],
                                None if stopped_sim is None else stopped_sim - last_command_sim,
                                None if latest[0] is None else (latest[0][0], latest[0][1]))
    finally:
        subscription.close()
        sim.close()
    transport.publish(RESULT_TOPIC, m.String(data=json.dumps(outcome.to_dict())))
    return outcome
