"""`vlagent ros2-node`: a policy drives a ROS 2 robot, with a TTL watchdog, an e-stop and a bag.

Reads the camera topic (newest frame only), runs the policy in a worker, and sends the latest
fresh decision on cmd_vel at `--rate` Hz, zero when it is older than `--ttl` (see
`vlagent.agent.ros2_node`). Settings come from the config's `robot` section, then the flags.
Exit status: 0 when the policy finished or the time limit passed, 1 when the policy failed
or gave up, 2 for bad input or setup, 130 after Ctrl-C or SIGTERM. Zero is always sent last.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import build_config, fail, parse_pairs

EXIT = {"finished": 0, "answered": 0, "time_up": 0, "gave_up": 1, "policy_failed": 1, "failed": 1, "interrupted": 130}


def ros2_node(
    task: Annotated[str, typer.Option("--task", help="The instruction the policy gets with every frame.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera topic (sensor_msgs/Image).")] = None,
    cmd_vel: Annotated[str, typer.Option("--cmd-vel", help="Velocity topic (geometry_msgs/Twist).")] = None,
    policy: Annotated[str, typer.Option(
        "--policy", help="Policy name (see agent.registry.POLICIES) or package.module:factory.")] = "scripted",
    policy_opt: Annotated[list[str], typer.Option("--policy-opt", help="Policy option KEY=VALUE (repeatable).")] = None,
    record: Annotated[Path, typer.Option("--record", help="Record a rosbag2 (MCAP) bag into this new directory.")] = None,
    config_file: Annotated[Path, typer.Option("--config", help="A TOML or YAML AgentConfig file (its robot section).")] = None,
    rate: Annotated[float, typer.Option("--rate", help="Control loop rate, Hz (1-100).")] = None,
    ttl: Annotated[float, typer.Option("--ttl", help="Longest a decision is re-sent, seconds.")] = None,
    stamped: Annotated[bool, typer.Option("--stamped/--unstamped", help="TwistStamped (Jazzy) or Twist.")] = None,
    compressed: Annotated[bool, typer.Option("--compressed", help="The camera topic is CompressedImage.")] = False,
    estop_topic: Annotated[str, typer.Option("--estop-topic", help="std_msgs/Bool e-stop topic.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="auto, cyclonedds or rclpy.")] = None,
    loopback: Annotated[bool, typer.Option(
        "--loopback", help="Discover ROS 2 peers on this host only (CycloneDDS over 127.0.0.1).")] = False,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Stop (zero) after this many seconds.")] = None,
) -> None:
    """Drive a ROS 2 robot from its camera with a policy, with a TTL watchdog and an e-stop."""
    from rich.console import Console
    from rich.markup import escape

    from vlagent.actuators.ros2.backend import open_transport
    from vlagent.agent.registry import PolicyContext, make_policy
    from vlagent.agent.ros2_bag import BagRecorder
    from vlagent.agent.ros2_node import ControlNode, recorded_topics
    from vlagent.perception.sources.ros2 import Ros2CameraSource

    overrides = {"robot.camera_topic": camera, "robot.cmd_vel_topic": cmd_vel, "robot.rate_hz": rate,
                 "robot.ttl_s": ttl, "robot.stamped": stamped, "robot.compressed": True if compressed else None,
                 "robot.estop_topic": estop_topic, "robot.backend": backend}
    config = build_config(config_file, overrides)
    robot = config.robot
    if max_seconds is not None and not max_seconds > 0:
        fail(f"--max-seconds must be > 0, got {max_seconds}")
    if record is not None and record.exists():
        fail(f"--record {record}: already exists; a bag is never overwritten")
    console = Console(stderr=True)
    options = {**config.policy_options, **parse_pairs(policy_opt, "--policy-opt")}
    transport = open_transport(robot.backend, loopback=loopback)
    recorder = camera_source = None
    try:
        the_policy = make_policy(policy, PolicyContext(options=options, transport=transport))
        camera_source = Ros2CameraSource(robot.camera_topic, transport, max_age_s=robot.max_frame_age_s,
                                         compressed=robot.compressed, wait_s=robot.frame_wait_s, new_only=True)
        if record is not None:
            recorder = BagRecorder(record, recorded_topics(robot), {"vlagent.task": task, "vlagent.policy": policy})

        def on_event(kind, data):
            if kind == "decision":
                console.print(f"step {data['step']:>4}  {escape(data['action'])}")
            elif kind in ("estop", "policy_error", "frame_timeout"):
                console.print(f"[yellow]{kind}[/] {escape(str(data))}")

        node = ControlNode(transport, camera_source, the_policy, task, robot, recorder, on_event)
        console.print(f"[bold]{escape(policy)}[/] drives {escape(robot.cmd_vel_topic)} from {escape(robot.camera_topic)} "
                      f"at {robot.rate_hz:g} Hz, ttl {robot.ttl_s:g} s: {escape(task)}")
        summary = node.run(max_seconds)
    finally:
        try:
            if recorder is not None:
                summary_counts = recorder.close()
                console.print(f"bag {record}: " + ", ".join(f"{t} {n}" for t, n in summary_counts.items()))
        finally:
            if camera_source is not None:
                camera_source.close()
            transport.close()
    console.print(f"{summary.outcome}: {summary.decisions} decisions, {summary.sent} commands sent "
                  f"({summary.sent_zero} zero), {summary.policy_errors} policy errors, "
                  f"{summary.frame_timeouts} frame timeouts, {summary.estops} e-stops"
                  + (f"; {escape(summary.answer)}" if summary.answer else "")
                  + (f"; [red]{escape(summary.error)}[/]" if summary.error else ""))
    raise typer.Exit(EXIT.get(summary.outcome, 1))
