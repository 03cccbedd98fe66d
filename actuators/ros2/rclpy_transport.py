"""`RclpyTransport`: the `Transport` protocol on rclpy's public API, for machines with ROS 2 installed.

UNTESTED HERE: rclpy is not on PyPI and these machines have no ROS 2, so no test in this
repository runs this module; it is kept thin for that reason. Everything above it (camera
source, actuator, node) is tested on `CycloneTransport`, which speaks the same wire protocol.

It maps vlagent's message classes (`messages`, cyclonedds IdlStructs) to and from the rclpy
classes of the same ROS 2 interface (`geometry_msgs.msg.Twist`, ...) field by field, uses the
same QoS presets (`transport.QOS_PRESETS`, per-topic overrides), and spins one node on a
background executor thread so subscription callbacks run without the caller spinning.
ROS_DOMAIN_ID and the RMW come from the ROS 2 environment as usual.
"""

import array
import dataclasses
import importlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from vlagent.actuators.ros2.errors import Ros2Error
from vlagent.actuators.ros2.transport import QosProfile, _preset, dds_topic


def rclpy_available() -> bool:
    """True when rclpy can be imported (a sourced ROS 2 install)."""
    try:
        importlib.import_module("rclpy")
    except ImportError:
        return False
    return True


def _ros_class(cls: type) -> type:
    from vlagent.actuators.ros2.messages import ros_name

    package, _, name = ros_name(cls).split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as error:
        raise Ros2Error(f"rclpy has no {package}/msg/{name}: {error}") from error


def to_ros(msg: Any) -> Any:
    """An rclpy message with the values of our `msg` (recursively; uint8[] as array('B'))."""
    ros = _ros_class(type(msg))()
    for field in dataclasses.fields(msg):
        value = getattr(msg, field.name)
        if dataclasses.is_dataclass(value):
            value = to_ros(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            value = array.array("B", bytes(value))
        setattr(ros, field.name, value)
    return ros


def from_ros(ros: Any, cls: type) -> Any:
    """Our `cls` message with the values of an rclpy message (uint8[] as bytes)."""
    values, blank = {}, cls()
    for field in dataclasses.fields(cls):
        value = getattr(ros, field.name)
        default = getattr(blank, field.name)
        if dataclasses.is_dataclass(default):
            value = from_ros(value, type(default))
        elif isinstance(default, bytes):
            value = bytes(value)
        values[field.name] = value
    return cls(**values)


def _rclpy_qos(profile: QosProfile):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=profile.depth, history=HistoryPolicy.KEEP_LAST, durability=DurabilityPolicy.VOLATILE,
                      reliability=ReliabilityPolicy.RELIABLE if profile.reliable else ReliabilityPolicy.BEST_EFFORT)


class RclpySubscription:
    """See `transport.Subscription`."""

    def __init__(self, node, topic: str, cls: type, profile: QosProfile, callback: Callable[[Any], None] | None):
        self._node, self._callback = node, callback
        self._lock = threading.Lock()
        self._queue: deque = deque(maxlen=profile.depth)
        self._latest = None
        self._handle = node.create_subscription(_ros_class(cls), topic, lambda ros: self._on(from_ros(ros, cls)),
                                                _rclpy_qos(profile))

    def _on(self, msg: Any) -> None:
        with self._lock:
            self._latest = msg
            if self._callback is None:
                self._queue.append(msg)
        if self._callback is not None:
            self._callback(msg)

    def take(self) -> list[Any]:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
            return items

    def latest(self) -> Any | None:
        with self._lock:
            return self._latest

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._node.destroy_subscription(handle)


class RclpyTransport:
    """`Transport` on rclpy: one node (`node_name`), spun on a background thread; see the module docstring."""

    def __init__(self, node_name: str = "vlagent", qos: dict[str, str | QosProfile] | None = None):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self._owns_init = not rclpy.ok()
        if self._owns_init:
            rclpy.init()
        self._qos = {dds_topic(topic): _preset(preset) for topic, preset in (qos or {}).items()}
        self.node = rclpy.create_node(node_name)
        self._publishers: dict[str, Any] = {}
        self._subscriptions: list[RclpySubscription] = []
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._executor.spin, name="vlagent-rclpy", daemon=True)
        self._spinner.start()
        self._closed = False

    def set_qos(self, topic: str, qos: str | QosProfile) -> None:
        self._qos[dds_topic(topic)] = _preset(qos)

    def qos_for(self, topic: str, cls: type) -> QosProfile:
        from vlagent.actuators.ros2.messages import CompressedImage, Image
        from vlagent.actuators.ros2.transport import QOS_PRESETS

        return self._qos.get(dds_topic(topic)) or QOS_PRESETS["camera" if cls in (Image, CompressedImage) else "commands"]

    def publish(self, topic: str, msg: Any) -> None:
        if self._closed:
            raise Ros2Error(f"this transport is closed; cannot publish on {topic!r}")
        publisher = self._publishers.get(topic)
        if publisher is None:
            publisher = self.node.create_publisher(_ros_class(type(msg)), topic, _rclpy_qos(self.qos_for(topic, type(msg))))
            self._publishers[topic] = publisher
        publisher.publish(to_ros(msg))

    def subscribe(self, topic: str, cls: type, callback: Callable[[Any], None] | None = None) -> RclpySubscription:
        if self._closed:
            raise Ros2Error(f"this transport is closed; cannot subscribe to {topic!r}")
        subscription = RclpySubscription(self.node, topic, cls, self.qos_for(topic, cls), callback)
        self._subscriptions.append(subscription)
        return subscription

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in self._subscriptions:
            subscription.close()
        self._executor.shutdown()
        self.node.destroy_node()
        if self._owns_init:
            import rclpy
            rclpy.shutdown()
