"""Stochastic gradient descent: plain, with momentum (PyTorch's convention and the book's), Nesterov."""
from __future__ import annotations

from .optimizer import Optimizer, check_range


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    Exactly ``torch.optim.SGD``. With g = ∇L(w) + λ w (λ = ``weight_decay``, L2 added to the
    gradient), μ = ``momentum``, τ = ``dampening``, η = ``lr``::

        b_1 = g_1                    (the buffer starts at the first gradient, undamped)
        b_t = μ b_{t-1} + (1 - τ) g_t
        d_t = g_t + μ b_t            if nesterov else b_t        (d_t = g_t when μ = 0)
        w  <- w - η d_t

    Robbins & Monro (1951); momentum: Polyak (1964); Nesterov (1983) in the form of Sutskever et
    al., "On the importance of initialization and momentum in deep learning" (ICML 2013).

    Note:
        Like PyTorch, and unlike Sutskever et al. and the book (see :class:`Momentum`), the
        learning rate multiplies the buffer instead of entering it: v = -η b. The two agree step
        for step while η is constant; when a schedule changes η, this form rescales the whole
        accumulated velocity at once, the book's form only the new gradients.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate η >= 0.
        momentum: μ >= 0.
        dampening: τ in [0, 1].
        weight_decay: λ >= 0 (L2 penalty folded into the gradient).
        nesterov: look-ahead momentum; needs μ > 0 and τ = 0.

    Example:
        >>> opt = SGD([w, b], lr=0.1, momentum=0.9)
        >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def validate(self, group):
        super().validate(group)
        group["momentum"] = check_range(self._name, "momentum", group["momentum"])
        group["dampening"] = check_range(self._name, "dampening", group["dampening"], 0.0, 1.0)
        group["weight_decay"] = check_range(self._name, "weight_decay", group["weight_decay"])
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{self._name}: nesterov=True needs momentum in (0, inf) and dampening = 0, "
                             f"got momentum = {group['momentum']}, dampening = {group['dampening']}")

    def update(self, param, grad, state, group):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad


class Momentum(Optimizer):
    r"""Momentum in the book's form (*Deep Learning from Scratch*, ch. 6; Polyak 1964)::

        v <- α v - η g          (v starts at 0)
        w <- w + v

    **It is SGD with momentum.** Write v_t = -η b_t. Then v_t = α v_{t-1} - η g_t becomes
    b_t = α b_{t-1} + g_t, and w <- w + v_t becomes w <- w - η b_t: :class:`SGD` with
    ``momentum=α``, ``dampening=0``. From v_0 = 0 the first step gives v_1 = -η g_1, i.e. b_1 = g_1,
    which is SGD's first buffer too; so the trajectories are the same while η is constant.

    **When they differ:** the substitution v = -η b needs one η for all steps. If η changes mid-run
    (a schedule), the velocity v here keeps the old step sizes of past gradients and only new
    gradients see the new η, whereas SGD's buffer b is free of η and the new η scales all of it
    at once. With weight_decay λ, g = ∇L + λ w as in SGD.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η >= 0.
        momentum: α in [0, 1] (the book's 0.9 by default).
        weight_decay: λ >= 0.
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def validate(self, group):
        super().validate(group)
        group["momentum"] = check_range(self._name, "momentum", group["momentum"], 0.0, 1.0)
        group["weight_decay"] = check_range(self._name, "weight_decay", group["weight_decay"])

    def _velocity(self, param, grad, state, group):
        """v <- α v - η g; returns (v, g)."""
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = -group["lr"] * grad
        else:
            v *= group["momentum"]
            v -= group["lr"] * grad
        return v, grad

    def update(self, param, grad, state, group):
        v, _ = self._velocity(param, grad, state, group)
        param += v


class Nesterov(Momentum):
    r"""Nesterov's accelerated gradient in the book's velocity form (Sutskever et al., ICML 2013)::

        v <- α v - η g
        w <- w + α v - η g      (= w + α² v_old - (1 + α) η g: the look-ahead, Bengio et al. 2013)

    With v = -η b this is :class:`SGD` with ``nesterov=True`` step for step while η is constant
    (the same caveat as :class:`Momentum` when η changes). *Deep Learning from Scratch*'s code adds
    α² times the *updated* v; the line above is the published rule, which PyTorch also follows.
    """

    def update(self, param, grad, state, group):
        v, grad = self._velocity(param, grad, state, group)
        param += group["momentum"] * v - group["lr"] * grad
