"""L-BFGS against torch.optim.LBFGS; Newton-CG on a quadratic and on logistic regression; Rosenbrock."""
import copy

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import optim
from gradkit.optim.second_order import conjugate_gradient

LBFGS_CASES = {  # name -> (constructor keywords, number of step() calls)
    "plain-100x1": (dict(max_iter=1), 100),
    "wolfe-100x1": (dict(max_iter=1, max_eval=10, line_search_fn="strong_wolfe"), 100),
    "wolfe-history5": (dict(max_iter=1, max_eval=10, history_size=5, line_search_fn="strong_wolfe"), 100),
    "plain-5x20": (dict(), 5),
    "wolfe-5x20": (dict(line_search_fn="strong_wolfe"), 5),
    "plain-lr0.5": (dict(lr=0.5, max_iter=1), 100),
}


@pytest.mark.parametrize("name", sorted(LBFGS_CASES))
def test_lbfgs_float64_mlp_matches_torch(name, problem64, rel_error):
    kw, steps = LBFGS_CASES[name]
    ours, opt, params = problem64.run_gk(lambda p: optim.LBFGS(p, **kw), steps)
    theirs = problem64.run_torch(lambda p: torch.optim.LBFGS(p, **kw), steps)
    assert max(np.abs(a - w).max() for a, w in zip(theirs, problem64.weights)) > 1.0
    assert rel_error(ours, theirs) < 1e-10, name
    assert opt.state[params[0]]["n_iter"] >= 28


@pytest.mark.parametrize("kw", [dict(max_iter=1), dict(max_iter=1, max_eval=10, line_search_fn="strong_wolfe")])
def test_lbfgs_float32_mlp_matches_torch_while_the_problem_allows(kw, problem32, rel_error):
    """In float32 the MLP's L-BFGS path is chaotic: torch itself, started one ulp away in one
    weight, ends 1e-4..1e-2 away after 100 iterations. So float32 is held to 1e-5 for the first
    10 iterations here, for 100 on a convex problem below, and to 1e-10 for 100 in float64 above."""
    ours = problem32.run_gk(lambda p: optim.LBFGS(p, **kw), 10)[0]
    theirs = problem32.run_torch(lambda p: torch.optim.LBFGS(p, **kw), 10)
    assert rel_error(ours, theirs) < 1e-5

    nudged = copy.copy(problem32)
    nudged.weights = [np.nextafter(problem32.weights[0], np.float32(np.inf))] + problem32.weights[1:]
    far = problem32.run_torch(lambda p: torch.optim.LBFGS(p, **kw), 100)
    near = nudged.run_torch(lambda p: torch.optim.LBFGS(p, **kw), 100)
    assert rel_error(near, far) > 1e-5  # why the float32 MLP comparison stops at 10 iterations


def _softmax_regression(dtype=np.float32, n=256, l2=1e-2):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 8)).astype(dtype)
    labels = rng.integers(0, 3, n)
    start = [(0.1 * rng.standard_normal((3, 8))).astype(dtype), np.zeros(3, dtype)]
    onehot = np.eye(3, dtype=dtype)[labels]

    def gk_loss(w, b):
        z = gk.Tensor(x) @ w.T + b
        z = z - z.amax(axis=1, keepdims=True).detach()
        log_probs = z - z.exp().sum(axis=1, keepdims=True).log()
        return -(log_probs * gk.Tensor(onehot)).sum() / n + 0.5 * l2 * (w * w).sum()

    def torch_loss(w, b):
        return (torch.nn.functional.cross_entropy(torch.tensor(x) @ w.T + b, torch.tensor(labels))
                + 0.5 * l2 * (w * w).sum())

    return start, gk_loss, torch_loss


def _run_closure(opt, params, loss_fn, steps):
    def closure():
        opt.zero_grad()
        loss = loss_fn(*params)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return [np.array(p.detach().numpy()) for p in params]


@pytest.mark.parametrize("kw", [dict(max_iter=1), dict(max_iter=1, max_eval=10, line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe")])
def test_lbfgs_float32_convex_problem_matches_torch_for_100_steps(kw, rel_error):
    """tolerance_grad=1e-5: the default 1e-7 lies below the float32 noise of this loss's gradient.
    Iterating past it, both libraries make line-search decisions on losses that differ in the
    last bit (their log-softmax rounds differently) and wander apart along the flat bottom."""
    kw = dict(kw, tolerance_grad=1e-5)
    start, gk_loss, torch_loss = _softmax_regression()
    ours = [gk.Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt = optim.LBFGS(ours, **kw)
    a = _run_closure(opt, ours, gk_loss, 100)
    b = _run_closure(torch.optim.LBFGS(theirs, **kw), theirs, torch_loss, 100)
    assert opt.state[ours[0]]["n_iter"] >= 10
    assert max(np.abs(x - w).max() for x, w in zip(b, start)) > 0.1
    assert rel_error(a, b) < 1e-5
    assert all(x.dtype == np.float32 for x in a)


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def test_lbfgs_minimises_rosenbrock_and_follows_torch():
    kw = dict(lr=1, max_iter=100, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
    ours = gk.Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    theirs = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = optim.LBFGS([ours], **kw)
    a = _run_closure(opt, [ours], _rosenbrock, 3)[0]
    b = _run_closure(torch.optim.LBFGS([theirs], **kw), [theirs], _rosenbrock, 3)[0]
    assert np.abs(a - 1).max() < 1e-6, a
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert opt.state[ours]["func_evals"] > 20  # it took a real search, not a lucky first step


def test_lbfgs_rejects_a_missing_closure_and_second_group():
    w = gk.Tensor(np.zeros(2), requires_grad=True)
    opt = optim.LBFGS([w])
    with pytest.raises(ValueError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="one parameter group"):
        opt.add_param_group({"params": [gk.Tensor(np.zeros(1), requires_grad=True)]})


# ---------------------------------------------------------------------------- Newton-CG
def test_newton_cg_solves_a_strictly_convex_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((10, 10))
    a = m @ m.T + 0.5 * np.eye(10)
    b = rng.standard_normal(10)
    x = gk.Tensor(rng.standard_normal(10), requires_grad=True)
    opt = optim.NewtonCG([x], cg_iters=10, tol=1e-14)
    opt.step(lambda: 0.5 * (x @ (gk.Tensor(a) @ x)) - gk.Tensor(b) @ x)
    solution = np.linalg.solve(a, b)
    assert np.linalg.norm(x.numpy() - solution) / np.linalg.norm(solution) < 1e-8
    assert np.linalg.norm(a @ x.numpy() - b) < 1e-8


def test_newton_cg_damping_solves_the_damped_system():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((6, 6))
    a, b = m @ m.T + np.eye(6), rng.standard_normal(6)
    x = gk.Tensor(np.zeros(6), requires_grad=True)
    optim.NewtonCG([x], cg_iters=6, damping=2.0, tol=1e-14).step(
        lambda: 0.5 * (x @ (gk.Tensor(a) @ x)) - gk.Tensor(b) @ x)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a + 2.0 * np.eye(6), b), rtol=1e-10)


def _logistic_problem(l2=1e-2, n=200):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, 5)) * np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    y = (x @ np.array([1.0, -2.0, 0.5, 1.0, 0.0]) + 0.5 + rng.standard_normal(n) > 0).astype(np.float64)

    def loss(w, b):
        p = (gk.Tensor(x) @ w + b).sigmoid()
        data = -(gk.Tensor(y) * p.log() + gk.Tensor(1 - y) * (1 - p).log()).mean()
        return data + 0.5 * l2 * (w * w).sum()

    return x, y, loss


def _grad_norm(loss_fn, params):
    grads = gk.grad(loss_fn(*params), params)
    return float(np.sqrt(sum((g.numpy() ** 2).sum() for g in grads)))


def test_newton_cg_step_is_the_analytic_newton_step():
    x, y, loss_fn = _logistic_problem()
    w, b = gk.Tensor(np.full(5, 0.1), requires_grad=True), gk.Tensor(np.array(0.2), requires_grad=True)
    optim.NewtonCG([w, b], cg_iters=6, tol=1e-14).step(lambda: loss_fn(w, b))
    design = np.hstack([x, np.ones((len(x), 1))])
    theta = np.append(np.full(5, 0.1), 0.2)
    p = 1 / (1 + np.exp(-design @ theta))
    reg = np.diag([1e-2] * 5 + [0.0])
    gradient = design.T @ (p - y) / len(x) + reg @ theta
    hessian = design.T @ (design * (p * (1 - p))[:, None]) / len(x) + reg
    expected = theta - np.linalg.solve(hessian, gradient)
    np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), expected, rtol=1e-10)


def test_newton_cg_beats_gradient_descent_on_logistic_regression(record_property):
    x, _, loss_fn = _logistic_problem()

    def iterations(make_optimizer, closure_factory, cap):
        w, b = gk.Tensor(np.zeros(5), requires_grad=True), gk.Tensor(np.array(0.0), requires_grad=True)
        opt = make_optimizer([w, b])
        closure = closure_factory(opt, w, b)
        for it in range(1, cap + 1):
            opt.step(closure)
            if _grad_norm(loss_fn, [w, b]) < 1e-6:
                return it
        return None

    def newton_closure(opt, w, b):
        return lambda: loss_fn(w, b)

    def gd_closure(opt, w, b):
        def closure():
            opt.zero_grad()
            loss = loss_fn(w, b)
            loss.backward()
            return loss
        return closure

    # the step 1/L with L >= the largest curvature: 0.25 λmax(XᵀX/n) for the data term, plus λ
    design = np.hstack([x, np.ones((len(x), 1))])
    lipschitz = 0.25 * np.linalg.eigvalsh(design.T @ design / len(x)).max() + 1e-2
    newton = iterations(lambda p: optim.NewtonCG(p, cg_iters=6), newton_closure, 50)
    descent = iterations(lambda p: optim.SGD(p, lr=1 / lipschitz), gd_closure, 20000)
    record_property("newton_iterations", newton)
    record_property("gradient_descent_iterations", descent)
    print(f"\nlogistic regression to |grad| < 1e-6: Newton-CG {newton} iterations, gradient descent {descent}")
    assert newton is not None and descent is not None
    assert newton <= 10 and newton < descent


def test_conjugate_gradient_stops_on_negative_curvature():
    indefinite = np.diag([-1.0, 2.0])
    b = np.array([1.0, 0.1])  # b·Ab < 0: the very first direction curves down
    x, iterations = conjugate_gradient(lambda v: indefinite @ v, b, 10, 1e-12)
    assert iterations == 0 and np.array_equal(x, b)  # steepest descent
    b = np.array([1.0, 1.0])  # b·Ab > 0, then the conjugate direction curves down: stop there
    x, iterations = conjugate_gradient(lambda v: indefinite @ v, b, 10, 1e-12)
    assert iterations == 1 and np.allclose(x, (b @ b) / (b @ indefinite @ b) * b)
    x, iterations = conjugate_gradient(lambda v: np.diag([1.0, 4.0]) @ v, b, 10, 1e-12)
    np.testing.assert_allclose(x, [1.0, 0.25])
    assert iterations == 2


def test_newton_cg_needs_a_closure():
    w = gk.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="closure"):
        optim.NewtonCG([w]).step()
