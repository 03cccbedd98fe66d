"""The simulated phone as an adb device: the device side of the adb transport protocol over
TCP, a tiny mksh stand-in, and the Android programs a client drives (`input`, `screencap`,
`wm`, `dumpsys`, `am`, `uiautomator`, ...). Start it with `vlagent sim-device --port P`,
then `adb connect 127.0.0.1:P`."""
