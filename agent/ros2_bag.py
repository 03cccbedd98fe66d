"""Robot episodes as rosbag2 bags with MCAP storage, written and read through `rosbags`.

`BagRecorder(path, topics)` writes a rosbag2 directory (`metadata.yaml` + one `.mcap` file, the
layout `ros2 bag record -s mcap` makes, which Foxglove and `ros2 bag play` open). Messages are
our `messages` classes, CDR-encoded by `vlagent.actuators.ros2.cdr` (the bytes that go on the
wire) and written with ROS 2 Humble's message definitions as the MCAP schemas, so readers that
know nothing of vlagent (rosbags, `mcap` with `mcap-ros2-support`) decode them.

`write(topic, msg, time_ns)` only queues: encoding and disk writes happen on one writer thread,
so a control loop never waits on the disk. `close()` drains the queue, finishes the file and
raises `BagError` if any write failed (a failure is never swallowed). The log time of a message
is `time_ns` (wall clock, ns since the epoch), the time vlagent received or sent it.

`read_bag(path)` yields `(topic, ros type name, log time ns, message)` in log-time order for the
topics whose types vlagent knows, for replay. Why rosbags: it is a maintained pure-Python
rosbag2 reader/writer that needs no ROS 2 install.
"""

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlagent.perception.errors import VlagentError

TASK_TOPIC = "/vlagent/task"  # std_msgs/String, the task text, written once at the start


class BagError(VlagentError, OSError):
    """A bag that cannot be written or read: the path exists, a disk error, not a rosbag2 bag."""


_CLOSE = object()


class BagRecorder:
    """A rosbag2 (MCAP) writer for `topics` ({topic: message class}); see the module docstring."""

    def __init__(self, path: str | Path, topics: dict[str, type], custom_data: dict[str, str] | None = None):
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore

        from vlagent.actuators.ros2.messages import ros_name

        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} already exists; a bag is never overwritten (choose a new path)")
        store = get_typestore(Stores.ROS2_HUMBLE)
        self._writer = Writer(self.path, version=8, storage_plugin=StoragePlugin.MCAP)
        try:
            self._writer.open()
            for key, value in (custom_data or {}).items():
                self._writer.set_custom_data(key, value)
            self._connections = {topic: self._writer.add_connection(topic, ros_name(cls), typestore=store)
                                 for topic, cls in topics.items()}
        except Exception as error:  # noqa: BLE001 - rosbags raises WriterError, OSError, ...
            raise BagError(f"cannot start bag {self.path}: {type(error).__name__}: {error}") from error
        self.counts = dict.fromkeys(topics, 0)
        self._queue: queue.Queue = queue.Queue()
        self._failure: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._drain, name="vlagent-bag", daemon=True)
        self._thread.start()

    def write(self, topic: str, msg: Any, time_ns: int | None = None) -> None:
        """Queue `msg` on `topic` (one of the recorder's topics) at log time `time_ns` (default now)."""
        if topic not in self._connections:
            raise BagError(f"{self.path}: {topic!r} is not one of this bag's topics ({', '.join(self._connections)})")
        if self._closed:
            raise BagError(f"{self.path} is closed; cannot record on {topic!r}")
        self._queue.put((topic, msg, time.time_ns() if time_ns is None else int(time_ns)))

    def _drain(self) -> None:
        from vlagent.actuators.ros2.cdr import serialize

        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            if self._failure is not None:
                continue
            topic, msg, time_ns = item
            try:
                self._writer.write(self._connections[topic], time_ns, serialize(msg))
                self.counts[topic] += 1
            except Exception as error:  # noqa: BLE001 - kept and raised by close()
                self._failure = error

    def close(self) -> dict[str, int]:
        """Write what is queued, finish the bag and return the message count per topic; idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(_CLOSE)
            self._thread.join()
            try:
                self._writer.close()
            except Exception as error:  # noqa: BLE001
                self._failure = self._failure or error
        if self._failure is not None:
            raise BagError(f"recording {self.path} failed: {type(self._failure).__name__}: {self._failure}")
        return dict(self.counts)

    def __enter__(self) -> "BagRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bag(path: str | Path) -> Iterator[tuple[str, str, int, Any]]:
    """(topic, ROS type name, log time ns, message) for every message of a known type, in log-time order.

    `path` is a rosbag2 directory or one .mcap file. Topics of other types are skipped.
    """
    from rosbags.rosbag2 import Reader

    from vlagent.actuators.ros2.cdr import deserialize
    from vlagent.actuators.ros2.messages import MESSAGE_TYPES

    path = Path(path)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as error:  # noqa: BLE001 - FileNotFoundError, ReaderError, yaml errors
        raise BagError(f"{path} is not a readable rosbag2 bag: {type(error).__name__}: {error}") from None
    try:
        known = [c for c in reader.connections if c.msgtype in MESSAGE_TYPES]
        for connection, time_ns, raw in reader.messages(connections=known):
            yield connection.topic, connection.msgtype, time_ns, deserialize(MESSAGE_TYPES[connection.msgtype], raw)
    finally:
        reader.close()


def bag_topics(path: str | Path) -> dict[str, tuple[str, int]]:
    """{topic: (ROS type name, message count)} of a bag, every type included."""
    from rosbags.rosbag2 import Reader

    try:
        with Reader(Path(path)) as reader:
            return {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
    except Exception as error:  # noqa: BLE001
        raise BagError(f"{path} is not a readable rosbag2 bag: {type(error).__name__}: {error}") from None
