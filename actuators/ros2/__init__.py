"""ROS 2 on the wire without rclpy: message types, CDR, and a DDS transport.

rclpy is not on PyPI and many machines (these included) have no ROS 2, so vlagent speaks
ROS 2 through CycloneDDS directly, with ROS 2's own naming and CDR encoding:

- `vlagent.actuators.ros2.messages`: the ROS 2 message types vlagent uses, hand-written as
  cyclonedds `IdlStruct` classes with their DDS type names (`geometry_msgs::msg::dds_::Twist_`).
- `vlagent.actuators.ros2.cdr`: `serialize` / `deserialize`, the CDR bytes ROS 2 puts on the wire.
- `vlagent.actuators.ros2.transport`: the `Transport` protocol and `CycloneTransport`, with
  `rt/` topic names, `ROS_DOMAIN_ID`, QoS presets and loopback-only discovery.

This package's `__init__` imports nothing, so importing it never loads cyclonedds (whose
`CYCLONEDDS_URI` must be set before it is imported; see `transport.loopback_uri`).
An rclpy backend of the same `Transport` protocol is planned, not written yet.
"""
