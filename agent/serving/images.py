"""Request images: `image_url` data URLs, or local paths under an allowed directory, with limits.

A data URL is `data:image/png;base64,...` (any image type Pillow reads). A local path
(`file:///abs/path` or `/abs/path`) is read only under `allowed_root`, as vLLM's
`--allowed-local-media-path`: a server must not read arbitrary files for a client.
Limits: `MAX_IMAGE_BYTES` encoded bytes and `MAX_IMAGE_PIXELS` decoded pixels; Pillow's own
decompression-bomb guard is kept. Every failure is an `ImageInputError` naming what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from vlagent.perception.errors import VlagentError

MAX_IMAGE_BYTES = 16 * 2**20
MAX_IMAGE_PIXELS = 4096 * 4096
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,(?P<data>.*)$", re.S)


class ImageInputError(VlagentError, ValueError):
    """An image in a request that cannot be used: a bad data URL, a path not allowed, too big."""


def _decode(data: bytes, where: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageInputError(f"{where}: the image is {width}x{height} px, more than {max_pixels} px allowed")
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ImageInputError(f"{where}: not a readable image ({type(error).__name__}: {error})") from None


def load_image(url: str, where: str = "image", allowed_root: Path | None = None,
               max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """H x W x 3 uint8 RGB from a data URL or an allowed local path (see the module docstring)."""
    if url.startswith("data:"):
        match = _DATA_URL.match(url)
        if match is None or not match.group("b64"):
            raise ImageInputError(f"{where}: a data URL must be data:image/...;base64,<data>")
        if match.group("mime") and not match.group("mime").startswith("image/"):
            raise ImageInputError(f"{where}: the data URL holds {match.group('mime')}, not an image")
        payload = match.group("data")
        if len(payload) * 3 // 4 > max_bytes:
            raise ImageInputError(f"{where}: the image is over {max_bytes} bytes")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ImageInputError(f"{where}: the data URL's base64 is malformed") from None
        return _decode(data, where, max_pixels)
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        raise ImageInputError(f"{where}: remote image URLs are not fetched (no network); send a data URL")
    if parsed.scheme not in ("", "file"):
        raise ImageInputError(f"{where}: unsupported image URL scheme {parsed.scheme!r}")
    path = Path(unquote(parsed.path if parsed.scheme == "file" else url))
    if allowed_root is None:
        raise ImageInputError(f"{where}: local image paths are not allowed; start the server with "
                              "--allowed-local-media-path DIR, or send a data URL")
    resolved = path.resolve()
    if not path.is_absolute() or not resolved.is_relative_to(allowed_root.resolve()):
        raise ImageInputError(f"{where}: {path} is not under the allowed directory {allowed_root}")
    if not resolved.is_file():
        raise ImageInputError(f"{where}: no such file {path}")
    if resolved.stat().st_size > max_bytes:
        raise ImageInputError(f"{where}: {path} is over {max_bytes} bytes")
    return _decode(resolved.read_bytes(), where, max_pixels)
