"""Methods that use curvature: Newton-CG (exact Hessian-vector products) and L-BFGS (quasi-Newton).

Both work on all parameters at once, as one flat vector, and re-evaluate the loss through a
closure, so they override ``step`` instead of writing a per-parameter ``update``.
"""
from __future__ import annotations

import numpy

from ..autograd import Tensor, enable_grad, grad, no_grad
from .line_search import strong_wolfe
from .optimizer import Optimizer, check_count, check_range


def _flat(arrays) -> numpy.ndarray:
    return numpy.concatenate([a.reshape(-1) for a in arrays])


def _as_float(loss) -> float:
    return loss.item() if isinstance(loss, Tensor) else float(loss)


class _FlatParams:
    """All parameters of one group seen as one flat vector (what PyTorch's LBFGS does by hand)."""

    def __init__(self, params):
        self.params = params
        self.numel = sum(p.numel() for p in params)

    def gradient(self) -> numpy.ndarray:
        return _flat([p.grad.data if p.grad is not None else numpy.zeros_like(p.data) for p in self.params])

    def split(self, flat):
        out, offset = [], 0
        for p in self.params:
            out.append(flat[offset:offset + p.numel()].reshape(p.shape))
            offset += p.numel()
        return out

    def add(self, step, direction) -> None:
        """w <- w + step · direction, in place."""
        for p, d in zip(self.params, self.split(direction)):
            p.data += step * d

    def copy(self) -> list:
        return [p.data.copy() for p in self.params]

    def assign(self, arrays) -> None:
        for p, a in zip(self.params, arrays):
            p.data[...] = a


def conjugate_gradient(matvec, b, max_iter: int, tol: float):
    """Approximately solve A x = b for a symmetric A given only ``matvec(v) = A v``.

    Starts from x = 0 and stops after ``max_iter`` iterations or when ||b - A x|| <= tol ||b||. On
    a direction of non-positive curvature (p·Ap <= 0) it stops early and returns the current x, or
    b itself if that happens at once (Nocedal & Wright, Algorithm 7.1: truncated Newton).

    Returns:
        (x, iterations).
    """
    x = numpy.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rs = r.dot(r)
    threshold = tol * numpy.sqrt(rs)
    for i in range(max_iter):
        if numpy.sqrt(rs) <= threshold:
            return x, i
        ap = matvec(p)
        curvature = p.dot(ap)
        if curvature <= 0:
            return (b.copy() if i == 0 else x), i
        alpha = rs / curvature
        x += alpha * p
        r -= alpha * ap
        rs_new = r.dot(r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x, max_iter


class NewtonCG(Optimizer):
    r"""Newton's method with the Newton system solved by conjugate gradient (truncated Newton).

    Each ``step(closure)``::

        g = ∇f(w)                          (by backward with create_graph=True)
        solve (H + δ I) p = -g by CG        (H v by a second backward: Pearlmutter's trick)
        w <- w + η p

    The Hessian is never formed: each CG iteration costs one Hessian-vector product, about two
    backward passes. At most ``cg_iters`` CG iterations; CG stops once the residual is below
    ``tol`` · ||g||, or at a direction of negative curvature. Damping δ > 0 (as in
    Levenberg-Marquardt) makes the system positive definite where H is only slightly indefinite
    and shortens the steps along directions of small curvature, where the quadratic model is
    least trustworthy.
    On a strictly convex quadratic with ``cg_iters`` >= the dimension, one step lands on the minimum.
    With several parameter groups each group solves its own block of the Hessian (block-diagonal
    Newton) with its own hyperparameters; one group gives the full Newton step.

    Nocedal & Wright, *Numerical Optimization* (2006), ch. 7.1; Martens, "Deep learning via
    Hessian-free optimization" (ICML 2010); Pearlmutter, "Fast exact multiplication by the
    Hessian" (Neural Computation 1994).

    Args:
        params: Tensors or parameter-group dicts.
        lr: η, the fraction of the Newton step taken.
        cg_iters: the most CG iterations per step.
        damping: δ >= 0.
        tol: relative residual at which CG stops.

    The closure must return the loss **without** calling backward: the optimiser differentiates
    it twice itself (and leaves ∇f in each parameter's ``.grad``).

    Example:
        >>> opt = NewtonCG([w], cg_iters=20)
        >>> opt.step(lambda: loss_fn(w))
    """

    def __init__(self, params, lr: float = 1.0, cg_iters: int = 50, damping: float = 0.0, tol: float = 1e-10):
        super().__init__(params, dict(lr=lr, cg_iters=cg_iters, damping=damping, tol=tol))

    def validate(self, group):
        super().validate(group)
        group["cg_iters"] = check_count(self._name, "cg_iters", group["cg_iters"])
        group["damping"] = check_range(self._name, "damping", group["damping"])
        group["tol"] = check_range(self._name, "tol", group["tol"])

    def step(self, closure=None):
        if closure is None:
            raise ValueError("NewtonCG.step needs a closure that re-evaluates and returns the loss "
                             "(without calling backward)")
        with enable_grad():
            loss = closure()
        # every direction is computed before any parameter moves: the graph holds their arrays
        moves = [self._newton_direction(loss, group) for group in self.param_groups]
        with no_grad():
            for group, (flat, direction) in zip(self.param_groups, moves):
                flat.add(group["lr"], direction)
        return loss

    def _newton_direction(self, loss, group) -> tuple:
        params = group["params"]
        flat = _FlatParams(params)
        with enable_grad():
            grads = grad(loss, params, create_graph=True, retain_graph=True, allow_unused=True)
        grads = [g if g is not None else Tensor._make(numpy.zeros_like(p.data)) for g, p in zip(grads, params)]
        curved = [(g, i) for i, g in enumerate(grads) if g.requires_grad]
        damping = group["damping"]

        def hessian_vector(v):
            hv = [numpy.zeros_like(p.data) for p in params]
            if curved:
                pieces = flat.split(v)
                with enable_grad():
                    dot = None
                    for g, i in curved:
                        term = (g * Tensor._make(pieces[i])).sum()
                        dot = term if dot is None else dot + term
                    for i, h in enumerate(grad(dot, params, retain_graph=True, allow_unused=True)):
                        if h is not None:
                            hv[i] = h.data
            out = _flat(hv)
            return out + damping * v if damping else out

        g_flat = _flat([g.data for g in grads])
        direction, iterations = conjugate_gradient(hessian_vector, -g_flat, group["cg_iters"], group["tol"])
        for p, g in zip(params, grads):
            p.grad = g.detach()
        state = self.state.setdefault(params[0], {})
        state["step"] = state.get("step", 0) + 1
        state["cg_iterations"] = iterations
        return flat, direction


class LBFGS(Optimizer):
    r"""Limited-memory BFGS with an optional strong-Wolfe line search, as ``torch.optim.LBFGS``.

    Each ``step(closure)`` runs up to ``max_iter`` iterations (``max_eval`` loss evaluations)::

        d = -H_k g   by the two-loop recursion over the last m pairs (s_i = Δw, y_i = Δg),
                     with H_0 = (s·y / y·y) I, a pair kept only if s·y > 1e-10
        t = min(1, 1/||g||_1) · lr on the very first iteration, lr afterwards
        w <- w + t d, or t from the strong-Wolfe search (c1 = 1e-4, c2 = 0.9)

    and stops early when max|g| <= tolerance_grad, when max|t d| or the change of the loss is
    below tolerance_change, or when g·d > -tolerance_change. The memory (pairs, last direction
    and step) persists across calls, so 100 calls with ``max_iter=1`` are 100 L-BFGS iterations.

    Nocedal, "Updating quasi-Newton matrices with limited storage" (Math. Comp. 1980); Liu &
    Nocedal, "On the limited memory BFGS method for large scale optimization" (1989). The
    algorithm follows PyTorch's port of minFunc step for step.

    The closure clears the gradients, computes the loss, calls ``backward`` and returns the loss.
    One parameter group only.
    """

    def __init__(self, params, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS supports one parameter group, got {len(self.param_groups)}")
        self._flat = _FlatParams(self.param_groups[0]["params"])

    def validate(self, group):
        super().validate(group)
        for key in ("max_iter", "max_eval", "history_size"):
            group[key] = check_count(self._name, key, group[key])
        for key in ("tolerance_grad", "tolerance_change"):
            group[key] = check_range(self._name, key, group[key])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn = {group['line_search_fn']!r}; "
                             "expected None or 'strong_wolfe'")

    def add_param_group(self, group):
        if self.param_groups:
            raise ValueError("LBFGS supports one parameter group; it cannot take another")
        super().add_param_group(group)

    def expected_shape(self, key, param):
        if key in ("d", "prev_flat_grad", "old_dirs", "old_stps"):
            return (self._flat.numel,)
        return param.shape

    def _evaluate(self, closure) -> tuple:
        with enable_grad():
            loss = closure()
        return loss, self._flat.gradient()

    def _evaluate_along(self, closure, x, t, d):
        """Loss and gradient at x + t d; the parameters are put back to x afterwards."""
        self._flat.add(t, d)
        loss, flat_grad = self._evaluate(closure)
        self._flat.assign(x)
        return _as_float(loss), flat_grad

    def step(self, closure=None):
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that clears the gradients, computes the loss, "
                             "calls backward and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        # all state is global; it is filed under the first parameter, as in PyTorch
        state = self.state.setdefault(group["params"][0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with no_grad():
            orig_loss, flat_grad = self._evaluate(closure)
            loss = _as_float(orig_loss)
            evals = 1
            state["func_evals"] += 1
            if numpy.abs(flat_grad).max() <= tolerance_grad:
                return orig_loss

            d, t = state.get("d"), state.get("t")
            old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
            h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro, h_diag = [], [], [], 1
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * t
                    ys = y.dot(s)
                    if ys > 1e-10:  # keep the pair only where the curvature condition holds
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                        old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                        h_diag = ys / y.dot(y)
                    d = self._two_loop(state, -flat_grad, old_dirs, old_stps, ro, h_diag, history_size)
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss

                t = min(1.0, 1.0 / numpy.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
                gtd = flat_grad.dot(d)
                if gtd > -tolerance_change:  # not a descent direction any more
                    break

                used = 0
                if group["line_search_fn"] is not None:
                    x_init = self._flat.copy()
                    loss, flat_grad, t, used = strong_wolfe(
                        lambda x, step, direction: self._evaluate_along(closure, x, step, direction),
                        x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - evals)
                    self._flat.add(t, d)
                    optimal = numpy.abs(flat_grad).max() <= tolerance_grad
                else:
                    self._flat.add(t, d)
                    if n_iter != max_iter:  # the last iteration's loss is the next call's business
                        new_loss, flat_grad = self._evaluate(closure)
                        loss = _as_float(new_loss)
                        optimal = numpy.abs(flat_grad).max() <= tolerance_grad
                        used = 1
                evals += used
                state["func_evals"] += used

                if n_iter == max_iter or evals >= max_eval or optimal:
                    break
                if numpy.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                    break

            state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                         prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(state, q, old_dirs, old_stps, ro, h_diag, history_size):
        """-H g by Nocedal's two-loop recursion; ``q`` = -g is overwritten."""
        al = state.setdefault("al", [None] * history_size)
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q -= al[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            beta = old_dirs[i].dot(r) * ro[i]
            r += (al[i] - beta) * old_stps[i]
        return r
