"""Model builders: the networks of the source articles and of the lab, each one call away.

Every builder takes ``rng`` (a Generator or a seed, resolved once so that all layers draw from one
stream: the same seed gives the same model, bit for bit) and returns a ``Sequential`` whose
children can be inspected, hooked and indexed. Activations are named through the one registry
of ``nn.activation`` ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus", "prelu", or a
Module class / factory).
"""
from __future__ import annotations

from .. import backend
from . import activation as activations
from .blocks import ConvResidualBlock, Highway, ResidualBlock
from .layers import AdaptiveAvgPool2d, AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, Sequential
from .norm import BatchNorm1d, BatchNorm2d, Dropout


def _hidden_layer(model, in_features, out_features, activation, init, batch_norm, dropout, rng):
    """Append Linear [-> BatchNorm1d] -> activation [-> Dropout]: the order of the book's chapter 6."""
    model.append(Linear(in_features, out_features, bias=not batch_norm, init=init, rng=rng))
    if batch_norm:
        model.append(BatchNorm1d(out_features))
    model.append(activations.get(activation))
    if dropout:
        model.append(Dropout(dropout, rng=rng.spawn(1)[0]))


def mlp(in_features: int, hidden, out_features: int, activation="relu", init="he", batch_norm: bool = False,
        dropout: float = 0.0, rng=None) -> Sequential:
    """A fully connected network: for each width in ``hidden``, Linear [-> BatchNorm1d] -> activation
    [-> Dropout], then a last Linear to ``out_features`` (logits, no activation).

    Args:
        in_features: input size (784 for flattened MNIST).
        hidden: list of hidden widths, e.g. [100] * 4.
        out_features: output size (classes).
        activation: name, Module class or factory, one fresh module per layer.
        init: initialiser of every Linear weight (name or callable; biases start at zero);
            None gives PyTorch's defaults.
        batch_norm: BatchNorm1d after each hidden Linear (which then has no bias: beta replaces it).
        dropout: drop probability after each hidden activation (0 for none).
        rng: numpy Generator or seed.

    Example:
        >>> model = mlp(784, [100] * 4, 10, activation="relu", init="he", rng=0)
    """
    rng = backend.resolve_rng(rng)
    hidden = list(hidden)
    if any(width <= 0 for width in hidden):
        raise ValueError(f"mlp: hidden widths must be positive, got {hidden}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"mlp: dropout must be in [0, 1), got {dropout}")
    model = Sequential()
    width = in_features
    for size in hidden:
        _hidden_layer(model, width, size, activation, init, batch_norm, dropout, rng)
        width = size
    model.append(Linear(width, out_features, init=init, rng=rng))
    return model


def lenet5(in_channels: int = 1, num_classes: int = 10, activation="relu", pool: str = "max", init=None,
           rng=None) -> Sequential:
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998) for 28x28 inputs, as in source article 001.

    conv5x5(6, padding 2) -> act -> pool2 -> conv5x5(16) -> act -> pool2 -> flatten(400) -> 120 -> act
    -> 84 -> act -> num_classes. 61,706 parameters for 1 channel and 10 classes. The 1998 network
    used tanh-like units and average pooling ("subsampling"): ``activation="tanh", pool="avg"``.

    Args:
        in_channels: 1 for MNIST and Fashion-MNIST.
        num_classes: size of the output.
        activation: name, Module class or factory.
        pool: "max" or "avg".
        init: weight initialiser (None: PyTorch's defaults).
        rng: numpy Generator or seed.
    """
    if pool not in ("max", "avg"):
        raise ValueError(f"lenet5: pool must be 'max' or 'avg', got {pool!r}")
    rng = backend.resolve_rng(rng)
    pool_layer = MaxPool2d if pool == "max" else AvgPool2d
    return Sequential(
        Conv2d(in_channels, 6, 5, padding=2, init=init, rng=rng), activations.get(activation), pool_layer(2),
        Conv2d(6, 16, 5, init=init, rng=rng), activations.get(activation), pool_layer(2),
        Flatten(),
        Linear(16 * 5 * 5, 120, init=init, rng=rng), activations.get(activation),
        Linear(120, 84, init=init, rng=rng), activations.get(activation),
        Linear(84, num_classes, init=init, rng=rng),
    )


def _check_depth(name: str, depth: int, width: int) -> None:
    if depth < 1 or width < 1:
        raise ValueError(f"{name}: depth and width must be at least 1, got depth={depth}, width={width}")


def deep_plain(depth: int, width: int = 100, in_features: int = 784, out_features: int = 10, activation="relu",
               init="he", batch_norm: bool = False, rng=None) -> Sequential:
    """A plain deep network with ``depth`` hidden layers of ``width`` units, for the depth experiment.

    Equal to ``mlp(in_features, [width] * depth, out_features, ...)``: the baseline whose training
    degrades with depth, against which highway and residual nets are compared.
    """
    _check_depth("deep_plain", depth, width)
    return mlp(in_features, [width] * depth, out_features, activation, init, batch_norm, rng=rng)


def deep_highway(depth: int, width: int = 100, in_features: int = 784, out_features: int = 10,
                 activation="relu", init="he", gate_bias: float = -2.0, rng=None) -> Sequential:
    """``depth`` hidden layers: a plain Linear -> activation from the input to ``width``, then
    ``depth - 1`` Highway layers (see ``Highway``; the paper counts each highway layer as one), then
    the output Linear."""
    _check_depth("deep_highway", depth, width)
    rng = backend.resolve_rng(rng)
    model = Sequential()
    _hidden_layer(model, in_features, width, activation, init, False, 0.0, rng)
    for _ in range(depth - 1):
        model.append(Highway(width, activation, gate_bias, init=init, rng=rng))
    model.append(Linear(width, out_features, init=init, rng=rng))
    return model


def deep_residual(depth: int, width: int = 100, in_features: int = 784, out_features: int = 10,
                  activation="relu", init="he", batch_norm: bool = False, rng=None) -> Sequential:
    """``depth`` hidden weight layers: a plain Linear -> activation from the input to ``width``, then
    the other ``depth - 1`` layers in ResidualBlocks of two Linear layers each (ResNet counts weight
    layers; when ``depth - 1`` is odd the last block has one), then the output Linear."""
    _check_depth("deep_residual", depth, width)
    rng = backend.resolve_rng(rng)
    model = Sequential()
    _hidden_layer(model, in_features, width, activation, init, batch_norm, 0.0, rng)
    remaining = depth - 1
    while remaining:
        layers = min(2, remaining)
        model.append(ResidualBlock(width, width, activation, layers, batch_norm, init, rng))
        remaining -= layers
    model.append(Linear(width, out_features, init=init, rng=rng))
    return model


def resnet20(in_channels: int = 3, num_classes: int = 10, init="he", rng=None) -> Sequential:
    """ResNet-20 for 32x32 images (He, Zhang, Ren & Sun 2015, section 4.2: the CIFAR-10 network, n = 3).

    conv3x3(16) -> BN -> ReLU, then three stages of three basic blocks (``ConvResidualBlock``) at 16,
    32 and 64 channels, the first block of the second and third stages with stride 2 (32 -> 16 -> 8
    pixels), then global average pooling (``AdaptiveAvgPool2d(1)``), flatten and Linear(64,
    num_classes). 19 convolutions of 3x3 and a Linear layer. Where the shape changes the shortcut is a
    1x1 convolution with BN (the paper's option B; its CIFAR runs used zero-padding, option A): 272,474
    parameters for 3 channels and 10 classes (0.27M in the paper).

    Args:
        in_channels: 3 for CIFAR.
        num_classes: size of the output.
        init: initialiser of the convolutions (He by default, as the paper).
        rng: numpy Generator or seed.
    """
    rng = backend.resolve_rng(rng)
    model = Sequential(Conv2d(in_channels, 16, 3, padding=1, bias=False, init=init, rng=rng), BatchNorm2d(16),
                       activations.get("relu"))
    width = 16
    for stage, channels in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage and not block else 1
            model.append(ConvResidualBlock(width, channels, stride, init=init, rng=rng))
            width = channels
    model.append(AdaptiveAvgPool2d(1))
    model.append(Flatten())
    model.append(Linear(width, num_classes, rng=rng))
    return model
