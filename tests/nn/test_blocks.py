"""Highway and residual blocks against torch twins; model builders; summary."""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn

from nn_testing import compare_with_torch, torch_lenet5

rng = numpy.random.default_rng(1)


class TorchHighway(torch.nn.Module):
    def __init__(self, features, activation):
        super().__init__()
        self.transform = torch.nn.Linear(features, features)
        self.activation = activation
        self.gate = torch.nn.Linear(features, features)

    def forward(self, x):
        t = torch.sigmoid(self.gate(x))
        return self.activation(self.transform(x)) * t + x * (1 - t)


class TorchResidual(torch.nn.Module):
    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = torch.nn.Identity() if shortcut is None else shortcut
        self.activation = torch.nn.ReLU()

    def forward(self, x):
        return self.activation(self.body(x) + self.shortcut(x))


def test_highway_matches_formula_and_gate_bias(dtype):
    layer = nn.Highway(6, activation="tanh", rng=0)
    assert (layer.gate.bias.numpy() == -2.0).all()
    compare_with_torch(layer, TorchHighway(6, torch.nn.Tanh()), rng.standard_normal((5, 6)), dtype=dtype)


def test_highway_starts_close_to_carrying_its_input():
    layer = nn.Highway(50, gate_bias=-3.0, rng=0)
    x = gk.randn(100, 50, rng=1)
    assert gk.sigmoid(layer.gate(x)).numpy().mean() < 0.08
    carried = numpy.abs(layer(x).numpy() - x.numpy()).mean() / numpy.abs(x.numpy()).mean()
    assert carried < 0.1      # T ~ sigmoid(-3) = 0.05: the output is mostly the input


def test_residual_block_identity_and_projection(dtype):
    block = nn.ResidualBlock(5, rng=0)
    assert isinstance(block.shortcut, nn.Identity)
    twin = TorchResidual(torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.ReLU(), torch.nn.Linear(5, 5)))
    compare_with_torch(block, twin, rng.standard_normal((4, 5)), dtype=dtype)
    block = nn.ResidualBlock(5, 3, rng=0)
    twin = TorchResidual(torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3)),
                         torch.nn.Sequential(torch.nn.Linear(5, 3, bias=False)))
    compare_with_torch(block, twin, rng.standard_normal((4, 5)), dtype=dtype)


def test_conv_residual_block_without_batch_norm(dtype):
    block = nn.ConvResidualBlock(3, 4, stride=2, batch_norm=False, rng=0)
    twin = TorchResidual(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, 2, 1), torch.nn.ReLU(),
                                             torch.nn.Conv2d(4, 4, 3, 1, 1)),
                         torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1, 2)))
    compare_with_torch(block, twin, rng.standard_normal((2, 3, 7, 6)), dtype=dtype)


def test_residual_gradient_passes_deep_stacks():
    """100 sigmoid layers: the plain net's first-layer gradient vanishes, the residual one's does not."""
    def first_grad(model):
        x = gk.randn(32, 20, rng=0)
        model(x).sum().backward()
        return float(numpy.abs(model[0].weight.grad.numpy()).mean())
    plain = nn.models.deep_plain(100, 20, 20, 1, activation="sigmoid", init="xavier", rng=0)
    residual = nn.models.deep_residual(100, 20, 20, 1, activation="sigmoid", init="xavier", rng=0)
    assert first_grad(residual) > 1e6 * first_grad(plain)


def test_mlp_structure_and_parameter_count_match_torch():
    model = nn.models.mlp(784, [100] * 4, 10, rng=0)
    assert len(model) == 9 and all(isinstance(model[i], nn.ReLU) for i in (1, 3, 5, 7))
    assert len({id(model[i]) for i in (1, 3, 5, 7)}) == 4        # one module per layer
    twin = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 100),
                               torch.nn.ReLU(), torch.nn.Linear(100, 100), torch.nn.ReLU(),
                               torch.nn.Linear(100, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    assert nn.count_parameters(model) == sum(p.numel() for p in twin.parameters()) == 109_810
    compare_with_torch(model, twin, rng.standard_normal((8, 784)), grad_inputs=False)
    w = model[0].weight.numpy()
    assert abs(w.std() / numpy.sqrt(2 / 784) - 1) < 0.03 and not model[0].bias.numpy().any()


def test_builders_are_deterministic_per_seed_and_layers_differ():
    a = nn.models.deep_highway(5, 16, 8, 2, rng=7)
    b = nn.models.deep_highway(5, 16, 8, 2, rng=7)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        numpy.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    assert not numpy.array_equal(a[2].transform.weight.numpy(), a[2].gate.weight.numpy())
    assert not numpy.array_equal(a[2].transform.weight.numpy(), a[3].transform.weight.numpy())


@pytest.mark.parametrize("depth", [1, 2, 5, 6])
def test_deep_builders_count_hidden_layers(depth):
    def hidden_linears(model):
        return sum(1 for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == 16) - \
            sum(1 for m in model.modules() if isinstance(m, nn.Highway))      # a gate is not a layer
    for build in (nn.models.deep_plain, nn.models.deep_highway, nn.models.deep_residual):
        model = build(depth, 16, 8, 3, rng=0)
        assert hidden_linears(model) == depth, build.__name__
        assert model(gk.randn(4, 8, rng=0)).shape == (4, 3)


def test_lenet5_summary_shapes_and_count_match_torch():
    model = nn.models.lenet5(rng=0)
    twin = torch_lenet5()
    assert nn.count_parameters(model) == sum(p.numel() for p in twin.parameters()) == 61_706
    text = nn.summary(model, (1, 1, 28, 28))
    lines = text.splitlines()
    expected = [("0 (Conv2d)", "(1, 6, 28, 28)", 156), ("2 (MaxPool2d)", "(1, 6, 14, 14)", 0),
                ("3 (Conv2d)", "(1, 16, 10, 10)", 2416), ("5 (MaxPool2d)", "(1, 16, 5, 5)", 0),
                ("6 (Flatten)", "(1, 400)", 0), ("7 (Linear)", "(1, 120)", 48120), ("9 (Linear)", "(1, 84)", 10164),
                ("11 (Linear)", "(1, 10)", 850)]
    for name, shape, params in expected:
        row = next(line for line in lines if line.strip().startswith(name))
        assert shape in row and row.rstrip().endswith(f"{params:,}"), row
    assert "Total params: 61,706" in text
    # the torch twin, given our weights, computes the same logits
    compare_with_torch(model, twin, rng.standard_normal((2, 1, 28, 28)), grad_inputs=False)


def test_summary_leaves_modes_and_running_statistics_alone():
    model = nn.models.mlp(6, [4], 2, batch_norm=True, dropout=0.5, rng=0)
    before = model.state_dict()
    text = nn.summary(model, (3, 6))
    assert all(m.training for m in model.modules())
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value.numpy(), before[key].numpy(), err_msg=key)
    assert "1 (BatchNorm1d)" in text and "(3, 4)" in text
    nested = nn.summary(nn.models.deep_residual(3, 4, 6, 2, rng=0), (2, 6))
    assert "    2.body.0 (Linear)" in nested      # children indented below their block


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_conv_residual_block_with_batch_norm(training):
    block = nn.ConvResidualBlock(3, 5, stride=2, rng=0).train(training)
    twin = TorchResidual(torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, 2, 1, bias=False), torch.nn.BatchNorm2d(5),
                                             torch.nn.ReLU(), torch.nn.Conv2d(5, 5, 3, 1, 1, bias=False),
                                             torch.nn.BatchNorm2d(5)),
                         torch.nn.Sequential(torch.nn.Conv2d(3, 5, 1, 2, bias=False), torch.nn.BatchNorm2d(5)))
    twin.train(training)
    compare_with_torch(block, twin, rng.standard_normal((4, 3, 6, 7)))
    assert isinstance(nn.ConvResidualBlock(4, rng=0).shortcut, nn.Identity)


def test_mlp_with_batch_norm_and_dropout_matches_torch_in_eval():
    model = nn.models.mlp(6, [5, 4], 3, batch_norm=True, dropout=0.5, rng=0)
    assert [type(m).__name__ for m in model] == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert model[0].bias is None                       # beta of the batch norm replaces it
    model(gk.randn(8, 6, rng=1))                        # move the running statistics once
    twin = torch.nn.Sequential(torch.nn.Linear(6, 5, bias=False), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                               torch.nn.Dropout(0.5), torch.nn.Linear(5, 4, bias=False), torch.nn.BatchNorm1d(4),
                               torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(4, 3))
    model.eval()
    twin.eval()
    compare_with_torch(model, twin, rng.standard_normal((7, 6)))
    masks = [m.rng for m in model if isinstance(m, nn.Dropout)]
    assert masks[0] is not masks[1]                    # each dropout layer draws from its own stream


@pytest.mark.parametrize("block", [
    lambda: nn.Highway(4, activation="tanh", rng=0),
    lambda: nn.ResidualBlock(4, 3, activation="sigmoid", batch_norm=True, rng=0),
    lambda: nn.Sequential(nn.ConvResidualBlock(2, 3, stride=2, activation="tanh", rng=0), nn.GlobalAvgPool2d()),
], ids=["highway", "residual-bn", "conv-residual"])
def test_blocks_against_float64_central_differences(block):
    module = block().double()
    shape = (3, 2, 5, 4) if isinstance(module, nn.Sequential) else (5, 4)
    x = numpy.random.default_rng(0).standard_normal(shape)
    gk.autograd.gradcheck(lambda t: module(t), [x])
