"""`Ros2CameraSource`: Frames from a ROS 2 camera topic (sensor_msgs/Image or CompressedImage) over DDS.

Contract:
- `decode_image(msg) -> np.ndarray` (H x W x 3 uint8 RGB) for sensor_msgs/Image with encoding
  rgb8, bgr8, rgba8, bgra8 or mono8. `step` is the row length in bytes (>= width * channels;
  rows may be padded) and is honoured. The buffer must hold `height` rows of `step` bytes (the
  last row's padding may be missing).
- `decode_compressed(msg) -> np.ndarray` for sensor_msgs/CompressedImage, JPEG or PNG through
  Pillow. The codec is read from the bytes' magic numbers, never from `format`, whose forms vary
  ("jpeg", "png", "bgr8; jpeg compressed bgr8", ...). A JPEG/PNG stores standard RGB whatever
  channel order the publisher had, so no channel swap is applied.
- Anything undecodable (wrong-size buffer, unknown encoding, step too small, zero size, bytes
  that are neither JPEG nor PNG or do not decode) raises `Ros2ImageError` (a `ValueError`)
  naming the field and the numbers.
- `Ros2CameraSource(topic, ...)` subscribes (camera QoS: best-effort, keep-last 1) and keeps ONE
  newest-message slot, never a queue. `capture()` returns a `Frame` built from the newest
  message whose age (monotonic receive time vs now, seconds) is <= `max_age_s`, waiting up to
  `wait_s` seconds for one, else raises `Ros2FrameTimeout` (a `TimeoutError`). A message older
  than `max_age_s` is dropped, never handed over. Only the message handed over is decoded (at
  capture, lazily). `Frame.meta` holds `age_s` (s, at hand-over), `encoding` (Image encoding or
  CompressedImage format string), `stamp` (header stamp, s since the epoch, float), `frame_id`,
  `topic`, `dropped` (stale messages dropped so far). `captured_at` is the wall-clock receive time;
  the image is in frame px == camera px (identity `to_device`). `last_message` is the ROS message
  the last handed-over frame was decoded from (for recording it as received).

Why a newest slot: a model that takes hundreds of ms per decision, fed from a queue, acts on
frames that are seconds old (a known field failure on robots); here the policy always sees the
newest frame, or an error when the camera has gone quiet, never a stale one.

Importing this module does not import cyclonedds (CYCLONEDDS_URI must be set first; see
`vlagent.actuators.ros2.transport`): the transport and message types are imported when a
source is created.
"""

import threading
import time
from typing import Any

import numpy as np

from vlagent.perception.coords import identity
from vlagent.perception.errors import VlagentError
from vlagent.perception.frame import Frame


class Ros2ImageError(VlagentError, ValueError):
    """A ROS 2 image message that cannot be decoded; the message names the field and the numbers."""


class Ros2FrameTimeout(VlagentError, TimeoutError):
    """No camera message young enough (age <= max_age_s) arrived within wait_s."""

    hint = "check the camera topic name, message type and that the camera publishes (`ros2 topic hz TOPIC`)"


CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    try:
        return bytes(data)
    except (TypeError, ValueError) as error:
        raise Ros2ImageError(f"image data must be bytes or a sequence of 0..255, got "
                             f"{type(data).__name__}: {error}") from None


def decode_image(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> H x W x 3 uint8 RGB (a new, contiguous array)."""
    encoding = str(getattr(msg, "encoding", "")).strip().lower()
    if encoding not in CHANNELS:
        raise Ros2ImageError(f"Image.encoding {getattr(msg, 'encoding', None)!r} is not supported "
                             f"(supported: {', '.join(CHANNELS)})")
    channels = CHANNELS[encoding]
    height, width, step = (int(getattr(msg, name, 0)) for name in ("height", "width", "step"))
    if height <= 0 or width <= 0:
        raise Ros2ImageError(f"Image size {width}x{height} px is empty (width and height must be > 0)")
    row = width * channels
    if step < row:
        raise Ros2ImageError(f"Image.step {step} bytes is smaller than width {width} x {channels} channels "
                             f"= {row} bytes ({encoding})")
    data = _as_bytes(getattr(msg, "data", b""))
    least, full = (height - 1) * step + row, height * step
    if not least <= len(data) <= full:
        wanted = f"{full}" if least == full else f"{least}..{full}"
        raise Ros2ImageError(f"Image.data has {len(data)} bytes, expected {wanted} for {height} rows of step "
                             f"{step} ({width}x{height} {encoding})")
    pixels = np.ndarray((height, width, channels), dtype=np.uint8, buffer=data, strides=(step, channels, 1))
    if encoding == "rgb8":
        rgb = pixels
    elif encoding == "bgr8":
        rgb = pixels[..., ::-1]
    elif encoding == "rgba8":
        rgb = pixels[..., :3]
    elif encoding == "bgra8":
        rgb = pixels[..., 2::-1]
    else:  # mono8
        rgb = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(rgb)


def compressed_codec(data: bytes) -> str | None:
    """"jpeg" or "png" from the magic numbers at the start of `data`, else None."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    return None


def decode_compressed(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG or PNG, detected from the bytes) -> H x W x 3 uint8 RGB."""
    import io

    from PIL import Image as PILImage

    data = _as_bytes(getattr(msg, "data", b""))
    fmt = getattr(msg, "format", "")
    codec = compressed_codec(data)
    if codec is None:
        raise Ros2ImageError(f"CompressedImage.data ({len(data)} bytes, starting {data[:8].hex(' ') or 'empty'}) "
                             f"is neither JPEG nor PNG (format string {fmt!r})")
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, DecompressionBombError, ...
        raise Ros2ImageError(f"CompressedImage.data ({len(data)} bytes of {codec}, format string {fmt!r}) does not "
                             f"decode: {type(error).__name__}: {error}") from None
    if rgb.ndim != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise Ros2ImageError(f"CompressedImage decoded to shape {rgb.shape}, not an H x W x 3 image")
    return np.ascontiguousarray(rgb)


def _stamp(msg: Any) -> float | None:
    try:
        stamp = msg.header.stamp
        return float(stamp.sec) + float(stamp.nanosec) * 1e-9
    except AttributeError:
        return None


class Ros2CameraSource:
    """Capture Frames from ROS 2 camera `topic`; see the module docstring.

    topic: e.g. "/camera/image_raw" (Image) or "/camera/image_raw/compressed" with `compressed`.
    transport: a `vlagent.actuators.ros2.transport` Transport; None creates a `CycloneTransport()`
      (ROS_DOMAIN_ID, CYCLONEDDS_URI from the environment), closed by `close()`.
    max_age_s: the oldest message (s since it was received) `capture()` hands over.
    wait_s: how long `capture()` waits (s) for a young enough message before `Ros2FrameTimeout`.
    new_only: hand each message over at most once (a control node decides once per camera frame);
      by default a fresh frame may be handed over again.
    """

    def __init__(self, topic: str, transport: Any = None, max_age_s: float = 0.5, compressed: bool = False,
                 wait_s: float = 2.0, new_only: bool = False):
        from vlagent.perception.errors import ConfigError

        if not (isinstance(max_age_s, (int, float)) and max_age_s > 0):
            raise ConfigError(f"max_age_s must be > 0 seconds, got {max_age_s!r}")
        if not (isinstance(wait_s, (int, float)) and wait_s >= 0):
            raise ConfigError(f"wait_s must be >= 0 seconds, got {wait_s!r}")
        from vlagent.actuators.ros2 import messages
        from vlagent.actuators.ros2.transport import QOS_PRESETS, CycloneTransport

        self.topic, self.max_age_s, self.wait_s, self.compressed = topic, float(max_age_s), float(wait_s), compressed
        self.new_only = new_only
        self.name = f"ros2:{topic}"
        self._cls = messages.CompressedImage if compressed else messages.Image
        self._owned = transport is None
        self.transport = CycloneTransport() if transport is None else transport
        self._cond = threading.Condition()
        self._slot: tuple[Any, float, float] | None = None  # (msg, monotonic receive, wall receive)
        self.received = self.dropped = 0
        self.last_message: Any = None
        self._closed = False
        try:
            qos_for = getattr(self.transport, "qos_for", None)
            if qos_for is not None and qos_for(topic, self._cls) != QOS_PRESETS["camera"]:
                self.transport.set_qos(topic, "camera")
            self._subscription = self.transport.subscribe(topic, self._cls, callback=self._on_message)
        except BaseException:
            if self._owned:
                self.transport.close()
            raise

    def _on_message(self, msg: Any) -> None:
        """Runs on a DDS thread: replace the slot with the newest message (no decoding here)."""
        with self._cond:
            self._slot = (msg, time.monotonic(), time.time())
            self.received += 1
            self._cond.notify_all()

    def capture(self) -> Frame:
        """The newest frame no older than `max_age_s`, waiting up to `wait_s`; else `Ros2FrameTimeout`."""
        deadline = time.monotonic() + self.wait_s
        last_age = None
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    slot = self._slot
                    if slot is not None:
                        last_age = now - slot[1]
                        if last_age <= self.max_age_s:
                            break
                        self._slot, slot = None, None  # stale: dropped, never handed over
                        self.dropped += 1
                    if self._closed or now >= deadline:
                        seen = "no message yet" if last_age is None else f"the newest was {last_age:.3f} s old"
                        raise Ros2FrameTimeout(
                            f"no frame on {self.topic!r} younger than max_age_s={self.max_age_s} s within "
                            f"wait_s={self.wait_s} s ({seen}; {self.received} received, {self.dropped} dropped as stale)")
                    self._cond.wait(deadline - now)
            msg, received_mono, received_wall = slot
            if self.new_only:
                with self._cond:
                    if self._slot is slot:
                        self._slot = None  # handed over: the next capture waits for a newer message
            image = decode_compressed(msg) if self.compressed else decode_image(msg)
            age = time.monotonic() - received_mono
            if age > self.max_age_s:  # went stale while decoding; look again
                with self._cond:
                    if self._slot is slot:
                        self._slot = None
                        self.dropped += 1
                continue
            meta = {"age_s": age, "encoding": getattr(msg, "format" if self.compressed else "encoding", ""),
                    "stamp": _stamp(msg), "frame_id": getattr(getattr(msg, "header", None), "frame_id", ""),
                    "topic": self.topic, "dropped": self.dropped}
            self.last_message = msg
            return Frame(image=image, captured_at=received_wall, to_device=identity((image.shape[1], image.shape[0])),
                         source=self.name, meta=meta)

    def close(self) -> None:
        """Unsubscribe (and close the transport when this source created it); idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._subscription.close()
        if self._owned:
            self.transport.close()

    def __enter__(self) -> "Ros2CameraSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
