"""The Python examples run as a user would run them, so they cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_python_quickstart_writes_both_reports(tmp_path):
    script = ROOT / "examples" / "python" / "quickstart.py"
    result = subprocess.run([sys.executable, str(script), "200", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(os.listdir(tmp_path))
    assert len(written) == 8 and {p.rsplit(".", 1)[1] for p in written} == {"json", "html", "xlsx", "pdf"}, written
