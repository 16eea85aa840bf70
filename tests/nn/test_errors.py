"""Bad input: the error names the layer, the expected and the received shape."""
from __future__ import annotations

import pytest

import gradkit as gk
from gradkit import nn


def test_linear_wrong_feature_count():
    with pytest.raises(ValueError, match=r"Linear\(in_features=784, out_features=100, bias=True\): "
                                         r"expected input of shape \(\.\.\., 784\), got \(32, 28\)"):
        nn.Linear(784, 100)(gk.zeros(32, 28))


def test_conv2d_without_channel_axis_and_wrong_channels():
    conv = nn.Conv2d(1, 6, 5, padding=2)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6, kernel_size=\(5, 5\).*expected input of shape "
                                         r"\(N, 1, H, W\), got \(8, 28, 28\)"):
        conv(gk.zeros(8, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6.*expected input of shape \(N, 1, H, W\), got \(8, 3, 28, 28\)"):
        conv(gk.zeros(8, 3, 28, 28))


def test_batch_norm_and_pool_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(10.*expected input of shape \(N, 10\) or \(N, 10, L\), "
                                         r"got \(4, 12\)"):
        nn.BatchNorm1d(10)(gk.zeros(4, 12))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected input of shape \(N, 3, H, W\), got \(4, 3, 5\)"):
        nn.BatchNorm2d(3)(gk.zeros(4, 3, 5))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2, stride=2.*expected input of shape \(N, C, H, W\), "
                                         r"got \(4, 5\)"):
        nn.MaxPool2d(2)(gk.zeros(4, 5))
    with pytest.raises(ValueError, match=r"Highway\(8\): expected input of shape \(N, 8\), got \(2, 7\)"):
        nn.Highway(8)(gk.zeros(2, 7))


def test_a_model_names_the_failing_layer():
    model = nn.models.lenet5(rng=0)
    with pytest.raises(ValueError, match=r"Linear\(in_features=400, out_features=120.*got \(2, 576\)"):
        model(gk.zeros(2, 1, 32, 32))     # 32x32 input: the flattened size is 16*6*6, not 16*5*5


def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\), got 1.0"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CrossEntropyLoss(reduction="average")
    with pytest.raises(ValueError, match="unknown activation 'relu6'"):
        nn.models.mlp(4, [3], 2, activation="relu6")
    with pytest.raises(TypeError, match="not the instance"):
        nn.models.mlp(4, [3], 2, activation=nn.ReLU())
