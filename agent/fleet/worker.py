"""The Ray actor that drives one device: `DeviceWorker`, created by `start_worker`.

One actor per device, placed through the device's custom resource (`agent.fleet.devices`) on
the node that holds it; it runs one episode at a time (`agent.fleet.episode`). Ray restarts an
actor whose process dies (`max_restarts`); the call that was running fails in the driver, which
retries that episode on another worker (`max_task_retries=0`: Ray must not silently re-run an
episode on the same device). Actors take no CPU from Ray's accounting (`num_cpus=0`): the device
resource, one unit per device, is what limits them to one loop per device.

Where an episode is written: on the driver's own node, straight into the fleet's attempts
directory, so the steps of a worker killed mid-episode stay on disk; on another node, into a
scratch directory there, shipped back to the driver as a tar archive when the episode ends.
"""

import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from vlagent.agent.fleet.devices import Device
from vlagent.agent.fleet.episode import run_device_episode

WORKER_MAX_RESTARTS = 4


class DeviceWorker:
    """The actor's body (plain Python: `start_worker` wraps it with ray.remote)."""

    def __init__(self, device: str, config: dict[str, Any], driver_node: str, driver_cwd: str):
        import ray

        self.device = device
        self.config = config
        self.local = ray.get_runtime_context().get_node_id() == driver_node
        # Relative paths in the config (--model DIR) and user policy modules ("mymod:factory")
        # resolve as they do for `vlagent run` started where the fleet was started.
        if self.local and os.path.isdir(driver_cwd):
            os.chdir(driver_cwd)

    def pid(self) -> int:
        return os.getpid()

    def run(self, task: str, attempts_dir: str, attempt_name: str) -> dict[str, Any]:
        """Run one episode; the outcome names where the recording is (local) or carries it
        as a tar archive of the episode directory (`archive`, bytes) from another node."""
        if self.local:
            outcome = run_device_episode(self.device, task, self.config, Path(attempts_dir) / attempt_name)
            return {**outcome, "archive": None}
        with tempfile.TemporaryDirectory(prefix="vlagent-fleet-episode-") as scratch:
            episode_dir = Path(scratch) / attempt_name
            outcome = run_device_episode(self.device, task, self.config, episode_dir)
            return {**outcome, "archive": pack_directory(episode_dir)}


def pack_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(directory, arcname=".")
    return buffer.getvalue()


def unpack_directory(data: bytes, directory: Path) -> None:
    """Extract an archive made by `pack_directory` into `directory` (the "data" filter refuses
    absolute paths, links out of the directory and device files)."""
    directory.mkdir(parents=True, exist_ok=False)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(directory, filter="data")


def start_worker(device: Device, config: dict[str, Any], driver_node: str, driver_cwd: str):
    """The actor handle for `device` (ray must be initialised)."""
    import ray

    actor = ray.remote(DeviceWorker).options(
        resources={device.resource: 1}, num_cpus=0, max_restarts=WORKER_MAX_RESTARTS, max_task_retries=0,
        max_concurrency=1)
    return actor.remote(device.spec, config, driver_node, driver_cwd)
