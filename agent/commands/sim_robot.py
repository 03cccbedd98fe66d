"""`vlagent sim-robot --task robot.TEMPLATE[:SEED]`: the simulated robot as a ROS 2 process.

Publishes its camera (sensor_msgs/Image) and the target's true box, obeys cmd_vel, and when the
driver has gone quiet (or the time limit passed) judges the task, publishes the result on
/sim/task_result and prints it as one JSON line. Exit status: 0 on success, 1 on failure, 2 for bad
input, 130 after Ctrl-C or SIGTERM. See vlagent.agent.robot_bridge and vlagent.sim.robot.tasks.
"""

from typing import Annotated

import typer


def sim_robot(
    task: Annotated[str, typer.Option("--task", help="robot.drive_to, robot.face, robot.stop_in_front or "
                                                     "robot.find_absent, with :SEED.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera topic to publish.")] = "/camera/image_raw",
    cmd_vel: Annotated[str, typer.Option("--cmd-vel", help="Velocity topic to obey.")] = "/cmd_vel",
    stamped: Annotated[bool, typer.Option("--stamped", help="cmd_vel carries TwistStamped.")] = False,
    camera_hz: Annotated[float, typer.Option("--camera-hz", help="Camera rate, Hz (1-60).")] = 15.0,
    idle: Annotated[float, typer.Option("--idle", help="End after the driver is quiet this long, seconds.")] = 2.0,
    loopback: Annotated[bool, typer.Option("--loopback", help="Discover ROS 2 peers on this host only.")] = False,
) -> None:
    """Serve a simulated robot on ROS 2 (camera out, cmd_vel in) and judge its task."""
    import json

    from rich.console import Console

    from vlagent.actuators.ros2.transport import CycloneTransport
    from vlagent.agent.commands.common import fail
    from vlagent.agent.robot_bridge import serve_robot
    from vlagent.agent.signals import interrupt_on_sigterm
    from vlagent.sim.robot.tasks import RobotTaskError, make_task

    if not 1 <= camera_hz <= 60:
        fail(f"--camera-hz must be within 1..60, got {camera_hz}")
    if not idle > 0:
        fail(f"--idle must be > 0 seconds, got {idle}")
    try:
        the_task = make_task(task)
    except RobotTaskError as error:
        fail(str(error))
    console = Console(stderr=True)
    console.print(f"sim-robot {the_task.id}: {the_task.instruction} (camera {camera} at {camera_hz:g} Hz, "
                  f"cmd_vel {cmd_vel})")
    transport = CycloneTransport(loopback=loopback)
    try:
        with interrupt_on_sigterm():
            outcome = serve_robot(the_task, transport, camera, cmd_vel, stamped, camera_hz, idle)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        transport.close()
    typer.echo(json.dumps({**outcome.to_dict(), "instruction": the_task.instruction}))
    raise typer.Exit(0 if outcome.result.success else 1)
