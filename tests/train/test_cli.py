"""``gradkit train`` end to end on the bundled data."""
import json

from gradkit.cli import main


def test_train_writes_history_checkpoints_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--epochs", "1", "--batch-size", "200", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| epoch | loss | accuracy | val_loss | val_accuracy | time |" in printed
    assert {p.name for p in out.iterdir()} == {"history.jsonl", "history.csv", "history.png", "last.safetensors", "best.safetensors"}
    (record,) = [json.loads(line) for line in open(out / "history.jsonl")]
    assert record["epoch"] == 1 and record["val_accuracy"] > 0.8
    assert open(out / "history.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # --resume continues to epoch 2 from last.safetensors, appending to the same history
    assert main(["train", "--model", "mlp", "--epochs", "2", "--batch-size", "200", "--out", str(out), "--resume"]) == 0
    assert [json.loads(line)["epoch"] for line in open(out / "history.jsonl")] == [1, 2]


def test_resume_without_a_checkpoint_says_so(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "--resume: " in err and "last.safetensors does not exist" in err and "Traceback" not in err
