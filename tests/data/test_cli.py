"""``gradkit data list | info | download`` through gradkit.cli.main."""
from __future__ import annotations

import pytest

from gradkit.cli import main


def test_list(capsys):
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "train", "test", "where"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["mnist-10k"].split()[1:3] == ["8000", "2000"] and "bundled with gradkit" in rows["mnist-10k"]
    assert rows["fashion-mnist"].split()[1:3] == ["60000", "10000"] and "not downloaded" in rows["fashion-mnist"]
    assert "mnist" in rows


def test_info_bundled_with_check(capsys):
    assert main(["data", "info", "mnist-10k", "--check"]) == 0
    out = capsys.readouterr().out
    assert "8000 images 28x28 uint8" in out and "2000 images" in out and "(1, 28, 28)" in out
    assert "CC BY-SA 3.0, Yann LeCun, Corinna Cortes, Christopher J.C. Burges" in out
    assert "1001 1127 991 1032 980 863 1014 1070 944 978" in out


def test_info_of_a_missing_set_says_where_it_looked(tmp_path, capsys):
    assert main(["data", "info", "fashion-mnist", "--root", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "not downloaded" in out and str(tmp_path / "r" / "fashion-mnist") in out
    assert "MIT, (c) 2017 Zalando SE" in out and "Ankle boot" in out
    assert main(["data", "info", "fashion-mnist", "--check"]) == 2
    assert "gradkit data download fashion-mnist" in capsys.readouterr().err


def test_download_of_a_bundled_set_and_unknown_names(capsys):
    assert main(["data", "download", "mnist-10k"]) == 0
    assert "ships inside gradkit" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["data", "info", "cifar"])
    assert "invalid choice: 'cifar'" in capsys.readouterr().err
