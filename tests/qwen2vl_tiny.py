"""Tiny random Qwen2-VL checkpoints built with HF transformers 5.24, for parity tests.

Weights are redrawn with a larger spread than HF's 0.02 init so that a wrong rotation,
mask or merge order moves the logits far beyond the 1e-5 tolerance.
"""

import torch


def hf_config(vocab_size=300, image_token_id=290, video_token_id=291, vision_start_token_id=288,
              vision_end_token_id=289, eos_token_id=287, tie=False, layers=2):
    from transformers import Qwen2VLConfig

    return Qwen2VLConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=96, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
                         bos_token_id=None, eos_token_id=eos_token_id, pad_token_id=None),
        vision_config=dict(depth=2, embed_dim=32, hidden_size=64, num_heads=4, mlp_ratio=2),
        image_token_id=image_token_id, video_token_id=video_token_id,
        vision_start_token_id=vision_start_token_id, vision_end_token_id=vision_end_token_id,
        tie_word_embeddings=tie)


def small_tokenizer_hf_config(tokenizer, **overrides):
    """`hf_config` with the vocabulary and special ids of vlagent's small tokenizer (`build_small_tokenizer`)."""
    from vlagent.perception.tokenizer import IM_END, IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START

    ids = tokenizer.special_ids
    return hf_config(vocab_size=tokenizer.vocab_size, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                     vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                     eos_token_id=ids[IM_END], **overrides)


def hf_model(config, seed=0):
    """A random HF Qwen2VLForConditionalGeneration in eval mode, fp32."""
    from transformers import Qwen2VLForConditionalGeneration

    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and name.endswith("weight"):  # norm gains
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.1)
    return model


def vision_block(grid, merge=2, start=288, pad=290, end=289):
    """Token ids for one vision block of `grid` (t, h, w)."""
    t, h, w = grid
    return [start] + [pad] * (t * h * w // merge**2) + [end]
