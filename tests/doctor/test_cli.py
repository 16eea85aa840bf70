"""``gradkit doctor`` end to end: the list, a report with its figure, the remedy table."""
import json

import pytest

from gradkit.cli import main
from gradkit.doctor import scenarios


def test_list_names_every_scenario(capsys):
    assert main(["doctor", "--list"]) == 0
    printed = capsys.readouterr().out
    for name in scenarios.names():
        assert name in printed


def test_doctor_writes_report_figure_and_remedy_table(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["doctor", "--model", "lr-too-low:steps=60", "--try-fixes", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Learning rate too low" in printed and "Remedies tried" in printed
    assert {p.name for p in out.iterdir()} == {"report.txt", "report.json", "gradient_flow.png", "remedies.txt",
                                              "remedies.json"}
    report = json.load(open(out / "report.json"))
    assert report["findings"][0]["name"] == "lr_too_low"
    table = json.load(open(out / "remedies.json"))
    assert {t["remedy"] for t in table["trials"]} == {"raise_lr", "adam"}
    assert open(out / "gradient_flow.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_unknown_model_is_named(capsys):
    assert main(["doctor", "--model", "resnet-9000"]) == 2
    assert "unknown scenario 'resnet-9000'" in capsys.readouterr().err
