"""Pure parsers for what an Android device prints: raw and PNG `screencap`, `wm size`,
the display rotation in `dumpsys display` / `dumpsys input`, and `uiautomator dump` output.

Raw screencap is a header of uint32 LE width, height, pixel format and — since Android 9
— a colour space, followed by the pixels. Which header it is follows from the byte count.
Decoding it is a numpy reshape; a PNG costs the device seconds to encode on real phones,
which is why raw is the default and PNG the fallback.
"""

import io
import re
import struct

import numpy as np

from vlagent.perception.errors import VlagentError

# Android PixelFormat values screencap can emit, with bytes per pixel and channel order.
PIXEL_FORMATS = {1: ("RGBA_8888", 4), 2: ("RGBX_8888", 4), 3: ("RGB_888", 3), 4: ("RGB_565", 2),
                 5: ("BGRA_8888", 4)}


class ScreencapError(VlagentError, ValueError):
    """Bytes that are not a screencap in the expected format; the message says what is off."""


class UnsupportedFormat(ScreencapError):
    """A raw screencap in a pixel format this decoder does not know."""


def parse_raw_screencap(data: bytes) -> tuple[np.ndarray, dict]:
    """Decode raw `screencap` bytes into an HxWx3 uint8 RGB array and header info.

    Raises ScreencapError for an unknown pixel format or a byte count that fits neither
    the 12- nor the 16-byte header.
    """
    if len(data) < 12:
        raise ScreencapError(f"raw screencap of {len(data)} bytes is shorter than its header")
    width, height, fmt = struct.unpack_from("<3I", data)
    if fmt not in PIXEL_FORMATS:
        raise UnsupportedFormat(f"unsupported screencap pixel format {fmt}")
    name, bpp = PIXEL_FORMATS[fmt]
    pixels = width * height * bpp
    if len(data) == 16 + pixels:
        header, colorspace = 16, struct.unpack_from("<I", data, 12)[0]
    elif len(data) == 12 + pixels:
        header, colorspace = 12, None
    else:
        raise ScreencapError(f"raw screencap {width}x{height} {name} should carry {pixels} pixel bytes "
                             f"after a 12- or 16-byte header, got {len(data)} bytes in all")
    flat = np.frombuffer(data, dtype=np.uint8, count=pixels, offset=header)
    if fmt == 4:
        value = flat.view("<u2").reshape(height, width).astype(np.uint16)
        rgb = np.stack([(value >> 11) & 0x1F, (value >> 5) & 0x3F, value & 0x1F], axis=-1)
        image = (rgb * np.array([255 / 31, 255 / 63, 255 / 31])).round().astype(np.uint8)
    else:
        image = flat.reshape(height, width, bpp)
        image = image[..., 2::-1] if fmt == 5 else image[..., :3]
        image = np.ascontiguousarray(image)
    return image, {"format": name, "colorspace": colorspace, "size": (width, height)}


def parse_png_screencap(data: bytes) -> np.ndarray:
    """Decode `screencap -p` bytes into HxWx3 uint8 RGB; raises ScreencapError if not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as error:
        raise ScreencapError(f"screencap -p did not return an image: {error}") from None


def is_black(image: np.ndarray, level: int = 2) -> bool:
    """Whether the frame is (all but) black, as FLAG_SECURE screens capture; samples a grid."""
    sample = image[:: max(1, image.shape[0] // 64), :: max(1, image.shape[1] // 64)]
    return bool(sample.max(initial=0) <= level)


_WM_SIZE = re.compile(r"(Override|Physical) size: (\d+)x(\d+)")


def parse_wm_size(text: str) -> tuple[int, int]:
    """`wm size` -> (width, height) of the natural orientation; an override wins."""
    sizes = {kind: (int(w), int(h)) for kind, w, h in _WM_SIZE.findall(text)}
    if not sizes:
        raise ScreencapError(f"`wm size` printed no size: {text.strip()[:200]!r}")
    return sizes.get("Override", sizes.get("Physical"))


_ROTATION_PATTERNS = (
    re.compile(r"mCurrentOrientation=(\d)"),
    re.compile(r"DisplayViewport\{[^}]*?\borientation=(\d)"),
    re.compile(r"SurfaceOrientation: (\d)"),
    re.compile(r"DisplayInfo\{[^}]*?\brotation (\d)"),
    re.compile(r"mCurrentRotation=ROTATION_(\d+)"),
)


def parse_rotation(text: str) -> int:
    """Display rotation (0-3 quarter turns) from `dumpsys display`, `dumpsys input` or
    `dumpsys window` output; raises ScreencapError when none of the known lines is there."""
    for pattern in _ROTATION_PATTERNS:
        match = pattern.search(text)
        if match:
            value = int(match.group(1))
            value = value // 90 if value >= 90 else value
            if value in (0, 1, 2, 3):
                return value
    raise ScreencapError("no display rotation found in dumpsys output")


def xml_from_dump(text: str) -> str:
    """The XML document inside `uiautomator dump` output (status lines stripped)."""
    start = text.find("<?xml")
    end = text.rfind("</hierarchy>")
    if start < 0 or end < 0:
        raise ScreencapError(f"uiautomator dump printed no XML: {text.strip()[:200]!r}")
    return text[start:end + len("</hierarchy>")]
