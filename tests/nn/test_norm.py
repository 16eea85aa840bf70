"""BatchNorm (train, eval, running statistics) against torch; Dropout statistics and modes."""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn

from nn_testing import assert_close, compare_with_torch, load_into_torch

rng = numpy.random.default_rng(2)

CASES = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 5, 3)),
         (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 5, 3, 2))]


def _randomise(module):
    """Non-trivial gamma, beta and running statistics, so that every term is tested."""
    if module.affine:
        module.weight.data[...] = rng.uniform(0.5, 1.5, module.num_features)
        module.bias.data[...] = rng.standard_normal(module.num_features)
    if module.track_running_stats:
        module.running_mean.data[...] = rng.standard_normal(module.num_features)
        module.running_var.data[...] = rng.uniform(0.5, 2.0, module.num_features)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}{c[2]}")
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_forward_backward(dtype, case, training):
    ours, theirs, shape = case
    module, twin = ours(5), theirs(5)
    _randomise(module)
    module.train(training)
    twin.train(training)
    compare_with_torch(module, twin, rng.standard_normal(shape) * 3 + 1, dtype=dtype)
    for name, value in module.state_dict().items():        # running statistics moved the same way
        assert_close(value, twin.state_dict()[name].numpy(), dtype, name)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_running_statistics_after_several_steps(momentum, affine):
    module, twin = nn.BatchNorm2d(3, momentum=momentum, affine=affine), \
        torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine)
    load_into_torch(module, twin, numpy.float32)
    for step in range(6):
        x = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step).astype(numpy.float32)
        module(gk.Tensor(x))
        twin(torch.tensor(x))
    state = module.state_dict()
    assert state["num_batches_tracked"] == 6 and state["num_batches_tracked"].dtype == numpy.int64
    assert state["running_mean"].dtype == numpy.float32
    for name, value in twin.state_dict().items():
        assert_close(state[name], value.numpy(), numpy.float32, name)
    module.eval()
    twin.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(numpy.float32)
    assert_close(module(gk.Tensor(x)).numpy(), twin(torch.tensor(x)).detach().numpy(), numpy.float32, "eval output")
    for name, value in twin.state_dict().items():          # evaluation moves nothing
        assert_close(module.state_dict()[name], value.numpy(), numpy.float32, name)


def test_without_running_statistics_uses_batch_statistics_in_eval():
    module = nn.BatchNorm1d(4, track_running_stats=False)
    twin = torch.nn.BatchNorm1d(4, track_running_stats=False)
    module.eval()
    twin.eval()
    assert list(module.state_dict()) == ["weight", "bias"]
    compare_with_torch(module, twin, rng.standard_normal((7, 4)))


def test_batch_norm_in_a_model_follows_train_and_eval():
    model = nn.models.mlp(6, [5], 3, batch_norm=True, rng=0)
    x = gk.randn(10, 6, rng=0)
    model(x)
    assert model[1].num_batches_tracked.item() == 1
    model.eval()
    first = model(x).numpy()
    numpy.testing.assert_array_equal(model(x[:3]).numpy(), first[:3])   # eval: each sample on its own
    assert model[1].num_batches_tracked.item() == 1


def test_dropout_preserves_the_mean_and_is_identity_in_eval():
    layer = nn.Dropout(0.3, rng=0)
    x = gk.ones(1000, 1000)
    y = layer(x).numpy()
    assert abs((y == 0).mean() - 0.3) < 5 * numpy.sqrt(0.3 * 0.7 / 1e6)
    assert abs(y.mean() - 1.0) < 5 * numpy.sqrt(0.3 / 0.7) / 1000          # five standard errors
    assert set(numpy.unique(y)) == {0.0, numpy.float32(1 / 0.7)}
    assert y.dtype == numpy.float32
    layer.eval()
    numpy.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_dropout_gradient_is_the_scaled_mask():
    layer = nn.Dropout(0.5, rng=1)
    x = gk.randn(50, 40, rng=0, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    mask = y.numpy() != 0
    numpy.testing.assert_allclose(x.grad.numpy(), mask * 2.0)


def test_non_inverted_dropout_scales_at_evaluation():
    layer = nn.Dropout(0.2, inverted=False, rng=0)
    x = gk.ones(500, 400)
    y = layer(x).numpy()
    assert abs(y.mean() - 0.8) < 5 * numpy.sqrt(0.2 * 0.8 / 2e5)
    assert set(numpy.unique(y)) == {0.0, 1.0}
    layer.eval()
    numpy.testing.assert_allclose(layer(x).numpy(), 0.8)


def test_dropout_masks_follow_the_seed():
    a, b = nn.Dropout(0.5, rng=3), nn.Dropout(0.5, rng=3)
    x = gk.ones(20, 20)
    first = a(x).numpy()
    numpy.testing.assert_array_equal(first, b(x).numpy())         # same seed, same mask
    assert not numpy.array_equal(first, a(x).numpy())              # the next call draws a new mask
