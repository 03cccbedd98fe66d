"""ROS 2 message types as CycloneDDS IDL structs, named and laid out exactly as ROS 2 puts them on the wire.

Contract: each class is a cyclonedds `IdlStruct` (a dataclass) with
- an explicit DDS type name, `pkg::msg::dds_::Name_` (what rmw_cyclonedds / rmw_fastrtps use;
  a wrong name raises nothing, it just never matches a ROS 2 peer),
- the fields of the ROS 2 `.msg` definition, in `.msg` order, with the matching IDL types
  (ROS `int32` -> int32, `uint32` -> uint32, `uint8` -> uint8, `float64` -> float64,
  `uint8[]` -> sequence[uint8], `string` -> str, `bool` -> bool),
- `@annotate.final` extensibility, as ROS 2 types are final (plain CDR, no XCDR2 headers).
Defaults are the ROS 2 defaults (zeros, empty strings, Quaternion w = 1.0).

Units are ROS's (REP 103): metres, radians, metres per second, radians per second; `Time` is
seconds plus nanoseconds since the epoch. `Image.step` is the row length in bytes, padding included.

Why hand-written: rclpy is not on PyPI, and `ros2-pyterfaces` names types
`geometry_msgs/msg/Twist` (not the DDS name) and renaming its classes changes their XTypes
identity, so a plain ROS 2 reader receives nothing. These types were checked byte for byte
against `rosbags`' `serialize_cdr` (tests/test_ros2_cdr.py).

Speed: cyclonedds encodes `sequence[uint8]` element by element (about 21 ms to encode and 5 ms
to decode a 320x240 rgb8 Image here). `_copy_octets` gives Image and CompressedImage a `data`
codec that copies the bytes in one piece instead (under 1 ms), with the same CDR bytes and the
same IDL type (`sequence<uint8>`, so the XTypes identity and matching are unchanged). It swaps
one member of cyclonedds' own codec; if a future cyclonedds lays that out differently, the swap
is skipped (the default codec stays, slower but correct) and `FAST_OCTETS` says so.

No `from __future__ import annotations` here: cyclonedds reads the field annotations as types.
Importing this module imports cyclonedds: set `CYCLONEDDS_URI` first (see `transport.loopback_uri`).
"""

import logging
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl.types import float64, int32, sequence, uint8, uint32

log = logging.getLogger(__name__)


@dataclass
@annotate.final
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    """builtin_interfaces/msg/Time: `sec` (int32) seconds and `nanosec` (uint32, < 1e9) nanoseconds."""

    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
@annotate.final
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    """std_msgs/msg/Header: when (`stamp`) and in which coordinate frame (`frame_id`) data was taken."""

    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
@annotate.final
class String(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    """std_msgs/msg/String."""

    data: str = ""


@dataclass
@annotate.final
class Bool(IdlStruct, typename="std_msgs::msg::dds_::Bool_"):
    """std_msgs/msg/Bool."""

    data: bool = False


@dataclass
@annotate.final
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    """sensor_msgs/msg/Image: `height` rows of `step` bytes each in `data`, pixels as `encoding`
    says ("rgb8", "bgr8", "mono8", ...). `data` may be given as `bytes` (faster than a list)."""

    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=bytes)


@dataclass
@annotate.final
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    """sensor_msgs/msg/CompressedImage: `format` names the codec ("jpeg", "png", or forms such as
    "bgr8; jpeg compressed bgr8"), `data` the compressed bytes."""

    header: Header = field(default_factory=Header)
    format: str = ""
    data: sequence[uint8] = field(default_factory=bytes)


@dataclass
@annotate.final
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    """geometry_msgs/msg/Vector3."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
@annotate.final
class Twist(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    """geometry_msgs/msg/Twist: `linear` velocity in m/s, `angular` velocity in rad/s (base frame)."""

    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


@dataclass
@annotate.final
class TwistStamped(IdlStruct, typename="geometry_msgs::msg::dds_::TwistStamped_"):
    """geometry_msgs/msg/TwistStamped (what Jazzy's controllers can take on cmd_vel)."""

    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)


@dataclass
@annotate.final
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    """geometry_msgs/msg/Point, in metres."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
@annotate.final
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    """geometry_msgs/msg/Quaternion; the default is the identity rotation (w = 1)."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@dataclass
@annotate.final
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    """geometry_msgs/msg/Pose."""

    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
@annotate.final
class PoseStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PoseStamped_"):
    """geometry_msgs/msg/PoseStamped (Nav2 takes goals on `goal_pose`, frame "map")."""

    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


def _octets_machine_class():
    from cyclonedds.idl._machinery import PlainCdrV2SequenceOfPrimitiveMachine

    class OctetsMachine(PlainCdrV2SequenceOfPrimitiveMachine):
        """`sequence<uint8>` as a uint32 length and the bytes, copied in one piece (same CDR)."""

        def serialize(self, buffer, value, *args, **kwargs):
            data = value if isinstance(value, bytes) else bytes(value)
            buffer.align(4)
            buffer.write("I", 4, len(data))
            if data:
                buffer.write_bytes(data)

        def deserialize(self, buffer, *args, **kwargs):
            buffer.align(4)
            length = buffer.read("I", 4)
            return buffer.read_bytes(length) if length else b""

    return OctetsMachine


def _copy_octets(cls, member: str = "data") -> bool:
    """Give `cls.member` (a `sequence[uint8]`) the one-piece codec; False when cyclonedds' layout differs."""
    try:
        from cyclonedds.idl._machinery import PlainCdrV2SequenceOfPrimitiveMachine, StructMachine

        octets = _octets_machine_class()
        cls.__idl__.populate()
        for name in ("v1_machine", "v2_machine"):
            machine = getattr(cls.__idl__, name)
            current = machine.members_machines[member] if isinstance(machine, StructMachine) else None
            if type(current) is not PlainCdrV2SequenceOfPrimitiveMachine or current.size != 1:
                raise TypeError(f"{name}.{member} is {type(current).__name__}")
            replacement = octets(uint8, max_length=current.max_length)
            machine.members_machines[member] = replacement
        return True
    except Exception as error:  # noqa: BLE001 - any layout change: keep cyclonedds' own (correct) codec
        log.debug("keeping cyclonedds' element-wise codec for %s.%s: %s", cls.__name__, member, error)
        return False


FAST_OCTETS = _copy_octets(Image) & _copy_octets(CompressedImage)


# ROS 2 interface name -> class. The DDS name of each is `cls.__idl_typename__`.
MESSAGE_TYPES: dict[str, type[IdlStruct]] = {
    "builtin_interfaces/msg/Time": Time,
    "std_msgs/msg/Header": Header,
    "std_msgs/msg/String": String,
    "std_msgs/msg/Bool": Bool,
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "geometry_msgs/msg/Vector3": Vector3,
    "geometry_msgs/msg/Twist": Twist,
    "geometry_msgs/msg/TwistStamped": TwistStamped,
    "geometry_msgs/msg/Point": Point,
    "geometry_msgs/msg/Quaternion": Quaternion,
    "geometry_msgs/msg/Pose": Pose,
    "geometry_msgs/msg/PoseStamped": PoseStamped,
}


def ros_name(cls: type[IdlStruct]) -> str:
    """The ROS 2 interface name of one of these classes, e.g. "geometry_msgs/msg/Twist"."""
    for name, known in MESSAGE_TYPES.items():
        if known is cls:
            return name
    from vlagent.actuators.ros2.errors import Ros2ConfigError
    raise Ros2ConfigError(f"{getattr(cls, '__name__', cls)!r} is not one of vlagent's ROS 2 message types "
                          f"({', '.join(MESSAGE_TYPES)})")


def message_type(name: str) -> type[IdlStruct]:
    """The class for a ROS 2 interface name ("geometry_msgs/msg/Twist"; "geometry_msgs/Twist" also accepted)."""
    key = name if "/msg/" in name else name.replace("/", "/msg/", 1)
    try:
        return MESSAGE_TYPES[key]
    except KeyError:
        from vlagent.actuators.ros2.errors import Ros2ConfigError
        raise Ros2ConfigError(f"unknown ROS 2 message type {name!r}; known: {', '.join(MESSAGE_TYPES)}") from None
