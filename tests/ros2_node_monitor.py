"""A ROS 2 peer that watches (and pokes) a running `vlagent ros2-node`, for tests/test_ros2_node.py.

`python tests/ros2_node_monitor.py SCENARIO NODE_PID SECONDS` records every Twist on `/cmd_vel`,
every String on `/vlagent/model_text` and every PoseStamped on `/goal_pose` with its monotonic receive time (this process's
clock), then prints one JSON line. Run in a fresh interpreter, so CYCLONEDDS_URI is set first.

- `stall`: waits until commands have been all zero for 1.5 s after the last model text (the
  policy has stalled and the watchdog took over), then sends SIGTERM to the node.
- `estop`: after 5 non-zero commands publishes e-stop true on `/estop`, holds it 1.5 s,
  publishes false, waits for non-zero commands again, then sends SIGTERM to the node.
Either way it goes on listening for 1.5 s after the SIGTERM (so the node's last message is seen).
- `killsim`: after 5 non-zero commands sends SIGKILL to OTHER_PID (the simulator), waits for 1.5 s
  of zeros, then sends SIGTERM to the node.
- `watch`: only listens, until the node process is gone (then 1.5 s more) or SECONDS pass.
"""

import json
import os
import signal
import sys
import threading
import time


def main(scenario: str, node_pid: int, seconds: float, other_pid: int | None = None) -> int:
    from vlagent.actuators.ros2.transport import CycloneTransport

    transport = CycloneTransport(loopback=True)
    from vlagent.actuators.ros2 import messages as m

    lock = threading.Lock()
    commands, texts, goals, marks = [], [], [], {}

    def on_cmd(msg):
        with lock:
            commands.append((time.monotonic(), msg.linear.x, msg.angular.z))

    def on_text(msg):
        with lock:
            texts.append(time.monotonic())

    def on_goal(msg):
        with lock:
            p, q = msg.pose.position, msg.pose.orientation
            goals.append((time.monotonic(), msg.header.frame_id, p.x, p.y, q.z, q.w))

    transport.subscribe("/cmd_vel", m.Twist, callback=on_cmd)
    transport.subscribe("/goal_pose", m.PoseStamped, callback=on_goal)
    transport.subscribe("/vlagent/model_text", m.String, callback=on_text)
    deadline = time.monotonic() + seconds

    def nonzero_since(t):
        with lock:
            return sum(1 for when, lin, ang in commands if when > t and (lin or ang))

    try:
        if scenario == "estop":
            while time.monotonic() < deadline and nonzero_since(0) < 5:
                time.sleep(0.01)
            for _ in range(3):  # the node's e-stop reader matches within ms; repeat like an e-stop button does
                transport.publish("/estop", m.Bool(data=True))
                marks.setdefault("estop_on", time.monotonic())
                time.sleep(0.02)
            time.sleep(1.5)
            marks["estop_off"] = time.monotonic()
            transport.publish("/estop", m.Bool(data=False))
            while time.monotonic() < deadline and nonzero_since(marks["estop_off"]) < 3:
                time.sleep(0.01)
        elif scenario == "killsim":
            while time.monotonic() < deadline and nonzero_since(0) < 5:
                time.sleep(0.01)
            os.kill(other_pid, signal.SIGKILL)
            marks["killed"] = time.monotonic()
            while time.monotonic() < deadline:
                with lock:
                    recent = [c for c in commands if c[0] > time.monotonic() - 1.5]
                if time.monotonic() - marks["killed"] > 2.0 and recent and not any(c[1] or c[2] for c in recent):
                    break
                time.sleep(0.02)
        elif scenario == "watch":
            while time.monotonic() < deadline and _alive(node_pid):
                time.sleep(0.02)
            time.sleep(1.5)
            return 0
        else:
            while time.monotonic() < deadline:
                with lock:
                    last_text = texts[-1] if texts else None
                    quiet = last_text is not None and time.monotonic() - last_text > 1.5
                if quiet and nonzero_since(last_text + 1.0) == 0:
                    break
                time.sleep(0.02)
        marks["sigterm"] = time.monotonic()
        os.kill(node_pid, signal.SIGTERM)
        time.sleep(1.5)
    finally:
        transport.close()
        with lock:
            print(json.dumps({"commands": commands, "texts": texts, "goals": goals, "marks": marks}))
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None))
