"""``python -m gradkit.doctor train.py``: an unmodified script is watched; its exit status is kept."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from gradkit.doctor.script import run_script  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = """
import sys, torch
from tests.doctor import torch_zoo as zoo
torch.set_num_threads(1)
run = zoo.SETUPS[sys.argv[1]](0)
run.steps = 120
zoo.train(run)
if sys.argv[2:] == ["crash"]:
    raise ValueError("the script crashed")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return str(path)


def test_the_loop_bugs_are_named_in_a_script_run_in_process(script, tmp_path, capsys):
    import io
    stream = io.StringIO()
    assert run_script(script, ["eval-mode-training"], out=str(tmp_path / "out"), stream=stream) == 0
    text = stream.getvalue()
    assert "Training in eval mode" in text and "In your code: call model.train()" in text
    assert sorted(os.listdir(tmp_path / "out")) == ["gradient_flow.png", "report.json", "report.txt"]


def test_python_m_gradkit_doctor_keeps_the_scripts_traceback_and_exit_status(script):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "gradkit.doctor", script, "stale-gradients", "crash"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    err = done.stderr
    assert err.index("ValueError: the script crashed") < err.index("Gradients never zeroed")
    assert "In your code: call optimizer.zero_grad() before loss.backward()" in err
