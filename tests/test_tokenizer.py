"""Tokenizer, chat format and vision-pad expansion against transformers 5.24 as reference.

The chat template fixture is Qwen2-VL-2B-Instruct's `chat_template.json`, rendered here by
transformers' own `apply_chat_template`.
"""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlagent.perception.tokenizer import (
    ENDOFTEXT,
    IM_END,
    IM_START,
    IMAGE_PAD,
    SPECIAL_TOKENS,
    VIDEO_PAD,
    ChatFormatError,
    Tokenizer,
    TokenizerError,
    UnknownTokenError,
    VisionPadCountError,
    build_small_tokenizer,
    expand_vision_pads,
    render_chat,
)

transformers = pytest.importorskip("transformers")

TEMPLATE = json.loads(
    (Path(__file__).parent / "fixtures" / "qwen2vl_chat_template.json").read_text()
)["chat_template"]


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    build_small_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def tok(tokenizer_file) -> Tokenizer:
    return Tokenizer.from_file(tokenizer_file)


@pytest.fixture(scope="module")
def hf_tok(tokenizer_file):
    hf = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file))
    hf.chat_template = TEMPLATE
    return hf


# ---- vocabulary ------------------------------------------------------------------------------


def test_special_tokens_are_single_ids_in_qwen_order(tok):
    ids = [tok.token_id(t) for t in SPECIAL_TOKENS]
    assert ids == list(range(tok.vocab_size - 14, tok.vocab_size))  # last 14, in 151643.. order
    assert dict(tok.special_ids) == dict(zip(SPECIAL_TOKENS, ids, strict=True))
    for token, token_id in tok.special_ids.items():
        assert tok.encode(token) == [token_id]
        assert tok.encode(f"a{token}b")[1] == token_id
    assert tok.eos_ids == (tok.token_id(IM_END), tok.token_id(ENDOFTEXT))
    assert 256 + 14 < tok.vocab_size <= 2048


def test_digits_are_single_tokens(tok):
    ids = tok.encode("(120,4567)")
    assert [tok.decode([i]) for i in ids] == ["(", "1", "2", "0", ",", "4", "5", "6", "7", ")"]


def test_common_words_are_merged(tok):
    assert len(tok.encode(" Settings")) == 1 and len(tok.encode("Tap the button")) == 3


def test_small_tokenizer_is_deterministic_across_processes(tmp_path):
    code = "import sys; from perception.tokenizer import build_small_tokenizer; build_small_tokenizer(sys.argv[1])"
    for name in ("a.json", "b.json"):
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / name)],
            check=True,
            cwd=Path(__file__).parents[1],
        )
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_unicode_round_trips(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=60)
    | st.sampled_from(
        ["<|im_start|>user\nhi 42<|im_end|>", "\u00e9 e\u0301 \U0001f916 \u4f60\u597d"]
    )
)
def test_huggingface_fast_tokenizer_agrees(tok, hf_tok, text):
    ids = tok.encode(text)
    assert hf_tok.encode(text, add_special_tokens=False) == ids
    assert hf_tok.decode(ids, clean_up_tokenization_spaces=False) == tok.decode(ids)
    assert hf_tok.decode(ids, skip_special_tokens=True) == tok.decode(ids, skip_special_tokens=True)


def test_lookup_errors(tok, tmp_path):
    with pytest.raises(UnknownTokenError):
        tok.token_id("<|no_such_token|>")
    with pytest.raises(UnknownTokenError):
        tok.decode([tok.vocab_size])
    with pytest.raises(TokenizerError, match="no tokenizer file"):
        Tokenizer.from_file(tmp_path / "missing.json")
    plain = build_small_tokenizer().backend
    bare = type(plain).from_str(plain.to_str())
    bare_json = json.loads(bare.to_str())
    bare_json["added_tokens"] = [t for t in bare_json["added_tokens"] if t["content"] != IMAGE_PAD]
    (tmp_path / "tokenizer.json").write_text(json.dumps(bare_json))
    with pytest.raises(TokenizerError, match="image_pad"):
        Tokenizer.from_file(tmp_path)  # a directory holding tokenizer.json


# ---- streaming -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60).filter(lambda s: "\ufffd" not in s))
def test_stream_decoder_never_emits_broken_characters(tok, text):
    stream = tok.stream_decoder()
    deltas = [stream.push(i) for i in tok.encode(text)]
    assert all("\ufffd" not in d for d in deltas)
    assert "".join(deltas) + stream.flush() == text


def test_stream_decoder_holds_a_split_character_then_flushes(tok):
    robot = tok.encode("\U0001f916")  # 4 UTF-8 bytes, no merge for them in the small vocab
    assert len(robot) > 1
    stream = tok.stream_decoder()
    assert [stream.push(i) for i in robot[:-1]] == [""] * (len(robot) - 1)
    assert stream.push(robot[-1]) == "\U0001f916"
    stream.push(robot[0])
    assert stream.flush() == "\ufffd"  # the stream ended inside a character
    quiet = tok.stream_decoder(skip_special_tokens=True)
    assert quiet.extend(tok.encode(f"ok{IM_END}")) == "ok"


# ---- chat format -----------------------------------------------------------------------------

CONVERSATIONS = {
    "no system": [{"role": "user", "content": "Open Settings."}],
    "system": [
        {"role": "system", "content": "You are a GUI agent."},
        {"role": "user", "content": [{"type": "text", "text": "Tap Wi-Fi."}]},
    ],
    "images": [
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "text", "text": "Compare with"},
                {"type": "image", "image": "file:///b.png"},
                {"image_url": "http://example.com/c.png"},
                {"type": "text", "text": "Where is the search box?"},
            ],
        }
    ],
    "video": [
        {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens?"}]}
    ],
    "multi-turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Find Settings"}]},
        {"role": "assistant", "content": "<|box_start|>(10,20),(30,40)<|box_end|>"},
        {
            "role": "user",
            "content": [{"type": "video", "video": "clip.mp4"}, {"type": "text", "text": "Now?"}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Done."}]},
    ],
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
@pytest.mark.parametrize("add_generation_prompt", [True, False])
@pytest.mark.parametrize("add_vision_id", [False, True])
def test_render_chat_matches_reference_template(hf_tok, name, add_generation_prompt, add_vision_id):
    messages = CONVERSATIONS[name]
    expected = hf_tok.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
        add_vision_id=add_vision_id,
    )
    assert render_chat(messages, add_generation_prompt, add_vision_id) == expected


def test_render_chat_defaults():
    text = render_chat([{"role": "user", "content": "hi"}])
    assert text.startswith(f"{IM_START}system\nYou are a helpful assistant.{IM_END}\n")
    assert text.endswith(f"{IM_START}assistant\n")


@pytest.mark.parametrize(
    "messages",
    [
        "hello",
        [{"content": "no role"}],
        [{"role": "user", "content": 3}],
        [{"role": "user", "content": [{"type": "audio"}]}],
        [{"role": "user", "content": [{"type": "text", "text": None}]}],
        [["user", "hi"]],
    ],
)
def test_render_chat_rejects_bad_messages(messages):
    with pytest.raises(ChatFormatError):
        render_chat(messages)


# ---- vision pads -----------------------------------------------------------------------------


def reference_expansion(text: str, image_grids: list, video_grids: list) -> str:
    """transformers' own placeholder expansion (ProcessorMixin + Qwen2VLProcessor methods)."""
    from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    merge = types.SimpleNamespace(merge_size=2)
    owner = types.SimpleNamespace(
        image_token=IMAGE_PAD,
        video_token=VIDEO_PAD,
        all_special_multimodal_tokens=[IMAGE_PAD, VIDEO_PAD],
        image_processor=merge,
        video_processor=merge,
    )
    images = {"image_grid_thw": np.array(image_grids or [[1, 2, 2]])}
    videos = {"video_grid_thw": np.array(video_grids or [[1, 2, 2]])}
    image_texts = [
        Qwen2VLProcessor.replace_image_token(owner, images, i) for i in range(len(image_grids))
    ]
    video_texts = [
        Qwen2VLProcessor.replace_video_token(owner, videos, i) for i in range(len(video_grids))
    ]
    expanded, _ = ProcessorMixin.get_text_with_replacements(owner, [text], image_texts, video_texts)
    return expanded[0]


def test_expand_vision_pads_matches_reference(tok):
    messages = CONVERSATIONS["multi-turn"] + [
        {"role": "user", "content": [{"type": "image"}, {"type": "video"}, {"type": "image"}]}
    ]
    text = render_chat(messages)
    image_grids, video_grids = [[1, 4, 6], [1, 106, 48], [1, 2, 2]], [[3, 8, 12], [2, 4, 4]]
    counts = lambda grids: [int(np.prod(g)) // 4 for g in grids]  # noqa: E731
    ours = expand_vision_pads(text, counts(image_grids), counts(video_grids))
    assert ours == reference_expansion(text, image_grids, video_grids)
    ids = tok.encode(ours)
    assert ids.count(tok.token_id(IMAGE_PAD)) == 6 + 1272 + 1
    assert ids.count(tok.token_id(VIDEO_PAD)) == 72 + 8


def test_expand_vision_pads_checks_counts():
    text = render_chat(CONVERSATIONS["images"])
    with pytest.raises(VisionPadCountError, match="3 <\\|image_pad\\|> but 2"):
        expand_vision_pads(text, [4, 4])
    with pytest.raises(VisionPadCountError, match="video"):
        expand_vision_pads(text, [4, 4, 4], [8])
    with pytest.raises(VisionPadCountError, match="positive"):
        expand_vision_pads(text, [4, 0, 4])
    assert expand_vision_pads("no pads", []) == "no pads"
    assert expand_vision_pads(text, np.array([1, 2, 3])).count(IMAGE_PAD) == 6
