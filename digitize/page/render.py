"""Rendering one PDF page with poppler (``pdftoppm``), as a PDF viewer displays it.

Used whenever taking the page's image out of the PDF as it is would not show what a viewer shows
(see :mod:`digitize.page.pdfpage`). The page is rendered inside its crop box, with ``/Rotate`` applied;
poppler decodes every PDF compression itself, JBIG2 included (no ``jbig2dec`` needed). The bitmap goes
through a temporary PGM/PPM file read by OpenCV, so only one copy of the page is ever held.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from digitize.errors import MissingDependencyError, PageError

RENDER_TIMEOUT = 300.0


def render_page(path: Path, page: int, *, resolution: float, gray: bool,
                timeout: float = RENDER_TIMEOUT) -> np.ndarray:
    """Page ``page`` (1-based) rendered at ``resolution`` pixels per inch of PDF user space (72 pt):
    uint8 gray (HxW) when ``gray``, else BGR (HxWx3)."""
    import cv2

    with tempfile.TemporaryDirectory(prefix="digitize-render-") as tmp:
        out = Path(tmp) / "page"
        cmd = ["pdftoppm", "-r", f"{resolution:.3f}", "-f", str(page), "-l", str(page), "-cropbox",
               "-singlefile", *(["-gray"] if gray else []), str(path), str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except FileNotFoundError as e:
            raise MissingDependencyError("poppler (pdftoppm) is not installed: apt-get install poppler-utils") from e
        except subprocess.TimeoutExpired as e:
            raise PageError(f"poppler took longer than {timeout:.0f} s to render page {page}") from e
        produced = out.with_suffix(".pgm" if gray else ".ppm")
        if proc.returncode != 0 or not produced.exists():
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PageError(f"poppler cannot render page {page} ({err[-1][:200] if err else proc.returncode})")
        arr = cv2.imread(str(produced), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if arr is None:
        raise PageError(f"poppler rendered nothing readable for page {page}")
    return arr
