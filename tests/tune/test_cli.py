"""``gradkit tune``: files, the best-trials table, narrowing, resuming, and errors that name the flag."""
import json

import pytest

pytest.importorskip("optuna")

from gradkit.cli import main  # noqa: E402
from gradkit.tune import LogUniform, load_space  # noqa: E402
from gradkit.tune.report import best, records, table  # noqa: E402

TINY = ["--samples", "60", "--epochs", "2", "--depth", "1", "--width", "8", "--batch-size", "16"]


def test_tune_writes_table_figures_trials_and_a_narrowed_space_then_resumes(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["tune", *TINY, "--trials", "6", "--sampler", "random", "--lr", "1e-3:1e-1:log",
                 "--weight-decay", "1e-8:1e-4:log", "--out", out, "--narrow", "3", "--no-prune"]) == 0
    printed = capsys.readouterr().out
    assert "| rank | trial | val_accuracy | lr | weight_decay | epochs |" in printed
    assert "6 trials: 6 complete" in printed
    for name in ("study.db", "trials.csv", "trials.json", "best.md", "history.png", "scatter.png",
                 "narrowed_space.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    rows = json.loads((tmp_path / "run" / "trials.json").read_text())
    top3 = sorted((r for r in rows), key=lambda r: (-r["value"], r["number"]))[:3]
    narrowed = load_space(str(tmp_path / "run" / "narrowed_space.json"))
    assert narrowed["lr"] == LogUniform(min(r["params"]["lr"] for r in top3), max(r["params"]["lr"] for r in top3))
    # the same command with more trials continues the study in OUT/study.db
    assert main(["tune", *TINY, "--trials", "8", "--sampler", "random", "--lr", "1e-3:1e-1:log",
                 "--weight-decay", "1e-8:1e-4:log", "--out", out, "--no-prune"]) == 0
    rows = json.loads((tmp_path / "run" / "trials.json").read_text())
    assert [r["number"] for r in rows] == list(range(8))


@pytest.mark.parametrize("flags, words", [
    (["--lr", "1e-3:1e-1:cubic"], "gradkit tune: error: --lr: scale must be one of"),
    (["--param", "width"], "--param expects NAME=RANGE"),
    (["--param", "colour=red,blue"], "unknown hyperparameter"),
])
def test_flags_errors_name_what_was_wrong(tmp_path, capsys, flags, words):
    assert main(["tune", *TINY, *flags, "--out", str(tmp_path / "run")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "run").exists()      # no study left behind


def test_table_ranks_complete_trials_and_counts_every_state():
    rows = [{"number": 0, "state": "COMPLETE", "value": 0.5, "params": {"lr": 0.01}, "epochs": 2, "worker": ""},
            {"number": 1, "state": "PRUNED", "value": 0.9, "params": {"lr": 0.02}, "epochs": 1, "worker": ""},
            {"number": 2, "state": "COMPLETE", "value": 0.7, "params": {"lr": 0.001}, "epochs": 2, "worker": ""},
            {"number": 3, "state": "FAIL", "value": None, "params": {"lr": 0.1}, "epochs": 0, "worker": ""}]
    assert [r["number"] for r in best(rows)] == [2, 0]
    text = table(rows)
    assert text.splitlines()[2].startswith("| 1 | 2 | 0.7000 | 0.001 |")
    assert text.endswith("4 trials: 2 complete, 1 fail, 1 pruned")


def test_records_of_a_study_keep_the_last_reported_value_of_a_pruned_trial():
    import optuna
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    trial.report(0.3, 0)
    trial.report(0.4, 1)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    (row,) = records(study)
    assert (row["state"], row["value"], row["epochs"]) == ("PRUNED", 0.4, 2)
