"""Simulators of the far side: a phone, a robot, tasks, and a simulated adb device."""
