"""gradkit.nn.functional against torch.nn.functional: the same name, the same arguments, the same inputs.

Each row calls ``F.<name>(*inputs, **kwargs)`` in both frameworks on NumPy inputs, in float32 and
float64, and compares values, dtypes and the gradients of every float input."""
from __future__ import annotations

import os
import sys
import warnings

import numpy
import pytest
import torch

import gradkit as gk
import gradkit.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from nn_parity import Fixed, raises_both, run_both  # noqa: E402

R = numpy.random.default_rng(16)


def x(*shape, scale=1.0):
    return R.standard_normal(shape) * scale


def labels(n, classes, *extra):
    return Fixed(R.integers(0, classes, (n,) + extra))


def probs(*shape):
    return R.uniform(0.05, 0.95, shape)


LOGITS, TARGET = x(6, 5), labels(6, 5)
IGNORED = Fixed(numpy.array([0, -100, 3, 4, -100, 1]))
WEIGHT = Fixed(R.uniform(0.5, 2.0, 5))
SOFT = Fixed(numpy.exp(x(6, 5)) / numpy.exp(x(6, 5)).sum(1, keepdims=True))

CASES = [
    # activations
    ("relu", [x(4, 5)], {}),
    ("leaky_relu", [x(4, 5), 0.2], {}),
    ("elu", [x(4, 5)], {"alpha": 0.7}),
    ("softplus", [x(4, 5, scale=8)], {"beta": 2.0, "threshold": 10.0}),
    ("silu", [x(4, 5)], {}),
    ("logsigmoid", [x(4, 5, scale=10)], {}),
    ("gelu", [x(4, 5)], {"approximate": "tanh"}),
    ("sigmoid", [x(4, 5)], {}),
    ("tanh", [x(4, 5)], {}),
    ("softmax", [x(4, 5)], {"dim": 1}),
    ("softmax-dim0", [x(4, 5)], {"dim": 0}),
    ("softmax-implicit-3d", [x(2, 3, 4)], {}),
    ("log_softmax", [x(3, 4, 5, scale=20)], {"dim": -1}),
    # losses
    ("cross_entropy", [LOGITS, TARGET], {}),
    ("cross_entropy-sum", [LOGITS, TARGET], {"reduction": "sum"}),
    ("cross_entropy-none", [LOGITS, TARGET], {"reduction": "none"}),
    ("cross_entropy-weight", [LOGITS, TARGET], {"weight": WEIGHT}),
    ("cross_entropy-ignore", [LOGITS, IGNORED], {}),
    ("cross_entropy-ignore-none", [LOGITS, IGNORED], {"reduction": "none"}),
    ("cross_entropy-smoothing", [LOGITS, TARGET], {"label_smoothing": 0.1}),
    ("cross_entropy-all-options", [LOGITS, IGNORED], {"weight": WEIGHT, "label_smoothing": 0.2}),
    ("cross_entropy-all-options-sum", [LOGITS, IGNORED], {"weight": WEIGHT, "label_smoothing": 0.2,
                                                         "reduction": "sum"}),
    ("cross_entropy-probabilities", [LOGITS, SOFT], {"label_smoothing": 0.1, "weight": WEIGHT}),
    ("cross_entropy-spatial", [x(2, 4, 3, 3), labels(2, 4, 3, 3)], {"weight": Fixed(R.uniform(0.5, 2, 4))}),
    ("cross_entropy-empty-batch", [x(0, 5), Fixed(numpy.zeros(0, numpy.int64))], {}),
    ("cross_entropy-all-ignored", [x(3, 5), Fixed(numpy.full(3, -100))], {}),
    ("nll_loss", [x(6, 5), TARGET], {}),
    ("nll_loss-weight-ignore", [x(6, 5), IGNORED], {"weight": WEIGHT, "ignore_index": -100}),
    ("nll_loss-custom-ignore", [x(6, 5), Fixed(numpy.array([0, 2, 2, 4, 1, 2]))], {"ignore_index": 2}),
    ("mse_loss", [x(4, 3), Fixed(x(4, 3))], {}),
    ("mse_loss-sum", [x(4, 3), x(4, 3)], {"reduction": "sum"}),
    ("l1_loss", [x(4, 3), Fixed(x(4, 3))], {}),
    ("l1_loss-none", [x(4, 3), x(4, 3)], {"reduction": "none"}),
    ("binary_cross_entropy", [probs(4, 3), Fixed(probs(4, 3))], {}),
    ("binary_cross_entropy-weight", [probs(4, 3), Fixed(R.integers(0, 2, (4, 3)).astype(float))],
     {"weight": Fixed(R.uniform(0, 2, (4, 3)))}),
    ("binary_cross_entropy_with_logits", [x(4, 3, scale=5), Fixed(probs(4, 3))], {}),
    ("binary_cross_entropy_with_logits-pos_weight", [x(4, 3, scale=5), Fixed(probs(4, 3))],
     {"pos_weight": Fixed(R.uniform(0.5, 3, 3)), "weight": Fixed(R.uniform(0, 2, (4, 3)))}),
    # layers as functions
    ("linear", [x(4, 3), x(5, 3), x(5)], {}),
    ("linear-3d-no-bias", [x(2, 4, 3), x(5, 3)], {}),
    ("conv2d", [x(2, 3, 7, 6), x(4, 3, 3, 3), x(4)], {"stride": 2, "padding": 1}),
    ("conv2d-same", [x(2, 3, 7, 6), x(4, 3, 3, 3)], {"padding": "same"}),
    ("conv2d-valid-dilated", [x(2, 3, 9, 9), x(4, 3, 3, 3)], {"padding": "valid", "dilation": 2}),
    ("conv2d-groups", [x(2, 4, 6, 6), x(6, 2, 3, 3), x(6)], {"groups": 2, "padding": (1, 0)}),
    ("max_pool2d", [x(2, 3, 6, 6)], {"kernel_size": 2}),
    ("max_pool2d-stride-padding", [x(2, 3, 7, 7)], {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", [x(2, 3, 6, 6)], {"kernel_size": 3, "stride": 1, "padding": 1}),
    ("adaptive_avg_pool2d-1", [x(2, 3, 5, 7)], {"output_size": 1}),
    ("adaptive_avg_pool2d-2x3", [x(2, 3, 4, 6)], {"output_size": (2, 3)}),
    ("adaptive_max_pool2d", [x(2, 3, 4, 6)], {"output_size": 2}),
    ("dropout-eval", [x(4, 5)], {"p": 0.5, "training": False}),
    ("dropout-p0", [x(4, 5)], {"p": 0.0}),
    ("batch_norm-train", [x(8, 3, 2, 2), Fixed(numpy.zeros(3)), Fixed(numpy.ones(3)), x(3), x(3)],
     {"training": True, "momentum": 0.3}),
    ("batch_norm-eval", [x(8, 3), Fixed(x(3)), Fixed(R.uniform(0.5, 2, 3)), x(3), x(3)], {"eps": 1e-3}),
    ("embedding", [Fixed(R.integers(0, 7, (3, 4))), x(7, 5)], {}),
    ("pad", [x(2, 3, 4, 5), (1, 2)], {}),
    ("pad-crop-and-value", [x(2, 3, 4, 5), (1, -1, -2, 3)], {"value": 0.5}),
]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_functional_matches_torch(case, dtype):
    label, args, kwargs = case
    name = label.split("-")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the implicit softmax dim
        run_both(getattr(F, name), getattr(torch.nn.functional, name), args, kwargs, dtype)


def test_empty_batch_cross_entropy_is_nan_as_torch():
    """Issue 18: the mean over no samples was 0.0; torch gives nan."""
    loss = F.cross_entropy(gk.zeros(0, 5), numpy.zeros(0, numpy.int64))
    assert numpy.isnan(loss.item())
    assert numpy.isnan(gk.functional.cross_entropy(gk.zeros(0, 5), numpy.zeros(0, numpy.int64)).item())
    assert numpy.isnan(gk.functional.mse_loss(gk.zeros(0), gk.zeros(0)).item())


@pytest.mark.parametrize("labels_", [[0, 2, 1], [1, 1, 4, 0]])
def test_one_hot_matches_torch(labels_):
    ours = F.one_hot(gk.Tensor(numpy.array(labels_)))
    theirs = torch.nn.functional.one_hot(torch.tensor(labels_))
    assert str(ours.dtype) == "int64" and ours.shape == tuple(theirs.shape)
    numpy.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    numpy.testing.assert_array_equal(F.one_hot(gk.Tensor(numpy.array(labels_)), 6).numpy(),
                                     torch.nn.functional.one_hot(torch.tensor(labels_), 6).numpy())


def test_dropout_statistics_and_channel_masks():
    gk.manual_seed(0)
    y = F.dropout(gk.ones(200, 200), 0.3).numpy()
    assert numpy.isclose(y, 0).sum() + numpy.isclose(y, 1 / 0.7).sum() == y.size
    assert abs((y == 0).mean() - 0.3) < 0.01
    z = F.dropout2d(gk.ones(50, 40, 3, 3), 0.5).numpy()
    per_channel = z.reshape(50, 40, 9)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()        # whole channels kept or dropped
    assert abs((per_channel[..., 0] == 0).mean() - 0.5) < 0.05


# (what, call, gradkit's error type, torch's): where the types differ, gradkit's is the one its docs name
# (ValueError for a bad value, where torch raises RuntimeError from C++; see docs/pytorch.md)
ERRORS = [
    ("cross_entropy target out of range", lambda f, t: f.cross_entropy(t(x(3, 4)), t(numpy.array([0, 4, 1]))),
     IndexError, IndexError),
    ("mse_loss shapes do not broadcast", lambda f, t: f.mse_loss(t(x(3)), t(x(4))), ValueError, RuntimeError),
    ("softmax dim not an int", lambda f, t: f.softmax(t(x(3)), dim="a"), TypeError, TypeError),
    ("one_hot of floats", lambda f, t: f.one_hot(t(x(3))), TypeError, RuntimeError),
    ("conv2d same padding with stride", lambda f, t: f.conv2d(t(x(1, 1, 5, 5)), t(x(1, 1, 3, 3)), stride=2,
                                                              padding="same"), ValueError, RuntimeError),
    ("cross_entropy bad reduction", lambda f, t: f.cross_entropy(t(x(3, 4)), t(numpy.array([0, 1, 1])),
                                                                reduction="avg"), ValueError, ValueError),
    ("cross_entropy weight of the wrong length", lambda f, t: f.cross_entropy(
        t(x(3, 4)), t(numpy.array([0, 1, 1])), weight=t(numpy.ones(3))), ValueError, RuntimeError),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_fails_in_both(case):
    _, call, ours_expected, theirs_expected = case
    ours, theirs = raises_both(lambda: call(F, lambda a: gk.Tensor(a)),
                               lambda: call(torch.nn.functional, torch.tensor))
    assert isinstance(theirs, theirs_expected), repr(theirs)
    assert isinstance(ours, ours_expected), repr(ours)
