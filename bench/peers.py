"""Decode speed against llama.cpp and HF transformers on the Qwen2-VL-2B language model's shapes.

    python bench/peers.py [--dir /tmp/vlagent-peers] [--vocab 32000 151936] [--threads 2]
                          [--rounds 5] [--write docs/PERFORMANCE.md]

The same random weights (std 0.02) in every runtime: a Qwen2-VL checkpoint whose decoder has the
2B model's layer shapes (hidden 1536, MLP 8960, 12 heads, 2 KV heads, tied LM head) with
`--layers` layers, exported by `vlagent export` (fp32, int8, int4), rewritten as a
`Qwen2ForCausalLM` directory for HF transformers, and converted to GGUF by llama.cpp's own
converter (the `conversion` package vendored in the llama-cpp-python sdist), then quantized to
Q8_0 and Q4_0 by llama.cpp (`llama_model_quantize`, which keeps the tied embedding / LM head of
Q4_0 at Q6_K, its default). The converter is told the pre-tokenizer is "qwen2": the GGUF carries
the small tokenizer, whose hash it does not know, and tokenization plays no part here.

Measured per configuration in a fresh process: a `--context`-token prompt of fixed random ids,
then `--tokens` one-token decode steps feeding fixed ids (the same for every runtime), then
a `--long`-token prompt (1300: a screenshot prompt's size) prefilled in a fresh context;
ms/token = median step; rounds are interleaved (every configuration once per round, the order
reversed every other round) and the table gives the median of the rounds. The read bandwidth
(numpy, same threads) is measured before and after; roofline = bytes a decode step must read
(every decoder weight, the LM head included) / the higher bandwidth. `logit cos` compares each
runtime's last prefill logits with ONNX fp32's, which shows the weights really are the same.

Needs `llama-cpp-python` (optional, benchmarks only), built from source for this CPU:
`CMAKE_ARGS="-DGGML_NATIVE=ON" pip install --no-binary llama-cpp-python llama-cpp-python==0.3.36`
(~6 min on 2 cores), and its sdist unpacked for the converter: `--llama-src DIR` (the sdist's
vendor/llama.cpp); by default it is fetched with `pip download` into --dir.
Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LLAMA_CPP_VERSION = "0.3.36"
CONFIGS = ("llama-f32", "onnx-fp32", "hf", "llama-q8_0", "onnx-int8", "llama-q4_0", "onnx-int4", "onnx-int4-only")
REFERENCE = "onnx-fp32"
# package: (quantize, int4_prefill); onnx-int4 is what `vlagent export --quantize int4` writes (prompts on
# int8 products derived from the 4-bit weights at load), onnx-int4-only the 4-bit products alone
QUANT = {"onnx-fp32": ("none", "int8"), "onnx-int8": ("int8", "int8"), "onnx-int4": ("int4", "int8"),
         "onnx-int4-only": ("int4", "int4")}
WEIGHTS = {"onnx-int4": "int4, int8 prefill", "onnx-int4-only": "int4, 4-bit prefill"}
LLAMA_FTYPES = {"llama-q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "llama-q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0"}
SECTION = "## Peers: decode against llama.cpp"


# --- building the models (cached under --dir) ---------------------------------------------
def build_checkpoint(path: Path, vocab: int, layers: int) -> None:
    """Our Qwen2-VL checkpoint: the 2B decoder's shapes, `layers` layers, a 1-block vision tower."""
    from bench.checkpoints import save_random_checkpoint

    save_random_checkpoint(path, text={"vocab_size": vocab, "num_hidden_layers": layers},
                           vision={"depth": 1, "embed_dim": 64, "num_heads": 2})

def build_hf_text(checkpoint: Path, path: Path) -> None:
    """The same decoder as a transformers `Qwen2ForCausalLM` directory (what llama.cpp converts)."""
    import shutil

    import torch
    from safetensors.torch import save_file

    from vlagent.perception.model.config import Qwen2VLConfig
    from vlagent.perception.model.weights import read_state_dict

    config = Qwen2VLConfig.from_file(checkpoint)
    text = config.text
    state = read_state_dict(checkpoint, config, torch.float32)
    tensors = {"model." + k[len("text."):]: v.contiguous() for k, v in state.items() if k.startswith("text.")}
    path.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": text.vocab_size,
        "hidden_size": text.hidden_size, "intermediate_size": text.intermediate_size,
        "num_hidden_layers": text.num_hidden_layers, "num_attention_heads": text.num_attention_heads,
        "num_key_value_heads": text.num_key_value_heads, "rms_norm_eps": text.rms_norm_eps,
        "rope_theta": text.rope_theta, "max_position_embeddings": 32768, "hidden_act": "silu",
        "tie_word_embeddings": True, "torch_dtype": "float32", "use_sliding_window": False,
        "bos_token_id": None, "eos_token_id": config.eos_token_ids[0]}, indent=1))
    shutil.copy(checkpoint / "tokenizer.json", path / "tokenizer.json")
    (path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))


def llama_sources(root: Path, given: Path | None) -> Path:
    """vendor/llama.cpp of the llama-cpp-python sdist (the converter and its gguf-py)."""
    if given is not None:
        return given
    unpacked = root / f"llama_cpp_python-{LLAMA_CPP_VERSION}" / "vendor" / "llama.cpp"
    if not (unpacked / "conversion").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={LLAMA_CPP_VERSION}", "-d", str(root)], check=True)
        with tarfile.open(root / f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz") as sdist:
            members = [m for m in sdist.getmembers() if "/vendor/llama.cpp/conversion/" in m.name
                       or "/vendor/llama.cpp/gguf-py/" in m.name]
            sdist.extractall(root, members=members, filter="data")
    return unpacked


def convert_to_gguf(hf_dir: Path, out: Path, sources: Path) -> None:
    """llama.cpp's converter (run in this process: `--child-convert`), f32 tensors."""
    sys.path[:0] = [str(sources), str(sources / "gguf-py")]
    import gguf
    import torch
    from conversion import ModelBase, get_model_architecture, get_model_class

    hparams = ModelBase.load_hparams(hf_dir, False)
    base = get_model_class(get_model_architecture(hparams, None), mmproj=False)

    with torch.inference_mode():
        converter = base(hf_dir, gguf.LlamaFileType.ALL_F32, out)
        # the small tokenizer's pre-tokenizer hash is not in llama.cpp's list; it is Qwen2's splitter
        converter.get_vocab_base_pre = lambda tokenizer: "qwen2"
        converter.set_vocab = converter._set_vocab_gpt2  # Qwen2's path without a tokenizer.model
        converter.write()


def quantize_gguf(src: Path, dst: Path, ftype: str, threads: int) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = threads
    if llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params) != 0:
        raise RuntimeError(f"llama_model_quantize {ftype} failed on {src}")


def prepare(root: Path, vocab: int, layers: int, sources: Path | None, threads: int, llama: bool = True) -> Path:
    from vlagent.perception.export.package import export_package

    work = root / f"vocab{vocab}-layers{layers}"
    checkpoint = work / "checkpoint"
    if not (checkpoint / "model.safetensors").is_file():
        build_checkpoint(checkpoint, vocab, layers)
    if not (work / "hf" / "model.safetensors").is_file():
        build_hf_text(checkpoint, work / "hf")
    for name, (mode, prefill) in QUANT.items():
        if not (work / name / "manifest.json").is_file():
            export_package(checkpoint, work / name, quantize=mode, int4_prefill=prefill, log=print)
    if not llama:
        return work
    if not (work / "llama-f32.gguf").is_file():
        src = llama_sources(root, sources)
        subprocess.run([sys.executable, __file__, "--child-convert", str(work / "hf"), str(work / "llama-f32.gguf"),
                        str(src)], check=True)
    for name, ftype in LLAMA_FTYPES.items():
        if not (work / f"{name}.gguf").is_file():
            quantize_gguf(work / "llama-f32.gguf", work / f"{name}.gguf", ftype, threads)
    return work


# --- measuring (one configuration per process) --------------------------------------------
def token_ids(vocab: int, context: int, tokens: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(7)
    ids = rng.integers(300, min(vocab, 30000), context + tokens).tolist()  # ordinary (non-special) ids
    return ids[:context], ids[context:]


def run_llama(model: Path, threads: int, prompt: list[int], steps: list[int], long_prompt: list[int]):
    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(model_path=str(model), n_ctx=max(len(prompt) + len(steps), len(long_prompt)) + 8, n_batch=512, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    started = time.perf_counter()
    llm.eval(prompt)
    prefill = time.perf_counter() - started
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),)).copy()
    times = []
    for token in steps:
        started = time.perf_counter()
        llm.eval([token])
        times.append(time.perf_counter() - started)
    llm.reset()  # a fresh context for the long prompt
    started = time.perf_counter()
    llm.eval(long_prompt)
    return prefill, times, logits, time.perf_counter() - started


def run_onnx(package: Path, threads: int, prompt: list[int], steps: list[int], long_prompt: list[int], spin: bool):
    from vlagent.perception.engine_onnx import OnnxBackend

    backend = OnnxBackend(package, threads=threads, spin=spin, prefix_reuse=False)
    ids = np.array([prompt], np.int64)
    positions = np.tile(np.arange(len(prompt)), (3, 1, 1)).astype(np.int64)
    started = time.perf_counter()
    logits, state = backend.prefill(ids, positions, np.zeros((1, 1), np.int64))
    prefill = time.perf_counter() - started
    times = []
    for token in steps:
        started = time.perf_counter()
        _, state = backend.decode(state, np.array([token]))
        times.append(time.perf_counter() - started)
    ids = np.array([long_prompt], np.int64)
    started = time.perf_counter()
    backend.prefill(ids, np.tile(np.arange(len(long_prompt)), (3, 1, 1)).astype(np.int64), np.zeros((1, 1), np.int64))
    return prefill, times, logits[0], time.perf_counter() - started


def run_hf(hf_dir: Path, threads: int, prompt: list[int], steps: list[int], long_prompt: list[int]):
    import torch
    from transformers import Qwen2ForCausalLM

    torch.set_num_threads(threads)
    model = Qwen2ForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    with torch.inference_mode():
        started = time.perf_counter()
        out = model(input_ids=torch.tensor([prompt]), use_cache=True, logits_to_keep=1)
        prefill = time.perf_counter() - started
        logits, cache, times = out.logits[0, -1].numpy().copy(), out.past_key_values, []
        for token in steps:
            started = time.perf_counter()
            out = model(input_ids=torch.tensor([[token]]), past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        model(input_ids=torch.tensor([long_prompt]), use_cache=True, logits_to_keep=1)
    return prefill, times, logits, time.perf_counter() - started


def child(name: str, work: Path, threads: int, context: int, tokens: int, long: int, spin: bool, out: Path) -> None:
    vocab = json.loads((work / "hf" / "config.json").read_text())["vocab_size"]
    prompt, steps = token_ids(vocab, context, tokens)
    long_prompt = sum(token_ids(vocab, long, 0), [])
    if name.startswith("llama"):
        prefill, times, logits, long_s = run_llama(work / f"{name}.gguf", threads, prompt, steps, long_prompt)
    elif name == "hf":
        prefill, times, logits, long_s = run_hf(work / "hf", threads, prompt, steps, long_prompt)
    else:
        prefill, times, logits, long_s = run_onnx(work / name, threads, prompt, steps, long_prompt, spin)
    np.save(out.with_suffix(".npy"), logits)
    warm = times[4:]  # the first steps page weights in and warm caches
    out.write_text(json.dumps({"decode_ms": statistics.median(warm) * 1000, "prefill_ms": prefill * 1000,
                               "long_prefill_ms": long_s * 1000, "peak_rss_gb": peak_rss_gb()}))


def peak_rss_gb() -> float:
    """This process's peak resident memory (VmHWM; not ru_maxrss, which Linux carries across exec
    from the parent that exported the packages)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def weight_bytes(name: str, work: Path) -> int:
    """Bytes one decode step reads: every decoder weight, the (tied) LM head included."""
    if name.startswith("llama"):
        sys.path.insert(0, str(next(work.parent.glob("llama_cpp_python-*/vendor/llama.cpp/gguf-py"), "")))
        import gguf

        return sum(int(t.n_bytes) for t in gguf.GGUFReader(str(work / f"{name}.gguf")).tensors)
    package = work / ("onnx-fp32" if name == "hf" else name)
    return sum(p.stat().st_size for p in package.glob("decoder.onnx*"))


def measure(args, work: Path, vocab: int) -> dict:
    from bench.engine import bandwidth_gbs

    bandwidth = [bandwidth_gbs(args.threads)]
    runs: dict[str, list[dict]] = {name: [] for name in args.configs}
    for r in range(args.rounds):
        order = list(args.configs) if r % 2 == 0 else list(reversed(args.configs))
        for name in order:
            out = work / "results" / f"{name}-{r}.json"
            out.parent.mkdir(exist_ok=True)
            subprocess.run([sys.executable, __file__, "--child", name, "--work", str(work), "--threads", str(args.threads),
                            "--context", str(args.context), "--tokens", str(args.tokens), "--long", str(args.long),
                            "--out", str(out),
                            *(["--spin"] if args.spin else [])], check=True)
            result = json.loads(out.read_text())
            result["logits"] = np.load(out.with_suffix(".npy"))
            runs[name].append(result)
            print(f"vocab {vocab} round {r} {name}: {result['decode_ms']:.1f} ms/token", flush=True)
    bandwidth.append(bandwidth_gbs(args.threads))
    reference = runs[REFERENCE][0]["logits"] if REFERENCE in runs else None
    summary = {}
    for name, results in runs.items():
        logits = results[0]["logits"]
        cos = float(logits @ reference / np.linalg.norm(logits) / np.linalg.norm(reference)) if reference is not None else None
        summary[name] = {"decode_ms": statistics.median(r["decode_ms"] for r in results),
                         "prefill_ms": statistics.median(r["prefill_ms"] for r in results),
                         "long_prefill_ms": statistics.median(r["long_prefill_ms"] for r in results),
                         "peak_rss_gb": max(r.get("peak_rss_gb", 0.0) for r in results),
                         "rounds_ms": [round(r["decode_ms"], 2) for r in results],
                         "bytes": weight_bytes(name, work), "cos": cos}
    return {"vocab": vocab, "bandwidth": bandwidth, "configs": summary, "context": args.context, "long": args.long}


def table(result: dict) -> str:
    bandwidth = max(result["bandwidth"])
    long = result.get("long", "long")
    rows = [f"| runtime | weights | decode bytes | ms/token | of roofline | prefill ms, {result.get('context', 64)} tokens | "
            f"prefill ms, {long} tokens | peak RSS GB | logit cos |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["configs"].items():
        runtime, _, weights = name.partition("-")
        weights = WEIGHTS.get(name, weights)
        runtime = {"llama": "llama.cpp", "onnx": "vlagent ONNX", "hf": "HF transformers"}[runtime]
        roofline = r["bytes"] / bandwidth / 1e6
        cos = "ref" if name == REFERENCE else (f"{r['cos']:.4f}" if r["cos"] is not None else "")
        rows.append(f"| {runtime} | {weights or 'fp32'} | {r['bytes'] / 1e9:.3f} GB | {r['decode_ms']:.1f} | "
                    f"{roofline / r['decode_ms']:.0%} | {r['prefill_ms']:.0f} | {r.get('long_prefill_ms', float('nan')):.0f} | "
                    f"{r.get('peak_rss_gb', float('nan')):.2f} | {cos} |")
    return "\n".join(rows)


def verdicts(result: dict) -> list[str]:
    c = {k: v["decode_ms"] for k, v in result["configs"].items()}
    lines = []
    p = {k: v.get("long_prefill_ms") for k, v in result["configs"].items()}
    for int4 in ("onnx-int4", "onnx-int4-only"):
        if p.get(int4) and p.get("onnx-int8"):
            verdict = "met" if p[int4] <= p["onnx-int8"] else "not met"
            lines.append(f"- vocab {result['vocab']}: {result.get('long')}-token prefill, {int4} {p[int4]:.0f} ms vs "
                         f"onnx-int8 {p['onnx-int8']:.0f} ms: {verdict}")
    for ours, theirs in (("onnx-int4", "llama-q4_0"), ("onnx-int8", "llama-q8_0"), ("onnx-fp32", "llama-f32")):
        if ours in c and theirs in c:
            verdict = "met" if c[ours] <= c[theirs] else "not met"
            lines.append(f"- vocab {result['vocab']}: {ours} {c[ours]:.1f} ms vs {theirs} {c[theirs]:.1f} ms "
                         f"({c[theirs] / c[ours]:.2f}x): {verdict}")
    return lines


def section(results: list[dict], args) -> str:
    import onnxruntime
    import transformers

    try:
        import llama_cpp
        llama_version = llama_cpp.__version__
    except ModuleNotFoundError:
        llama_version = "(not installed)"

    parts = [SECTION, "",
             f"`python bench/peers.py --threads {args.threads} --rounds {args.rounds} --layers {args.layers}`: the "
             f"Qwen2-VL-2B language model's layer shapes (hidden 1536, MLP 8960, 12 heads, 2 KV heads, tied LM head), "
             f"{args.layers} layers, the same random weights in every runtime; {args.context}-token prompt, then "
             f"{args.tokens} decode steps (the first 4 not counted), ms/token = median step, median of {args.rounds} "
             f"interleaved rounds, {args.threads} threads{', spinning' if args.spin else ''}; then a {args.long}-token prompt "
             f"prefilled in a fresh context. llama-cpp-python "
             f"{llama_version} built with `-DGGML_NATIVE=ON`, onnxruntime {onnxruntime.__version__}, "
             f"transformers {transformers.__version__} (fp32). Roofline = decode bytes / read bandwidth.", ""]
    for result in results:
        bw = " / ".join(f"{b:.1f}" for b in result["bandwidth"])
        parts += [f"Vocab {result['vocab']} (read bandwidth before / after: {bw} GB/s):", "", table(result), ""]
    parts += [line for result in results for line in verdicts(result)]
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vlagent-peers"))
    parser.add_argument("--vocab", type=int, nargs="+", default=[32000, 151936])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=36)
    parser.add_argument("--long", type=int, default=1300, help="tokens of the second, timed prefill (a screenshot prompt's size)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--spin", action="store_true", help="onnxruntime's intra-op threads spin between ops")
    parser.add_argument("--llama-src", type=Path, default=None, help="vendor/llama.cpp of the llama-cpp-python sdist")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true", help="rebuild the section from --dir's results.json")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-convert", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_convert:
        hf_dir, out, sources = map(Path, args.child_convert)
        return convert_to_gguf(hf_dir, out, sources)
    if args.child:
        return child(args.child, args.work, args.threads, args.context, args.tokens, args.long, args.spin, args.out)
    args.dir.mkdir(parents=True, exist_ok=True)
    results = json.loads((args.dir / "results.json").read_text()) if args.report_only else []
    for vocab in [] if args.report_only else args.vocab:
        llama = any(name.startswith("llama") for name in args.configs)
        work = prepare(args.dir, vocab, args.layers, args.llama_src, args.threads, llama)
        results.append(measure(args, work, vocab))
        (args.dir / "results.json").write_text(json.dumps(results, indent=1, default=float))
    text = section(results, args)
    print(text)
    if args.write:
        from bench.perf_doc import write_section

        write_section(text, SECTION, args.write)


if __name__ == "__main__":
    main()
