"""Saving and loading a model the PyTorch way: train briefly, save the state dict (and the
optimiser's), build a fresh model, load both back, and check it predicts and trains on identically.

Usage: python e_save_and_load.py FOLDER   (where the files are written)
"""
import os
import sys

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(2)
x = torch.tensor(rng.normal(size=(64, 4)).astype(np.float32))
y = torch.tensor((rng.normal(size=(64, 1)) + 1.0).astype(np.float32))
start = {"0.weight": rng.normal(0, 0.5, (16, 4)), "0.bias": np.zeros(16), "1.weight": np.ones(16),
         "1.bias": np.zeros(16), "3.weight": rng.normal(0, 0.25, (1, 16)), "3.bias": np.zeros(1)}


def make_model():
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.tensor(start[name].astype(np.float32)))
    return model


def train(model, optimizer, steps):
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


model = make_model()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
print(f"loss after 20 steps {train(model, optimizer, 20):.7f}")
print("keys", " ".join(model.state_dict().keys()))

folder = sys.argv[1]
torch.save(model.state_dict(), os.path.join(folder, "model.pt"))
torch.save({"optimizer": optimizer.state_dict(), "steps": 20}, os.path.join(folder, "optimizer.pt"))

restored = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))
restored.load_state_dict(torch.load(os.path.join(folder, "model.pt")))
restored_optimizer = torch.optim.Adam(restored.parameters(), lr=0.01)
saved = torch.load(os.path.join(folder, "optimizer.pt"))
restored_optimizer.load_state_dict(saved["optimizer"])
print("steps saved", saved["steps"])

model.eval()
restored.eval()
with torch.no_grad():
    difference = (model(x) - restored(x)).abs().max().item()
print(f"largest difference of the predictions {difference:.3g}")
print(f"running variance sum {restored[1].running_var.sum().item():.7f}")

model.train()
restored.train()
print(f"loss after 10 more steps: original {train(model, optimizer, 10):.7f} "
      f"restored {train(restored, restored_optimizer, 10):.7f}")
