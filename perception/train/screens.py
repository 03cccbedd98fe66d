"""Random simulator screens with their clickable targets, rendered once and cached as a pool.

A `Screen` is one rendered frame downscaled to the model-input size (uint8 RGB, the size
`ImageProcessor.resized_size` gives for the device frame, so the processor's own resize is then
a no-op) plus its `Target`s: every clickable UI node with a usable label (its text or
content-desc, else the first labelled node inside it), with bounds in device px and the box in
norm-1000 of the image. Labels shown twice on one screen are dropped (a query could not tell
them apart). Screens come from `Phone(seed)` at the phone's `DEFAULT_SIZE` (1080x2400 device
px, frame px == device px), or for a varied-size pool at the geometry `screen_geometry(seed)`
picks (portrait and landscape phones, 1600x2560 tablets): the home screen, or an app opened and
0-2 random taps deep. The same seed always gives the same screen, so held-out seeds stay held out.

Device px -> norm-1000 goes through `perception.coords` (`image_to_norm1000`); only the
outward rounding to the GRID is done here.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import random
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vlagent.perception.coords import apply_box, image_to_norm1000
from vlagent.perception.image_ops import resize_bicubic, to_rgb_image
from vlagent.perception.processor import ImageProcessor
from vlagent.sim.phone import DEFAULT_SIZE

MAX_LABEL_CHARS = 32
NAV_LABELS = ("Back", "Home", "Overview")  # the nav bar: on every screen, at fixed places
GRID = 10  # box coordinates are rounded outward to multiples of this (norm-1000)


@dataclass(frozen=True)
class Target:
    """A clickable element: label, bounds (x1, y1, x2, y2) device px, box norm-1000 (outward-rounded ints)."""

    label: str
    bounds: tuple[int, int, int, int]
    box: tuple[int, int, int, int]


@dataclass
class Screen:
    seed: int
    screen_id: str
    image: np.ndarray  # H x W x 3 uint8, model-input px
    targets: list[Target]
    frame_size: tuple[int, int] = DEFAULT_SIZE  # (width, height) device px of the frame the image shows


# Screen geometries of the varied-size pool (`screen_geometry`): (width, height, orientation) of
# the Phone; a landscape phone is the portrait one rotated, so its frame is 2400x1080.
PHONE_PORTRAIT = (1080, 2400, "portrait")
PHONE_LANDSCAPE = (1080, 2400, "landscape")
TABLET = (1600, 2560, "portrait")


def screen_geometry(seed: int) -> tuple[int, int, str]:
    """The geometry of seed's screen in a varied-size pool: half portrait phones, a quarter
    landscape phones, a quarter 1600x2560 tablets (by seed, so a seed always gives one screen)."""
    pick = random.Random(f"geometry:{seed}").random()
    return PHONE_PORTRAIT if pick < 0.5 else PHONE_LANDSCAPE if pick < 0.75 else TABLET


def norm_box(bounds, device_size=DEFAULT_SIZE, grid: int = GRID) -> tuple[int, int, int, int]:
    """Device-px bounds (x1, y1, x2, y2) of a `device_size` screen -> norm-1000 box (ints),
    rounded outward to multiples of `grid` so it contains the element, clamped to 0..1000."""
    x1, y1, x2, y2 = apply_box(image_to_norm1000(device_size), bounds)
    lo = lambda v: max(0, int(np.floor(v / grid)) * grid)  # noqa: E731
    hi = lambda v: min(1000, int(np.ceil(v / grid)) * grid)  # noqa: E731
    return lo(x1), lo(y1), hi(x2), hi(y2)


def _inside(inner, outer) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _own_labels(node) -> list[str]:
    """A node's candidate labels, most readable first: its text, then its content-desc."""
    out = []
    for raw in (node.text, node.content_desc):
        label = " ".join(raw.split())
        if label and len(label) <= MAX_LABEL_CHARS and label not in out:
            out.append(label)
    return out


def targets_of(nodes, device_size=DEFAULT_SIZE) -> list[Target]:
    """Clickable nodes with a usable, unique label (see module docstring).

    A node's label is its text, else its content-desc, else the first labelled node inside it.
    Where the text repeats on the screen (a row of "Add to cart" buttons, two alarm switches
    reading "ON") and the content-desc is unique ("Add USB-C cable to cart"), the content-desc
    names it, so such elements stay targets instead of being dropped as ambiguous.
    """
    found: list[tuple[list[str], tuple]] = []
    for i, node in enumerate(nodes):
        if not node.clickable or node.width < 8 or node.height < 8:
            continue
        labels = _own_labels(node)
        if not labels:
            for inner in nodes[i + 1:]:
                if inner.depth <= node.depth:
                    break
                if _own_labels(inner) and _inside(inner.bounds, node.bounds):
                    labels = _own_labels(inner)[:1]
                    break
        if labels:
            found.append((labels, tuple(int(v) for v in node.bounds)))
    counts: dict[str, int] = {}
    for labels, _ in found:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    out = []
    for labels, bounds in found:
        unique = [label for label in labels if counts[label] == 1]
        if unique:
            out.append(Target(unique[0], bounds, norm_box(bounds, device_size)))
    return out


def random_phone(seed: int, home_share: float = 0.3, geometry: tuple[int, int, str] = PHONE_PORTRAIT):
    """A Phone on a random screen chosen by `seed`: home, or an app opened and 0-2 random taps in.
    `geometry` = (width, height, orientation) of the phone (`PHONE_PORTRAIT` is `DEFAULT_SIZE`)."""
    from vlagent.sim.phone import APPS, Phone

    rng = random.Random(seed)
    width, height, orientation = geometry
    phone = Phone(width, height, seed=seed, orientation=orientation)
    if rng.random() < home_share:
        return phone
    phone.open_app(rng.choice(APPS).label)
    for _ in range(rng.choice((0, 0, 1, 2))):
        nodes = [n for n in phone.ui_tree() if n.clickable and n.bounds[1] < phone.size[1] - 200]
        if not nodes:
            break
        x, y = rng.choice(nodes).center
        phone.tap(x, y)
    return phone


def render_screen(seed: int, processor: ImageProcessor, geometry: tuple[int, int, str] = PHONE_PORTRAIT) -> Screen:
    phone = random_phone(seed, geometry=geometry)
    frame = phone.render()
    h, w = processor.resized_size(frame.shape[0], frame.shape[1])
    image = np.asarray(resize_bicubic(to_rgb_image(frame), (w, h), None, 1))
    return Screen(seed, phone.screen_id, image, targets_of(phone.ui_tree(), phone.size), tuple(phone.size))


def at_budget(screen: Screen, processor: ImageProcessor) -> Screen:
    """`screen` with its image resized to what `processor` makes of the full frame (a pool
    rendered at a larger budget serves every smaller one; boxes are norm-1000, so they hold)."""
    width, height = screen.frame_size
    h, w = processor.resized_size(height, width)
    if screen.image.shape[:2] == (h, w):
        return screen
    image = np.asarray(resize_bicubic(to_rgb_image(screen.image), (w, h), None, 1))
    return Screen(screen.seed, screen.screen_id, image, screen.targets, screen.frame_size)


def _render_for_pool(seed: int, arg: tuple[int, int, bool]) -> Screen:
    geometry = screen_geometry(seed) if arg[2] else PHONE_PORTRAIT
    return render_screen(seed, ImageProcessor(min_pixels=arg[0], max_pixels=arg[1], threads=1), geometry)


@contextmanager
def parallel_map(fn, items, arg, workers: int):
    """`fn(item, arg)` for every item, in order; in `workers` spawned processes when > 1 (spawn,
    not fork: the trainer has torch and its OpenMP pool loaded)."""
    items = list(items)
    if workers <= 1:
        yield (fn(item, arg) for item in items)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield pool.imap(functools.partial(fn, arg=arg), items, chunksize=25)


class ScreenPool:
    """Screens for a range of seeds, built once and cached on disk (images .npy + targets .json)."""

    def __init__(self, screens: list[Screen]):
        self.screens = [s for s in screens if s.targets]

    def __len__(self) -> int:
        return len(self.screens)

    @classmethod
    def build(cls, seeds, processor: ImageProcessor, cache: str | Path | None = None,
              log=lambda _: None, workers: int = 1, varied_sizes: bool = False) -> ScreenPool:
        """Render (or load from `cache`) the screens of `seeds`; `workers` processes render.
        `varied_sizes`: each seed's geometry from `screen_geometry` (phones, landscape, tablets),
        else all portrait phones of `DEFAULT_SIZE`."""
        seeds = list(seeds)
        if cache is not None:
            cache = Path(cache)
            meta_path, img_path = cache.with_suffix(".json"), cache.with_suffix(".npy")
            if meta_path.is_file() and img_path.is_file():
                meta = json.loads(meta_path.read_text())
                if (meta["seeds"] == seeds and meta["max_pixels"] == processor.max_pixels
                        and meta.get("varied_sizes", False) == varied_sizes):
                    return cls(_load_screens(meta, np.load(img_path)))
        screens = []
        arg = (processor.min_pixels, processor.max_pixels, varied_sizes)
        with parallel_map(_render_for_pool, seeds, arg, workers) as results:
            for n, screen in enumerate(results):
                screens.append(screen)
                if n % 1000 == 0:
                    log(f"rendered {n}/{len(seeds)} screens")
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            # one flat array: the images of a varied-size pool differ in shape
            np.save(img_path, np.concatenate([s.image.reshape(-1) for s in screens]))
            meta = {"seeds": seeds, "max_pixels": processor.max_pixels, "varied_sizes": varied_sizes,
                    "screens": [{"seed": s.seed, "screen_id": s.screen_id, "shape": list(s.image.shape),
                                 "frame_size": list(s.frame_size),
                                 "targets": [asdict(t) for t in s.targets]} for s in screens]}
            meta_path.write_text(json.dumps(meta))
        return cls(screens)


def _load_screens(meta: dict, flat: np.ndarray) -> list[Screen]:
    screens, offset = [], 0
    for m in meta["screens"]:
        shape = tuple(m["shape"])
        size = int(np.prod(shape))
        screens.append(Screen(m["seed"], m["screen_id"], flat[offset:offset + size].reshape(shape),
                              [Target(t["label"], tuple(t["bounds"]), tuple(t["box"])) for t in m["targets"]],
                              tuple(m["frame_size"])))
        offset += size
    return screens
