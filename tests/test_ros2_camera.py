"""Ros2CameraSource: image decoding (encodings, padded step, CompressedImage by magic number),
the newest-frame slot with its age limit, and a real 30 Hz camera over loopback DDS between
separate processes (tests/ros2_camera_peer.py) read by a 300 ms "policy"."""

import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image as PILImage

from vlagent.perception.errors import VlagentError
from vlagent.perception.sources.ros2 import (
    Ros2CameraSource,
    Ros2FrameTimeout,
    Ros2ImageError,
    decode_compressed,
    decode_image,
)

PEER = Path(__file__).with_name("ros2_camera_peer.py")
RGB = np.random.default_rng(7).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)


def image_msg(pixels, encoding, step=None, data=None):
    height, width = pixels.shape[:2]
    flat = pixels.reshape(height, -1)
    step = flat.shape[1] if step is None else step
    padded = np.zeros((height, step), dtype=np.uint8)
    padded[:, :flat.shape[1]] = flat
    return SimpleNamespace(height=height, width=width, encoding=encoding, step=step, is_bigendian=0,
                           data=padded.tobytes() if data is None else data,
                           header=SimpleNamespace(stamp=SimpleNamespace(sec=12, nanosec=500_000_000),
                                                  frame_id="cam"))


def test_rgb8_and_bgr8_of_the_same_picture_give_the_same_rgb_pixels():
    rgb = decode_image(image_msg(RGB, "rgb8"))
    bgr = decode_image(image_msg(RGB[..., ::-1], "bgr8"))
    assert rgb.dtype == np.uint8 and rgb.shape == (5, 7, 3) and rgb.flags.c_contiguous
    np.testing.assert_array_equal(rgb, RGB)
    np.testing.assert_array_equal(bgr, RGB)


def test_rgba8_bgra8_and_mono8():
    alpha = np.full((5, 7, 1), 99, dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(image_msg(np.concatenate([RGB, alpha], 2), "rgba8")), RGB)
    np.testing.assert_array_equal(decode_image(image_msg(np.concatenate([RGB[..., ::-1], alpha], 2), "bgra8")), RGB)
    gray = RGB[..., :1]
    mono = decode_image(image_msg(gray, "mono8"))
    assert mono.shape == (5, 7, 3)
    for c in range(3):
        np.testing.assert_array_equal(mono[..., c], gray[..., 0])


@pytest.mark.parametrize("encoding, pixels", [("rgb8", RGB), ("bgr8", RGB[..., ::-1]), ("mono8", RGB[..., :1])])
def test_a_padded_step_decodes_right(encoding, pixels):
    step = pixels.shape[1] * pixels.shape[2] + 11  # rows padded with zeros
    out = decode_image(image_msg(pixels, encoding, step=step))
    wanted = RGB if encoding != "mono8" else np.repeat(RGB[..., :1], 3, 2)
    np.testing.assert_array_equal(out, wanted)
    # the last row's padding may be missing
    short = image_msg(pixels, encoding, step=step)
    short.data = short.data[:-11]
    np.testing.assert_array_equal(decode_image(short), wanted)


@pytest.mark.parametrize("change, match", [
    ({"data": b"\x00" * 10}, r"Image.data has 10 bytes, expected 105 for 5 rows of step 21"),
    ({"encoding": "yuv422"}, r"Image.encoding 'yuv422' is not supported"),
    ({"step": 20}, r"Image.step 20 bytes is smaller than width 7 x 3 channels = 21"),
    ({"width": 0}, r"Image size 0x5 px is empty"),
    ({"data": b"\x00" * 200}, r"Image.data has 200 bytes"),
])
def test_bad_images_are_typed_errors(change, match):
    msg = image_msg(RGB, "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(Ros2ImageError, match=match) as caught:
        decode_image(msg)
    assert isinstance(caught.value, VlagentError) and isinstance(caught.value, ValueError)


def _encoded(kind):
    buffer = io.BytesIO()
    PILImage.fromarray(RGB).save(buffer, format=kind, **({"quality": 100, "subsampling": 0} if kind == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("kind, fmt", [
    ("JPEG", "bgr8; jpeg compressed bgr8"), ("JPEG", "png"), ("PNG", "jpeg"), ("PNG", "rgb8; png compressed rgb8"),
    ("PNG", "")])
def test_compressed_jpeg_and_png_decode_whatever_the_format_string_says(kind, fmt):
    out = decode_compressed(SimpleNamespace(format=fmt, data=_encoded(kind)))
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    if kind == "PNG":
        np.testing.assert_array_equal(out, RGB)
    else:
        assert np.abs(out.astype(int) - RGB.astype(int)).mean() < 12  # lossy, but not channel-swapped


@pytest.mark.parametrize("data, match", [
    (b"GIF89a....", r"neither JPEG nor PNG \(format string 'jpeg'\)"),
    (b"", r"0 bytes, starting empty"),
    (b"\xff\xd8\xff\xe0garbage", r"11 bytes of jpeg, format string 'jpeg'\) does not decode"),
])
def test_undecodable_compressed_images_are_typed_errors(data, match):
    with pytest.raises(Ros2ImageError, match=match):
        decode_compressed(SimpleNamespace(format="jpeg", data=data))


class FakeTransport:
    """Just enough of a Transport: `deliver(msg)` plays the DDS thread calling the callback."""

    def __init__(self):
        self.callback, self.closed = None, False

    def subscribe(self, topic, cls, callback=None):
        self.topic, self.cls, self.callback = topic, cls, callback
        return SimpleNamespace(close=lambda: None)

    def deliver(self, msg):
        self.callback(msg)


def test_the_slot_hands_over_the_newest_fresh_frame_and_drops_stale_ones():
    pytest.importorskip("cyclonedds")
    transport = FakeTransport()
    source = Ros2CameraSource("/cam", transport=transport, max_age_s=0.1, wait_s=0.05)
    assert transport.cls.__name__ == "Image"
    with pytest.raises(Ros2FrameTimeout, match="no message yet") as caught:
        source.capture()
    assert isinstance(caught.value, VlagentError) and isinstance(caught.value, TimeoutError)
    transport.deliver(image_msg(RGB, "bgr8"))
    transport.deliver(image_msg(RGB, "rgb8"))  # the newest replaces the slot
    frame = source.capture()
    np.testing.assert_array_equal(frame.image, RGB)
    assert frame.meta["encoding"] == "rgb8" and frame.meta["stamp"] == 12.5 and frame.meta["frame_id"] == "cam"
    assert 0 <= frame.meta["age_s"] <= 0.1 and frame.source == "ros2:/cam" and frame.to_device.src == (7, 5)
    time.sleep(0.15)
    with pytest.raises(Ros2FrameTimeout, match="dropped as stale"):
        source.capture()
    assert source.dropped == 1
    source.close()


def test_a_30hz_camera_read_by_a_300ms_policy_gets_only_fresh_newest_frames():
    env = {**os.environ, "ROS_DOMAIN_ID": str(random.randint(100, 200))}  # away from other tests' traffic
    env.pop("CYCLONEDDS_URI", None)
    publisher = subprocess.Popen([sys.executable, str(PEER), "pub", "16"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        done = subprocess.run([sys.executable, str(PEER), "sub", "8"], env=env,
                              capture_output=True, text=True, timeout=20)
    finally:
        publisher.kill()
        _, publisher_err = publisher.communicate(timeout=10)
    assert done.returncode == 0, (done.stdout, done.stderr[-3000:], publisher_err[-3000:])
    captures = json.loads(done.stdout.strip().splitlines()[-1])["captures"]
    assert len(captures) == 8
    for c in captures:
        assert c["age_s"] <= 0.2, captures
        assert c["rest_ok"] and c["shape"] == [240, 320, 3] and c["encoding"] == "rgb8", c
        assert -0.05 <= c["lag_s"] <= 0.6, captures  # header stamp: the frame is recent, not a queued one
    counters = [c["counter"] for c in captures]
    steps = [int(step) for step in np.diff(counters)]
    assert all(step > 0 for step in steps), counters  # never an old frame handed back
    assert all(4 <= step <= 16 for step in steps), counters  # ~9 frames per 300 ms at 30 Hz
    assert 7 <= sum(steps) / len(steps) <= 11, counters
