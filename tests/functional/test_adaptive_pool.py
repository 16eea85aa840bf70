"""adaptive_avg_pool2d / nn.AdaptiveAvgPool2d against PyTorch, gradcheck, errors; nn.models.resnet20
against its PyTorch twin."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F


@pytest.mark.parametrize("size", [1, (1, 1), 2, (2, 3), (4, 6)])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_against_torch(size, dtype, check, rng):
    check.against_torch(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
                        [rng.standard_normal((2, 3, 4, 6))], dtype, what=f"adaptive_avg_pool2d {size}")


def test_gradcheck_and_the_module(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    assert gk.autograd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, 1), (x,))
    assert gk.autograd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, 2), (x,))
    layer = gk.nn.AdaptiveAvgPool2d(1)
    numpy.testing.assert_allclose(layer(gk.Tensor(x)).data, torch.nn.AdaptiveAvgPool2d(1)(torch.tensor(x)).numpy(),
                                  rtol=1e-12)
    assert repr(layer) == "AdaptiveAvgPool2d(output_size=1)"


@pytest.mark.parametrize("size, message", [(3, "output_size (3, 3) must divide the input's spatial size (4, 6)"),
                                           (0, "output_size must be an int >= 1")])
def test_errors(size, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        F.adaptive_avg_pool2d(gk.randn(2, 3, 4, 6), size)


def test_resnet20_matches_its_torch_twin():
    from bench.models import _copy_weights
    from bench.workloads import _torch_resnet20
    model, twin = gk.nn.models.resnet20(rng=0), _torch_resnet20()
    assert gk.nn.count_parameters(model) == sum(p.numel() for p in twin.parameters()) == 272_474
    _copy_weights(model, twin)
    x = numpy.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(numpy.float32)
    for train in (True, False):
        model.train(train), twin.train(train)
        numpy.testing.assert_allclose(model(gk.Tensor(x)).data, twin(torch.tensor(x)).detach().numpy(),
                                      rtol=1e-4, atol=1e-4)
