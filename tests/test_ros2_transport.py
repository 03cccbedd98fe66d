"""CycloneTransport: ROS 2 names, domain, QoS presets, the CYCLONEDDS_URI import rule, and real DDS
between separate processes over loopback (a publisher and a subscriber child, tests/ros2_peer.py)."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds")

from vlagent.actuators.ros2 import transport as tr  # noqa: E402
from vlagent.actuators.ros2.errors import Ros2ConfigError  # noqa: E402
from vlagent.perception.errors import VlagentError  # noqa: E402

PEER = Path(__file__).with_name("ros2_peer.py")


@pytest.mark.parametrize("topic, wanted", [
    ("/cmd_vel", "rt/cmd_vel"), ("cmd_vel", "rt/cmd_vel"), ("/robot1/camera/image_raw", "rt/robot1/camera/image_raw")])
def test_ros2_topics_map_to_rt_names(topic, wanted):
    assert tr.dds_topic(topic) == wanted


@pytest.mark.parametrize("topic", ["", "/", "cmd vel", "a//b", "cam/", "~/x", None])
def test_bad_topic_names_are_typed_errors(topic):
    with pytest.raises(Ros2ConfigError, match="topic name") as caught:
        tr.dds_topic(topic)
    assert isinstance(caught.value, VlagentError) and isinstance(caught.value, ValueError)


def test_domain_comes_from_ros_domain_id():
    assert tr.domain_id({}) == 0 and tr.domain_id({"ROS_DOMAIN_ID": " "}) == 0
    assert tr.domain_id({"ROS_DOMAIN_ID": "42"}) == 42
    for bad in ("x", "-1", "233"):
        with pytest.raises(Ros2ConfigError, match="ROS_DOMAIN_ID"):
            tr.domain_id({"ROS_DOMAIN_ID": bad})


def test_qos_presets():
    assert tr.QOS_PRESETS["camera"] == tr.QosProfile(reliable=False, depth=1)
    assert tr.QOS_PRESETS["commands"] == tr.QosProfile(reliable=True, depth=10)
    with pytest.raises(Ros2ConfigError, match="unknown QoS preset 'fast'"):
        tr._preset("fast")
    with pytest.raises(Ros2ConfigError, match="depth"):
        tr.QosProfile(reliable=True, depth=0)


def test_loopback_uri_names_lo_no_multicast_and_the_local_peer():
    uri = tr.loopback_uri()
    for part in ('<NetworkInterface name="lo"/>', "<AllowMulticast>false</AllowMulticast>",
                 '<Peer address="127.0.0.1"/>'):
        assert part in uri


def test_loopback_is_set_before_the_import_and_refused_after(monkeypatch):
    environ = {}
    monkeypatch.delitem(sys.modules, "cyclonedds")  # as if not imported yet
    tr.use_loopback(environ)
    assert environ["CYCLONEDDS_URI"] == tr.loopback_uri()
    monkeypatch.undo()

    import cyclonedds  # noqa: F401 - now it is imported
    tr.use_loopback(environ)  # the same value is fine
    monkeypatch.setenv("CYCLONEDDS_URI", "<CycloneDDS/>")
    with pytest.raises(Ros2ConfigError, match="before cyclonedds is imported"):
        tr.CycloneTransport(loopback=True)
    assert os.environ["CYCLONEDDS_URI"] == "<CycloneDDS/>"


def test_twist_and_image_cross_process_boundaries_over_loopback_dds():
    env = {**os.environ, "ROS_DOMAIN_ID": str(random.randint(100, 200))}  # away from other tests' traffic
    env.pop("CYCLONEDDS_URI", None)
    publisher = subprocess.Popen([sys.executable, str(PEER), "pub", "25"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        done = subprocess.run([sys.executable, str(PEER), "sub", "20"], env=env,
                              capture_output=True, text=True, timeout=40)
    finally:
        publisher.kill()
        _, publisher_err = publisher.communicate(timeout=10)
    assert done.returncode == 0, (done.stdout, done.stderr[-3000:], publisher_err[-3000:])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["twists"] >= 20 and report["consecutive"]
    assert report["size"] == [64, 48, 192] and report["encoding"] == "rgb8"
    assert report["frame_id"] == "camera" and report["nanosec"] == 500
    assert report["data_type"] == "bytes" and report["intact"]
