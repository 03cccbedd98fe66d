"""Launch helpers for tests, benchmarks and demos: a real adb server on a private port,
and `vlagent sim-device` processes connected to it with `adb connect`.

Nothing here stands in for adb: clients talk to Debian's `adb` server through adbutils, and
the server talks to the simulated device over TCP, as with a phone on Wi-Fi debugging.
"""

import json
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from vlagent.perception.errors import VlagentError


class AdbMissing(VlagentError, RuntimeError):
    """The `adb` executable is not on PATH."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def adb_executable() -> str:
    path = shutil.which("adb")
    if path is None:
        raise AdbMissing("the adb server is not installed: run scripts/install-system.sh (Debian package adb)")
    return path


class AdbServer:
    """`adb -P PORT start-server`, stopped with `adb -P PORT kill-server`."""

    def __init__(self) -> None:
        self.adb = adb_executable()
        self.port = free_port()
        self.run("start-server")

    def run(self, *args: str, timeout: float = 30) -> str:
        result = subprocess.run([self.adb, "-P", str(self.port), *args], capture_output=True, text=True,
                                timeout=timeout)
        return result.stdout + result.stderr

    def states(self) -> dict[str, str]:
        lines = self.run("devices").splitlines()[1:]
        return dict(line.split("\t", 1) for line in lines if "\t" in line)

    def stop(self) -> None:
        self.run("kill-server")


class SimDeviceProcess:
    """A `vlagent sim-device` subprocess; `start()` waits for its port and connects it."""

    def __init__(self, server: AdbServer, *args: str, port: int = 0):
        self.server = server
        self.args = args
        self.port = port
        self.process: subprocess.Popen | None = None
        self.errors = None

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        exe = shutil.which("vlagent")
        head = [exe] if exe else [sys.executable, "-m", "vlagent.agent.cli"]
        return [*head, "sim-device", "--port", str(self.port), *self.args]

    def spawn(self, timeout: float = 30) -> None:
        """Start the process and wait (bounded) for its 'listening' line; no adb connect.

        stderr goes to a temporary file, so a chatty device can never block on a full pipe.
        """
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self.errors, text=True)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.process.stdout], [], [], remaining)[0]:
                break
            line = self.process.stdout.readline()
            if "listening on" in line:
                self.port = int(line.rsplit(":", 1)[1])
                return
        self.kill()
        self.errors.seek(0)
        raise RuntimeError(f"sim-device did not start within {timeout} s: {self.errors.read().decode()[-2000:]}")

    def start(self, timeout: float = 30) -> "SimDeviceProcess":
        self.spawn(timeout)
        output = self.server.run("connect", self.serial)
        if "connected" not in output:
            raise RuntimeError(f"adb connect {self.serial} failed: {output}")
        deadline = time.monotonic() + timeout
        while self.server.states().get(self.serial) != "device":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.serial} never reached state 'device': {self.server.states()}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: the device vanishes without a goodbye, like a phone whose cable is pulled."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for stream in (self.process.stdout if self.process else None, self.errors):
            if stream is not None:
                stream.close()
        self.server.run("disconnect", self.serial)


def query(device, name: str):
    """A simulator-only service (`vlagent:state`, `vlagent:log`, ...) as JSON."""
    return json.loads(device.service(f"vlagent:{name}"))


