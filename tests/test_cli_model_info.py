"""`vlagent model-info`: counts from config arithmetic and image tokens, with torch unimportable."""

import json

from tests.notorch import run_without_torch
from vlagent.perception.model import QWEN2_VL_2B
from vlagent.perception.model.config import param_counts

CLI = """
import sys
from vlagent.agent.cli import main
sys.argv = ["vlagent", "model-info", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
assert "torch" not in sys.modules
"""


def test_2b_counts_and_note_examples():
    result = run_without_torch(CLI, "2b", "--image-size", "1080x2400")
    assert result.returncode == 0, result.stderr
    assert f"{param_counts(QWEN2_VL_2B)['total']:,}" in result.stdout
    assert "2,208,985,600" in result.stdout  # the public ~2.2 B
    assert "672x1484" in result.stdout and "1272 tokens" in result.stdout
    big = run_without_torch(CLI, "2b", "--image-size", "1080x2400", "--max-pixels", "12845056")
    assert "1092x2408" in big.stdout and "3354 tokens" in big.stdout


def test_model_dir_uses_its_preprocessor_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(QWEN2_VL_2B.to_dict()))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"min_pixels": 3136, "max_pixels": 12845056}))
    result = run_without_torch(CLI, str(tmp_path), "--image-size", "224x28")
    assert result.returncode == 0, result.stderr
    assert "8 tokens" in result.stdout and "max_pixels 12845056" in result.stdout


def test_bad_input_is_reported(tmp_path):
    result = run_without_torch(CLI, str(tmp_path))
    assert result.returncode != 0 and "config.json" in result.stderr
    result = run_without_torch(CLI, "2b", "--image-size", "wide")
    assert result.returncode != 0 and "WxH" in result.stderr
