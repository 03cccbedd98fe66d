"""Text <-> token ids for Qwen2-VL-style byte-level BPE tokenizers, on the `tokenizers` library.

`Tokenizer` wraps a `tokenizer.json` (the real Qwen2-VL one, or the small demo one that
`build_small_tokenizer` makes) and requires the 14 Qwen special tokens in it. Special tokens
written in the text are always recognised as single ids. `StreamDecoder` turns ids into text
as they arrive without ever cutting a multibyte UTF-8 character. The chat format lives in
`perception.chat` and is re-exported here; this module knows nothing about images.
"""

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import tokenizers
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers, processors, trainers

from vlagent.perception.chat import (
    DEFAULT_SYSTEM_PROMPT,
    ChatFormatError,
    VisionPadCountError,
    expand_vision_pads,
    render_chat,
)
from vlagent.perception.errors import VlagentError
from vlagent.perception.special_tokens import (
    BOX_END,
    BOX_START,
    ENDOFTEXT,
    EOS_TOKENS,
    IM_END,
    IM_START,
    IMAGE_PAD,
    OBJECT_REF_END,
    OBJECT_REF_START,
    QUAD_END,
    QUAD_START,
    QWEN2VL_FIRST_SPECIAL_ID,
    SPECIAL_TOKENS,
    VIDEO_PAD,
    VISION_END,
    VISION_PAD,
    VISION_START,
)
from vlagent.perception.tokenizer_corpus import CORPUS

__all__ = [
    "BOX_END",
    "BOX_START",
    "ENDOFTEXT",
    "EOS_TOKENS",
    "IMAGE_PAD",
    "IM_END",
    "IM_START",
    "OBJECT_REF_END",
    "OBJECT_REF_START",
    "QUAD_END",
    "QUAD_START",
    "QWEN2VL_FIRST_SPECIAL_ID",
    "SPECIAL_TOKENS",
    "VIDEO_PAD",
    "VISION_END",
    "VISION_PAD",
    "VISION_START",
    "DEFAULT_SYSTEM_PROMPT",
    "ChatFormatError",
    "VisionPadCountError",
    "expand_vision_pads",
    "render_chat",
    "QWEN_SPLIT_PATTERN",
    "SMALL_VOCAB_SIZE",
    "StreamDecoder",
    "Tokenizer",
    "TokenizerError",
    "UnknownTokenError",
    "build_small_tokenizer",
]

# Qwen2's pre-tokenizer split: letters with one leading non-letter, single digits, punctuation
# runs, newline runs, spaces. Single digits keep box coordinates one token per digit.
QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SMALL_VOCAB_SIZE = 1024


class TokenizerError(VlagentError, ValueError):
    """A tokenizer file that vlagent cannot use."""


class UnknownTokenError(VlagentError, KeyError):
    """A token string or id that the vocabulary does not have."""


class Tokenizer:
    """A byte-level BPE tokenizer holding the Qwen2-VL special tokens."""

    def __init__(self, backend: tokenizers.Tokenizer) -> None:
        missing = [token for token in SPECIAL_TOKENS if backend.token_to_id(token) is None]
        if missing:
            raise TokenizerError(f"tokenizer lacks the Qwen special tokens {missing}")
        self._backend = backend
        self._special_ids = MappingProxyType({t: backend.token_to_id(t) for t in SPECIAL_TOKENS})
        self._vocab_size = backend.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_file(cls, path: "str | os.PathLike[str]") -> "Tokenizer":
        """Load a `tokenizer.json`, or the one inside directory `path`."""
        file = Path(path)
        if file.is_dir():
            file = file / "tokenizer.json"
        if not file.is_file():
            raise TokenizerError(f"no tokenizer file at {file}")
        try:
            backend = tokenizers.Tokenizer.from_file(str(file))
        except Exception as error:  # the library raises a bare Exception for malformed files
            raise TokenizerError(f"cannot read tokenizer file {file}: {error}") from error
        return cls(backend)

    @property
    def backend(self) -> tokenizers.Tokenizer:
        """The underlying `tokenizers.Tokenizer`."""
        return self._backend

    @property
    def special_ids(self) -> Mapping[str, int]:
        """Id of each Qwen special token, keyed by its text (e.g. IMAGE_PAD)."""
        return self._special_ids

    @property
    def eos_ids(self) -> tuple[int, ...]:
        """Ids that end generation: <|im_end|>, then <|endoftext|>."""
        return tuple(self._special_ids[t] for t in EOS_TOKENS)

    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included (a model's embedding may be larger)."""
        return self._vocab_size

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; special tokens written in it become their single ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        return self._backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Text of `ids`; an incomplete UTF-8 sequence decodes to U+FFFD."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self._vocab_size]
        if bad:
            raise UnknownTokenError(f"ids outside the vocabulary of {self._vocab_size}: {bad[:8]}")
        return self._backend.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_id(self, token: str) -> int:
        """Id of the vocabulary entry `token` (e.g. IM_END)."""
        token_id = self._backend.token_to_id(token)
        if token_id is None:
            raise UnknownTokenError(f"{token!r} is not in the vocabulary")
        return token_id

    def stream_decoder(self, skip_special_tokens: bool = False) -> "StreamDecoder":
        """A fresh incremental decoder over this tokenizer."""
        return StreamDecoder(self, skip_special_tokens)

    def save(self, path: "str | os.PathLike[str]") -> Path:
        """Write `tokenizer.json` to `path` (a file path, or a directory to put it in)."""
        file = Path(path)
        if file.is_dir():
            file = file / "tokenizer.json"
        self._backend.save(str(file), pretty=True)
        return file


class StreamDecoder:
    """Text deltas of a growing id sequence, never splitting a UTF-8 character.

    Written here rather than using `tokenizers.decoders.DecodeStream` because that class
    cannot flush: a stream that ends inside a character would lose its last bytes. A delta is
    held back while the decoded tail ends in U+FFFD (an incomplete character); `flush` emits
    whatever is held, so the deltas always add up to `decode(all ids)`.
    """

    def __init__(self, tokenizer: Tokenizer, skip_special_tokens: bool = False) -> None:
        self._tokenizer = tokenizer
        self._skip = skip_special_tokens
        self._ids: list[int] = []
        self._prefix = 0  # start of the ids decoded for context
        self._read = 0  # ids before this index are already emitted

    def push(self, token_id: int) -> str:
        """Add one id; return the newly complete text ("" while a character is unfinished)."""
        self._ids.append(int(token_id))
        return self._emit(final=False)

    def extend(self, ids: Sequence[int]) -> str:
        """Add several ids; return the newly complete text."""
        self._ids.extend(int(i) for i in ids)
        return self._emit(final=False)

    def flush(self) -> str:
        """Emit everything held back (an unfinished character becomes U+FFFD) and reset."""
        text = self._emit(final=True)
        self._ids, self._prefix, self._read = [], 0, 0
        return text

    def _emit(self, final: bool) -> str:
        decode = self._tokenizer.decode
        seen = decode(self._ids[self._prefix : self._read], self._skip)
        full = decode(self._ids[self._prefix :], self._skip)
        if len(full) <= len(seen) or (full.endswith("\ufffd") and not final):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return full[len(seen) :]


def build_small_tokenizer(
    path: "str | os.PathLike[str] | None" = None, vocab_size: int = SMALL_VOCAB_SIZE
) -> Tokenizer:
    """vlagent's small demo tokenizer: byte-level BPE trained on the built-in corpus.

    Qwen2's pre-tokenizer and byte-level decoder (any Unicode text round-trips; unlike Qwen2
    there is no NFC normaliser, so nothing is rewritten), at most `vocab_size` ids of which
    the last 14 are the Qwen special tokens in their real order. Deterministic: the same
    call writes the same bytes. With `path`, also writes tokenizer.json there.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(
            f"vocab_size must leave room for 256 bytes and 14 special tokens, got {vocab_size}"
        )
    backend = tokenizers.Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(SPECIAL_TOKENS),
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    backend.train_from_iterator(CORPUS.splitlines(keepends=True), trainer=trainer)
    backend.add_special_tokens(
        [
            AddedToken(
                t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True
            )
            for t in SPECIAL_TOKENS
        ]
    )
    tokenizer = Tokenizer(backend)
    if path is not None:
        tokenizer.save(path)
    return tokenizer
