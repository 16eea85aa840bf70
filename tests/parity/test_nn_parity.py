"""gradkit.nn against torch.nn: layers built with the same arguments, torch's weights copied from
gradkit's state dict (same keys, same order), then outputs, input gradients, parameter gradients,
buffers and reprs compared."""
from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn

sys.path.insert(0, os.path.dirname(__file__))
from nn_parity import assert_close, copy_weights, largest_gradient, torch_dtype_name  # noqa: E402

R = numpy.random.default_rng(5)


def _both(build):
    """``build(namespace)`` with gradkit's nn and with torch's, so each row is written once."""
    return build(nn), build(torch.nn)


LAYERS = [
    ("Linear", lambda m: m.Linear(4, 3), (5, 4)),
    ("Linear-no-bias-3d", lambda m: m.Linear(4, 3, bias=False), (2, 5, 4)),
    ("Conv2d", lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    ("Conv2d-same-no-bias", lambda m: m.Conv2d(3, 4, kernel_size=(3, 5), padding="same", bias=False), (2, 3, 6, 6)),
    ("Conv2d-groups", lambda m: m.Conv2d(4, 6, 3, groups=2, dilation=2), (1, 4, 8, 8)),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), (2, 3, 6, 6)),
    ("MaxPool2d-stride", lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    ("AvgPool2d", lambda m: m.AvgPool2d(2, stride=1), (2, 3, 5, 5)),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    ("AdaptiveAvgPool2d-2", lambda m: m.AdaptiveAvgPool2d((2, 2)), (2, 3, 4, 6)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(4, momentum=0.3, eps=1e-3), (6, 4)),
    ("BatchNorm1d-3d-no-affine", lambda m: m.BatchNorm1d(4, affine=False), (6, 4, 3)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 2, 2)),
    ("BatchNorm2d-cumulative", lambda m: m.BatchNorm2d(3, momentum=None), (4, 3, 2, 2)),
    ("BatchNorm2d-no-running-stats", lambda m: m.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
    ("Flatten", lambda m: m.Flatten(), (2, 3, 4, 5)),
    ("Flatten-middle", lambda m: m.Flatten(1, 2), (2, 3, 4, 5)),
    ("Flatten-all", lambda m: m.Flatten(0, -1), (2, 3, 4)),
    ("ReLU", lambda m: m.ReLU(), (4, 5)),
    ("LeakyReLU", lambda m: m.LeakyReLU(0.2), (4, 5)),
    ("ELU", lambda m: m.ELU(0.5), (4, 5)),
    ("Sigmoid", lambda m: m.Sigmoid(), (4, 5)),
    ("Tanh", lambda m: m.Tanh(), (4, 5)),
    ("Softplus", lambda m: m.Softplus(), (4, 5)),
    ("Softmax", lambda m: m.Softmax(dim=1), (4, 5)),
    ("LogSoftmax", lambda m: m.LogSoftmax(dim=-1), (2, 4, 5)),
    ("Identity", lambda m: m.Identity(), (4, 5)),
    ("Dropout-eval", lambda m: m.Dropout(0.5).eval(), (4, 5)),
    ("Dropout2d-eval", lambda m: m.Dropout2d(0.3).eval(), (2, 3, 4, 4)),
    ("Sequential-inplace-relu", lambda m: m.Sequential(m.Linear(4, 6), m.ReLU(inplace=True), m.Linear(6, 2)), (3, 4)),
    ("Sequential-OrderedDict", lambda m: m.Sequential(OrderedDict([
        ("conv", m.Conv2d(1, 2, 3)), ("bn", m.BatchNorm2d(2)), ("act", m.LeakyReLU(0.1, inplace=True)),
        ("pool", m.MaxPool2d(2)), ("flat", m.Flatten()), ("fc", m.Linear(2 * 3 * 3, 3))])), (4, 1, 8, 8)),
]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(case, dtype):
    _, build, shape = case
    ours, theirs = _both(build)
    assert repr(ours) == repr(theirs)
    copy_weights(ours, theirs)
    ours.to(dtype)
    theirs.to(torch.float64 if dtype == numpy.float64 else torch.float32)
    data = R.standard_normal(shape).astype(dtype)
    x, xt = gk.Tensor(data.copy(), requires_grad=True), torch.tensor(data, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    assert str(y.dtype) == torch_dtype_name(yt.dtype)
    assert_close(y, yt, dtype, "output")
    weights = R.standard_normal(tuple(yt.shape)).astype(dtype)
    (y * gk.Tensor(weights)).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    assert_close(x.grad, xt.grad, dtype, "input gradient")
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, pt.grad, dtype, f"gradient of {name}", scale=largest_gradient(theirs))
    for (name, b), (_, bt) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert str(b.dtype) == torch_dtype_name(bt.dtype), name
        assert_close(b, bt, dtype, f"state {name} after the step")


LOSSES = [
    ("CrossEntropyLoss", lambda m, t: m.CrossEntropyLoss(), "classes"),
    ("CrossEntropyLoss-options", lambda m, t: m.CrossEntropyLoss(weight=t(numpy.array([1., 2., .5, 1.5])),
                                                                 ignore_index=1, label_smoothing=0.15), "classes"),
    ("CrossEntropyLoss-sum", lambda m, t: m.CrossEntropyLoss(reduction="sum"), "classes"),
    ("NLLLoss", lambda m, t: m.NLLLoss(weight=t(numpy.array([1., 2., .5, 1.5]))), "classes"),
    ("MSELoss", lambda m, t: m.MSELoss(), "values"),
    ("MSELoss-legacy", lambda m, t: m.MSELoss(size_average=False), "values"),
    ("L1Loss", lambda m, t: m.L1Loss(reduction="none"), "values"),
    ("BCELoss", lambda m, t: m.BCELoss(), "probabilities"),
    ("BCEWithLogitsLoss", lambda m, t: m.BCEWithLogitsLoss(pos_weight=t(numpy.array([1., 3., .5, 2.]))), "targets"),
]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_module_matches_torch(case, dtype):
    _, build, kind = case
    tdt = torch.float64 if dtype == numpy.float64 else torch.float32
    ours = build(nn, lambda a: gk.Tensor(a.astype(dtype)))
    theirs = build(torch.nn, lambda a: torch.tensor(a, dtype=tdt))
    assert repr(ours) == repr(theirs)
    scores = R.standard_normal((6, 4)).astype(dtype)
    if kind == "probabilities":
        scores = R.uniform(0.05, 0.95, (6, 4)).astype(dtype)
    target = {"classes": R.integers(0, 4, 6), "values": R.standard_normal((6, 4)).astype(dtype),
              "probabilities": R.uniform(0, 1, (6, 4)).astype(dtype),
              "targets": R.integers(0, 2, (6, 4)).astype(dtype)}[kind]
    x, xt = gk.Tensor(scores.copy(), requires_grad=True), torch.tensor(scores, requires_grad=True)
    loss, ref = ours(x, gk.Tensor(target)), theirs(xt, torch.tensor(target))
    assert_close(loss, ref, dtype, "loss")
    assert str(loss.dtype) == torch_dtype_name(ref.dtype)
    loss.sum().backward()
    ref.sum().backward()
    assert_close(x.grad, xt.grad, dtype, "gradient")


class Tower:
    """One model written once for both frameworks: ModuleList, ModuleDict, ParameterList, buffers."""

    @staticmethod
    def build(m):
        class Net(m.Module):
            def __init__(self):
                super().__init__()
                self.stem = m.Conv2d(1, 3, 3, padding=1)
                self.blocks = m.ModuleList([m.Sequential(m.Conv2d(3, 3, 3, padding=1), m.BatchNorm2d(3), m.ReLU())
                                            for _ in range(2)])
                self.heads = m.ModuleDict({"a": m.Linear(3, 2), "b": m.Linear(3, 4)})
                self.scales = m.ParameterList([m.Parameter(torch_or_gk(m).ones(3)) for _ in range(2)])
                self.register_buffer("calls", torch_or_gk(m).zeros(1))

            def forward(self, x):
                x = self.stem(x)
                for block, scale in zip(self.blocks, self.scales):
                    x = block(x) * scale.reshape(1, 3, 1, 1)
                x = x.mean((2, 3))
                return self.heads["a"](x).sum() + self.heads["b"](x).sum()
        return Net()


def torch_or_gk(m):
    return gk if m is nn else torch


def test_containers_state_dict_order_repr_and_gradients_match_torch():
    ours, theirs = Tower.build(nn), Tower.build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.parameters(recurse=False))) == len(list(theirs.parameters(recurse=False))) == 0
    copy_weights(ours, theirs)
    data = R.standard_normal((2, 1, 5, 5)).astype(numpy.float32)
    out, ref = ours(gk.Tensor(data)), theirs(torch.tensor(data))
    assert_close(out, ref, numpy.float32, "output")
    out.backward()
    ref.backward()
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, pt.grad, numpy.float32, name, scale=largest_gradient(theirs))


def test_module_api_behaves_as_torch():
    ours, theirs = Tower.build(nn), Tower.build(torch.nn)
    seen, seen_t = [], []
    ours.apply(lambda mod: seen.append(type(mod).__name__))
    theirs.apply(lambda mod: seen_t.append(type(mod).__name__))
    assert seen == seen_t
    assert ours.eval() is ours and not any(mod.training for mod in ours.modules())
    ours.train()
    assert all(mod.training for mod in ours.modules())
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())
    ours.requires_grad_()
    out = ours(gk.randn(1, 1, 4, 4))
    out.backward()
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())                      # set_to_none=True by default
    ours(gk.randn(1, 1, 4, 4)).backward()
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ours.parameters())
    assert ours.to("cpu") is ours and ours.cpu() is ours and ours.to(device="cpu", dtype=numpy.float64) is ours
    assert all(p.dtype == numpy.float64 for p in ours.parameters())
    with pytest.raises(RuntimeError, match="CPU only"):
        ours.to("cuda")
    assert ours.get_submodule("blocks.1.0") is ours.blocks[1][0]


def test_load_state_dict_reports_keys_as_torch():
    ours, theirs = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), torch.nn.Sequential(torch.nn.Linear(2, 3),
                                                                                          torch.nn.BatchNorm1d(3))
    state, state_t = ours.state_dict(), theirs.state_dict()
    del state["1.running_var"], state_t["1.running_var"]
    state["extra"], state_t["extra"] = gk.zeros(1), torch.zeros(1)
    result, result_t = ours.load_state_dict(state, strict=False), theirs.load_state_dict(state_t, strict=False)
    assert result.missing_keys == result_t.missing_keys and result.unexpected_keys == result_t.unexpected_keys
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(state_t)
    with pytest.raises(RuntimeError, match="missing keys: 1.running_var.*unexpected keys: extra"):
        ours.load_state_dict(state)


def test_parameter_is_a_tensor_registered_on_assignment():
    layer = nn.Module()
    layer.w = nn.Parameter(gk.randn(3, 2))
    layer.plain = gk.randn(3)                       # a plain tensor is not a parameter, as in torch
    assert [n for n, _ in layer.named_parameters()] == ["w"] and layer.w.requires_grad
    assert isinstance(layer.w, gk.Tensor) and repr(layer.w).startswith("Parameter containing:")


def test_embedding_gradient_adds_up_per_row():
    ours, theirs = nn.Embedding(6, 3), torch.nn.Embedding(6, 3)
    copy_weights(ours, theirs)
    index = numpy.array([[0, 2, 2], [5, 0, 2]])
    y, yt = ours(gk.Tensor(index)), theirs(torch.tensor(index))
    assert_close(y, yt, numpy.float32, "rows")
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, numpy.float32, "row gradients")
    assert repr(ours) == repr(theirs)


def test_reprs_of_containers_match_torch():
    for build in (lambda m: m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.ReLU(), m.Linear(2, 3)]),
                  lambda m: m.ModuleList([m.Sequential(m.Linear(2, 2), m.Tanh()) for _ in range(3)]),
                  lambda m: m.ModuleDict({"enc": m.Linear(3, 4), "act": m.ReLU()}),
                  lambda m: m.BatchNorm1d(4, bias=False),
                  Tower.build):
        ours, theirs = _both(build)
        assert repr(ours) == repr(theirs).replace("torch.float32", "float32")  # gradkit's dtypes print bare
