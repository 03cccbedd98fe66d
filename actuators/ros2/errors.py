"""The errors of vlagent's ROS 2 layer, all `VlagentError`s beside a builtin base.

Kept in a module of their own, free of cyclonedds, so that code may catch them without
importing cyclonedds (whose `CYCLONEDDS_URI` must be set before it is imported).
"""

from vlagent.perception.errors import VlagentError


class Ros2Error(VlagentError, RuntimeError):
    """A ROS 2 transport failure: DDS unavailable, a topic that cannot be created, a closed transport."""


class CdrError(VlagentError, ValueError):
    """Bytes that are not a valid CDR encoding of the expected message type, or a value that
    cannot be encoded as one; the message names the type and what was wrong."""


class Ros2ConfigError(VlagentError, ValueError):
    """A ROS 2 setting that cannot be used: a bad topic name, QoS preset, ROS_DOMAIN_ID, or a
    CYCLONEDDS_URI that conflicts with one cyclonedds has already been imported under."""
