"""Separator sheets: one A4 page per code, QR = the code, readable after print-and-scan damage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest

from digitize.errors import DossierCodeError
from digitize.models import Code
from digitize.page.codes import read_codes
from digitize.page.separator import write_sheets
from digitize.samples import pages as P

CODES = ["000.00.13.H56-210615-0001", "38.98.H29-210519-0013", "H26.107.01-260203-010023"]


def _rasterise(pdf: Path, dpi: int, out: Path) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(out / "p")], check=True)
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(out.glob("p-*.png"))]


def test_one_a4_page_per_code(tmp_path: Path) -> None:
    out = tmp_path / "sheets.pdf"
    write_sheets(CODES, out)
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == len(CODES)
        for page in pdf.pages:
            w, h = (float(v) for v in page.mediabox[2:])
            assert abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5  # A4 in points


@pytest.mark.parametrize("dpi", [150, 200])
def test_sheets_read_back_after_print_and_scan(tmp_path: Path, dpi: int) -> None:
    out = tmp_path / "sheets.pdf"
    write_sheets(CODES, out)
    images = _rasterise(out, dpi, tmp_path)
    assert len(images) == len(CODES)
    for i, (img, code) in enumerate(zip(images, CODES, strict=True)):
        scanned = P.gaussian_noise(P.skew(P.fade(img, 120), 3.0 if i % 2 else -3.0), 12, seed=i)
        if i == 1:
            scanned = P.rotate90(scanned, 180)
        qrs = [c for c in read_codes(scanned) if c.format == "QRCode"]
        assert qrs == [Code("QRCode", code)]


def test_sheet_prints_title_and_code_legibly(tmp_path: Path) -> None:
    import pytesseract

    from digitize.text.dossier_code import find_in_text
    from digitize.text.vntext import fold

    out = tmp_path / "s.pdf"
    write_sheets(CODES[2:], out)
    img = _rasterise(out, 150, tmp_path)[0]
    text = pytesseract.image_to_string(img, lang="vie")
    assert "phieu phan tach ho so" in fold(text)
    assert find_in_text(text)[0] == CODES[2]


@pytest.mark.parametrize("bad", ["000.00.13.H56-211315-0001", "not-a-code", "000.00.13.H56-210615-01"])
def test_invalid_code_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "sheets.pdf"
    with pytest.raises(DossierCodeError, match=bad.replace(".", r"\.")):
        write_sheets([CODES[0], bad], out)
    assert not out.exists()
    assert not list(tmp_path.iterdir())
