"""A real `vlagent serve` process for tests: started on a free loopback port, torch unimportable."""

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.notorch import env_without_torch

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "vlagent.agent.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args, port=None, env=None):
    """(process, base URL) of a server process with torch unimportable (tests/notorch_site):
    serving never needs it."""
    port = port or free_port()
    env = env_without_torch(env)
    process = subprocess.Popen([*CLI, "serve", "--port", str(port), *args], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def stop_server(process) -> None:
    process.terminate()
    try:
        process.communicate(timeout=15)  # also closes the stderr pipe
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
