"""The weight-decay experiment penalises the weights only, as the book's lambda/2 * sum(W^2) does."""
import numpy

from gradkit import Tensor, nn
from gradkit.lab.experiments import weight_decay


def _model_with_nonzero_biases(seed):
    model = nn.models.mlp(6, [5, 4], 3, init="he", rng=seed)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data[...] = 1.0  # biases start at zero, where a decay or a penalty could not show
    return model


def test_decay_shrinks_the_weights_and_leaves_the_biases():
    model = _model_with_nonzero_biases(0)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = Tensor(numpy.zeros_like(p.data))
    weight_decay.optimizer(model, lr=0.1, weight_decay=0.5).step()
    # with a zero loss gradient SGD's step is -lr * lambda * w on the weights, and nothing on the biases
    for name, p in model.named_parameters():
        expected = before[name] * (1 - 0.1 * 0.5) if name.endswith("weight") else before[name]
        numpy.testing.assert_allclose(p.data, expected, rtol=1e-6, err_msg=name)


def test_squared_weights_leaves_out_the_biases():
    model = _model_with_nonzero_biases(1)
    weights = [p.data for name, p in model.named_parameters() if name.endswith("weight")]
    by_hand = sum(float((w.astype(numpy.float64) ** 2).sum()) for w in weights)
    assert len(weights) == 3
    assert abs(weight_decay.squared_weights(model) - by_hand) <= 1e-9 * by_hand
