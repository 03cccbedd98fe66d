"""Publish and subscribe ROS 2 messages over DDS: the `Transport` protocol and its CycloneDDS backend.

Contract of a `Transport`:
- `publish(topic, msg)`: send one message (a class from `messages`) on a ROS 2 topic
  ("/cmd_vel" or "cmd_vel"; both name the same topic). The first publish on a topic fixes its
  type and creates its writer.
- `subscribe(topic, cls, callback=None)`: returns a `Subscription` whose `take()` returns
  the samples received since the last call and `latest()` the newest one; with `callback`,
  each sample is handed to `callback(msg)` on a DDS thread as it arrives (and so is not
  returned again by `take()`; `latest()` still is). Image and CompressedImage `data` arrive as `bytes`.
- `close()`: waits (at most `CLOSE_ACK_S` s) until reliable readers have acknowledged what
  was written, so a last zero velocity is delivered before the process exits, then releases
  every writer, reader and the participant; idempotent.

ROS 2 naming (what rmw_cyclonedds and rmw_fastrtps put on the wire): topic "/ns/cmd_vel" is
the DDS topic "rt/ns/cmd_vel"; types are `pkg::msg::dds_::Name_` (see `messages`); the DDS
domain is `ROS_DOMAIN_ID` (default 0). A wrong name, type or QoS raises nothing on either
side: it silently delivers nothing, which is why these names are built here in one place.

QoS presets (`QOS_PRESETS`): "camera" = best-effort, keep-last 1 (a best-effort reader
matches both best-effort and reliable writers, and never queues stale frames); "commands" =
reliable, keep-last 10 (ROS 2's default profile). Both volatile. Images (Image,
CompressedImage) default to "camera", everything else to "commands"; `qos={topic: preset}`
or `set_qos(topic, preset)` overrides per topic, before the topic's first use.

Loopback-only discovery: `loopback_uri()` is a CYCLONEDDS_URI config that selects interface
`lo`, disables multicast and lists peer 127.0.0.1, so tests and a single-host setup never
reach the LAN. Rule: CYCLONEDDS_URI must be in the environment BEFORE cyclonedds is first
imported (by anything, `messages` included). This module therefore imports cyclonedds only
inside functions, and `CycloneTransport(loopback=True)` sets the variable when cyclonedds is
not imported yet, and raises `Ros2ConfigError` when it is and the variable holds anything else.

Why hand-written: rclpy is not on PyPI and needs a ROS 2 install; cyclonedds (PyPI, with its
own libddsc) speaks the same wire protocol. An rclpy backend of this same protocol, used where
rclpy is importable, is `vlagent.actuators.ros2.rclpy_transport`; `open_transport` picks one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vlagent.actuators.ros2.errors import Ros2ConfigError, Ros2Error

log = logging.getLogger(__name__)

DOMAIN_ENV = "ROS_DOMAIN_ID"
URI_ENV = "CYCLONEDDS_URI"
TOPIC_PREFIX = "rt/"
MAX_DOMAIN_ID = 232  # the largest id whose DDS ports stay valid (ROS 2's documented limit)


@dataclass(frozen=True)
class QosProfile:
    """The QoS a topic's readers and writers use: `reliable` (else best-effort) and keep-last `depth`."""

    reliable: bool
    depth: int

    def __post_init__(self):
        if not isinstance(self.depth, int) or isinstance(self.depth, bool) or self.depth < 1:
            raise Ros2ConfigError(f"QoS depth must be a positive int, got {self.depth!r}")


QOS_PRESETS: dict[str, QosProfile] = {
    "camera": QosProfile(reliable=False, depth=1),
    "commands": QosProfile(reliable=True, depth=10),
}
RELIABLE_MAX_BLOCKING_S = 1.0  # how long a reliable write may block on a full peer before failing
CLOSE_ACK_S = 0.5  # how long close() waits for reliable readers to acknowledge the last writes


def loopback_uri(max_participants: int = 30) -> str:
    """A CYCLONEDDS_URI value (inline XML) for discovery over loopback only.

    Interface `lo`, multicast off, unicast discovery with peer 127.0.0.1. With unicast
    discovery a host holds at most `max_participants` + 1 participants (MaxAutoParticipantIndex).
    Must be in `os.environ["CYCLONEDDS_URI"]` before cyclonedds is imported.
    """
    return ('<CycloneDDS><Domain id="any">'
            '<General><Interfaces><NetworkInterface name="lo"/></Interfaces>'
            '<AllowMulticast>false</AllowMulticast></General>'
            '<Discovery><ParticipantIndex>auto</ParticipantIndex>'
            f'<MaxAutoParticipantIndex>{int(max_participants)}</MaxAutoParticipantIndex>'
            '<Peers><Peer address="127.0.0.1"/></Peers></Discovery>'
            '</Domain></CycloneDDS>')


def use_loopback(environ=None) -> None:
    """Put `loopback_uri()` into CYCLONEDDS_URI, keeping the rule that it precedes the cyclonedds import.

    Sets it when cyclonedds is not imported yet; accepts it as is when it already holds exactly
    that value; otherwise raises `Ros2ConfigError`, since an imported cyclonedds may already have
    read the old value (and would discover over the LAN).
    """
    environ = os.environ if environ is None else environ
    wanted = loopback_uri()
    current = environ.get(URI_ENV)
    if current == wanted:
        return
    if "cyclonedds" in sys.modules:
        raise Ros2ConfigError(
            f"loopback discovery needs CYCLONEDDS_URI set before cyclonedds is imported, but cyclonedds "
            f"is already imported and CYCLONEDDS_URI is {current!r}; set CYCLONEDDS_URI to "
            "vlagent.actuators.ros2.transport.loopback_uri() before importing vlagent.actuators.ros2.messages")
    environ[URI_ENV] = wanted


def dds_topic(topic: str) -> str:
    """The DDS topic name of a ROS 2 topic: "/ns/cmd_vel" and "ns/cmd_vel" -> "rt/ns/cmd_vel"."""
    if not isinstance(topic, str):
        raise Ros2ConfigError(f"a ROS 2 topic name must be a str, got {type(topic).__name__}")
    name = topic[1:] if topic.startswith("/") else topic
    if not name or name.endswith("/") or "//" in name or any(c.isspace() for c in name) or "~" in name:
        raise Ros2ConfigError(f"{topic!r} is not a usable ROS 2 topic name (expected e.g. '/cmd_vel' or 'camera/image_raw')")
    return TOPIC_PREFIX + name


def domain_id(environ=None) -> int:
    """The DDS domain: ROS_DOMAIN_ID from the environment, 0 when unset or empty."""
    environ = os.environ if environ is None else environ
    raw = environ.get(DOMAIN_ENV, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise Ros2ConfigError(f"ROS_DOMAIN_ID={raw!r} is not an integer") from None
    if not 0 <= value <= MAX_DOMAIN_ID:
        raise Ros2ConfigError(f"ROS_DOMAIN_ID={value} is outside 0..{MAX_DOMAIN_ID}")
    return value


def _preset(qos: str | QosProfile) -> QosProfile:
    if isinstance(qos, QosProfile):
        return qos
    try:
        return QOS_PRESETS[qos]
    except (KeyError, TypeError):
        raise Ros2ConfigError(f"unknown QoS preset {qos!r}; known: {', '.join(QOS_PRESETS)}") from None


class Subscription(Protocol):
    """What `Transport.subscribe` returns."""

    def take(self) -> list[Any]:
        """The samples received since the last `take` (oldest first; at most the QoS depth)."""

    def latest(self) -> Any | None:
        """The newest sample received so far (kept across calls), or None before the first."""

    def close(self) -> None:
        """Stop receiving; idempotent."""


class Transport(Protocol):
    """Publish and subscribe ROS 2 messages (see the module docstring for the contract)."""

    def publish(self, topic: str, msg: Any) -> None: ...

    def subscribe(self, topic: str, cls: type, callback: Callable[[Any], None] | None = None) -> Subscription: ...

    def close(self) -> None: ...


def _cyclone_qos(profile: QosProfile):
    from cyclonedds.core import Policy, Qos
    from cyclonedds.util import duration

    reliability = (Policy.Reliability.Reliable(max_blocking_time=duration(seconds=RELIABLE_MAX_BLOCKING_S))
                   if profile.reliable else Policy.Reliability.BestEffort)
    return Qos(reliability, Policy.Durability.Volatile, Policy.History.KeepLast(profile.depth))


def _delete(entity) -> None:
    """Delete a cyclonedds entity now rather than at garbage collection (its __del__ is idempotent)."""
    try:
        entity.__del__()
    except Exception:  # noqa: BLE001 - closing must not fail half-way
        log.debug("deleting %r failed", entity, exc_info=True)


class CycloneSubscription:
    """A DDS reader on one topic; see `Subscription`. Created by `CycloneTransport.subscribe`."""

    def __init__(self, reader, cls: type, topic: str, depth: int):
        self.topic, self.cls = topic, cls
        self._reader, self._depth = reader, depth
        self._lock = threading.Lock()
        self._latest = None
        self._closed = False

    def _take_valid(self) -> list[Any]:
        from cyclonedds.internal import InvalidSample

        from vlagent.actuators.ros2.cdr import data_as_bytes

        with self._lock:
            if self._closed:
                return []
            try:
                samples = self._reader.take(N=max(self._depth, 64))
            except Exception as error:  # noqa: BLE001 - a DDSException or a decode error
                raise Ros2Error(f"taking samples of {self.cls.__name__} on {self.topic!r} failed: {error}") from error
            valid = [s for s in samples if not isinstance(s, InvalidSample)]  # writer gone / disposed
            for sample in valid:
                if hasattr(sample, "sample_info"):
                    del sample.sample_info  # DDS bookkeeping; callers get plain messages
                data_as_bytes(sample)
            if valid:
                self._latest = valid[-1]
            return valid

    def take(self) -> list[Any]:
        return self._take_valid()

    def latest(self) -> Any | None:
        self._take_valid()
        return self._latest

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            reader, self._reader = self._reader, None
        try:
            reader.set_listener(None)
        except Exception:  # noqa: BLE001
            log.debug("clearing the listener of %s failed", self.topic, exc_info=True)
        _delete(reader)


class CycloneTransport:
    """`Transport` over CycloneDDS (the `cyclonedds` PyPI package), speaking ROS 2 on the wire.

    `domain`: the DDS domain (default `ROS_DOMAIN_ID`, else 0). `loopback`: discover over
    127.0.0.1 only (see `use_loopback` for the import-order rule). `qos`: per-topic QoS,
    topic -> preset name ("camera", "commands") or `QosProfile`.
    """

    def __init__(self, domain: int | None = None, loopback: bool = False,
                 qos: dict[str, str | QosProfile] | None = None):
        if loopback:
            use_loopback()
        self.domain = domain_id() if domain is None else domain
        if not isinstance(self.domain, int) or not 0 <= self.domain <= MAX_DOMAIN_ID:
            raise Ros2ConfigError(f"DDS domain {self.domain!r} is outside 0..{MAX_DOMAIN_ID}")
        self._qos: dict[str, QosProfile] = {}
        for topic, preset in (qos or {}).items():
            self.set_qos(topic, preset)
        self._lock = threading.RLock()
        self._topics: dict[str, Any] = {}  # DDS name -> cyclonedds Topic
        self._types: dict[str, type] = {}
        self._writers: dict[str, Any] = {}
        self._subscriptions: list[CycloneSubscription] = []
        self._closed = False
        try:
            from cyclonedds.domain import DomainParticipant
            self._participant = DomainParticipant(self.domain)
        except ImportError as error:
            raise Ros2Error(f"cyclonedds is not importable ({error}); install vlagent's `ros` extra") from error
        except Exception as error:  # noqa: BLE001 - DDSException: bad config, no interface, too many participants
            raise Ros2Error(f"cannot join DDS domain {self.domain} (CYCLONEDDS_URI={os.environ.get(URI_ENV)!r}): "
                            f"{error}") from error

    def set_qos(self, topic: str, qos: str | QosProfile) -> None:
        """Use `qos` (a preset name or a `QosProfile`) for `topic`; only before the topic is first used."""
        name = dds_topic(topic)
        if name in getattr(self, "_topics", {}):
            raise Ros2ConfigError(f"{topic!r} is already in use; set its QoS before the first publish or subscribe")
        self._qos[name] = _preset(qos)

    def qos_for(self, topic: str, cls: type) -> QosProfile:
        """The QoS `topic` uses: its own setting, else "camera" for images and "commands" for the rest."""
        name = dds_topic(topic)
        if name in self._qos:
            return self._qos[name]
        from vlagent.actuators.ros2.messages import CompressedImage, Image
        return QOS_PRESETS["camera" if cls in (Image, CompressedImage) else "commands"]

    def _topic(self, topic: str, cls: type):
        from vlagent.actuators.ros2.messages import MESSAGE_TYPES

        if cls not in MESSAGE_TYPES.values():
            raise Ros2ConfigError(f"{getattr(cls, '__name__', cls)!r} is not one of vlagent's ROS 2 message types "
                                  f"({', '.join(MESSAGE_TYPES)})")
        name = dds_topic(topic)
        if self._closed:
            raise Ros2Error(f"this transport is closed; cannot use {topic!r}")
        known = self._types.get(name)
        if known is not None and known is not cls:
            raise Ros2ConfigError(f"{topic!r} carries {known.__name__} here; it cannot also carry {cls.__name__}")
        if name not in self._topics:
            from cyclonedds.topic import Topic
            try:
                self._topics[name] = Topic(self._participant, name, cls)
            except Exception as error:  # noqa: BLE001 - DDSException
                raise Ros2Error(f"cannot create DDS topic {name!r} of {cls.__idl_typename__}: {error}") from error
            self._types[name] = cls
        return name, self._topics[name]

    def publish(self, topic: str, msg: Any) -> None:
        """Send `msg` on `topic`; raises `Ros2Error` when DDS refuses it (e.g. a reliable write timing out)."""
        with self._lock:
            name, dds = self._topic(topic, type(msg))
            writer = self._writers.get(name)
            if writer is None:
                from cyclonedds.pub import DataWriter
                try:
                    writer = DataWriter(self._participant, dds, qos=_cyclone_qos(self.qos_for(topic, type(msg))))
                except Exception as error:  # noqa: BLE001
                    raise Ros2Error(f"cannot create a writer on {name!r}: {error}") from error
                self._writers[name] = writer
        try:
            writer.write(msg)
        except Exception as error:  # noqa: BLE001 - DDSException (timeout) or an unencodable value
            raise Ros2Error(f"publishing {type(msg).__name__} on {name!r} failed: {type(error).__name__}: {error}") from error

    def subscribe(self, topic: str, cls: type, callback: Callable[[Any], None] | None = None) -> CycloneSubscription:
        """A reader of `cls` messages on `topic`; `callback(msg)` (on a DDS thread) for each one when given."""
        from cyclonedds.core import Listener
        from cyclonedds.sub import DataReader

        with self._lock:
            name, dds = self._topic(topic, cls)
            profile = self.qos_for(topic, cls)
            holder: list[CycloneSubscription] = []

            def on_data_available(_reader):
                if not holder:
                    return
                try:
                    for msg in holder[0].take():
                        callback(msg)
                except Exception:  # noqa: BLE001 - an exception must not unwind into libddsc's thread
                    log.exception("callback for %s failed", name)

            listener = Listener(on_data_available=on_data_available) if callback else None
            try:
                reader = DataReader(self._participant, dds, qos=_cyclone_qos(profile), listener=listener)
            except Exception as error:  # noqa: BLE001
                raise Ros2Error(f"cannot create a reader on {name!r}: {error}") from error
            subscription = CycloneSubscription(reader, cls, topic, profile.depth)
            holder.append(subscription)
            self._subscriptions.append(subscription)
            return subscription

    def close(self) -> None:
        """Delete every reader, writer, topic and the participant; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for subscription in self._subscriptions:
                subscription.close()
            self._wait_for_acks(CLOSE_ACK_S)
            for entity in [*self._writers.values(), *self._topics.values()]:
                _delete(entity)
            self._subscriptions, self._writers, self._topics = [], {}, {}
            _delete(self._participant)

    def _wait_for_acks(self, timeout_s: float) -> None:
        from cyclonedds.util import duration

        deadline = time.monotonic() + timeout_s
        for writer in self._writers.values():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                writer.wait_for_acks(duration(seconds=left))
            except Exception:  # noqa: BLE001 - a best-effort writer or a gone peer: nothing to wait for
                log.debug("waiting for acknowledgements failed", exc_info=True)

    def __enter__(self) -> CycloneTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
