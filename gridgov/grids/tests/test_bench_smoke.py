"""The locator benchmark runs (quick mode); its numbers are in docs/performance.md."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_locator_benchmark_runs_and_agrees_with_the_index():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "locator.py"), "--quick",
                             "--no-write"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "| 500 |" in result.stdout
