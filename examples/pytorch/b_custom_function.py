"""A custom autograd Function written for PyTorch: a leaky ReLU whose backward is written by hand,
checked against autograd's own derivative and used to train a one-hidden-layer network.
"""
import numpy as np
import torch


class LeakyClamp(torch.autograd.Function):
    """y = x for x > 0, slope * x otherwise; dy/dx = 1 or slope."""

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return torch.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad = torch.where(x > 0, torch.ones_like(x), torch.ones_like(x) * ctx.slope)
        return grad_output * grad, None


rng = np.random.default_rng(4)
x = torch.tensor(rng.normal(size=(5, 3)), requires_grad=True)
y = LeakyClamp.apply(x, 0.1)
y.sum().backward()
by_hand = x.grad.clone()
x.grad = None
torch.where(x > 0, x, x * 0.1).sum().backward()
print("hand-written backward equals autograd's:", bool((by_hand == x.grad).all()))

inputs = torch.tensor(rng.normal(size=(128, 2)))
targets = torch.tensor((rng.normal(size=(128, 1)) > 0).astype(np.float64))
w1 = torch.tensor(rng.normal(0, 1, (2, 8)), requires_grad=True)
w2 = torch.tensor(rng.normal(0, 0.3, (8, 1)), requires_grad=True)
for step in range(60):
    hidden = LeakyClamp.apply(inputs @ w1, 0.05)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(hidden @ w2, targets)
    loss.backward()
    with torch.no_grad():
        w1 -= 0.5 * w1.grad
        w2 -= 0.5 * w2.grad
    w1.grad = None
    w2.grad = None
    if step % 10 == 0:
        print(f"step {step} loss {loss.item():.10f}")
