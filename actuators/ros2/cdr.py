"""CDR encoding of the ROS 2 messages in `messages`: the exact bytes ROS 2 puts on the wire.

Contract:
- `serialize(msg) -> bytes`: a 4-byte encapsulation header `00 01 00 00` (plain CDR,
  little-endian), then the fields in `.msg` order, aligned from after the header. Equal to
  `rosbags`' `serialize_cdr` bytes for every type (tests/test_ros2_cdr.py). A zero Twist is 52 bytes.
- `deserialize(cls, data) -> msg`: the inverse; little- and big-endian CDR are both read.
  The `data` field of Image and CompressedImage comes back as `bytes` (see `messages`' one-piece
  codec), so images can be handed to numpy without a copy per pixel.
- Bad input raises `CdrError` (a `ValueError`) naming the type and the problem, never a bare
  `struct.error` / `IndexError` from inside cyclonedds.

Nothing is hand-written here: both directions are cyclonedds' own serializer
(`msg.serialize()` / `cls.deserialize(data)`), which is the code that also feeds the DDS
writer, so what the golden tests check is what goes on the wire.
"""

from vlagent.actuators.ros2.errors import CdrError
from vlagent.actuators.ros2.messages import MESSAGE_TYPES, CompressedImage, Image

_KNOWN = frozenset(MESSAGE_TYPES.values())
_HEADERS = (b"\x00\x00", b"\x00\x01")  # plain CDR, big- and little-endian


def _check_type(cls: type) -> None:
    if cls not in _KNOWN:
        raise CdrError(f"{getattr(cls, '__name__', cls)!r} is not one of vlagent's ROS 2 message types "
                       f"({', '.join(MESSAGE_TYPES)})")


def serialize(msg) -> bytes:
    """The CDR bytes of `msg` (an instance of a class in `messages`), header included."""
    _check_type(type(msg))
    try:
        return bytes(msg.serialize())
    except Exception as error:  # noqa: BLE001 - cyclonedds raises struct.error, TypeError, OverflowError, ...
        raise CdrError(f"cannot encode {type(msg).__name__} as CDR: {type(error).__name__}: {error}") from error


def deserialize(cls: type, data: bytes | bytearray | memoryview):
    """Decode CDR `data` (header included) into an instance of `cls`, a class in `messages`."""
    _check_type(cls)
    data = bytes(data)
    if len(data) < 4:
        raise CdrError(f"{cls.__name__}: {len(data)} bytes is shorter than the 4-byte CDR header")
    if data[:2] not in _HEADERS:
        raise CdrError(f"{cls.__name__}: CDR header {data[:4].hex(' ')} is not plain CDR "
                       "(expected 00 01 00 00 or 00 00 00 00)")
    try:
        msg = cls.deserialize(data)
    except Exception as error:  # noqa: BLE001 - truncated or garbled bytes fail anywhere inside cyclonedds
        raise CdrError(f"{cls.__name__}: {len(data)} bytes are not a valid CDR encoding: "
                       f"{type(error).__name__}: {error}") from error
    return data_as_bytes(msg)


def data_as_bytes(msg):
    """`msg` with the `data` of an Image or CompressedImage turned into `bytes` (cyclonedds decodes
    `sequence[uint8]` as a list of ints); other messages are returned untouched."""
    if isinstance(msg, (Image, CompressedImage)) and not isinstance(msg.data, bytes):
        try:
            msg.data = bytes(msg.data)
        except (TypeError, ValueError) as error:
            raise CdrError(f"{type(msg).__name__}: data is not a byte sequence: {error}") from error
    return msg
