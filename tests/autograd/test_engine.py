"""The engine: deep graphs, memory, freeing, accumulation, retain_graph, hooks, grad modes, create_graph."""
import gc
import sys
import tracemalloc
import weakref

import numpy
import pytest
import torch

import gradkit as gk


# ---------------------------------------------------------------------------- deep graphs and memory
def _stack_depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_10000_op_chain_backpropagates_without_recursion():
    """20,000 ops (mul then add, 10,000 times) under a recursion limit far below the depth."""
    x = gk.Tensor(numpy.array(1.0), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 100)
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-10)


def test_deep_tanh_chain_kept_with_retain_graph_backpropagates_twice():
    x = gk.Tensor(numpy.array(0.5), requires_grad=True)
    y, expected = x, 1.0
    for _ in range(10_000):
        expected *= 1 - numpy.tanh(y.data) ** 2
        y = y.tanh()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * expected, rel=1e-9)


def test_deep_graph_dropped_without_backward_is_freed():
    """Dropping a 10,000-deep graph neither overflows the C stack nor leaves it alive."""
    x = gk.Tensor(numpy.ones(3), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    ref = weakref.ref(y.creator)
    del y
    assert ref() is None


def _mlp_step(params, data, target, lr=0.01):
    w1, b1, w2 = params
    loss = (((data @ w1 + b1).tanh() @ w2 - target) ** 2).mean()
    loss.backward()
    with gk.no_grad():
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None
    return loss.item()


def test_training_loop_does_not_grow_memory():
    """1,000 forward/backward/update steps of a small MLP: what is allocated after step 100 and
    after step 1,000 is the same up to a small slack. Reference cycles would show up here too,
    since the collector is off during the loop."""
    rng = numpy.random.default_rng(0)
    data, target = (gk.Tensor(rng.standard_normal(s).astype(numpy.float32)) for s in ((16, 4), (16, 1)))
    params = [gk.Tensor(rng.standard_normal(s).astype(numpy.float32) * 0.5, requires_grad=True)
              for s in ((4, 8), (8,), (8, 1))]
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        first = _mlp_step(params, data, target)
        for step in range(2, 1001):
            last = _mlp_step(params, data, target)
            if step == 100:
                after_100 = tracemalloc.get_traced_memory()[0]
        after_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        gc.enable()
    assert after_1000 - after_100 < 16 * 1024, f"memory grew by {after_1000 - after_100} bytes over 900 steps"
    assert last < first                            # and it did train


def test_backward_frees_saved_values_unless_retain_graph():
    x = gk.Tensor(numpy.ones(3), requires_grad=True)
    for retain, alive in ((False, False), (True, True)):
        hidden = x.exp()
        creator = hidden.creator
        ref = weakref.ref(hidden)
        y = (hidden * 2).sum()
        del hidden
        y.backward(retain_graph=retain)
        assert (ref() is not None) == alive
        assert creator.freed == (not retain)
        assert ("y" in vars(creator)) == retain    # Exp's saved output: dropped on release


# ---------------------------------------------------------------------------- accumulation and retain_graph
def _both(data):
    return gk.Tensor(numpy.array(data), requires_grad=True), torch.tensor(data, dtype=torch.float64, requires_grad=True)


def test_two_backward_calls_accumulate_like_torch():
    (x, xt), (w, wt) = _both([0.5, -1.0, 2.0]), _both([1.5, 0.3, -0.7])
    y, yt = (x * w).sin().sum(), (xt * wt).sin().sum()
    y.backward(retain_graph=True)
    yt.backward(retain_graph=True)
    y.backward()
    yt.backward()
    numpy.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(w.grad.data, wt.grad.numpy(), rtol=1e-12)
    (x.sum() * 3).backward()                        # a third, different graph adds on top
    numpy.testing.assert_allclose(x.grad.data, xt.grad.numpy() + 3, rtol=1e-12)


def test_grad_returns_gradients_and_touches_no_grad_attribute():
    x = gk.Tensor(numpy.array([1.0, 2.0]), requires_grad=True)
    hidden = x * x
    hidden.retain_grad()
    (gx, gh) = gk.grad(hidden.sum() * 2, [x, hidden])
    numpy.testing.assert_allclose(gx.data, [4.0, 8.0])
    numpy.testing.assert_allclose(gh.data, [2.0, 2.0])
    assert x.grad is None and hidden.grad is None


def test_grad_on_an_unused_input_raises_unless_allowed():
    x, z = gk.Tensor(numpy.ones(2), requires_grad=True), gk.Tensor(numpy.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        gk.grad((x * 2).sum(), [x, z], retain_graph=True)
    gx, gz = gk.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx is not None


def test_non_leaf_grad_only_with_retain_grad():
    x = gk.Tensor(numpy.array([1.0, 2.0]), requires_grad=True)
    kept, dropped = x * 2, x * 3
    kept.retain_grad()
    (kept * kept + dropped).sum().backward()
    assert dropped.grad is None
    numpy.testing.assert_allclose(kept.grad.data, 2 * kept.data)


def test_hooks_change_the_gradient_like_torch_and_remove_undoes_them():
    (x, xt) = _both([1.0, -2.0, 3.0])
    hidden, hidden_t = x * x, xt * xt
    handles = [hidden.register_hook(lambda g: g * 10), x.register_hook(lambda g: g + 1)]
    hidden_t.register_hook(lambda g: g * 10)
    xt.register_hook(lambda g: g + 1)
    seen = []
    x.register_hook(lambda g: seen.append(g.data.copy()))        # returns None: observes only
    hidden.sin().sum().backward()
    hidden_t.sin().sum().backward()
    numpy.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(seen[0], x.grad.data)
    for handle in handles:
        handle.remove()
    x.grad = None
    (x * x).sin().sum().backward()
    numpy.testing.assert_allclose(x.grad.data, numpy.cos(x.data ** 2) * 2 * x.data, rtol=1e-12)


def test_no_grad_and_enable_grad_nest_and_restore():
    x = gk.Tensor(numpy.ones(2), requires_grad=True)
    with gk.no_grad():
        assert not (x * 2).requires_grad
        with gk.enable_grad():
            assert (x * 2).requires_grad and gk.is_grad_enabled()
            with gk.no_grad():
                assert not (x * 2).requires_grad
            assert gk.is_grad_enabled()
        assert not gk.is_grad_enabled()
        with pytest.raises(ZeroDivisionError), gk.enable_grad():
            1 / 0
        assert not gk.is_grad_enabled()           # restored after an exception too
    assert gk.is_grad_enabled() and (x * 2).requires_grad


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's note on its own cycles
def test_create_graph_makes_grad_differentiable_like_torch():
    (x, xt) = _both([0.3, -1.2])
    (x.sin() * x ** 3).sum().backward(create_graph=True)
    (xt.sin() * xt ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and xt.grad.requires_grad
    first, first_t = x.grad, xt.grad
    x.grad, xt.grad = None, None
    (first * first).sum().backward()
    (first_t * first_t).sum().backward()
    numpy.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)


def test_detach_shares_data_and_cuts_the_graph():
    x = gk.Tensor(numpy.ones(2), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.creator is None and y.creator is not None
    assert numpy.shares_memory(d.data, y.data)
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).requires_grad_(False)


# ---------------------------------------------------------------------------- a leaf owns its .grad
def _leaves_of_a_sum():
    a, b = gk.Tensor(numpy.ones(3), requires_grad=True), gk.Tensor(numpy.ones(3), requires_grad=True)
    return a, b, a + b


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grads_are_never_shared_between_leaves(create_graph):
    a, b, y = _leaves_of_a_sum()
    y.sum().backward(create_graph=create_graph)
    a.grad.data[0] = 100.0                         # e.g. an in-place gradient clip on one parameter
    assert b.grad.data[0] == 1.0
    assert not numpy.shares_memory(a.grad.data, b.grad.data)


def test_leaf_grad_is_not_shared_with_a_retained_non_leaf_grad():
    a, b, y = _leaves_of_a_sum()
    y.retain_grad()
    y.backward(gk.Tensor(numpy.ones(3)))
    a.grad.data[0] = 100.0
    assert y.grad.data[0] == 1.0


def test_leaf_grad_does_not_alias_the_gradient_passed_in():
    x = gk.Tensor(numpy.ones(3), requires_grad=True)
    seed = gk.Tensor(numpy.full(3, 2.0))
    (x + 0.0).backward(seed)
    x.grad.data[0] = 100.0
    assert seed.data[0] == 2.0


def test_a_hook_on_a_temporary_fires_after_the_tensor_is_gone():
    """Hooks of a non-leaf live on its graph node, as in PyTorch (the doctor relies on this)."""
    x = gk.Tensor([1.0, 2.0], requires_grad=True)
    seen = []
    y = x * 2
    y.register_hook(lambda g: seen.append(g.data.copy()) or g * 10)
    z = (y * 3).sum()
    del y
    z.backward()
    assert len(seen) == 1 and numpy.array_equal(seen[0], [3.0, 3.0])
    assert numpy.array_equal(x.grad.data, [60.0, 60.0])


def test_backward_seeds_one_even_when_the_output_is_nan():
    """d loss / d loss = 1 whatever the loss's value, as PyTorch: a NaN loss must not make every gradient NaN."""
    a = gk.Tensor(numpy.array([1.0, numpy.nan, 2.0]), requires_grad=True)
    a.sum().backward()
    numpy.testing.assert_array_equal(a.grad.data, [1.0, 1.0, 1.0])


def test_grad_mode_is_per_thread():
    """A no_grad block (or a backward pass, which turns recording off) on one thread leaves another
    thread's recording alone, as in PyTorch."""
    import threading
    inside, leave = threading.Event(), threading.Event()

    def hold_no_grad():
        with gk.no_grad():
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=hold_no_grad)
    other.start()
    try:
        assert inside.wait(10)
        x = gk.Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        assert gk.autograd.is_grad_enabled() and y.requires_grad
        y.backward()
        assert x.grad.data.tolist() == [2.0, 4.0]
    finally:
        leave.set()
        other.join(10)
