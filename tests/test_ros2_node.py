"""`vlagent ros2-node` over loopback DDS between separate processes: a 30 Hz camera publisher
(tests/ros2_camera_peer.py), the node (`python -m vlagent.agent.cli ros2-node`) with a test
policy (tests/ros2_policies.py), and a monitor that records what is on the wire and pokes the
node (tests/ros2_node_monitor.py). Checks the TTL watchdog, the e-stop, the last message after
SIGTERM and after a failing policy, the rosbag2/MCAP recording (read by rosbags and by mcap),
and `vlagent replay BAG`.

Times on the wire are the monitor's receive times (its monotonic clock); the slack added to the
contract bounds (`WIRE_SLACK_S`) covers delivery and scheduling on a loaded 2-core CI machine.
"""

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds")
pytest.importorskip("rosbags")

ROOT = Path(__file__).resolve().parents[1]
CAMERA_PEER = ROOT / "tests" / "ros2_camera_peer.py"
MONITOR = ROOT / "tests" / "ros2_node_monitor.py"
RATE_HZ, TTL_S = 20.0, 0.5
PERIOD_S = 1.0 / RATE_HZ
WIRE_SLACK_S = 0.08


def _env():
    env = {**os.environ, "ROS_DOMAIN_ID": str(random.randint(100, 200)), "PYTHONPATH": str(ROOT)}
    env.pop("CYCLONEDDS_URI", None)
    return env


def _run_node(tmp_path, scenario, policy_options, record=None, node_seconds=40, monitor_seconds=30):
    """Start camera, node and monitor; return (node returncode, node stderr, monitor report)."""
    env = _env()
    camera = subprocess.Popen([sys.executable, str(CAMERA_PEER), "pub", "60"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    command = [sys.executable, "-m", "vlagent.agent.cli", "ros2-node", "--loopback", "--task", "drive forward",
               "--policy", "tests.ros2_policies:timed", "--rate", str(RATE_HZ), "--ttl", str(TTL_S),
               "--max-seconds", str(node_seconds)]
    for option in policy_options:
        command += ["--policy-opt", option]
    if record is not None:
        command += ["--record", str(record)]
    node = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        monitor = subprocess.Popen([sys.executable, str(MONITOR), scenario, str(node.pid), str(monitor_seconds)],
                                   env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        node_out, node_err = node.communicate(timeout=node_seconds + 20)
        monitor_out, monitor_err = monitor.communicate(timeout=monitor_seconds + 20)
    finally:
        for process in (node, camera):
            if process.poll() is None:
                process.kill()
        camera.communicate(timeout=10)
    assert monitor.returncode == 0, monitor_err[-3000:]
    report = json.loads(monitor_out.strip().splitlines()[-1])
    return node.returncode, node_err, report


def _moving(command):
    return command[1] != 0.0 or command[2] != 0.0


def test_a_stalled_policy_is_zeroed_within_ttl_plus_a_period_sigterm_sends_zero_last_and_the_bag_reads(tmp_path):
    bag = tmp_path / "episode-bag"
    code, err, report = _run_node(tmp_path, "stall", ["delay_s=0.3", "stall_after=4"], record=bag)
    assert code == 130, err[-3000:]  # SIGTERM is a cancellation
    commands, texts = report["commands"], report["texts"]
    assert len(texts) == 4, err[-3000:]  # four decisions, then the policy hangs for good
    last_decision = texts[-1]
    after = [c for c in commands if c[0] > last_decision]
    assert any(_moving(c) for c in after), "the fresh decision must be re-sent while it is fresh"
    first_zero = next(c for c in after if not _moving(c))
    assert first_zero[0] - last_decision <= TTL_S + PERIOD_S + WIRE_SLACK_S, (first_zero[0] - last_decision)
    assert not any(_moving(c) for c in after if c[0] >= first_zero[0]), "once stale, only zero"
    assert commands[-1][0] >= report["marks"]["sigterm"] - 0.2 and not _moving(commands[-1])
    gaps = [b[0] - a[0] for a, b in zip(commands, commands[1:], strict=False)]
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(PERIOD_S, abs=0.02)  # the loop runs at the rate

    # The bag: rosbags' reader and mcap (with mcap-ros2-support) see the same topics and counts.
    from rosbags.rosbag2 import Reader

    with Reader(bag) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        types = {c.topic: c.msgtype for c in reader.connections}
    assert types["/cmd_vel"] == "geometry_msgs/msg/Twist" and types["/camera/image_raw"] == "sensor_msgs/msg/Image"
    assert counts["/vlagent/model_text"] == 4 and counts["/vlagent/decision"] == 4 and counts["/vlagent/task"] == 1
    assert counts["/camera/image_raw"] == 5  # the four decided frames and the one the policy hung on
    assert counts["/estop"] == 0
    # one decision info per decision: the frame it was decided on and how long the policy took
    from vlagent.agent.ros2_bag import read_bag

    infos = [json.loads(m.data) for topic, _, _, m in read_bag(bag) if topic == "/vlagent/decision_info"]
    assert [i["step"] for i in infos] == [0, 1, 2, 3] and all(i["action"]["type"] == "twist" for i in infos)
    assert all(i["timings_ms"]["decide"] >= 250 and i["frame_stamp_ns"] > 0 for i in infos)  # 300 ms decisions
    assert all(0 <= i["frame_age_ms"] < 500 and i["frame_size"] == [320, 240] for i in infos)
    assert "commands sent" in err and f"/cmd_vel {counts['/cmd_vel']}" in err
    assert counts["/cmd_vel"] >= len(commands)  # the monitor joined late; it cannot have seen more than was sent

    mcap_reader = pytest.importorskip("mcap.reader")
    decoder = pytest.importorskip("mcap_ros2.decoder")
    (mcap_file,) = bag.glob("*.mcap")
    seen, last_twist, image = Counter(), None, None
    with mcap_file.open("rb") as stream:
        for _schema, channel, _message, decoded in mcap_reader.make_reader(
                stream, decoder_factories=[decoder.DecoderFactory()]).iter_decoded_messages():
            seen[channel.topic] += 1
            if channel.topic == "/cmd_vel":
                last_twist = decoded
            elif channel.topic == "/camera/image_raw":
                image = decoded
    assert dict(seen) == {topic: n for topic, n in counts.items() if n}
    assert last_twist.linear.x == 0.0 and last_twist.angular.z == 0.0  # zero is the bag's last command too
    assert (image.width, image.height, image.encoding, len(image.data)) == (320, 240, "rgb8", 320 * 240 * 3)

    # Replay: the same policy agrees with every recorded decision; one with angular flipped never does.
    def replay(*options):
        done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "replay", str(bag), "--json",
                               "--policy", "tests.ros2_policies:timed", "--policy-opt", "delay_s=0",
                               *[x for o in options for x in ("--policy-opt", o)]],
                              env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        (score,) = json.loads(done.stdout)["bags"]
        return score

    same = replay()
    assert (same["frames"], same["scored"], same["unpaired"]) == (5, 4, 1)
    assert same["linear_sign_agreement"] == same["angular_sign_agreement"] == 1.0
    assert same["linear_mae"] == pytest.approx(0.0) and same["angular_mae"] == pytest.approx(0.0)
    flipped = replay("angular=-0.4", "linear=0.1")
    assert flipped["angular_sign_agreement"] == 0.0 and flipped["linear_sign_agreement"] == 1.0
    assert flipped["angular_mae"] == pytest.approx(0.8) and flipped["linear_mae"] == pytest.approx(0.2)


def test_after_an_estop_only_zero_is_sent_until_it_is_cleared_and_a_goal_goes_to_goal_pose(tmp_path):
    code, err, report = _run_node(tmp_path, "estop", ["delay_s=0.1", "navigate_at=3"])
    assert code == 130, err[-3000:]
    commands, marks = report["commands"], report["marks"]
    on, off = marks["estop_on"], marks["estop_off"]
    assert any(_moving(c) for c in commands if c[0] < on)
    held = [c for c in commands if on + PERIOD_S + WIRE_SLACK_S < c[0] < off]
    assert len(held) >= int(1.5 / PERIOD_S) // 2, "the node keeps sending (zero) while the e-stop is set"
    assert not any(_moving(c) for c in held), [c for c in held if _moving(c)]
    assert any(_moving(c) for c in commands if c[0] > off), "after the clear, fresh decisions move the robot again"
    assert not _moving(commands[-1]) and commands[-1][0] >= marks["sigterm"] - 0.2
    assert "1 e-stops" in err
    (goal,) = report["goals"]  # NavigateTo -> one geometry_msgs/PoseStamped on /goal_pose, yaw as a quaternion
    assert goal[1:4] == ["map", 1.5, -2.0] and goal[4] == pytest.approx(0.5 ** 0.5) and goal[5] == pytest.approx(0.5 ** 0.5)


def test_a_policy_that_keeps_failing_ends_the_node_with_zero_last(tmp_path):
    code, err, report = _run_node(tmp_path, "watch", ["delay_s=0.4", "fail_after=4"], monitor_seconds=30)
    assert code == 1, err[-3000:]
    assert "policy_failed" in err and "3 unusable policy answers in a row" in err
    commands = report["commands"]
    assert any(_moving(c) for c in commands) and not _moving(commands[-1])


def test_ros2_node_flags_are_checked_before_anything_moves(tmp_path):
    existing = tmp_path / "bag"
    existing.mkdir()
    done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "ros2-node", "--task", "x",
                           "--record", str(existing), "--loopback"], env=_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "already exists" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "ros2-node", "--task", "x", "--rate", "500",
                           "--loopback"], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "rate_hz" in done.stderr and "Traceback" not in done.stderr
