"""`vlagent ground`: the JSON it prints, with the shipped package, torch blocked."""

import json

from PIL import Image

from tests.notorch import run_without_torch

KEYS = {"query", "model", "backend", "image_size", "raw_text", "label", "box_norm1000", "box_px", "center_px",
        "timings_ms"}


def sim_home_screen(tmp_path):
    """A PNG of the sim phone's home screen and the name and bounds (px) of one icon on it."""
    from vlagent.agent.envs import SimPhoneEnv

    env = SimPhoneEnv(2, state_file=tmp_path / "s.json", fresh=True)
    env.setup_task("system.open_app:2")
    frame = env.source.capture()
    env.close()
    icon = next(n for n in frame.ui_tree if n.resource_id == "com.android.launcher3:id/icon" and n.text)
    path = tmp_path / "home.png"
    Image.fromarray(frame.image).save(path)
    return path, icon.text, icon.bounds


def ground_cli(*args: str):
    result = run_without_torch(
        """
        import sys
        from typer.testing import CliRunner
        from vlagent.agent.cli import app
        run = CliRunner().invoke(app, ["ground", *sys.argv[1:]])
        print(run.stdout, end="")
        print(run.stderr, end="", file=sys.stderr)
        assert "torch" not in sys.modules
        sys.exit(run.exit_code)
        """, *args, timeout=120)
    return result


def test_ground_prints_json_with_boxes_in_norm1000_and_image_px(tmp_path):
    image, label, bounds = sim_home_screen(tmp_path)
    result = ground_cli("--image", str(image), "--query", label)
    assert result.returncode in (0, 1), result.stderr
    out = json.loads(result.stdout)
    assert KEYS <= set(out)
    assert out["query"] == label and out["backend"] == "onnx" and out["image_size"] == [1080, 2400]
    assert isinstance(out["raw_text"], str)
    assert {"preprocess", "vision", "prefill", "decode", "model", "total"} <= set(out["timings_ms"])
    assert out["timings_ms"]["total"] >= out["timings_ms"]["model"] > 0
    if result.returncode == 1:  # no box in the answer: said so, nothing made up
        assert out["error"] and out["box_px"] is None and out["box_norm1000"] is None
        return
    x1, y1, x2, y2 = out["box_norm1000"]
    assert out["box_px"] == [round(x1 * 1.08, 2), round(y1 * 2.4, 2), round(x2 * 1.08, 2), round(y2 * 2.4, 2)]
    assert 0 <= out["center_px"][0] <= 1080 and 0 <= out["center_px"][1] <= 2400


def test_ground_rejects_bad_input(tmp_path):
    (tmp_path / "not.png").write_text("hello")
    bad_image = ground_cli("--image", str(tmp_path / "not.png"), "--query", "x")
    assert bad_image.returncode == 2 and "cannot read image" in bad_image.stdout + bad_image.stderr
    bad_model = ground_cli("--image", str(tmp_path / "not.png"), "--query", "x", "--model", str(tmp_path / "none"))
    assert bad_model.returncode == 2 and "not a directory" in bad_model.stdout + bad_model.stderr


def test_ground_names_pixel_limits_that_do_not_fit_and_runs_a_tablet_at_any_budget(tmp_path):
    image = tmp_path / "tablet.png"
    Image.new("RGB", (1600, 2560), (240, 240, 240)).save(image)
    low = ground_cli("--image", str(image), "--query", "x", "--max-pixels", "10")
    assert low.returncode == 2 and "min_pixels (3136) exceeds max_pixels (10)" in low.stdout + low.stderr
    assert "internal error" not in low.stdout + low.stderr
    # 1024 tokens on a tablet: the shipped model reads its position tables at relative coordinates
    big = ground_cli("--image", str(image), "--query", "x", "--max-pixels", str(1024 * 28 * 28))
    assert big.returncode in (0, 1), big.stdout + big.stderr
    assert json.loads(big.stdout)["image_size"] == [1600, 2560]
