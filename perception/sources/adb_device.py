"""`AdbDevice`: one Android device reached through the adb server, used by both the ADB
frame source and the ADB actuator.

Selection: an explicit serial always wins; without one, `ANDROID_SERIAL` (as adb itself
does); without that, the only device in state "device". Zero devices, several devices, or
an unknown serial raise `AdbDeviceError` naming what is connected — never "the first one".

Commands: `shell(argv)` quotes every argument with `shlex.quote` and joins them, so nothing
from an Action is ever interpolated raw into a shell line; it uses the `shell,v2` service
and returns stdout, stderr and the exit code. `exec_out(argv)` uses `exec:` (binary-safe,
what `adb exec-out` uses) and reads the stream in large chunks: adbutils'
`read_until_close` concatenates 4 KiB reads, which takes seconds for a 10 MB screencap.

Drops: when the transport cannot be opened (device offline or gone), the device is
reconnected with exponential backoff (`adb disconnect` + `adb connect` for a HOST:PORT
serial, otherwise waiting for it to reappear) for at most `reconnect_timeout_s`, then
`AdbDeviceGone` is raised. A command whose connection breaks after it was sent raises
`AdbConnectionLost` once the device is back: it may or may not have run. Every socket
read has a timeout, so nothing here can hang.
"""
import os
import shlex
import struct
import time
from dataclasses import dataclass

from vlagent.perception.errors import ConfigError, VlagentError

DEFAULT_COMMAND_TIMEOUT_S = 30.0
DEFAULT_RECONNECT_TIMEOUT_S = 10.0
_READ_CHUNK = 1 << 20
# Shell protocol packet ids (AOSP shell_protocol.h); kept apart from the simulator's copy
# so that a framing bug on one side cannot agree with itself.
_STDOUT, _STDERR, _EXIT = 1, 2, 3


class AdbDeviceError(VlagentError, RuntimeError):
    """No usable device: none connected, several and no serial given, or an unknown serial."""


class AdbDeviceGone(AdbDeviceError):
    """The device dropped and did not come back within the reconnect bound (seconds)."""

    def __init__(self, serial: str, waited_s: float, last_error: str):
        super().__init__(f"device {serial} is gone: not back after {waited_s:.1f} s ({last_error})")
        self.serial = serial
        self.waited_s = waited_s
        self.last_error = last_error


class AdbConnectionLost(AdbDeviceError):
    """The connection broke while a command ran; the device is back, the command's effect is unknown."""


class AdbCommandError(VlagentError, RuntimeError):
    """A shell command ran and failed; carries the command line, exit code and output."""

    def __init__(self, line: str, code: int, stdout: bytes, stderr: bytes):
        detail = (stderr or stdout).decode("utf-8", errors="replace").strip()[:500]
        super().__init__(f"`{line[:200]}` exited with {code}: {detail}")
        self.line, self.code, self.stdout, self.stderr = line, code, stdout, stderr


@dataclass(frozen=True)
class ShellResult:
    line: str
    stdout: bytes
    stderr: bytes
    code: int

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def shell_line(*commands: list[str]) -> str:
    """One shell line running `commands` in order, each argument quoted; joined with `&&`,
    so the first failure stops the rest and its exit status is the line's."""
    if not commands or any(not argv for argv in commands):
        raise ValueError("shell_line needs at least one non-empty argv")
    return " && ".join(" ".join(shlex.quote(str(arg)) for arg in argv) for argv in commands)


def shell_v2_packets(data: bytes) -> list[tuple[int, bytes]]:
    """Split a shell v2 stream (id byte, uint32 LE length, data) into packets; a truncated
    tail (the connection broke mid-packet) is dropped."""
    packets, offset = [], 0
    while offset + 5 <= len(data):
        packet_id, length = struct.unpack_from("<BI", data, offset)
        if offset + 5 + length > len(data):
            break
        packets.append((packet_id, bytes(data[offset + 5:offset + 5 + length])))
        offset += 5 + length
    return packets


def _is_tcp_serial(serial: str) -> bool:
    host, colon, port = serial.rpartition(":")
    return bool(colon and host and port.isdigit())


class AdbDevice:
    """A device selected on the adb server at host:port (default: adb's own defaults)."""

    def __init__(self, serial: str | None = None, host: str | None = None, port: int | None = None,
                 reconnect_timeout_s: float = DEFAULT_RECONNECT_TIMEOUT_S,
                 command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S):
        import adbutils

        if reconnect_timeout_s < 0 or command_timeout_s <= 0:
            raise ConfigError("reconnect_timeout_s must be >= 0 and command_timeout_s > 0 (seconds)")
        self._adbutils = adbutils
        self.client = adbutils.AdbClient(host=host, port=port, socket_timeout=command_timeout_s)
        self.reconnect_timeout_s = reconnect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.serial = self._resolve(serial or os.environ.get("ANDROID_SERIAL") or None)
        self.reconnects = 0

    def _states(self) -> dict[str, str]:
        try:
            return {info.serial: info.state for info in self.client.list()}
        except (self._adbutils.AdbError, OSError) as error:
            raise AdbDeviceError(f"cannot reach the adb server at {self.client.host}:{self.client.port}: {error}") from None

    def _resolve(self, serial: str | None) -> str:
        states = self._states()
        listed = ", ".join(f"{s} ({state})" for s, state in sorted(states.items())) or "none"
        if serial is None:
            ready = sorted(s for s, state in states.items() if state == "device")
            if len(ready) == 1:
                return ready[0]
            if not ready:
                raise AdbDeviceError(f"no Android device is connected (adb devices: {listed})")
            raise AdbDeviceError(f"{len(ready)} devices are connected ({', '.join(ready)}); "
                                 "name one with serial=... (or ANDROID_SERIAL)")
        if serial not in states and _is_tcp_serial(serial):
            self._connect(serial, self.command_timeout_s)
            states = self._states()
        if serial not in states:
            raise AdbDeviceError(f"no device with serial {serial!r} (adb devices: {listed})")
        if states[serial] == "unauthorized":
            raise AdbDeviceError(f"device {serial} is unauthorized: accept the RSA key prompt on the phone")
        return serial

    def _connect(self, serial: str, timeout: float) -> str:
        try:
            return self.client.connect(serial, timeout=max(timeout, 0.1))
        except (self._adbutils.AdbError, OSError) as error:
            return str(error)

    # ----- reconnecting ---------------------------------------------------------------
    def wait_until_ready(self, last_error: str = "") -> None:
        """Return once the device is in state "device"; raise AdbDeviceGone after
        `reconnect_timeout_s` seconds. A HOST:PORT device is reconnected by us, at most
        once a second: the adb server itself retries a dropped TCP device only every ~10 s."""
        start = time.monotonic()
        deadline = start + self.reconnect_timeout_s
        delay, next_connect = 0.05, start
        while True:
            state = self._state_or_error()
            if state == "device":
                return
            now = time.monotonic()
            if now >= deadline:
                raise AdbDeviceGone(self.serial, now - start, f"state {state}; {last_error}".strip("; "))
            if _is_tcp_serial(self.serial) and now >= next_connect and state not in ("connecting", "authorizing"):
                self.client.disconnect(self.serial, raise_error=False)
                last_error = self._connect(self.serial, min(deadline - now, 2.0))
                self.reconnects += 1
                next_connect = time.monotonic() + 1.0  # let a fresh connection finish its handshake
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    def _state_or_error(self) -> str:
        try:
            states = {info.serial: info.state for info in self.client.list()}
        except (self._adbutils.AdbError, OSError) as error:
            return f"adb server unreachable: {error}"
        return states.get(self.serial, "not listed")

    def _open(self, service: str, timeout: float):
        """Open `service` on the device, reconnecting (bounded) while it is unavailable."""
        for attempt in range(2):
            try:
                connection = self.client.make_connection(timeout=timeout)
                connection.send_command(f"host:transport:{self.serial}")
                connection.check_okay()
            except (self._adbutils.AdbError, OSError) as error:
                if attempt:
                    raise AdbDeviceGone(self.serial, self.reconnect_timeout_s, str(error)) from None
                self.wait_until_ready(str(error))
                continue
            try:
                connection.send_command(service)
                connection.check_okay()
                return connection
            except (self._adbutils.AdbError, OSError) as error:
                connection.close()
                if self._state_or_error() == "device":
                    raise AdbDeviceError(f"device {self.serial} refused `{service[:120]}`: {error}") from None
                if attempt:
                    raise AdbDeviceGone(self.serial, self.reconnect_timeout_s, str(error)) from None
                self.wait_until_ready(str(error))
        raise AdbDeviceGone(self.serial, self.reconnect_timeout_s, "the transport could not be opened")

    def _read_all(self, connection, line: str) -> bytes:
        chunks = []
        sock = connection.conn
        try:
            while True:
                chunk = sock.recv(_READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError:  # socket.timeout is TimeoutError since 3.10
            connection.close()
            self._lost(line, "no answer within the command timeout")
        except OSError as error:
            connection.close()
            self._lost(line, str(error))
        connection.close()
        return b"".join(chunks)

    def _lost(self, line: str, reason: str) -> None:
        self.wait_until_ready(reason)
        raise AdbConnectionLost(f"the connection to {self.serial} broke during `{line[:120]}` ({reason}); "
                                "the device is back, the command may or may not have run")

    # ----- commands -------------------------------------------------------------------
    def shell_text(self, line: str, timeout: float | None = None, check: bool = True,
                   retry: bool = False) -> ShellResult:
        """Run an already-quoted shell line over `shell,v2` and return its result.

        `retry=True` (for commands without side effects) runs it again once when the
        connection broke mid-way and the device came back.
        """
        try:
            result = self._shell_once(line, timeout or self.command_timeout_s)
        except AdbConnectionLost:
            if not retry:
                raise
            result = self._shell_once(line, timeout or self.command_timeout_s)
        if check and result.code != 0:
            raise AdbCommandError(line, result.code, result.stdout, result.stderr)
        return result

    def _shell_once(self, line: str, timeout: float) -> ShellResult:
        connection = self._open(f"shell,v2,raw:{line}", timeout)
        stdout, stderr, code = bytearray(), bytearray(), None
        for packet_id, payload in shell_v2_packets(self._read_all(connection, line)):
            if packet_id == _STDOUT:
                stdout += payload
            elif packet_id == _STDERR:
                stderr += payload
            elif packet_id == _EXIT and payload:
                code = payload[0]
        if code is None:
            self._lost(line, "the stream ended without an exit status")
        return ShellResult(line, bytes(stdout), bytes(stderr), code)

    def shell(self, *commands: list[str], timeout: float | None = None, check: bool = True,
              retry: bool = False) -> ShellResult:
        """Run argv lists (quoted, `&&`-joined) on the device; raises AdbCommandError on failure."""
        return self.shell_text(shell_line(*commands), timeout=timeout, check=check, retry=retry)

    def exec_out(self, argv: list[str], timeout: float | None = None, retry: bool = False) -> bytes:
        """Raw stdout (and stderr) of a command via `exec:`, binary-safe."""
        line = shell_line(argv)
        for attempt in range(2):
            try:
                return self._read_all(self._open(f"exec:{line}", timeout or self.command_timeout_s), line)
            except AdbConnectionLost:
                if not retry or attempt:
                    raise
        raise AssertionError("unreachable")

    def service(self, name: str, timeout: float | None = None) -> bytes:
        """Open any device service by name (e.g. the simulator's `vlagent:state`) and read it all."""
        return self._read_all(self._open(name, timeout or self.command_timeout_s), name)
