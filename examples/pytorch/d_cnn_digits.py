"""A small convolutional network written for PyTorch, trained on handwritten digits for 200 steps.

Usage: python d_cnn_digits.py DIGITS.npz   (arrays x_train, y_train, x_test, y_test; images in [0, 1])

gradkit ships 10,000 MNIST digits; tests/parity/test_programs.py writes them to an .npz file and runs
this program with torch and, after rewriting its import lines only, with gradkit. Weights start from
NumPy with a fixed seed, and the order of the images is drawn once from NumPy, so both runs see the
same numbers. float64 throughout, so 200 steps of two frameworks stay within 1e-4 of each other.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(1)
arrays = np.load(sys.argv[1])
order = rng.permutation(len(arrays["x_train"]))[:6400]
train = TensorDataset(torch.tensor(arrays["x_train"][order].astype(np.float64)),
                      torch.tensor(arrays["y_train"][order].astype(np.int64)))
test_x = torch.tensor(arrays["x_test"][:1000].astype(np.float64))
test_y = torch.tensor(arrays["y_test"][:1000].astype(np.int64))


def he(shape, fan_in):
    return nn.Parameter(torch.tensor(rng.normal(0, np.sqrt(2 / fan_in), shape)))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(16 * 7 * 7, 10)
        for layer, fan_in in ((self.conv1, 9), (self.conv2, 72), (self.fc, 784)):
            layer.weight = he(tuple(layer.weight.shape), fan_in)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.bn(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        return self.fc(x)          # dropout is built but left out of forward: it would draw random masks


model = SmallCNN().double()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
loader = DataLoader(train, batch_size=32, shuffle=False, drop_last=True)

step = 0
for epoch in range(2):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        step += 1
        if step % 25 == 0:
            print(f"step {step} loss {loss.item():.8f}")
        if step == 200:
            break
    if step == 200:
        break

model.eval()
with torch.no_grad():
    logits = model(test_x)
    test_loss = F.cross_entropy(logits, test_y).item()
    accuracy = (logits.argmax(1) == test_y).double().mean().item()
print(f"test loss {test_loss:.8f} accuracy {accuracy:.4f}")
print(f"running mean of bn {model.bn.running_mean.sum().item():.8f}")
