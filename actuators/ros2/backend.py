"""`open_transport(backend)`: pick the ROS 2 transport, rclpy where importable, else CycloneDDS.

Backends: "cyclonedds" (`transport.CycloneTransport`, tested here), "rclpy"
(`rclpy_transport.RclpyTransport`, needs a sourced ROS 2 install; untested here), and "auto":
rclpy when it imports, else cyclonedds. `loopback=True` (single-host discovery) applies to
cyclonedds only; with rclpy, discovery is the RMW's (ROS_LOCALHOST_ONLY / ROS_AUTOMATIC_DISCOVERY_RANGE).
"""

from typing import Any

from vlagent.actuators.ros2.errors import Ros2ConfigError, Ros2Error

BACKENDS = ("auto", "cyclonedds", "rclpy")


def open_transport(backend: str = "auto", loopback: bool = False, qos: dict[str, Any] | None = None) -> Any:
    """A new Transport of `backend` (see the module docstring); the caller closes it."""
    if backend not in BACKENDS:
        raise Ros2ConfigError(f"unknown ROS 2 backend {backend!r}; known: {', '.join(BACKENDS)}")
    if backend == "auto":
        from vlagent.actuators.ros2.rclpy_transport import rclpy_available
        backend = "rclpy" if rclpy_available() and not loopback else "cyclonedds"
    if backend == "rclpy":
        try:
            from vlagent.actuators.ros2.rclpy_transport import RclpyTransport
            return RclpyTransport(qos=qos)
        except ImportError as error:
            raise Ros2Error(f"the rclpy backend needs a sourced ROS 2 install: {error}") from error
    from vlagent.actuators.ros2.transport import CycloneTransport
    return CycloneTransport(loopback=loopback, qos=qos)
