"""The coordinate contract: round trips within half a pixel, clamping, chaining rules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlagent.perception.coords import (
    Chain,
    CoordinateError,
    Offset,
    Rotate,
    Scale,
    apply_box,
    clamp_box,
    clamp_point,
    compose,
    frame_to_device_scaled,
    identity,
    image_to_norm1000,
    model_to_frame,
    norm1000_to_image,
    pixel_index,
    transform_from_dict,
)

sides = st.integers(min_value=1, max_value=8000)
turns = st.integers(min_value=0, max_value=3)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def chains(draw):
    """A random device <- frame chain: crop, rotation, downscale, as real sources produce."""
    device = (draw(sides), draw(sides))
    steps = []
    size = (draw(sides), draw(sides))
    first = size
    if draw(st.booleans()):
        steps.append(Scale(size, (draw(sides), draw(sides))))
        size = steps[-1].dst
    rotate = Rotate(draw(turns), size)
    steps.append(rotate)
    size = rotate.dst
    dx, dy = draw(st.integers(0, 500)), draw(st.integers(0, 500))
    steps.append(Offset(dx, dy, size, (size[0] + dx + device[0] % 7, size[1] + dy)))
    return Chain(tuple(steps)), first


@settings(max_examples=300, deadline=None)
@given(chain_and_size=chains(), fx=unit, fy=unit)
def test_round_trip_through_any_chain_is_within_half_a_pixel(chain_and_size, fx, fy):
    chain, (width, height) = chain_and_size
    x, y = fx * width, fy * height
    back_x, back_y = chain.inverse().apply(*chain.apply(x, y))
    assert abs(back_x - x) <= 0.5 and abs(back_y - y) <= 0.5


@settings(max_examples=300, deadline=None)
@given(frame_w=sides, frame_h=sides, model_w=sides, model_h=sides, fx=unit, fy=unit)
def test_frame_model_norm_round_trip(frame_w, frame_h, model_w, model_h, fx, fy):
    frame = (frame_w, frame_h)
    model = (model_w, model_h)
    x, y = fx * frame_w, fy * frame_h
    frame_to_norm = compose(model_to_frame(model, frame).inverse(), image_to_norm1000(model))
    nx, ny = frame_to_norm.apply(x, y)
    assert 0 <= nx <= 1000 + 1e-9 and 0 <= ny <= 1000 + 1e-9
    back = compose(norm1000_to_image(model), model_to_frame(model, frame)).apply(nx, ny)
    assert abs(back[0] - x) <= 0.5 and abs(back[1] - y) <= 0.5


@settings(max_examples=300, deadline=None)
@given(width=sides, height=sides, box=st.tuples(*[st.floats(-1e6, 1e6, allow_nan=False)] * 4))
def test_a_clamped_box_never_leaves_its_space(width, height, box):
    x1, y1, x2, y2 = clamp_box(box, (width, height))
    assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
    px, py = clamp_point(box[0], box[1], (width, height))
    assert 0 <= px <= width and 0 <= py <= height
    ix, iy = pixel_index(box[0], box[1], (width, height))
    assert 0 <= ix < width and 0 <= iy < height


@settings(max_examples=200, deadline=None)
@given(width=sides, height=sides, k=turns, fx=unit, fy=unit)
def test_rotation_maps_the_space_onto_the_rotated_space(width, height, k, fx, fy):
    rotate = Rotate(k, (width, height))
    x, y = rotate.apply(fx * width, fy * height)
    dst_w, dst_h = rotate.dst
    assert -1e-9 <= x <= dst_w + 1e-9 and -1e-9 <= y <= dst_h + 1e-9
    box = apply_box(rotate, (0, 0, width, height))
    assert box == pytest.approx((0, 0, dst_w, dst_h))


def test_rotation_directions_are_explicit():
    # A 1080x2400 portrait screen turned a quarter clockwise is 2400x1080;
    # its top-left corner goes to the top-right.
    rotate = Rotate(1, (1080, 2400))
    assert rotate.dst == (2400, 1080)
    assert rotate.apply(0, 0) == (2400, 0)
    assert Rotate(2, (100, 50)).apply(10, 5) == (90, 45)
    assert Rotate(3, (100, 50)).apply(10, 5) == (5, 90)


def test_scaled_capture_maps_to_device():
    to_device = frame_to_device_scaled((540, 1200), (1080, 2400))
    assert to_device.apply(270, 600) == (540, 1200)
    assert identity((10, 20)).apply(3, 4) == (3, 4)


def test_chains_must_connect_and_sizes_must_be_valid():
    with pytest.raises(CoordinateError, match="chain mismatch"):
        compose(Scale((10, 10), (20, 20)), Scale((30, 30), (10, 10)))
    with pytest.raises(CoordinateError):
        Scale((0, 10), (10, 10))
    with pytest.raises(CoordinateError):
        Scale((float("inf"), 10), (10, 10))
    with pytest.raises(CoordinateError):
        Rotate(4, (10, 10))
    with pytest.raises(CoordinateError):
        Chain(())


def test_transforms_serialise_for_episode_files():
    chain = compose(Scale((540, 1200), (1080, 2400)), Rotate(1, (1080, 2400)), Offset(3, 4, (2400, 1080), (2403, 1084)))
    assert transform_from_dict(chain.to_dict()) == chain
    with pytest.raises(CoordinateError):
        transform_from_dict({"kind": "shear"})
    with pytest.raises(CoordinateError):
        transform_from_dict({"kind": "scale"})
