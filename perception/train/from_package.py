"""An exported fp32 ONNX package -> the torch `Qwen2VL` it was exported from (to fine-tune it).

Why by hand: a package is the only form the shipped model exists in (its training run's
state.pt is not shipped), and no library turns onnxscript-exported graphs back into a torch
module. The mapping is small and checked, not guessed:
- vision.onnx keeps the parameter names (`visual.*`) as its initializer names;
- decoder.onnx keeps names for norms and biases (`text.*`); the constant folder turns each
  Linear weight into an anonymous, transposed initializer, which is named here by the module
  path of the MatMul consuming it (the exporter's `pkg.torch.onnx.name_scopes` metadata,
  e.g. `text.layers.0.self_attn.q_proj`); packages exported since the fused decoder graph
  (`perception.export.graphs.FusedProjections`) hold each layer's q/k/v and gate/up as one
  product each (`fused.{i}.qkv`, `fused.{i}.gate_up`), split back here by the config's sizes;
- embed_tokens.npy is the (tied) token embedding table.
Every parameter of the model must be found exactly once with its exact shape, else
`PackageWeightsError`; quantised packages are refused (their weights are not the trained ones).
`load_package_model` then checks parity: the torch logits on a probe prompt with an image
must equal the ONNX engine's within `PARITY_ATOL`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import torch

from vlagent.perception.errors import VlagentError
from vlagent.perception.model.config import Qwen2VLConfig
from vlagent.perception.model.qwen2vl import Qwen2VL

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
PARITY_ATOL = 2e-3


class PackageWeightsError(VlagentError, ValueError):
    """A package's graphs do not hold exactly the model's parameters (or it is quantised)."""


def _scope_of(node) -> str | None:
    meta = {p.key: p.value for p in node.metadata_props}
    if NAME_SCOPES not in meta:
        return None
    modules = [s for s in ast.literal_eval(meta[NAME_SCOPES]) if s.startswith(("text.", "visual.", "fused.", "lm_head"))]
    return modules[-1] if modules else None  # the innermost module (mlp -> mlp.gate_proj)


def onnx_parameters(package_dir: str | Path) -> dict[str, np.ndarray]:
    """Our parameter names -> arrays, from the package's two graphs and embedding table."""
    import onnx
    from onnx import numpy_helper

    package_dir = Path(package_dir)
    manifest = json.loads((package_dir / "manifest.json").read_text())
    if manifest.get("quantization", {}).get("mode", "none") != "none":
        raise PackageWeightsError(f"{package_dir} is quantised ({manifest['quantization']['mode']}): "
                                  "fine-tune from an fp32 package")
    out: dict[str, np.ndarray] = {}
    for graph_name in ("vision.onnx", "decoder.onnx"):
        graph = onnx.load(str(package_dir / graph_name)).graph
        inits = {i.name: i for i in graph.initializer}
        for name, init in inits.items():
            if name.startswith(("visual.", "text.", "fused.")):
                out[name] = numpy_helper.to_array(init)
        for node in graph.node:
            if node.op_type != "MatMul":
                continue
            scope = _scope_of(node)
            for x in node.input:
                if x in inits and not x.startswith(("visual.", "text.", "fused.")) and scope is not None:
                    key = f"{scope}.weight"
                    if key in out:
                        raise PackageWeightsError(f"{graph_name}: two weights for {key}")
                    out[key] = numpy_helper.to_array(inits[x]).T  # MatMul(x, W^T) of a Linear
    out["text.embed_tokens.weight"] = np.load(package_dir / "embed_tokens.npy")
    return _unfuse(out, Qwen2VLConfig.from_file(package_dir / "config.json"))


def _unfuse(params: dict[str, np.ndarray], config: Qwen2VLConfig) -> dict[str, np.ndarray]:
    """Split `fused.{i}.qkv` / `fused.{i}.gate_up` weights and biases into the layer's own names."""
    text = config.text
    kv = text.num_key_value_heads * text.head_dim
    parts = {"qkv": (("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
                     (text.num_attention_heads * text.head_dim, kv, kv)),
             "gate_up": (("mlp.gate_proj", "mlp.up_proj"), (text.intermediate_size, text.intermediate_size))}
    out = {}
    for name, value in params.items():
        fields = name.split(".")
        if fields[0] != "fused":
            out[name] = value
            continue
        if len(fields) != 4 or fields[2] not in parts:
            raise PackageWeightsError(f"unknown fused parameter {name} (expected fused.N.qkv or fused.N.gate_up)")
        layer, kind, leaf = fields[1], fields[2], fields[3]
        names, rows = parts[kind]
        if value.shape[0] != sum(rows):
            raise PackageWeightsError(f"{name} has {value.shape[0]} rows, the config needs {sum(rows)}")
        for part, piece in zip(names, np.split(value, np.cumsum(rows)[:-1]), strict=True):
            key = f"text.layers.{layer}.{part}.{leaf}"
            if key in params:
                raise PackageWeightsError(f"two weights for {key}")
            out[key] = piece
    return out


def load_package_model(package_dir: str | Path, check_parity: bool = True) -> Qwen2VL:
    """The torch model of an fp32 package, parameters copied exactly (see the module docstring)."""
    package_dir = Path(package_dir)
    config = Qwen2VLConfig.from_file(package_dir / "config.json")
    model = Qwen2VL(config)
    found = onnx_parameters(package_dir)
    state = model.state_dict()
    wanted = {k for k in state if not (config.tie_word_embeddings and k == "lm_head.weight")}
    missing, extra = sorted(wanted - found.keys()), sorted(found.keys() - state.keys())
    if missing or extra:
        raise PackageWeightsError(f"{package_dir}: parameters missing {missing[:5]}, unknown {extra[:5]}")
    for key in wanted:
        if tuple(found[key].shape) != tuple(state[key].shape):
            raise PackageWeightsError(f"{package_dir}: {key} is {found[key].shape}, the model wants {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.array(found[key], dtype=np.float32)).to(state[key].dtype)
    if config.tie_word_embeddings and "lm_head.weight" in state:
        state["lm_head.weight"] = state["text.embed_tokens.weight"]
    model.load_state_dict(state)
    model.eval()
    if check_parity:
        parity_error(model, package_dir)
    return model


def parity_error(model: Qwen2VL, package_dir: Path, tokens: int = 24) -> float:
    """Max |torch - onnx| of the vision features of a probe image (raises past PARITY_ATOL), and
    the same greedy answer from both for a grounding prompt on it (`tokens` tokens, EOS ignored)."""
    from vlagent.perception.engine import load
    from vlagent.perception.train.loop import torch_generator
    from vlagent.policies.prompts import grounding_prompt

    engine = load(package_dir, backend="onnx", threads=1)
    image = (np.random.default_rng(0).random((240, 320, 3)) * 255).astype(np.uint8)
    vision = engine.processor.preprocess_image(image)
    want = engine.backend.encode(vision.pixel_values, vision.grid_thw)
    with torch.no_grad():
        got = model.encode_images(torch.from_numpy(vision.pixel_values), torch.from_numpy(vision.grid_thw)).numpy()
    error = float(np.abs(got - np.asarray(want)).max())
    if error > PARITY_ATOL:
        raise PackageWeightsError(f"{package_dir}: torch vision features differ from the package's by {error:.2e}")
    prompt = grounding_prompt("the red ball")
    onnx_text = engine.generate(prompt, images=[image], max_new_tokens=tokens).text
    torch_text = torch_generator(model, engine.tokenizer, engine.processor, tokens)(prompt, image)
    if onnx_text != torch_text:
        raise PackageWeightsError(f"{package_dir}: torch answers {torch_text!r}, the package {onnx_text!r}")
    return error
