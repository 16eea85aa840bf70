"""Neural-network building blocks: Module, layers, activations, losses, initialisers, model builders.

    >>> from gradkit import nn
    >>> model = nn.models.mlp(784, [100] * 4, 10, activation="relu", init="he", rng=0)
    >>> print(nn.summary(model, (1, 784)))
"""
from . import functional, init, models
from .activation import ELU, LeakyReLU, LogSoftmax, Maxout, PReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .blocks import ConvResidualBlock, Highway, Residual, ResidualBlock
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .embedding import Embedding
from .layers import (AdaptiveAvgPool2d, AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, Identity, Linear, MaxPool2d,
                     Sequential)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, LoadStateDictError, Module, Parameter, RemovableHandle
from .norm import BatchNorm1d, BatchNorm2d, Dropout, Dropout2d
from .summary import count_parameters, summary
from . import activation as activations

__all__ = ["Module", "Parameter", "RemovableHandle", "LoadStateDictError", "IncompatibleKeys",
           "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Embedding", "AdaptiveAvgPool2d",
           "Dropout2d", "L1Loss", "BCELoss", "functional",
           "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten", "Identity", "Sequential",
           "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softplus", "Maxout", "Softmax", "LogSoftmax",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "Highway", "Residual", "ResidualBlock", "ConvResidualBlock",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss", "summary", "count_parameters",
           "init", "models", "activations"]
