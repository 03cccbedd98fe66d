"""The Qwen2-VL special tokens, by name, in the real checkpoint's id order.

In Qwen2-VL-2B-Instruct these are ids 151643..151656, in the order of `SPECIAL_TOKENS`;
vlagent's small demo tokenizer keeps the same order at the end of its own vocabulary.
"""

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
OBJECT_REF_START = "<|object_ref_start|>"
OBJECT_REF_END = "<|object_ref_end|>"
BOX_START = "<|box_start|>"
BOX_END = "<|box_end|>"
QUAD_START = "<|quad_start|>"
QUAD_END = "<|quad_end|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
VISION_PAD = "<|vision_pad|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"

SPECIAL_TOKENS = (
    ENDOFTEXT,
    IM_START,
    IM_END,
    OBJECT_REF_START,
    OBJECT_REF_END,
    BOX_START,
    BOX_END,
    QUAD_START,
    QUAD_END,
    VISION_START,
    VISION_END,
    VISION_PAD,
    IMAGE_PAD,
    VIDEO_PAD,
)

# Id of SPECIAL_TOKENS[0] in the real Qwen2-VL vocabulary; the others follow in order.
QWEN2VL_FIRST_SPECIAL_ID = 151643

# Tokens that end generation: <|im_end|> closes a turn, <|endoftext|> ends the document.
EOS_TOKENS = (IM_END, ENDOFTEXT)
