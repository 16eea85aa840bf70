"""Skip connections: Highway layers and residual blocks (fully connected and convolutional).

Both let the signal and its gradient bypass a transformation, which is what makes very deep
networks trainable (source article 003).
"""
from __future__ import annotations

from .. import backend
from .. import functional as F
from ..autograd.ops import ShapeError
from . import activation as activations
from .layers import Conv2d, Identity, Linear, Sequential
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d


class Highway(Module):
    """Highway layer (Srivastava, Greff & Schmidhuber 2015, "Highway Networks" / "Training Very Deep
    Networks"): y = H(x) * T(x) + x * (1 - T(x)).

    H(x) = activation(W_H x + b_H) is the transform, T(x) = sigmoid(W_T x + b_T) the transform gate,
    1 - T the carry gate. The paper initialises b_T negative, "-1 to -3" depending on depth, so that
    every layer starts by mostly carrying its input and the deep stack behaves like a shallow one; we
    default to -2, the middle of that range (T starts near sigmoid(-2) = 0.12).

    dy/dx = T dH/dx + (1 - T) I + (H - x) dT/dx: where T is small the gradient passes almost unchanged.

    Args:
        features: size of x and y (a Highway layer keeps the width).
        activation: the transform's nonlinearity (a name, Module class or factory).
        gate_bias: initial b_T.
        init: the initialiser of W_H and W_T (name or callable; None: PyTorch's default).
        rng: numpy Generator or seed.
    """

    def __init__(self, features: int, activation="relu", gate_bias: float = -2.0, init=None, rng=None):
        super().__init__()
        rng = backend.resolve_rng(rng)  # one stream for both layers (a seed would give them equal weights)
        self.features, self.gate_bias = features, gate_bias
        self.transform = Linear(features, features, init=init, rng=rng)
        self.activation = activations.get(activation)
        self.gate = Linear(features, features, init=init, rng=rng)
        self.gate.bias.data[...] = gate_bias

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.features:
            raise ShapeError(f"Highway({self.features}): expected input of shape (N, {self.features}), got {x.shape}")
        h = self.activation(self.transform(x))
        t = F.sigmoid(self.gate(x))
        return h * t + x * (1 - t)

    def extra_repr(self):
        return f"features={self.features}, gate_bias={self.gate_bias}"


class Residual(Module):
    """y = activation(body(x) + shortcut(x)): the residual form of He, Zhang, Ren & Sun (2015),
    "Deep Residual Learning for Image Recognition". With an identity shortcut the block learns only
    the residual body(x) = y - x, and dy/dx = I + d body/dx carries the gradient past the body.
    """

    def __init__(self, body: Module, shortcut: Module | None = None, activation="relu"):
        super().__init__()
        self.body = body
        self.shortcut = Identity() if shortcut is None else shortcut
        self.activation = activations.get(activation)

    def forward(self, x):
        return self.activation(self.body(x) + self.shortcut(x))


class ResidualBlock(Residual):
    """Fully connected residual block: y = act(W_2 act(W_1 x) + S x), ResNet's basic block for vectors.

    S is the identity when ``in_features == out_features`` and a bias-free Linear projection
    (ResNet's option B) otherwise. With ``batch_norm`` each Linear of the body is followed by
    BatchNorm1d (before the activation), as in ResNet.

    Args:
        in_features, out_features: widths of x and y (out defaults to in).
        activation: name, Module class or factory; used inside the body and after the sum.
        layers: Linear layers in the body (2 in ResNet; 1 is allowed).
        batch_norm: add BatchNorm1d after each Linear of the body (and of the projection).
        init, rng: initialiser (default "he") and generator of the Linear layers.
    """

    def __init__(self, in_features: int, out_features: int | None = None, activation="relu", layers: int = 2,
                 batch_norm: bool = False, init="he", rng=None):
        out_features = in_features if out_features is None else out_features
        if layers < 1:
            raise ValueError(f"ResidualBlock: layers must be at least 1, got {layers}")
        rng = backend.resolve_rng(rng)
        body = Sequential()
        width = in_features
        for i in range(layers):
            body.append(Linear(width, out_features, bias=not batch_norm, init=init, rng=rng))
            if batch_norm:
                body.append(BatchNorm1d(out_features))
            if i != layers - 1:
                body.append(activations.get(activation))
            width = out_features
        shortcut = None
        if in_features != out_features:
            shortcut = Sequential(Linear(in_features, out_features, bias=False, init=init, rng=rng))
            if batch_norm:
                shortcut.append(BatchNorm1d(out_features))
        super().__init__(body, shortcut, activation)


class ConvResidualBlock(Residual):
    """Convolutional residual block (ResNet's basic block): y = act(BN(conv3x3(act(BN(conv3x3(x))))) + S x).

    The first convolution has the given stride. S is the identity when the shape is kept
    (same channels, stride 1) and a 1x1 convolution with that stride (+ BatchNorm) otherwise.

    Args:
        in_channels, out_channels: C of x and y (out defaults to in).
        stride: stride of the first convolution and of the projection.
        activation: name, Module class or factory.
        batch_norm: BatchNorm2d after each convolution (as in ResNet); convolutions then have no bias.
        init, rng: initialiser (default "he") and generator of the convolutions.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None, stride: int = 1, activation="relu",
                 batch_norm: bool = True, init="he", rng=None):
        out_channels = in_channels if out_channels is None else out_channels
        rng = backend.resolve_rng(rng)
        body = Sequential(Conv2d(in_channels, out_channels, 3, stride, 1, bias=not batch_norm, init=init, rng=rng))
        if batch_norm:
            body.append(BatchNorm2d(out_channels))
        body.append(activations.get(activation))
        body.append(Conv2d(out_channels, out_channels, 3, 1, 1, bias=not batch_norm, init=init, rng=rng))
        if batch_norm:
            body.append(BatchNorm2d(out_channels))
        shortcut = None
        if in_channels != out_channels or stride != 1:
            shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=not batch_norm, init=init,
                                         rng=rng))
            if batch_norm:
                shortcut.append(BatchNorm2d(out_channels))
        super().__init__(body, shortcut, activation)
