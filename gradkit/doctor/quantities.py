"""The doctor's quantities, declared once: name (the key the recorder stores it under), column title, how
it is computed.

A ``Quantity`` is a ``str`` (its name), so it is the dictionary key itself: the recorder writes
``slot[OUTPUT_NORM]``, the rules read ``rec.median(name, OUTPUT_NORM)``, the report's table takes its
``column``. Every module names quantities through these objects, never as string literals
(``tests/doctor/test_quantities.py`` checks both that and that the recorder stores nothing undeclared).
"""
from __future__ import annotations


class Quantity(str):
    """A measured number's name, with its table ``column`` title and ``about`` (how it is computed)."""

    column: str
    about: str

    def __new__(cls, name: str, column: str, about: str) -> "Quantity":
        q = super().__new__(cls, name)
        q.column, q.about = column, about
        return q

    def __reduce__(self):   # pickle and deepcopy rebuild it whole (str's own way passes the name alone)
        return Quantity, (self.name, self.column, self.about)

    @property
    def name(self) -> str:
        return str.__str__(self)


# ------------------------------------------------------------------ per weight layer (Linear, Conv)
OUTPUT_NORM = Quantity("output_norm", "out/sample", "per-sample norm of the layer's output (probes.per_sample_norm)")
GRAD_NORM = Quantity("grad_norm", "grad/sample",
                     "per-sample norm of d loss / d output, the gradient flowing back through the layer")
WEIGHT_NORM = Quantity("weight_norm", "|W|", "||W|| after the optimiser's step (probes.weight_numbers)")
ROW_SPREAD = Quantity("row_spread", "row spread",
                      "||W - mean row|| / ||W|| after the step: 0 for identical units (probes.row_spread)")
UPDATE_RATIO = Quantity("update_ratio", "update/weight",
                        "||W_after - W_before|| / ||W_before|| over one step (a fixed sample of the weights)")
WEIGHT_GRAD_NORM = Quantity("weight_grad_norm", "|dW|", "||d loss / d W|| at the optimiser's step")

# ------------------------------------------------------------------ per activation module
MEAN = Quantity("mean", "act mean", "mean of the outputs (a fixed subset of rows: probes.sample_rows)")
STD = Quantity("std", "act std", "standard deviation of the outputs (same subset)")
HISTOGRAM = Quantity("histogram", "histogram", "(counts, edges) of the outputs in 30 bins (same subset)")
SAMPLE_SPREAD = Quantity("sample_spread", "spread/inputs", "mean over units of std over samples / rms")
UNIT_SPREAD = Quantity("unit_spread", "spread/units", "mean over samples of std over units / rms")
SATURATION = Quantity("saturation", "saturated", "share of sigmoid / tanh outputs where f' < a tenth of its peak")
DEAD_SHARE = Quantity("dead_share", "dead", "share of ReLU units that never fired over the window (every value)")
WINDOW_BATCHES = Quantity("window_batches", "window", "measured batches in the dead-unit window so far")

# ------------------------------------------------------------------ per step, of the whole model
INPUT_RMS = Quantity("input_rms", "input rms", "root mean square of the model's input (a subset of rows)")
INPUT_MEAN = Quantity("input_mean", "input mean", "mean of the model's input")
INPUT_STD = Quantity("input_std", "input std", "standard deviation of the model's input")
OUTPUT_PROBABILITIES = Quantity("output_probabilities", "outputs are probabilities",
                                "every output row non-negative and summing to 1 (probes.probability_rows)")
CLASSES = Quantity("classes", "classes", "width of the model's 2-d output")
CARRIED_GRADS = Quantity("carried_grads", "carried grads",
                         "share of parameters whose .grad was non-zero when the step's first backward began")
TOTAL_GRAD_NORM = Quantity("grad_norm", "|grad|", "norm of every parameter's gradient at the optimiser's step")
EVAL_MODE = Quantity("eval_mode", "eval mode", "names of the dropout / batch-norm modules in eval mode")

LAYER = (OUTPUT_NORM, GRAD_NORM, WEIGHT_NORM, ROW_SPREAD, UPDATE_RATIO, WEIGHT_GRAD_NORM,
         MEAN, STD, HISTOGRAM, SAMPLE_SPREAD, UNIT_SPREAD, SATURATION, DEAD_SHARE, WINDOW_BATCHES)
MODEL = (INPUT_RMS, INPUT_MEAN, INPUT_STD, OUTPUT_PROBABILITIES, CLASSES, CARRIED_GRADS, TOTAL_GRAD_NORM, EVAL_MODE)

# The per-layer medians a report keeps (numbers only), and the columns of its table.
MEDIANS = (GRAD_NORM, OUTPUT_NORM, WEIGHT_NORM, WEIGHT_GRAD_NORM, UPDATE_RATIO, ROW_SPREAD,
           MEAN, STD, SATURATION, DEAD_SHARE, SAMPLE_SPREAD, UNIT_SPREAD)
TABLE = (GRAD_NORM, UPDATE_RATIO, WEIGHT_NORM, STD, SATURATION, DEAD_SHARE)
