"""LeNet-5 against a fully connected network (article 001, CNN: parameter sharing, LeNet-5).

LeNet-5 (61,706 parameters) and a 784-100-10 MLP (79,510) trained alike: Adam, batch 100, the same
mini-batches. A convolution reuses each 5x5 filter at every position of its input (parameter sharing)
and connects each output to a small patch (sparse connections), so its layers hold hundreds to tens of
thousands of times fewer weights than dense layers mapping the same input to the same output; with fewer
parameters, LeNet-5 is still more accurate and loses less accuracy when the test digits are shifted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...autograd.mode import no_grad
from ...autograd.tensor import Tensor
from .. import common, plotting, verdicts
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    n_train: int | None = None        # None: the whole training set
    n_test: int | None = None
    mlp_hidden: tuple = (100,)
    epochs: int = 20
    batch_size: int = 100
    mlp_lr: float = 1e-3
    cnn_lr: float = 1e-3
    shift: int = 2                    # pixels the test digits are moved up, down, left and right


def layer_table(model, image_shape=(1, 28, 28)) -> list[dict]:
    """For each Conv2d and Linear layer: its parameters, the input and output sizes it maps, its
    multiply-adds per image, and the parameters a dense layer mapping the same sizes would need
    (in · out + out)."""
    rows, h = [], Tensor(numpy.zeros((1,) + tuple(image_shape), dtype=numpy.float32))
    with no_grad():
        for layer in model:
            out = layer(h)
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                weights = layer.weight.numel()
                fan_in = weights // (layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features)
                rows.append({"layer": f"{type(layer).__name__} {tuple(h.shape[1:])} -> {tuple(out.shape[1:])}",
                             "params": sum(p.numel() for p in layer.parameters()),
                             "dense_equivalent": h.numel() * out.numel() + out.numel(),
                             "multiply_adds": out.numel() * fan_in, "uses_per_weight": out.numel() * fan_in // weights})
            h = out
    return rows


def shifted(images, pixels: int, axis: int) -> numpy.ndarray:
    """The images moved by ``pixels`` along ``axis`` (2: rows, 3: columns), zero-filled."""
    out = numpy.zeros_like(images)
    src = [slice(None)] * images.ndim
    dst = [slice(None)] * images.ndim
    src[axis], dst[axis] = (slice(0, -pixels), slice(pixels, None)) if pixels > 0 else (slice(-pixels, None), slice(0, pixels))
    out[tuple(dst)] = images[tuple(src)]
    return out


def run(config: Config, rng) -> dict:
    x, y, xt, yt = common.load_flat(config.data, config.n_train, config.n_test)
    images, test_images = x.reshape(-1, 1, 28, 28), xt.reshape(-1, 1, 28, 28)
    mlp_seed, cnn_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=3))
    # (model, learning rate, how it sees an image: a row of 784 pixels or a 1x28x28 grid)
    models = {"MLP": (nn.models.mlp(784, config.mlp_hidden, 10, activation="relu", init="he", rng=mlp_seed),
                      config.mlp_lr, lambda a: a.reshape(len(a), -1)),
              "LeNet-5": (nn.models.lenet5(rng=cnn_seed), config.cnn_lr, lambda a: a)}
    arms = {}
    for name, (model, lr, view) in models.items():
        curves = common.train_epochs(model, optim.create("adam", model.parameters(), lr=lr), view(images), y,
                                     config.epochs, config.batch_size, numpy.random.default_rng(batch_seed),
                                     evaluate={"test": (view(test_images), yt)})
        moved = [common.accuracy(model, view(shifted(test_images, s, axis)), yt)
                 for axis in (2, 3) for s in (config.shift, -config.shift)]
        arms[name] = {"params": sum(p.numel() for p in model.parameters()), "loss": curves["loss"],
                      "test_accuracy": curves["test_accuracy"], "train_accuracy": common.accuracy(model, view(images), y),
                      "shifted_accuracy": float(numpy.mean(moved)),
                      "layers": layer_table(model, (784,) if name == "MLP" else (1, 28, 28))}
        arms[name]["shift_drop"] = arms[name]["test_accuracy"][-1] - arms[name]["shifted_accuracy"]
    tables = [{"title": f"{name}: what each weight layer holds (per image)",
               "columns": ["layer", "parameters", "a dense layer with the same input and output", "multiply-adds",
                           "uses of each weight"],
               "rows": [[r["layer"], r["params"], r["dense_equivalent"], r["multiply_adds"], r["uses_per_weight"]]
                        for r in arm["layers"]]} for name, arm in arms.items()]
    tables.insert(0, {"title": f"trained {config.epochs} epochs on {len(x)} images (Adam, batch {config.batch_size})",
                      "columns": ["model", "parameters", "train accuracy", "test accuracy",
                                  f"test accuracy, digits shifted {config.shift} px", "drop"],
                      "rows": [[name, a["params"], a["train_accuracy"], a["test_accuracy"][-1], a["shifted_accuracy"],
                                a["shift_drop"]] for name, a in arms.items()]})
    return {"n_train": len(x), "epochs": config.epochs, "shift": config.shift, "arms": arms, "tables": tables}


def plot(results: dict, folder) -> list[str]:
    arms = results["arms"]
    fig, axes = plotting.figure(3, panel_size=(5, 4))
    plotting.curves(axes[0], {f"{k} ({a['params']:,} params)": common.smooth(a["loss"], 20) for k, a in arms.items()},
                    "iterations", "training loss (smoothed)")
    plotting.curves(axes[1], {k: a["test_accuracy"] for k, a in arms.items()}, "epochs", "test accuracy")
    lenet = arms["LeNet-5"]["layers"]
    where = numpy.arange(len(lenet))
    axes[2].bar(where - 0.2, [r["params"] for r in lenet], 0.4, label="LeNet-5 layer")
    axes[2].bar(where + 0.2, [r["dense_equivalent"] for r in lenet], 0.4, label="dense layer, same input and output")
    axes[2].set_yscale("log"), axes[2].set_ylabel("parameters"), axes[2].legend(fontsize=8)
    axes[2].set_xticks(where, [r["layer"].split(" ")[0] + f" {i + 1}" for i, r in enumerate(lenet)], fontsize=8)
    axes[2].set_title("parameter sharing", fontsize=10)
    return [plotting.save(fig, folder, "compare", title=f"LeNet-5 vs MLP on {results['n_train']} training images")]


def check(results: dict) -> list:
    mlp, cnn = results["arms"]["MLP"], results["arms"]["LeNet-5"]
    convs = [r for r in cnn["layers"] if r["layer"].startswith("Conv2d")]
    least = min(r["dense_equivalent"] / r["params"] for r in convs)
    return [
        verdicts.at_least("convolutions need far fewer parameters", least, 10.0,
                          "'compared with a standard network, convolution effectively reduces the number of "
                          "parameters' (parameter sharing, sparse connections): every conv layer holds at least 10x "
                          "fewer than a dense layer with the same input and output", unit="x"),
        verdicts.holds("fewer parameters, higher accuracy",
                       cnn["params"] < mlp["params"] and cnn["test_accuracy"][-1] > mlp["test_accuracy"][-1],
                       f"LeNet-5 {cnn['params']} params, test {cnn['test_accuracy'][-1]:.4f}; "
                       f"MLP {mlp['params']} params, test {mlp['test_accuracy'][-1]:.4f}",
                       "'with fewer parameters a CNN needs fewer training samples and overfits less': LeNet-5 is "
                       "more accurate on the test set than an MLP with more parameters"),
        verdicts.less("the CNN copes better with shifted digits", "LeNet-5 drop", cnn["shift_drop"],
                      "MLP drop", mlp["shift_drop"],
                      f"'a CNN is good at capturing shifts of position': moving the test digits by "
                      f"{results['shift']} px costs LeNet-5 less accuracy than the MLP"),
    ]


EXPERIMENT = experiment(
    "cnn-vs-mlp", order=16, title="LeNet-5 vs an MLP: parameter sharing and accuracy",
    source="article 001 (CNN: convolution, pooling, LeNet-5, why convolutions: parameter sharing)",
    config=Config(), quick=Config(n_train=3000, n_test=1000, epochs=5, batch_size=50),
    tiny=Config(n_train=50, n_test=20, epochs=1, batch_size=25),
    # LeNet-5 handicapped: a learning rate too small to move it off its initial weights
    broken=Config(n_train=300, n_test=200, epochs=2, cnn_lr=1e-7),
    run=run, plot=plot, check=check)
