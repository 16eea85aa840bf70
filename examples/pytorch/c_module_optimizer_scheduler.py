"""A small classifier written for PyTorch: an nn.Module holding a ModuleList, trained by SGD with
momentum under a StepLR schedule, on a TensorDataset read through a DataLoader.

The data (three noisy spirals) and the initial weights come from NumPy with a fixed seed, so the
run is the same wherever it runs. tests/parity/test_programs.py runs this file with torch and,
after rewriting its import lines only, with gradkit, and compares what it prints.
"""
import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)


def spirals(n_per_class, classes=3):
    points, labels = [], []
    for c in range(classes):
        radius = np.linspace(0.05, 1.0, n_per_class)
        angle = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(n_per_class, c))
    return np.concatenate(points).astype(np.float32), np.concatenate(labels).astype(np.int64)


class Classifier(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layer = nn.Linear(fan_in, fan_out)
            # weights from NumPy (He-scaled normal), biases zero: the same start in every framework
            layer.weight = nn.Parameter(torch.tensor(
                rng.normal(0, np.sqrt(2 / fan_in), (fan_out, fan_in)).astype(np.float32)))
            nn.init.zeros_(layer.bias)
            self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


x, y = spirals(100)
order = rng.permutation(len(x))                       # shuffled once, here, from NumPy
dataset = TensorDataset(torch.tensor(x[order]), torch.tensor(y[order]))
loader = DataLoader(dataset, batch_size=30, shuffle=False)

model = Classifier([2, 32, 32, 3])
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
scheduler = StepLR(optimizer, step_size=10, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()

print(model)
for epoch in range(30):
    total, correct = 0.0, 0
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
        correct += int((logits.argmax(1) == yb).sum().item())
    scheduler.step()
    if epoch % 5 == 4 or epoch == 0:
        print(f"epoch {epoch + 1} loss {total / len(dataset):.6f} accuracy {correct / len(dataset):.4f} "
              f"lr {scheduler.get_last_lr()[0]:.5f}")
