"""vlagent's act stage: actuators turn Actions into device input (adb, desktop, ROS 2, sim)."""
