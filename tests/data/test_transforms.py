"""Batch transforms: what each one does to known images, their statistics, their rng discipline."""
from __future__ import annotations

import numpy
import pytest

from gradkit.data import transforms as T


def _dots(batch=400, size=28, channels=1):
    """Images that are zero but for one bright pixel at the centre (and a marker in channel 1)."""
    x = numpy.zeros((batch, channels, size, size), numpy.float32)
    x[:, 0, size // 2, size // 2] = 1.0
    if channels > 1:
        x[:, 1, 0, 0] = 2.0
    return x


def _where(images):
    """(row, col) of the bright pixel of each image (B, H, W)."""
    flat = images.reshape(len(images), -1).argmax(axis=1)
    return numpy.stack(numpy.unravel_index(flat, images.shape[-2:]), axis=1)


def test_flip_twice_is_identity_and_half_are_flipped():
    x = numpy.random.default_rng(0).random((500, 1, 5, 7), dtype=numpy.float32)
    always = T.RandomHorizontalFlip(1.0)
    numpy.testing.assert_array_equal(always(always(x, 0), 1), x)
    numpy.testing.assert_array_equal(always(x, 0), x[..., ::-1])
    numpy.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x, 0), x)
    y = T.RandomHorizontalFlip(0.5)(x, rng=1)
    flipped = numpy.all(y == x[..., ::-1], axis=(1, 2, 3))
    kept = numpy.all(y == x, axis=(1, 2, 3))
    assert numpy.all(flipped ^ kept) and 200 < flipped.sum() < 300  # Binomial(500, 0.5): 5 sigma is +-56
    # the same generator state gives the same flips: flipping twice with it is the identity
    twice = T.RandomHorizontalFlip(0.5)(T.RandomHorizontalFlip(0.5)(x, rng=2), rng=2)
    numpy.testing.assert_array_equal(twice, x)
    assert y.dtype == numpy.float32


def test_shift_moves_content_by_at_most_max_pixels_in_every_direction():
    x = _dots(channels=2)
    y = T.RandomShift(3)(x, rng=0)
    assert y.shape == x.shape and y.dtype == numpy.float32
    moves = _where(y[:, 0]) - 14
    assert numpy.abs(moves).max() == 3 and set(moves[:, 0]) == set(range(-3, 4)) == set(moves[:, 1])
    numpy.testing.assert_array_equal(y[:, 0].sum(axis=(1, 2)), 1.0)  # the dot never falls out
    # both channels of one image move together: channel 1's corner marker moves by the same (dy, dx),
    # so it stays in the frame exactly when dy >= 0 and dx >= 0
    still = y[:, 1].max(axis=(1, 2)) == 2.0
    assert numpy.all(still == numpy.all(moves >= 0, axis=1)) and 0 < still.sum() < len(y)
    numpy.testing.assert_array_equal(_where(y[still, 1]), moves[still])
    numpy.testing.assert_array_equal(T.RandomShift(0)(x, rng=0), x)


def test_shift_matches_numpy_roll_with_zero_fill():
    x = numpy.random.default_rng(1).random((64, 1, 9, 9), dtype=numpy.float32)
    x[..., :2, :] = x[..., -2:, :] = x[..., :, :2] = x[..., :, -2:] = 0  # content inside a 2-pixel frame
    y = T.RandomShift(2)(x, rng=3)
    for xi, yi in zip(x, y):  # a roll of the framed image is a zero-filled shift
        assert any(numpy.array_equal(numpy.roll(xi, (dy, dx), axis=(1, 2)), yi)
                   for dy in range(-2, 3) for dx in range(-2, 3))


def test_crop_cuts_windows_of_the_padded_image():
    x = numpy.random.default_rng(2).random((50, 3, 10, 12), dtype=numpy.float32)
    y = T.RandomCrop((6, 8))(x, rng=4)
    assert y.shape == (50, 3, 6, 8)
    for xi, yi in zip(x, y):
        assert any(numpy.array_equal(xi[:, r:r + 6, c:c + 8], yi) for r in range(5) for c in range(5))
    padded = T.RandomCrop(10, padding=4)(x[:, :, :10, :10], rng=5)
    assert padded.shape == (50, 3, 10, 10) and (padded == 0).any()
    three_d = T.RandomCrop(4)(x[:, 0], rng=6)  # (B, H, W) works too
    assert three_d.shape == (50, 4, 4)
    with pytest.raises(ValueError, match=r"RandomCrop: crop 12x12 larger than the padded image 10x12"):
        T.RandomCrop(12)(x, rng=0)
    with pytest.raises(ValueError, match=r"RandomShift: expected a batch of images .* got shape \(5, 3\)"):
        T.RandomShift(1)(numpy.zeros((5, 3)), rng=0)


def test_normalize_standardises_per_channel_and_keeps_float32():
    rng = numpy.random.default_rng(3)
    x = (rng.standard_normal((2000, 2, 4, 4)) * [[[[2.0]], [[0.5]]]] + [[[[3.0]], [[-1.0]]]]).astype(numpy.float32)
    y = T.Normalize([3.0, -1.0], [2.0, 0.5])(x)
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=0.03)
    numpy.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1.0, atol=0.03)
    numpy.testing.assert_allclose(T.Normalize(0.5, 0.25)(numpy.array([[0.0, 1.0]], numpy.float32)), [[-2.0, 2.0]])
    with pytest.raises(ValueError, match="std must be > 0"):
        T.Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match=r"Normalize: 2 channel statistics need input \(B, 2, ...\), got shape"):
        T.Normalize([0, 0], [1, 1])(numpy.zeros((4, 3, 2, 2), numpy.float32))


def test_compose_flatten_and_determinism():
    x = _dots(batch=16)
    pipeline = T.Compose([T.RandomShift(2), T.RandomHorizontalFlip(), T.Normalize(0.1, 0.3), T.Flatten()])
    a, b = pipeline(x, rng=9), pipeline(x, rng=numpy.random.default_rng(9))
    assert a.shape == (16, 784) and a.dtype == numpy.float32
    numpy.testing.assert_array_equal(a, b)
    assert not numpy.array_equal(a, pipeline(x, rng=10))
    assert "RandomShift" in repr(pipeline.transforms[0])
