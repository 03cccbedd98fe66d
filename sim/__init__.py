"""Simulators of the far side: a phone, a robot, tasks, and a simulated adb device.

They model what the device takes and shows (touches, keys and text at device px; a screen
and its UI tree) and import nothing from `vlagent.agent`: the actuators map the agent's
`Action`s onto them. Importing `vlagent.sim` has no side effects. The Gymnasium env, which
composes a simulator with the actuator and the safety gate, is `vlagent.agent.gym_env`.
"""
