"""The simulated robot: a differential-drive base in a MuJoCo room with coloured objects.

`world` (seeded room specs and their MJCF), `robot` (`RobotSim`: takes velocities, renders its
camera, knows the true box of every object), `tasks` (instructions and success checks). Like the
phone, it models the far side and imports nothing from the agent; `vlagent sim-robot` serves it on
ROS 2 (vlagent.agent.robot_bridge) and `vlagent/Robot-v0` wraps it for Gymnasium.
"""
