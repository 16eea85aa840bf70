"""Tensors and autograd by hand, written for PyTorch: fit a cubic to a noisy sine with a manual
gradient-descent loop (no nn, no optim): ``w -= lr * w.grad`` under no_grad, then ``w.grad.zero_()``.
"""
import math

import numpy as np
import torch

rng = np.random.default_rng(3)
x = torch.linspace(-math.pi, math.pi, 200, dtype=torch.float64)
y = torch.sin(x) + torch.tensor(rng.normal(0, 0.05, 200))

a, b, c, d = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in rng.normal(0, 0.1, 4))
learning_rate = 2e-3

for step in range(400):
    prediction = a + b * x + c * x ** 2 + d * x ** 3
    loss = ((prediction - y) ** 2).mean()
    if step % 50 == 0:
        print(f"step {step} loss {loss.item():.10f}")
    loss.backward()
    with torch.no_grad():
        for weight in (a, b, c, d):
            weight -= learning_rate * weight.grad
            weight.grad.zero_()

print(f"y = {a.item():.6f} + {b.item():.6f} x + {c.item():.6f} x^2 + {d.item():.6f} x^3")
values, indices = torch.max((prediction - y).abs().view(20, 10), 1)
print("largest residual per block", [f"{v:.5f}" for v in values.tolist()[:4]], indices.tolist()[:4])
