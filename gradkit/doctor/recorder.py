"""The recorder: attaches the probes to a model through hooks on the scheduled steps and keeps the numbers.

On a measured step it registers, for the step only,

* a forward hook on every weight layer (Linear, Conv2d) and a ``Tensor.register_hook`` on its output,
  giving the per-sample norm of d loss / d output (the gradient that flows back through the layer);
* a forward hook on every activation module (ReLU, sigmoid, tanh, ...), giving the activation
  statistics, the saturation share and the units that fired;

* a forward hook on the model itself, giving the scale of its inputs and whether its outputs are
  probabilities (rows of non-negative numbers summing to 1);

and reads a sample of the weights before the optimiser's step and every weight after it (weight
norm, gradient norm, update ratio, row spread) and which mode-dependent modules (dropout, batch norm)
were in eval mode. Other steps cost one comparison: the hooks are not there. The numbers are
stored per step as plain floats, ready for the rules and the figures. The framework (gradkit or PyTorch) is known only to
the adapter (``adapters/``): the recorder sees NumPy arrays.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy

from . import probes
from . import quantities as q
from .adapters import for_model
from .schedule import Schedule


# Values of an activation (or of the model's input) the statistics read on a measured step: every s-th
# sample of the batch, whole (``probes.sample_rows``). The std of 4096 values is within about 1% of the
# whole batch's (relative standard error 1 / sqrt(2 n)), the spreads and the saturated share within a
# few per cent, while the rules' thresholds sit a factor 3 or more from healthy values; dead units are
# read from every value. 4096 rather than 8192 halves the cost of reading a layer (bench/README.md,
# the doctor watching a PyTorch loop).
ACTIVATION_VALUES = 4096

# Weights the update ratio ||W_after - W_before|| / ||W_before|| reads (every k-th in memory order, the same
# places before and after the step, ``probes.weight_sample``): a layer's weights are not copied whole each
# measured step. Over 4096 weights spread across every unit the ratio is within a few per cent of the
# whole layer's; the rules read it on a log scale (too high or too low by a factor of 10 or more). The
# weight norm and row spread read every weight, after the step (one step moves them by the update
# ratio, about 1e-3 of their size: reading them before as well would cost a second pass).
UPDATE_VALUES = 4096


@dataclass
class Layer:
    """A module the doctor watches: ``kind`` is "weight" or "activation"; ``activation`` names the function."""
    name: str
    module: object
    kind: str
    activation: str = ""
    shape_text: str = ""

    @property
    def label(self) -> str:
        return f"{self.name or '<model>'} ({type(self.module).__name__}{self.shape_text})"


def watched_layers(model, adapter=None) -> list[Layer]:
    """The weight layers and activation modules of ``model``, in registration order."""
    adapter = adapter or for_model(model)
    layers = []
    for name, module in model.named_modules():
        kind = adapter.kind(module)
        if kind is not None:
            layers.append(Layer(name, module, kind[0], kind[1], adapter.shape_text(module)))
    return layers


@dataclass
class StepProbe:
    """Everything measured on one step: ``layers[name]`` is a dict of quantity -> value."""
    step: int
    loss: float = math.nan
    layers: dict = field(default_factory=dict)
    order: list = field(default_factory=list)   # layer names in the order the forward pass called them
    model: dict = field(default_factory=dict)   # the model's inputs and outputs, modes, carried gradients


class Recorder:
    """Measures ``model`` on the steps ``schedule`` selects.

    Call ``begin_step(step)`` before the forward pass and ``end_step(step, loss)`` after the
    optimiser's step (gradients still in ``.grad``). ``window`` probed batches make the window over
    which a ReLU unit must never fire to count as dead.
    """

    def __init__(self, model, schedule: Schedule | None = None, window: int = 4, histogram_bins: int = 30,
                 adapter=None):
        self.model = model
        self.adapter = adapter = adapter or for_model(model)
        self.schedule = schedule or Schedule(every=10)
        self.layers = watched_layers(model, adapter)
        self.mode_modules = [(n, m) for n, m in model.named_modules() if adapter.mode_dependent(m)]
        self.unseen: list[tuple[int, float]] = []   # (step, loss) of steps whose batch was new to the model
        self.window, self.bins = window, histogram_bins
        self.losses: list[float] = []           # every step
        self.probes: list[StepProbe] = []       # measured steps
        self.validation: list[dict] = []        # {"step", "loss", "accuracy"} where measured
        self.nonfinite: list[dict] = []         # events: step, where, detail
        self._active: dict = {}                  # layer name -> [(window, units) fired, batches seen]
        self._handles, self._current, self._before = [], None, {}
        self._grad_norms: dict = {}             # id(parameter) -> gradient norm, on the measured step
        self.paused = False

    # ------------------------------------------------------------------ lifecycle of one step
    def begin_step(self, step: int) -> None:
        if not self.schedule(step):
            self._current = None
            return
        self._current, self._grad_norms = StepProbe(step), {}
        for layer in self.layers:   # a sample of the weights before the step, for the update ratio
            if layer.kind == "weight":
                self._before[layer.name] = probes.weight_sample(self.adapter.weight(layer.module), UPDATE_VALUES)
        self._handles.append(self.model.register_forward_hook(self._model_hook))
        for layer in self.layers:
            hook = self._weight_hook(layer) if layer.kind == "weight" else self._activation_hook(layer)
            self._handles.append(layer.module.register_forward_hook(hook))

    @property
    def measuring(self) -> bool:
        """Is the current step a measured one (between ``begin_step`` and ``end_step``)?"""
        return self._current is not None

    def end_step(self, step: int, loss: float | None) -> StepProbe | None:
        """Close the step: ``loss`` is its training loss (None when it is not known)."""
        if loss is not None:
            loss = float(loss)
            self.losses.append(loss)
            if not math.isfinite(loss):
                self.note_nonfinite(step, "loss", f"the loss is {loss}")
        probe = self._current
        for handle in self._handles:
            handle.remove()
        self._handles, self._current = [], None
        if probe is None:
            return None
        probe.loss = math.nan if loss is None else loss
        if self.mode_modules:
            probe.model[q.EVAL_MODE] = [name for name, m in self.mode_modules if not m.training]
        for layer in self.layers:
            if layer.kind == "weight":
                self._read_weights(layer, probe, step)
        self._before, self._grad_norms = {}, {}
        self.probes.append(probe)
        return probe

    def abort_step(self) -> None:
        """Remove the hooks of a measured step without recording it."""
        for handle in self._handles:
            handle.remove()
        self._handles, self._current, self._before, self._grad_norms = [], None, {}, {}

    def note_nonfinite(self, step: int, where: str, detail: str) -> None:
        """Record that a NaN/Inf appeared (only the first event per place is kept)."""
        if not any(e["where"] == where for e in self.nonfinite):
            self.nonfinite.append({"step": step, "where": where, "detail": detail})

    def add_validation(self, step: int, metrics: dict) -> None:
        self.validation.append({"step": step, **{k: float(v) for k, v in metrics.items()}})

    # ------------------------------------------------------------------ hooks
    def _slot(self, layer: Layer) -> dict:
        probe = self._current
        if layer.name not in probe.layers:
            probe.layers[layer.name] = {}
            probe.order.append(layer.name)
        return probe.layers[layer.name]

    def _model_hook(self, module, inputs, output):
        """The scale of the model's inputs (first tensor argument, floating point only) and whether its
        outputs are rows of probabilities, on the first forward call of a measured step."""
        probe = self._current
        if self.paused or probe is None or q.OUTPUT_PROBABILITIES in probe.model:
            return None
        adapter = self.adapter
        x = next((adapter.numpy(v) for v in inputs if adapter.is_tensor(v) or isinstance(v, numpy.ndarray)), None)
        if x is not None and numpy.issubdtype(x.dtype, numpy.floating) and x.size:
            mean, std, scale = probes.moments(x, ACTIVATION_VALUES)
            if math.isfinite(scale):
                probe.model[q.INPUT_RMS], probe.model[q.INPUT_MEAN], probe.model[q.INPUT_STD] = scale, mean, std
        if adapter.is_tensor(output):
            y = adapter.numpy(output)
            if y.ndim == 2 and y.shape[1] >= 2:
                probe.model[q.OUTPUT_PROBABILITIES] = probes.probability_rows(y)
                probe.model[q.CLASSES] = int(y.shape[1])
        return None

    def _weight_hook(self, layer: Layer):
        def hook(module, inputs, output):
            if self.paused or self._current is None:
                return None
            slot = self._slot(layer)
            values = self.adapter.numpy(output)
            slot[q.OUTPUT_NORM] = probes.per_sample_norm(values)
            if not math.isfinite(slot[q.OUTPUT_NORM]) and not probes.all_finite(values):   # NaN/Inf: norm NaN/Inf
                self.note_nonfinite(self._current.step, f"forward:{layer.name}",
                                    f"{layer.label} produced NaN/Inf in its output {tuple(values.shape)}")
            if self.adapter.requires_grad(output):
                def on_grad(grad, slot=slot):
                    slot[q.GRAD_NORM] = probes.per_sample_norm(grad)
                    if (not math.isfinite(slot[q.GRAD_NORM]) and not probes.all_finite(grad)
                            and self._current is not None):
                        self.note_nonfinite(self._current.step, f"backward:{layer.name}",
                                            f"the gradient reaching {layer.label} is NaN/Inf")
                self.adapter.grad_hook(output, on_grad)
            return None
        return hook

    def _activation_hook(self, layer: Layer):
        def hook(module, inputs, output):
            if self.paused or self._current is None:
                return None
            slot = self._slot(layer)
            a = self.adapter.numpy(output)
            if a.ndim < 2:
                return None
            ring = self._active.get(layer.name)
            if ring is None or ring[0].shape[1] != a.shape[1]:
                ring = self._active[layer.name] = [numpy.zeros((self.window, a.shape[1]), dtype=bool), 0]
            read = probes.activation_numbers(a, ring[0], ring[1] % self.window, self.bins, layer.activation,
                                             ACTIVATION_VALUES)
            if read is None:
                self.note_nonfinite(self._current.step, f"forward:{layer.name}",
                                    f"{layer.label} produced NaN/Inf {tuple(a.shape)}")
                return None
            s, dead = read
            ring[1] += 1
            slot[q.MEAN], slot[q.STD], slot[q.HISTOGRAM] = s.mean, s.std, s.histogram
            slot[q.SAMPLE_SPREAD], slot[q.UNIT_SPREAD] = s.sample_spread, s.unit_spread
            if layer.activation in ("sigmoid", "tanh"):
                slot[q.SATURATION] = s.saturation
            if layer.activation == "relu":   # every value, over the window: a unit that fires once is alive
                slot[q.DEAD_SHARE], slot[q.WINDOW_BATCHES] = dead, min(ring[1], self.window)
            return None
        return hook

    def _read_weights(self, layer: Layer, probe: StepProbe, step: int) -> None:
        """The weights after the step: norm and row spread (every weight, one call), the update ratio (the
        sample taken before the step against the same places now), the weight gradient's norm."""
        slot = probe.layers.setdefault(layer.name, {})
        weight = layer.module.weight
        after = self.adapter.weight(layer.module)   # the probes accumulate in float64 themselves
        sample = probes.weight_sample(after, UPDATE_VALUES)
        slot[q.WEIGHT_NORM], slot[q.ROW_SPREAD], _ = probes.weight_numbers(after)
        slot[q.UPDATE_RATIO] = probes.update_ratio(self._before.get(layer.name, sample), sample)
        grad_norm = self.grad_norm(weight)
        if grad_norm is not None:
            slot[q.WEIGHT_GRAD_NORM] = grad_norm
            # a NaN/Inf anywhere makes the norm NaN/Inf: the full check only runs when it is
            if not math.isfinite(grad_norm) and not probes.all_finite(self.adapter.grad(weight)):
                self.note_nonfinite(step, f"grad:{layer.name}", f"the weight gradient of {layer.label} is NaN/Inf")
        # a NaN/Inf weight makes the norm NaN/Inf (a float64 sum of squares: finite float32 weights never
        # overflow it); the full check confirms it, so huge but finite float64 weights are not reported
        if not math.isfinite(slot[q.WEIGHT_NORM]) and not probes.all_finite(after):
            self.note_nonfinite(step, f"weight:{layer.name}", f"the weights of {layer.label} became NaN/Inf")

    def grad_norm(self, param) -> float | None:
        """||param.grad|| on the current step (None without a gradient), computed once per step: the
        watch reads every gradient at the optimiser's step, the weight layers' are not read again."""
        key = id(param)
        if key not in self._grad_norms:
            grad = self.adapter.grad(param)
            self._grad_norms[key] = None if grad is None else probes.norm(grad)
        return self._grad_norms[key]

    # ------------------------------------------------------------------ reading
    def series(self, layer_name: str, quantity: str) -> list[tuple[int, float]]:
        """(step, value) of one quantity of one layer over the measured steps."""
        return [(p.step, p.layers[layer_name][quantity]) for p in self.probes
                if quantity in p.layers.get(layer_name, {})]

    def median(self, layer_name: str, quantity: str, part: str = "all") -> float:
        """Median of one quantity of one layer over the measured steps: all of them, the first
        ``window`` ("start": the verdict on the initialisation) or the last third ("end"). NaN when
        never measured."""
        values = [v for _, v in self.series(layer_name, quantity)]
        if not values:
            return math.nan
        third = max(1, len(values) // 3)
        if part == "start":
            values = values[:self.window]
        elif part == "end":
            values = values[-third:]
        elif part != "all":
            raise ValueError(f"Recorder.median: part must be 'all', 'start' or 'end', got {part!r}")
        return float(statistics.median(values))  # pure Python: ~20x faster than numpy on short lists

    def largest_update(self) -> float:
        """The largest median update/weight ratio of any weight layer (NaN when never measured)."""
        ratios = [self.median(layer.name, q.UPDATE_RATIO) for layer in self.layers if layer.kind == "weight"]
        ratios = [r for r in ratios if not math.isnan(r)]
        return max(ratios) if ratios else math.nan

    def forward_order(self, kind: str | None = None) -> list[Layer]:
        """Watched layers in the order the forward pass called them (registration order if never measured)."""
        by_name = {layer.name: layer for layer in self.layers}
        order = next((p.order for p in self.probes if p.order), None)
        layers = [by_name[n] for n in order] if order else list(self.layers)
        return [layer for layer in layers if kind is None or layer.kind == kind]
