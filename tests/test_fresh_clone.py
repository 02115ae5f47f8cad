"""The whole suite passes on a fresh clone of the committed HEAD, with no ../shared data beside it.

Slow (the whole suite again, about 15 minutes on 2 cores): runs only with TOPIC_PIPELINE_CLONE_TEST=1.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.environ.get("TOPIC_PIPELINE_CLONE_TEST") != "1",
                                reason="clones the repository and runs the whole suite there: set TOPIC_PIPELINE_CLONE_TEST=1")


def test_suite_passes_on_a_fresh_clone_without_shared_data(tmp_path):
    clone = tmp_path / "clone"  # nothing named shared beside it
    cloned = subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
                            check=False, capture_output=True, text=True, timeout=600)
    assert cloned.returncode == 0, cloned.stderr
    env = {k: v for k, v in os.environ.items()
           if k != "SCIKIT_LEARN_DATA" and not k.startswith("TOPIC_PIPELINE_") and k != "PYTHONPATH"}
    # the clone's own packages, ahead of the editable install of this checkout in the current venv
    env |= {"TOPIC_PIPELINE_SHARED_DATA": "/nonexistent", "PYTHONPATH": str(clone)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                             "--ignore", "tests/test_fresh_clone.py", "-k", "not fresh_clone"],
                            check=False, cwd=clone, env=env, capture_output=True, text=True, timeout=3 * 3600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
