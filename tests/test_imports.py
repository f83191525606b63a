"""Importing the package or its CLI loads none of the heavy or service libraries: commands that need
them import them when they run (a clerk's `digitize --help` starts at once, workers-only hosts need no
OpenCV to run `digitize status`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("cv2", "pytesseract", "minio", "redis", "rq", "fastapi")


@pytest.mark.parametrize("module", ["digitize", "digitize.cli"])
def test_importing_loads_no_heavy_library(module: str) -> None:
    code = (f"import json, sys; import {module}; "
            f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == []
