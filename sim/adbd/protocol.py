"""The adb transport protocol's wire format, and the shell v2 packet format on top of it.

A transport packet is a 24-byte little-endian header, then `data_length` payload bytes:

    command, arg0, arg1, data_length, data_check, magic   (six uint32)

`magic` is `command ^ 0xffffffff`; `data_check` is the byte sum of the payload (adb calls
it crc32, but it is a plain sum). Peers at version >= 0x01000001 neither check nor need it,
so it is sent only on CNXN and to older peers (summing 10 MB of screencap costs ~40 ms).

Shell v2 (`shell,v2:` services) frames the stream's bytes into packets of a 1-byte id and a
4-byte little-endian length, then the data (AOSP's shell_protocol.h).

Written by hand because adbutils (and every maintained Python adb library) implements the
client side of the adb *server* socket only; the device side of the transport is what the
simulator needs, and it is a dozen lines of `struct`.
"""

import struct
from dataclasses import dataclass

from vlagent.perception.errors import VlagentError

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size  # 24 bytes


def _command(name: bytes) -> int:
    return int.from_bytes(name, "little")


A_CNXN = _command(b"CNXN")
A_AUTH = _command(b"AUTH")
A_OPEN = _command(b"OPEN")
A_OKAY = _command(b"OKAY")
A_CLSE = _command(b"CLSE")
A_WRTE = _command(b"WRTE")
A_SYNC = _command(b"SYNC")
A_STLS = _command(b"STLS")

COMMAND_NAMES = {value: key.decode() for key, value in {
    b"CNXN": A_CNXN, b"AUTH": A_AUTH, b"OPEN": A_OPEN, b"OKAY": A_OKAY,
    b"CLSE": A_CLSE, b"WRTE": A_WRTE, b"SYNC": A_SYNC, b"STLS": A_STLS,
}.items()}

A_VERSION_MIN = 0x01000000
A_VERSION = 0x01000001  # the version that skips checksums and allows 1 MiB payloads
MAX_PAYLOAD_V1 = 4 * 1024
MAX_PAYLOAD = 1024 * 1024

# Shell v2 packet ids.
SHELL_STDIN = 0
SHELL_STDOUT = 1
SHELL_STDERR = 2
SHELL_EXIT = 3
SHELL_CLOSE_STDIN = 4
SHELL_WINDOW_SIZE = 5
SHELL_HEADER = struct.Struct("<BI")


class ProtocolError(VlagentError, ValueError):
    """Bytes that are not a valid adb packet; the message names the field."""


@dataclass(frozen=True)
class Packet:
    """One transport packet: `command` (an A_* constant), two arguments, the payload."""

    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"0x{self.command:08x}")


def checksum(data: bytes) -> int:
    """adb's payload check: the sum of all bytes, modulo 2**32."""
    import numpy as np

    return int(np.frombuffer(data, dtype=np.uint8).sum(dtype=np.uint64)) & 0xFFFFFFFF


def encode_header(packet: Packet, with_checksum: bool = True) -> bytes:
    """The 24-byte header; `with_checksum=False` writes 0, as peers >= A_VERSION accept."""
    check = checksum(packet.data) if with_checksum else 0
    return HEADER.pack(packet.command, packet.arg0 & 0xFFFFFFFF, packet.arg1 & 0xFFFFFFFF,
                       len(packet.data), check, packet.command ^ 0xFFFFFFFF)


def encode(packet: Packet, with_checksum: bool = True) -> bytes:
    """Header plus payload, ready for the socket."""
    return encode_header(packet, with_checksum) + packet.data


def decode_header(header: bytes, max_payload: int = MAX_PAYLOAD) -> tuple[int, int, int, int, int]:
    """Validate a 24-byte header; returns (command, arg0, arg1, data_length, data_check)."""
    if len(header) != HEADER_SIZE:
        raise ProtocolError(f"header is {len(header)} bytes, expected {HEADER_SIZE}")
    command, arg0, arg1, length, check, magic = HEADER.unpack(header)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"magic 0x{magic:08x} does not match command 0x{command:08x}")
    if command not in COMMAND_NAMES:
        raise ProtocolError(f"unknown command 0x{command:08x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds the maximum {max_payload}")
    return command, arg0, arg1, length, check


def verify(data: bytes, check: int, version: int) -> None:
    """Check the payload sum, which peers below A_VERSION must send correctly."""
    if version < A_VERSION and check != checksum(data):
        raise ProtocolError(f"payload check 0x{check:08x} != 0x{checksum(data):08x}")


def banner(properties: dict[str, str], features: tuple[str, ...]) -> bytes:
    """The device's CNXN payload: `device::k=v;k=v;features=a,b`."""
    fields = [f"{key}={value}" for key, value in properties.items()]
    fields.append("features=" + ",".join(features))
    return ("device::" + ";".join(fields)).encode()


def shell_packet(packet_id: int, data: bytes) -> bytes:
    """One shell v2 packet: id byte, uint32 LE length, data."""
    return SHELL_HEADER.pack(packet_id, len(data)) + data


def split_shell_packets(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Remove and return every complete shell v2 packet at the front of `buffer`."""
    packets = []
    while len(buffer) >= SHELL_HEADER.size:
        packet_id, length = SHELL_HEADER.unpack_from(buffer)
        end = SHELL_HEADER.size + length
        if len(buffer) < end:
            break
        packets.append((packet_id, bytes(buffer[SHELL_HEADER.size:end])))
        del buffer[:end]
    return packets


@dataclass(frozen=True)
class ServiceRequest:
    """A parsed OPEN payload: the service kind ("shell", "exec", "sync", ...), its
    comma-separated options (shell: "v2", "raw", "pty", "TERM=..."), and the argument."""

    kind: str
    options: tuple[str, ...]
    argument: str


def parse_service(payload: bytes) -> ServiceRequest:
    """Parse `shell,v2,raw:ls -l\\0` style OPEN payloads (the trailing NUL is optional)."""
    text = payload.rstrip(b"\0").decode("utf-8", errors="surrogateescape")
    head, colon, argument = text.partition(":")
    if not colon:
        raise ProtocolError(f"service {text[:80]!r} has no ':'")
    kind, *options = head.split(",")
    return ServiceRequest(kind, tuple(options), argument)
