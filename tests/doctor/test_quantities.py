"""Quantities are declared once (``gradkit/doctor/quantities.py``) and named only through those objects."""
import ast
import copy
import pathlib
import pickle

import pytest

import gradkit as gk
from gradkit.doctor import quantities as q
from gradkit.doctor import rules
from gradkit.doctor.report import COLUMNS

torch = pytest.importorskip("torch")

DOCTOR = pathlib.Path(gk.doctor.__file__).parent


def test_every_number_the_watch_stores_is_a_declared_quantity():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    with gk.doctor.watch(model, opt, every=1) as w:
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    layer_keys = {k for p in w.recorder.probes for slot in p.layers.values() for k in slot}
    model_keys = {k for p in w.recorder.probes for k in p.model}
    # stored through the objects (a key spelt as a literal would be a plain str) and declared in their group
    assert all(isinstance(k, q.Quantity) for k in layer_keys | model_keys)
    assert layer_keys <= set(q.LAYER) and model_keys <= set(q.MODEL)
    # this loop reaches every per-layer quantity except the sigmoid/tanh-only and ReLU-only ones it has too
    assert {q.OUTPUT_NORM, q.GRAD_NORM, q.UPDATE_RATIO, q.SATURATION, q.DEAD_SHARE, q.HISTOGRAM} <= layer_keys
    assert {q.INPUT_RMS, q.OUTPUT_PROBABILITIES, q.TOTAL_GRAD_NORM, q.CARRIED_GRADS, q.EVAL_MODE} <= model_keys


def test_each_quantity_has_one_name_a_column_and_a_description():
    for group in (q.LAYER, q.MODEL):
        assert len(set(group)) == len(group)
    for quantity in q.LAYER + q.MODEL:
        assert quantity.name == str(quantity) and quantity.column and quantity.about
    assert set(q.TABLE) <= set(q.MEDIANS) <= set(q.LAYER)
    assert COLUMNS == tuple((k, k.column) for k in q.TABLE)
    for copied in (copy.deepcopy(q.UPDATE_RATIO), pickle.loads(pickle.dumps(q.UPDATE_RATIO))):
        assert copied == q.UPDATE_RATIO and copied.column == q.UPDATE_RATIO.column and copied.about


def _literal_keys(path: pathlib.Path) -> list:
    """String constants equal to a quantity's name used as a key: d[...], d.get(...), ... in d,
    rec.median / series / _measured(..., ...), {...: value}. A finding's id ("saturation" is both) may key
    a dict literal (the rules' table of symptoms)."""
    names = {str(k) for k in q.LAYER + q.MODEL}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        candidates = []
        if isinstance(node, ast.Subscript):
            candidates.append(node.slice)
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            candidates.append(node.left)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "get", "median", "series", "_measured", "setdefault"):
            candidates.extend(node.args)
        elif isinstance(node, ast.Dict):
            candidates.extend(k for k in node.keys if k is not None
                              and not (isinstance(k, ast.Constant) and k.value in rules.SYMPTOMS))
        found += [f"{path.name}:{c.lineno} {c.value!r}" for c in candidates
                  if isinstance(c, ast.Constant) and c.value in names]
    return found


def test_no_module_spells_a_quantity_as_a_string_literal():
    spelt = [hit for path in sorted(DOCTOR.rglob("*.py")) if path.name != "quantities.py"
             for hit in _literal_keys(path)]
    assert spelt == []


def test_the_literal_check_finds_a_spelt_key(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('def f(rec, slot):\n    slot["dead_share"] = 1\n    return rec.median("a", "update_ratio")\n')
    assert _literal_keys(planted) == ["planted.py:2 'dead_share'", "planted.py:3 'update_ratio'"]
