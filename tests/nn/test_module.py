"""Module: registration order, traversal, modes, state_dict, hooks, repr."""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn

from nn_testing import assert_close, torch_lenet5


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 3, rng=0)
        self.scale = nn.Parameter(numpy.ones(3, dtype=numpy.float32))
        self.register_buffer("steps", gk.zeros(()))
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(3, 2, rng=1))

    def forward(self, x):
        return self.body(self.first(x) * self.scale)


def test_registration_keeps_assignment_order_and_dotted_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "first.weight", "first.bias", "body.1.weight",
                                                     "body.1.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "body", "body.0", "body.1"]
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Sequential"]
    # PyTorch's order: module by module, each one's parameters then its buffers
    assert list(net.state_dict()) == ["scale", "steps", "first.weight", "first.bias", "body.1.weight", "body.1.bias"]


def test_shared_parameters_counted_once_and_reassignment_moves_tables():
    net = Net()
    shared = nn.Sequential(net.first, net.first)
    assert len(list(shared.parameters())) == 2
    net.first = nn.Parameter(numpy.zeros(2, dtype=numpy.float32))   # a module name becomes a parameter
    assert "first" not in net._modules and "first" in net._parameters
    with pytest.raises(TypeError, match="Parameter or None"):
        net.scale = gk.ones(3)
    del net.scale
    assert "scale" not in dict(net.named_parameters())


def test_assignment_before_super_init_says_so():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_train_eval_recurse_and_apply_visits_children_first():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Net"]


def test_zero_grad_and_requires_grad_and_to_double():
    net = Net()
    net(gk.randn(5, 4, rng=0)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    weight = net.first.weight
    net.double()
    assert net.first.weight is weight and weight.dtype == numpy.float64
    assert net.steps.dtype == numpy.float64


def test_state_dict_is_a_copy_and_round_trips():
    a, b = Net(), Net()
    b.first.weight.data[...] = 7
    state = a.state_dict()
    assert all(type(v) is gk.Tensor and not v.requires_grad for v in state.values())   # tensors, as PyTorch
    state["first.bias"].data[...] = 123.0     # a copy: the module is untouched
    assert not (a.first.bias.numpy() == 123.0).any()
    state = a.state_dict()
    weight = b.first.weight
    b.load_state_dict(state)
    assert b.first.weight is weight           # loaded in place: an optimiser keeps its references
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        numpy.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    x = gk.randn(3, 4, rng=2)
    numpy.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_strict_load_names_every_problem_at_once():
    net = Net()
    state = net.state_dict()
    state["first.weight"] = numpy.zeros((3, 5), dtype=numpy.float32)
    state["extra.thing"] = numpy.zeros(1)
    del state["body.1.bias"]
    with pytest.raises(nn.LoadStateDictError) as err:
        net.load_state_dict(state)
    text = str(err.value)
    assert "missing keys: body.1.bias" in text
    assert "unexpected keys: extra.thing" in text
    assert "first.weight: expected shape (3, 4), got (3, 5)" in text
    # non-strict still refuses the wrong shape, but accepts missing / unexpected keys
    with pytest.raises(nn.LoadStateDictError, match="first.weight"):
        net.load_state_dict(state, strict=False)
    state["first.weight"] = numpy.zeros((3, 4), dtype=numpy.float32)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["body.1.bias"] and result.unexpected_keys == ["extra.thing"]
    assert not net.first.weight.numpy().any()


def test_state_dict_keys_match_torch():
    model = nn.models.lenet5(rng=0)
    reference = torch_lenet5()
    assert list(model.state_dict()) == list(reference.state_dict())
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in reference.state_dict().items()}


def test_forward_hooks_fire_replace_and_remove():
    net = Net()
    calls = []
    pre = net.first.register_forward_pre_hook(lambda m, inputs: calls.append(("pre", inputs[0].shape)))
    post = net.first.register_forward_hook(lambda m, inputs, out: calls.append(("post", out.shape)))
    x = gk.randn(5, 4, rng=0)
    y = net(x)
    assert calls == [("pre", (5, 4)), ("post", (5, 3))]
    pre.remove()
    post.remove()
    net(x)
    assert len(calls) == 2
    with net.first.register_forward_hook(lambda m, inputs, out: out * 0):
        assert not net.first(x).numpy().any()
    numpy.testing.assert_array_equal(net(x).numpy(), y.numpy())
    with net.first.register_forward_pre_hook(lambda m, inputs: inputs[0] * 0):
        numpy.testing.assert_array_equal(net.first(x).numpy(), numpy.broadcast_to(net.first.bias.numpy(), (5, 3)))


@pytest.mark.filterwarnings("ignore:Full backward hook")
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hook_matches_torch(input_requires_grad):
    net = Net()
    ref_first, ref_body = torch.nn.Linear(4, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 2))
    state = {k: torch.from_numpy(v.numpy()) for k, v in net.state_dict().items()}
    ref_first.load_state_dict({"weight": state["first.weight"], "bias": state["first.bias"]})
    ref_body.load_state_dict({"1.weight": state["body.1.weight"], "1.bias": state["body.1.bias"]})
    seen, ref_seen = {}, {}
    handle = net.body.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi, go=go))
    ref_body.register_full_backward_hook(lambda m, gi, go: ref_seen.update(gi=gi, go=go))
    first_hook = net.first.register_full_backward_hook(lambda m, gi, go: seen.update(first_gi=gi, first_go=go))
    ref_first.register_full_backward_hook(lambda m, gi, go: ref_seen.update(first_gi=gi, first_go=go))
    x = numpy.random.default_rng(0).standard_normal((5, 4)).astype(numpy.float32)
    gx, tx = gk.Tensor(x, requires_grad=input_requires_grad), torch.tensor(x, requires_grad=input_requires_grad)
    (net(gx) ** 2).sum().backward()
    ((ref_body(ref_first(tx) * state["scale"])) ** 2).sum().backward()
    assert_close(seen["go"][0].numpy(), ref_seen["go"][0].numpy(), numpy.float32, "grad_output")
    assert_close(seen["gi"][0].numpy(), ref_seen["gi"][0].numpy(), numpy.float32, "grad_input")
    assert_close(seen["first_go"][0].numpy(), ref_seen["first_go"][0].numpy(), numpy.float32, "first grad_output")
    if input_requires_grad:
        assert_close(seen["first_gi"][0].numpy(), ref_seen["first_gi"][0].numpy(), numpy.float32, "first grad_input")
    else:
        assert seen["first_gi"] == (None,) and ref_seen["first_gi"] == (None,)
    handle.remove()
    first_hook.remove()
    seen.clear()
    (net(gx) ** 2).sum().backward()
    assert seen == {}


def test_backward_hook_can_replace_grad_input():
    layer = nn.Linear(3, 3, rng=0)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = gk.randn(2, 3, rng=1, requires_grad=True)
    layer(x).sum().backward()
    assert not x.grad.numpy().any()
    assert layer.weight.grad.numpy().any()      # parameter gradients are untouched


def test_backward_hook_works_with_second_order_gradients():
    layer = nn.Linear(3, 1, rng=0)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append(go[0].shape))
    x = gk.randn(4, 3, rng=1, requires_grad=True)
    (g,) = gk.grad(layer(x).tanh().sum(), x, create_graph=True)
    g.sum().backward()
    assert seen and layer.weight.grad is not None


def test_repr_is_nested_like_torch():
    net = Net()
    text = repr(net)
    assert text == ("Net(\n"
                    "  (first): Linear(in_features=4, out_features=3, bias=True)\n"
                    "  (body): Sequential(\n"
                    "    (0): ReLU()\n"
                    "    (1): Linear(in_features=3, out_features=2, bias=True)\n"
                    "  )\n"
                    ")")
    assert repr(nn.Linear(4, 3, bias=False)) == repr(torch.nn.Linear(4, 3, bias=False))
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:")


def test_sequential_indexing_and_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    with pytest.raises(TypeError, match="Module"):
        seq.append(lambda x: x)
    named = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert [n for n, _ in named.named_children()] == ["fc", "act"]
