"""Training the robot grounding package: views and their labels, scoring, fine-tuning from a package."""

import importlib.util
import json
import random

import numpy as np
import pytest

from vlagent.perception.grounding import parse_groundings
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.train.recipe import Recipe
from vlagent.perception.train.samples import ABSENT, Sample, box_text

if importlib.util.find_spec("mujoco") is None:
    pytest.skip("needs mujoco (the sim extra)", allow_module_level=True)

from vlagent.perception.train.robot_frames import (  # noqa: E402 - after the skip
    FRAME_SIZE,
    absent_samples,
    render_views,
    score_absent,
    score_present,
    world_for,
)
from vlagent.sim.robot.robot import RobotSim  # noqa: E402
from vlagent.sim.robot.world import PALETTE  # noqa: E402

PROCESSOR = ImageProcessor(max_pixels=Recipe().max_pixels, threads=1)


@pytest.fixture(scope="module")
def views():
    return render_views(100_003, PROCESSOR, 8)


def test_views_label_what_the_camera_shows(views):
    spec = world_for(100_003)
    in_room = {o.label for o in spec.objects}
    h, w = PROCESSOR.resized_size(FRAME_SIZE[1], FRAME_SIZE[0])
    assert all(v.screen.image.shape == (h, w, 3) for v in views)
    assert sum(len(v.screen.targets) for v in views) >= 4, "most views aim at an object"
    for view in views:
        shown = {t.label for t in view.screen.targets}
        assert shown <= in_room and not shown & set(view.absent)
        assert {f"the {c} cone" for c in PALETTE} <= set(view.absent), "cones are never in a room"
        assert {f"the {c} {s}" for c in PALETTE for s in ("ball", "box", "cylinder")} - in_room <= set(view.absent)
        for target in view.screen.targets:
            (found,) = parse_groundings(box_text(target.label, target.box), strict=True)
            x1, y1, x2, y2 = found.boxes[0]
            bx1, by1, bx2, by2 = target.bounds
            # the rounded norm-1000 box, back in frame px, covers the object's visible bounds
            assert x1 * FRAME_SIZE[0] / 1000 <= bx1 + 1 and y1 * FRAME_SIZE[1] / 1000 <= by1 + 1
            assert x2 * FRAME_SIZE[0] / 1000 >= bx2 - 1 and y2 * FRAME_SIZE[1] / 1000 >= by2 - 1


def test_a_labelled_box_is_where_the_simulator_draws_the_object(views):
    view = next(v for v in views if v.screen.targets)
    target = view.screen.targets[0]
    colour = np.array(PALETTE[target.label.split()[1]])
    # the model-input image inside the box is dominated by the object's hue
    h, w = view.screen.image.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in (target.bounds[0] * w / FRAME_SIZE[0], target.bounds[1] * h / FRAME_SIZE[1],
                                        target.bounds[2] * w / FRAME_SIZE[0], target.bounds[3] * h / FRAME_SIZE[1]))
    crop = view.screen.image[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)].reshape(-1, 3).astype(float)
    dominant = int(np.argmax(colour))
    assert np.mean(crop[:, dominant]) > np.mean(view.screen.image.reshape(-1, 3)[:, dominant]), target


def test_absent_queries_name_objects_not_in_view(views):
    samples = absent_samples(views, random.Random(0))
    assert len(samples) == 2 * len(views)
    for sample in samples:
        assert sample.answer == "not visible" and sample.target is ABSENT
    labels = [s.prompt.split("Find ")[1].split("<|vision_start|>")[0] for s in samples]
    for view, pair in zip(views, zip(labels[::2], labels[1::2], strict=True), strict=True):
        assert set(pair) <= set(view.absent)


def test_scoring_present_and_absent_answers(views):
    view = next(v for v in views if v.screen.targets)
    target = view.screen.targets[0]
    sample = Sample(view.screen.image, "", box_text(target.label, target.box), target)
    assert score_present(sample.answer, sample)[:2] == (True, True)
    x1, y1, x2, y2 = target.box
    far = (0, 0, 10, 10) if x1 > 20 or y1 > 20 else (980, 980, 1000, 1000)
    assert score_present(box_text(target.label, far), sample)[:2] == (True, False)
    assert score_present(box_text("the other thing", target.box), sample) == (False, False, 0.0)
    assert score_present("not visible", sample) == (False, False, 0.0)
    assert score_absent("not visible") and score_absent(" Not visible ")
    assert not score_absent(box_text(target.label, target.box)) and not score_absent("visible")


def test_place_and_visible_boxes_agree_with_target_box():
    spec = world_for(100_004)
    with RobotSim(spec) as sim:
        o = spec.objects[0]
        sim.place(o.x - 1.2, o.y, 0.0) if abs(o.x - 1.2) < 2.7 else sim.place(o.x + 1.2, o.y, np.pi)
        boxes = sim.visible_boxes()
        assert o.name in boxes, boxes
        assert boxes[o.name] == sim.target_box(o.name)
        assert sim.speed() == (0.0, 0.0)


def test_a_package_loads_back_into_torch_at_parity():
    pytest.importorskip("torch")
    from vlagent.perception.demo_model import path
    from vlagent.perception.train.from_package import load_package_model, parity_error

    model = load_package_model(path(), check_parity=False)
    assert parity_error(model, path()) < 1e-3
    config = json.loads((path() / "config.json").read_text())
    assert sum(p.numel() for p in model.parameters()) > 1_000_000 and config


def test_a_quantised_package_is_refused(tmp_path):
    pytest.importorskip("torch")
    import shutil

    from vlagent.perception.demo_model import path
    from vlagent.perception.train.from_package import PackageWeightsError, onnx_parameters

    copy = tmp_path / "pkg"
    shutil.copytree(path(), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["quantization"]["mode"] = "int8"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageWeightsError, match="quantised"):
        onnx_parameters(copy)


def test_train_robot_smoke_fine_tunes_the_package_and_scores_it(tmp_path):
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from vlagent.agent.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train-robot", "--out", str(out), "--steps", "2", "--worlds", "2",
                                      "--views", "3", "--eval-n", "3"])
    assert result.exit_code == 0, result.output
    training = json.loads((out / "package" / "training.json").read_text())
    assert "train-robot" in training["command"] and training["steps"] == 2
    assert training["init_from"]["package"].endswith("demo_model") and "train-demo" in training["init_from"]["command"]
    assert set(training["eval"]) >= {"robot_grounding_accuracy", "robot_not_visible_accuracy", "robot_format_validity"}
    assert training["eval"]["robot_present_n"] == 3 and training["eval"]["robot_absent_n"] == 3
