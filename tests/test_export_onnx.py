"""`vlagent export` and the quantized packages: graph contents, the Gemm pass, manifests, errors."""

import copy
import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.qwen2vl_tiny import hf_config, hf_model
from tests.test_engine_torch import CASES
from vlagent.perception import engine as E
from vlagent.perception.export.manifest import FORMAT, read_manifest
from vlagent.perception.export.onnx_export import ExportError
from vlagent.perception.export.package import export_package
from vlagent.perception.export.quantize import (
    float_weight_matmuls,
    quantize_int4_blocks,
    quantize_weights,
)
from vlagent.perception.tokenizer import (
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    build_small_tokenizer,
)

NEW = 32


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """{mode: package dir} for none / int8 (made through the CLI) / int4, and the checkpoint."""
    root = tmp_path_factory.mktemp("export")
    checkpoint = root / "checkpoint"
    checkpoint.mkdir()
    tok = build_small_tokenizer(checkpoint)
    ids = tok.special_ids
    hf_model(hf_config(vocab_size=tok.vocab_size, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                       vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                       eos_token_id=ids[IM_END]), seed=1).save_pretrained(checkpoint)
    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "export", str(checkpoint), str(root / "int8"),
                          "--quantize", "int8"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert "quantization int8" in cli.stdout
    for mode in ("none", "int4"):
        export_package(checkpoint, root / mode, quantize=mode)
    return {"checkpoint": checkpoint, "none": root / "none", "int8": root / "int8", "int4": root / "int4"}


def op_types(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}


def test_package_contents_and_manifest(packages):
    package = packages["none"]
    manifest = read_manifest(package)
    assert manifest["format"] == FORMAT and manifest["versions"]["opset"] == 23
    assert manifest["versions"]["onnxruntime"] == ort.__version__
    names = set(manifest["files"])
    assert {"vision.onnx", "vision.onnx.data", "decoder.onnx", "decoder.onnx.data", "embed_tokens.npy",
            "tokenizer.json", "config.json", "generation_config.json", "preprocessor_config.json"} <= names
    for name, entry in manifest["files"].items():
        assert len(entry["sha256"]) == 64 and entry["bytes"] == (package / name).stat().st_size
    vision, decoder = manifest["graphs"]["vision.onnx"], manifest["graphs"]["decoder.onnx"]
    assert vision["inputs"] == {"pixel_values": ["patches", 1176], "positions": ["patches", 2],
                                "cu_seqlens": ["frames_plus_1"]}
    assert decoder["inputs"]["inputs_embeds"] == ["batch", "length", 64]
    assert decoder["inputs"]["past_key_values.1.value"] == ["batch", 2, "past", 16]
    assert decoder["outputs"]["present.0.key"][2] == "length"  # only the new keys come back
    vision_graph = onnx.load(str(package / "vision.onnx"), load_external_data=False).graph
    branches = {node.name: {a.name: [(n.op_type, len(n.input)) for n in a.g.node] for a in node.attribute}
                for node in vision_graph.node if node.op_type == "If"}
    attention = sorted(b for kinds in branches.values() for b in kinds.values() if b[0][0] == "MultiHeadAttention")
    # per layer one fused attention over all patches: masked (6 inputs), or unmasked for a single frame
    assert attention == [[("MultiHeadAttention", 3)]] * 2 + [[("MultiHeadAttention", 6)]] * 2
    # the [N, N] frame mask is built only when there is more than one frame
    (mask,) = [kinds for kinds in branches.values() if kinds["then_branch"][0][0] != "MultiHeadAttention"]
    assert mask["then_branch"] == [("Constant", 0)] and ("Where", 3) in mask["else_branch"]
    top = [n.op_type for n in vision_graph.node]
    assert "Where" not in top and "Equal" in top  # (the Equal left is the one-frame test on cu_seqlens)
    assert top.count("RotaryEmbedding") == 2 * 2 and "Neg" not in top  # q and k per layer, fused
    embed = np.load(package / "embed_tokens.npy", mmap_mode="r")
    assert list(embed.shape) == manifest["embeddings"]["shape"] and embed.dtype == np.float32


def test_quantized_graphs_leave_no_float_weights(packages):
    for mode, vision_ops, decoder_op in (("int8", "DynamicQuantizeMatMul", "DynamicQuantizeMatMul"),
                                         ("int4", "DynamicQuantizeMatMul", "MatMulNBits")):
        package = packages[mode]
        quant = read_manifest(package)["quantization"]
        assert quant["mode"] == mode and quant["vision"] == "int8"  # 4-bit vision loses grounding
        for name, op in (("vision.onnx", vision_ops), ("decoder.onnx", decoder_op)):
            model = onnx.load(str(package / name), load_external_data=False)
            assert float_weight_matmuls(model) == [], (mode, name)
            assert op in op_types(package / name) and "Gemm" not in op_types(package / name)
        assert "MatMulNBits" not in op_types(package / "vision.onnx")
    size = {m: sum(e["bytes"] for n, e in read_manifest(packages[m])["files"].items() if n.startswith("decoder.onnx"))
            for m in ("none", "int8", "int4")}  # (an int4 package's decoder_prefill.onnx is a graph without weights)
    assert size["int4"] < size["int8"] < size["none"]


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantized_packages_generate(packages, mode, record_property):
    fp32 = E.load(packages["none"], backend="onnx")
    quant = E.load(packages[mode], backend="onnx")
    agreement = {}
    for case, (prompt, images, videos) in CASES.items():
        ref = fp32.generate(prompt, images=images, videos=videos, max_new_tokens=NEW, ignore_eos=True)
        got = quant.generate(prompt, images=images, videos=videos, max_new_tokens=NEW, ignore_eos=True)
        assert len(got.token_ids) == NEW and all(0 <= t < quant.config.text.vocab_size for t in got.token_ids)
        agreement[case] = float(np.mean(np.array(got.token_ids) == np.array(ref.token_ids)))
    record_property(f"greedy_agreement_{mode}", json.dumps(agreement))
    # sanity, not a quality bar: the quantized vision tower still tracks fp32
    pixels = np.random.default_rng(0).standard_normal((48, 1176)).astype(np.float32)
    a = fp32.backend.encode(pixels, np.array([[1, 4, 6], [1, 2, 12]]))
    b = quant.backend.encode(pixels, np.array([[1, 4, 6], [1, 2, 12]]))
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def linear_model(tmp_path):
    """x [n, 64] -> Gemm(transB, bias) -> MatMul on a 3-D view -> y, weights in external data."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((48, 64)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal(48).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.standard_normal((48, 40)).astype(np.float32), "w2"),
             numpy_helper.from_array(np.array([1, -1, 48], np.int64), "shape")]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
             helper.make_node("Reshape", ["h", "shape"], ["h3"]),
             helper.make_node("MatMul", ["h3", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "n", 40])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(copy.deepcopy(model), str(tmp_path / "fp32.onnx"), save_as_external_data=True, location="fp32.onnx.data",
                    size_threshold=1024)
    return model  # weights inline


@pytest.mark.parametrize(("mode", "op", "tol"), [("int8", "DynamicQuantizeMatMul", 0.03), ("int4", "MatMulNBits", 0.15)])
def test_weight_quantization_covers_gemm_and_matmul(tmp_path, mode, op, tol):
    model = linear_model(tmp_path)
    assert float_weight_matmuls(model) == ["fc1", "fc2"]
    assert quantize_weights(tmp_path / "fp32.onnx", tmp_path / "q.onnx", mode) == 2
    quantized = onnx.load(str(tmp_path / "q.onnx"))
    assert [n.op_type for n in quantized.graph.node] == [op, "Reshape", op] and float_weight_matmuls(quantized) == []
    x = np.random.default_rng(1).standard_normal((5, 64)).astype(np.float32)
    ref = ort.InferenceSession(str(tmp_path / "fp32.onnx")).run(None, {"x": x})[0]
    got = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x})[0]
    assert np.abs(got - ref).max() < tol * np.abs(ref).max()


def test_int8_weights_fit_the_int16_pairs_of_avx2(tmp_path):
    """Without VNNI, onnxruntime's u8 x s8 kernel adds pairs of products in saturating int16:
    full-range codes (255 * 127 * 2) overflowed it (32% error on these uniform weights)."""
    rng = np.random.default_rng(2)
    w = rng.uniform(-1, 1, (256, 64)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 64])],
                              [numpy_helper.from_array(w, "w")])
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "fp32.onnx"),
                    save_as_external_data=True, location="fp32.onnx.data", size_threshold=1024)
    assert quantize_weights(tmp_path / "fp32.onnx", tmp_path / "q.onnx", "int8") == 1
    codes = [numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "q.onnx")).graph.initializer if t.name == "w_int8"]
    assert codes[0].dtype == np.int8 and np.abs(codes[0]).max() == 63
    x = np.abs(rng.standard_normal((8, 256))).astype(np.float32)  # activations near u8 255
    got = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x})[0]
    assert np.abs(got - x @ w).max() < 0.03 * np.abs(x @ w).max()


def test_int4_layout_is_the_onnxruntime_quantizers(tmp_path):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = linear_model(tmp_path)
    library = MatMulNBitsQuantizer(copy.deepcopy(model), bits=4, block_size=32, is_symmetric=True)
    library.process()
    theirs = {t.name: numpy_helper.to_array(t) for t in library.model.model.graph.initializer}
    w2 = numpy_helper.to_array(model.graph.initializer[2])
    packed, scales = quantize_int4_blocks(w2, 32)
    np.testing.assert_array_equal(packed, theirs["w2_Q4"].reshape(packed.shape))
    np.testing.assert_array_equal(scales, theirs["w2_scales"].reshape(scales.shape))


def test_export_refuses_bad_requests(packages, tmp_path):
    checkpoint = packages["checkpoint"]
    with pytest.raises(ExportError, match="quantize"):
        export_package(checkpoint, tmp_path / "a", quantize="int2")
    with pytest.raises(ExportError, match="not an empty directory"):
        export_package(checkpoint, packages["none"])
    with pytest.raises(ExportError, match="opset 17"):
        export_package(checkpoint, tmp_path / "b", opset=17)
    assert not (tmp_path / "b").exists() and not (tmp_path / ".b.partial").exists()
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((checkpoint / "config.json").read_text())
    with pytest.raises(ExportError, match="tokenizer.json"):
        export_package(bare, tmp_path / "c")
    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "export", str(checkpoint), str(tmp_path / "d"),
                          "--quantize", "int3"], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and "--quantize must be one of" in cli.stderr


def test_int4_block_size_is_an_export_option_recorded_in_the_manifest(packages, tmp_path):
    out = tmp_path / "int4-64"
    export_package(packages["checkpoint"], out, quantize="int4", int4_block=64)
    assert read_manifest(out)["quantization"]["int4_block_size"] == 64
    model = onnx.load(str(out / "decoder.onnx"), load_external_data=False)
    blocks = {a.i for n in model.graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "block_size"}
    assert blocks == {64}
    assert read_manifest(packages["int4"])["quantization"]["int4_block_size"] == 128  # the default
    with pytest.raises(ExportError, match="int4_block"):
        export_package(packages["checkpoint"], tmp_path / "int4-100", quantize="int4", int4_block=100)
    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "export", str(packages["checkpoint"]),
                          str(tmp_path / "x"), "--quantize", "int4", "--int4-block", "100"], capture_output=True, text=True)
    assert cli.returncode != 0 and "--int4-block must be one of 16, 32, 64, 128, 256, got 100" in cli.stderr


def test_decoder_fuses_qkv_and_gate_up_and_reads_back_exactly(packages):
    """One product per layer for q/k/v and one for gate/up (perception.export.graphs.FusedProjections),
    and the fp32 package still reads back into the checkpoint's exact parameters (from_package
    splits the fused weights by the config's sizes)."""
    torch = pytest.importorskip("torch")
    from vlagent.perception.model.config import Qwen2VLConfig
    from vlagent.perception.model.weights import read_state_dict
    from vlagent.perception.train.from_package import onnx_parameters

    config = Qwen2VLConfig.from_file(packages["checkpoint"])
    text = config.text
    model = onnx.load(str(packages["int4"] / "decoder.onnx"), load_external_data=False)
    shapes = sorted((a["K"], a["N"]) for n in model.graph.node if n.op_type == "MatMulNBits"
                    for a in [{x.name: x.i for x in n.attribute}])
    kv = text.num_key_value_heads * text.head_dim
    per_layer = [(text.hidden_size, text.hidden_size + 2 * kv), (text.hidden_size, text.hidden_size),
                 (text.hidden_size, 2 * text.intermediate_size), (text.intermediate_size, text.hidden_size)]
    assert shapes == sorted(per_layer * text.num_hidden_layers + [(text.hidden_size, text.vocab_size)])
    want = read_state_dict(packages["checkpoint"], config, torch.float32)
    got = onnx_parameters(packages["none"])
    assert not [k for k in got if k.startswith("fused.")]
    for name, value in want.items():
        assert np.array_equal(got[name], value.numpy()), name


def test_int8_from_int4_is_the_int4_weights_requantized():
    """The prefill graph's derived int8 weights: per column, (code - 8) * block scale rounded to
    the int8 grid -63..63 (perception/export/prefill.py), K padding dropped."""
    from vlagent.perception.export.prefill import int8_from_int4

    rng = np.random.default_rng(3)
    for k, n, block in ((200, 48, 128), (256, 3000, 32)):  # K not a block multiple; several column chunks
        w = (rng.standard_normal((k, n)) * 0.02).astype(np.float32)
        w[:, 5] = 0.0  # an all-zero column keeps a usable scale
        packed, scales = quantize_int4_blocks(w, block)
        codes = np.stack([packed & 15, packed >> 4], -1).reshape(n, -1).astype(np.float32) - 8
        w4 = (codes.reshape(n, -1, block) * scales[..., None]).reshape(n, -1)[:, :k].T  # [K, N]
        q, scale = int8_from_int4(packed, scales.reshape(-1), k)
        assert q.shape == (k, n) and q.dtype == np.int8 and scale.shape == (n,) and np.all(scale > 0)
        assert np.abs(q).max() <= 63 and np.abs(q).max(axis=0)[np.abs(w4).max(axis=0) > 0].min() == 63
        assert np.abs(q * scale - w4).max() <= 0.5 * scale.max() + 1e-7
        assert not q[:, 5].any()


def test_int4_package_runs_long_prefills_on_its_int8_graph(packages):
    """decoder_prefill.onnx: MatMulNBits -> DynamicQuantizeMatMul over weights derived at load,
    no weights of its own; prompts of min_rows or more new tokens run on it, decode steps and
    short prefills on the 4-bit graph; the logits stay with the int4-only engine's."""
    from vlagent.perception.export.prefill import DERIVED_LOCATION, PREFILL_GRAPH

    package = packages["int4"]
    manifest = read_manifest(package)
    section = manifest["prefill"]
    assert section["graph"] == PREFILL_GRAPH and section["min_rows"] == 4 and PREFILL_GRAPH in manifest["files"]
    graph = onnx.load(str(package / PREFILL_GRAPH), load_external_data=False).graph
    locations = {e.value for t in graph.initializer for e in t.external_data if e.key == "location"}
    assert locations == {"decoder.onnx.data", DERIVED_LOCATION}  # shares the int4 file, adds no weight file
    assert not (package / DERIVED_LOCATION).exists()
    ops = op_types(package / PREFILL_GRAPH)
    assert "DynamicQuantizeMatMul" in ops and "MatMulNBits" not in ops
    assert len(section["weights"]) == sum(1 for n in onnx.load(str(package / "decoder.onnx"), load_external_data=False)
                                          .graph.node if n.op_type == "MatMulNBits")
    with_int8 = E.load(package, backend="onnx", prefix_reuse=False)
    int4_only = E.load(package, backend="onnx", prefix_reuse=False, int8_prefill=False)
    fp32 = E.load(packages["none"], backend="onnx", prefix_reuse=False)
    assert with_int8.backend.prefill_decoder is not None and int4_only.backend.prefill_decoder is None
    for case, (prompt, images, videos) in CASES.items():
        logits = {}
        for name, engine in (("int8", with_int8), ("int4", int4_only), ("fp32", fp32)):
            first, *_ = engine.prefill(prompt, images=images, videos=videos)
            logits[name] = first
        assert with_int8.backend.last_prefill_graph == PREFILL_GRAPH
        assert int4_only.backend.last_prefill_graph == "decoder.onnx"

        def cos(a, b):
            return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        # int8 products of the int4 weights sit between int4 and fp32, never further off than int4
        assert cos(logits["int8"], logits["int4"]) > 0.99, case
        assert cos(logits["int8"], logits["fp32"]) > cos(logits["int4"], logits["fp32"]) - 0.01, case
        got = with_int8.generate(prompt, images=images, videos=videos, max_new_tokens=8, ignore_eos=True)
        assert len(got.token_ids) == 8
    # three new tokens: below min_rows, the 4-bit graph
    backend = with_int8.backend
    ids = np.array([[1, 2, 3]], np.int64)
    positions = np.broadcast_to(np.arange(3), (3, 1, 3)).copy()
    backend.prefill(ids, positions, np.zeros((1, 1), np.int64))
    assert backend.last_prefill_graph == "decoder.onnx"


def test_int4_prefill_is_an_export_option_and_counts_in_the_memory_check(packages, tmp_path):
    from vlagent.perception.engine_onnx import InsufficientMemoryError, check_memory
    from vlagent.perception.export.prefill import PREFILL_GRAPH, derived_bytes

    out = tmp_path / "int4-only"
    export_package(packages["checkpoint"], out, quantize="int4", int4_prefill="int4")
    manifest = read_manifest(out)
    assert "prefill" not in manifest and PREFILL_GRAPH not in manifest["files"]
    engine = E.load(out, backend="onnx")
    assert engine.backend.prefill_decoder is None
    engine.generate("<|im_start|>user\nhello there, long enough<|im_end|>", max_new_tokens=2, ignore_eos=True)
    assert engine.backend.last_prefill_graph == "decoder.onnx"
    assert "prefill" not in read_manifest(packages["int8"])  # int8 packages prefill on their own graph
    with_prefill = read_manifest(packages["int4"])
    extra = derived_bytes(with_prefill["prefill"])
    graphs = sum(e["bytes"] for n, e in with_prefill["files"].items() if ".onnx" in n)
    from vlagent.perception.engine_onnx import MEMORY_FACTOR, RUN_RESERVE
    between = int(graphs * MEMORY_FACTOR) + RUN_RESERVE + extra // 2
    check_memory(packages["int4"], with_prefill, available=between, int8_prefill=False)
    with pytest.raises(InsufficientMemoryError):
        check_memory(packages["int4"], with_prefill, available=between)
    with pytest.raises(ExportError, match="int4_prefill"):
        export_package(packages["checkpoint"], tmp_path / "bad", quantize="int4", int4_prefill="int2")
    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "export", str(packages["checkpoint"]),
                          str(tmp_path / "y"), "--quantize", "int4", "--int4-prefill", "fp16"], capture_output=True, text=True)
    assert cli.returncode != 0 and "--int4-prefill must be one of int8, int4, got 'fp16'" in cli.stderr


def test_a_prefill_section_that_does_not_fit_its_file_is_a_package_error(packages, tmp_path):
    import shutil

    from vlagent.perception.export.manifest import PackageError

    bad = tmp_path / "bad-prefill"
    shutil.copytree(packages["int4"], bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["prefill"]["weights"][0]["packed"]["length"] += 1
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="cannot hold a uint8 tensor"):
        E.load(bad, backend="onnx")
    manifest["prefill"]["weights"][0]["packed"]["length"] -= 1
    manifest["prefill"]["weights"][0]["file"] = "../decoder.onnx.data"
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="not a file of the package"):
        E.load(bad, backend="onnx")
    manifest["prefill"]["weights"][0]["file"] = "decoder.onnx.data"
    manifest["prefill"]["graph"] = "../elsewhere.onnx"
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="prefill graph is decoder_prefill.onnx"):
        E.load(bad, backend="onnx")
    E.load(bad, backend="onnx", int8_prefill=False)  # the 4-bit graph alone still loads


def test_the_prefill_int8_grid_is_the_quantizers():
    """prefill.INT8_MAX restates quantize.INT8_MAX (prefill must not import onnx): they must agree."""
    from vlagent.perception.export import prefill, quantize

    assert prefill.INT8_MAX == quantize.INT8_MAX
