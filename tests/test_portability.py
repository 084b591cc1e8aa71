"""sgtk imports, and a Trainer runs, where ``fcntl`` and ``SIGUSR1`` do not exist (Windows)."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WITHOUT_POSIX = textwrap.dedent(
    """
    import signal, sys
    sys.modules["fcntl"] = None  # `import fcntl` now fails, as on Windows
    del signal.SIGUSR1
    import sgtk, sgtk.train
    from sgtk.io.lock import folder_lock
    from sgtk.train.signals import STOP_SIGNALS
    from sgtk.train.trainer import Trainer, TrainConfig
    from tests.train.test_trainer import ToyTask
    assert "fcntl" not in {type(m).__name__ for m in sys.modules.values() if m}
    assert signal.SIGINT in STOP_SIGNALS and len(STOP_SIGNALS) == 2
    result = Trainer(ToyTask(), TrainConfig(steps=4, eval_every=2), sys.argv[1]).fit()
    print("steps", result["steps"])
    """
)


def test_the_trainer_imports_and_runs_without_fcntl_or_sigusr1(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, str(tmp_path / "run")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("steps 4"), done.stdout
