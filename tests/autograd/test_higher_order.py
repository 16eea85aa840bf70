"""Second and third derivatives: Hessians and Hessian-vector products against torch, gradgradcheck."""
import math

import numpy
import pytest
import torch

import gradkit as gk
from gradkit.autograd import gradgradcheck, hvp


def _gk_hessian(f, arrays):
    """The full Hessian of scalar f over all inputs (flattened and joined), one backward per row."""
    xs = [gk.Tensor(a, requires_grad=True) for a in arrays]
    grads = gk.grad(f(*xs), xs, create_graph=True)
    flat = gk.concatenate([g.reshape(-1) for g in grads])
    rows = []
    for i in range(flat.shape[0]):
        row = gk.grad(flat[i], xs, retain_graph=True, allow_unused=True)
        rows.append(numpy.concatenate([(r.data if r is not None else numpy.zeros_like(x.data)).reshape(-1)
                                       for r, x in zip(row, xs)]))
    return numpy.stack(rows)


def _torch_hessian(f, arrays):
    blocks = torch.autograd.functional.hessian(f, tuple(torch.from_numpy(a) for a in arrays))
    sizes = [a.size for a in arrays]
    return numpy.block([[blocks[i][j].reshape(sizes[i], sizes[j]).numpy() for j in range(len(arrays))]
                        for i in range(len(arrays))])


_rng = numpy.random.default_rng(0)
_W = _rng.standard_normal((2, 3))
_X, _Y = _rng.standard_normal((5, 3)), _rng.standard_normal((5, 2))


def _net(lib, W1, b1, W2):
    """A 2-layer tanh net's squared error; ``lib`` gives the array types (gk or torch)."""
    X, Y = (lib(a) for a in (_X, _Y))
    residual = ((X @ W1 + b1).tanh() @ W2) - Y
    return (residual * residual).mean()


def _coupled(op):
    """sum(w * op(x)) + (sum op(x))^2: the second term couples every pair of elements."""
    def f(x, w):
        y = op(x)
        return (w * y).sum() + y.sum() ** 2
    return f


ELEMENTWISE = {
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "exp": (lambda x: x.exp(), lambda x: x.exp()),
    "log": (lambda x: (x * x + 0.5).log(), lambda x: (x * x + 0.5).log()),
    "sin": (lambda x: x.sin(), lambda x: x.sin()),
    "pow": (lambda x: (x * x + 0.5) ** 1.7, lambda x: (x * x + 0.5) ** 1.7),
}
PROBLEMS = {
    **{name: ((lambda g: lambda x: _coupled(g)(x, gk.Tensor(_W)))(g),
              (lambda t: lambda x: _coupled(t)(x, torch.from_numpy(_W)))(t), [(2, 3)])
       for name, (g, t) in ELEMENTWISE.items()},
    "matmul": (lambda a, b: ((a @ b) ** 2).sum() + (a @ b).sum(), lambda a, b: ((a @ b) ** 2).sum() + (a @ b).sum(),
               [(2, 3), (3, 2)]),
    "pow_tensor_exponent": (lambda x, p: (x.exp() ** p).sum(), lambda x, p: (x.exp() ** p).sum(), [(2, 2), (2, 2)]),
    "tanh_net": (lambda *w: _net(gk.Tensor, *w), lambda *w: _net(torch.from_numpy, *w), [(3, 4), (4,), (4, 2)]),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_hessian_matches_torch(name):
    f_gk, f_torch, shapes = PROBLEMS[name]
    rng = numpy.random.default_rng(1)
    arrays = [rng.standard_normal(s) * 0.8 for s in shapes]
    numpy.testing.assert_allclose(_gk_hessian(f_gk, arrays), _torch_hessian(f_torch, arrays),
                                  rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["tanh_net", "matmul", "log", "sigmoid"])
def test_hvp_matches_torch(name):
    f_gk, f_torch, shapes = PROBLEMS[name]
    rng = numpy.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    value, hv = hvp(f_gk, tuple(gk.Tensor(a) for a in arrays), tuple(gk.Tensor(v) for v in vs))
    value_t, hv_t = torch.autograd.functional.hvp(f_torch, tuple(map(torch.from_numpy, arrays)),
                                                  tuple(map(torch.from_numpy, vs)))
    assert value.item() == pytest.approx(value_t.item(), rel=1e-12)
    for mine, theirs in zip(hv, hv_t):
        numpy.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_hvp_keeps_float32_and_leaves_no_grad():
    x = gk.Tensor(numpy.array([0.3, -0.2], dtype=numpy.float32), requires_grad=True)
    value, hv = hvp(lambda x: (x.tanh() ** 3).sum(), x, gk.Tensor(numpy.ones(2, dtype=numpy.float32)))
    assert hv.dtype == numpy.float32 and value.dtype == numpy.float32
    assert x.grad is None


def test_third_derivative_matches_the_closed_form():
    """f = x^3 sin x; f''' = 6 sin x + 18 x cos x - 9 x^2 sin x - x^3 cos x."""
    points = numpy.linspace(-2.0, 3.0, 7)
    x = gk.Tensor(points, requires_grad=True)
    (d1,) = gk.grad((x ** 3 * x.sin()).sum(), x, create_graph=True)
    (d2,) = gk.grad(d1.sum(), x, create_graph=True)
    (d3,) = gk.grad(d2.sum(), x)
    s, c = numpy.sin(points), numpy.cos(points)
    numpy.testing.assert_allclose(d2.data, 6 * points * s + 6 * points ** 2 * c - points ** 3 * s, rtol=1e-12)
    numpy.testing.assert_allclose(d3.data, 6 * s + 18 * points * c - 9 * points ** 2 * s - points ** 3 * c,
                                  rtol=1e-12, atol=1e-12)


def test_fourth_derivative_of_a_tanh_chain_matches_torch():
    """Derivatives of derivatives of derivatives: every backward rule is itself differentiable."""
    x, xt = gk.Tensor(numpy.array(0.3), requires_grad=True), torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    y, yt = (x * 1.5).tanh().sigmoid().exp(), (xt * 1.5).tanh().sigmoid().exp()
    for order in range(1, 5):
        (y,) = gk.grad(y, x, create_graph=True)
        (yt,) = torch.autograd.grad(yt, xt, create_graph=True)
        assert y.item() == pytest.approx(yt.item(), rel=1e-10), f"derivative {order}"


def test_second_derivative_passes_gradgradcheck(case):
    inputs, consts = case.inputs(numpy.float64)
    assert gradgradcheck(case.closed(consts), inputs, eps=case.eps)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class Square(gk.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):  # right value, but built from a raw array: its own derivative is lost
            return gy * gk.Tensor(2 * self.inputs[0].data)

    x = numpy.array([0.5, -1.0, 2.0])
    assert gk.autograd.gradcheck(lambda x: Square()(x), [x])
    with pytest.raises(gk.autograd.GradcheckError, match="gradgradcheck: input 0"):
        gradgradcheck(lambda x: Square()(x), [x])


def test_second_derivative_keeps_float32(case):
    """Backward rules run on float32 gradients stay float32 (Python and NumPy scalars included)."""
    inputs, consts = case.inputs(numpy.float32)
    xs = [gk.Tensor(x, requires_grad=True) for x in inputs]
    y = case.gk(*xs, *consts)
    firsts = gk.grad((y * y).sum(), xs, create_graph=True, allow_unused=True)
    for x, g in zip(xs, firsts):
        assert g.dtype == x.dtype, f"first derivative {g.dtype}"
    total = sum((g * g).sum() for g in firsts)
    if total.requires_grad:
        for x, g in zip(xs, gk.grad(total, xs, allow_unused=True)):
            assert g is None or g.dtype == x.dtype, f"second derivative {g.dtype}"
