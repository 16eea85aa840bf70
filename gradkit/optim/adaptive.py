"""Per-coordinate adaptive step sizes: Adagrad, RMSprop, Adadelta, Adam, AdamW.

Each ``update`` follows the matching ``torch.optim`` single-tensor code operation for operation,
so float32 trajectories agree to rounding. All arithmetic uses Python-float coefficients (NumPy 2
keeps float32 arrays float32 with them); arrays are updated in place where PyTorch does.
"""
from __future__ import annotations

import numpy

from .optimizer import Optimizer, check_betas, check_range


def _l2(param, grad, weight_decay: float):
    """g + λ w: weight decay as an L2 term in the gradient (never modifies ``grad``)."""
    return grad + weight_decay * param if weight_decay != 0 else grad


class Adagrad(Optimizer):
    r"""AdaGrad: each coordinate's step shrinks with the root of its summed squared gradients.

    Exactly ``torch.optim.Adagrad``. With g = ∇L + λ w and t the step count::

        η_t = η / (1 + (t - 1) · lr_decay)
        h  <- h + g ⊙ g                       (h starts at initial_accumulator_value)
        w  <- w - η_t · g / (√h + ε)

    Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
    Optimization" (JMLR 2011). *Deep Learning from Scratch* writes the same rule with ε = 1e-7,
    no decay and h starting at 0; PyTorch's default ε is 1e-10.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def validate(self, group):
        super().validate(group)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[key] = check_range(self._name, key, group[key])

    def update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = numpy.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        grad = _l2(param, grad, group["weight_decay"])
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        std = numpy.sqrt(state["sum"])
        std += group["eps"]
        param += -clr * grad / std


class RMSprop(Optimizer):
    r"""RMSProp: divide by a running root mean square of the gradients.

    Exactly ``torch.optim.RMSprop``. With g = ∇L + λ w, α the smoothing constant::

        s <- α s + (1 - α) g ⊙ g
        m <- α m + (1 - α) g                 (centered only: the running mean of g)
        r  = √(s - m ⊙ m) + ε   if centered else √s + ε
        b <- μ b + g / r ;  w <- w - η b     if momentum μ > 0
        w <- w - η g / r                     otherwise

    Tieleman & Hinton, Lecture 6.5 of "Neural Networks for Machine Learning" (Coursera 2012);
    the centered form is Graves, "Generating Sequences With Recurrent Neural Networks" (2013).
    ε is added outside the root, as in PyTorch (some libraries add it to s inside the root).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def validate(self, group):
        super().validate(group)
        group["alpha"] = check_range(self._name, "alpha", group["alpha"], 0.0, 1.0)
        for key in ("eps", "weight_decay", "momentum"):
            group[key] = check_range(self._name, key, group[key])
        group["centered"] = bool(group["centered"])

    def update(self, param, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = numpy.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = numpy.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = numpy.zeros_like(param)
        state["step"] += 1
        grad = _l2(param, grad, group["weight_decay"])
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = numpy.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = numpy.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param += -group["lr"] * grad / avg


class Adadelta(Optimizer):
    r"""AdaDelta: step sizes in the units of the parameter, from two running averages.

    Exactly ``torch.optim.Adadelta``. With g = ∇L + λ w, ρ the decay::

        s  <- ρ s + (1 - ρ) g ⊙ g
        Δ   = √(u + ε) / √(s + ε) ⊙ g
        u  <- ρ u + (1 - ρ) Δ ⊙ Δ
        w  <- w - η Δ

    Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (2012). The paper has no η (η = 1, the
    default here); PyTorch keeps it as a multiplier.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def validate(self, group):
        super().validate(group)
        group["rho"] = check_range(self._name, "rho", group["rho"], 0.0, 1.0)
        group["eps"] = check_range(self._name, "eps", group["eps"])
        group["weight_decay"] = check_range(self._name, "weight_decay", group["weight_decay"])

    def update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = numpy.zeros_like(param)
            state["acc_delta"] = numpy.zeros_like(param)
        state["step"] += 1
        grad = _l2(param, grad, group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = numpy.sqrt(acc_delta + eps) / numpy.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= group["lr"] * delta


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSProp on its scale, both bias-corrected.

    Exactly ``torch.optim.Adam``. With g = ∇L + λ w (L2 in the gradient), t the step count::

        m <- β1 m + (1 - β1) g
        v <- β2 v + (1 - β2) g ⊙ g
        v̂ = max(v̂, v) if amsgrad else v
        w <- w - η / (1 - β1^t) · m / (√v̂ / √(1 - β2^t) + ε)

    Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015); amsgrad: Reddi, Kale &
    Kumar, "On the Convergence of Adam and Beyond" (ICLR 2018).

    Note:
        *Deep Learning from Scratch* (and the paper's "more efficient" ordering) folds both
        corrections into the step, η_t = η √(1 - β2^t) / (1 - β1^t), and adds ε to the
        *uncorrected* √v with ε = 1e-7: w <- w - η_t m / (√v + ε). That equals the rule above with
        an ε that grows as 1/√(1 - β2^t) in the first steps (about 30ε at t = 1 with β2 = 0.999),
        so the two differ early in training and wherever √v is comparable to ε.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    decoupled = False  # AdamW sets this: decay the weights instead of adding λ w to the gradient

    def validate(self, group):
        super().validate(group)
        group["betas"] = check_betas(self._name, group["betas"])
        group["eps"] = check_range(self._name, "eps", group["eps"])
        group["weight_decay"] = check_range(self._name, "weight_decay", group["weight_decay"])
        group["amsgrad"] = bool(group["amsgrad"])

    def update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = numpy.zeros_like(param)
            state["exp_avg_sq"] = numpy.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = numpy.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if self.decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = _l2(param, grad, weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            numpy.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denom = numpy.sqrt(second)
        denom /= (1 - beta2 ** step) ** 0.5
        denom += group["eps"]
        param += -step_size * exp_avg / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay.

    Exactly ``torch.optim.AdamW``: first w <- w (1 - η λ), then the :class:`Adam` step with g = ∇L
    (no λ w in the gradient, so the decay is not divided by √v̂).

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019). The paper scales the
    decay by a schedule multiplier only; PyTorch (and this class) multiply by η, so λ = 1e-2 with
    η = 1e-3 shrinks the weights by 1e-5 per step.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
