"""Lowercase functions over Tensors: the primitives, their compositions and the fused ops."""
from ..autograd.composite import clip, flatten, mean, min, minimum, sqrt, squeeze, stack, swapaxes, unsqueeze, var
from ..autograd.ops import (abs, broadcast_to, cast, concatenate, cos, exp, getitem, log, matmul, max, maximum,
                            relu, reshape, sigmoid, sin, sum, sum_to, tanh, transpose, where)
from .activation import elu, leaky_relu, log_softmax, maxout, prelu, softmax, softplus
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
                   nll_loss)
from .math import logsumexp, one_hot
from .conv import avg_pool2d, conv2d, global_avg_pool2d, max_pool2d
from .norm import batch_norm, dropout, dropout2d
from .pool import adaptive_avg_pool2d
