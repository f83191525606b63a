"""Tesseract in-process (digitize.page.tesseract.engine) against the tesseract command it replaces."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from digitize.errors import OcrError
from tests.gen import pages as g

engine_mod = pytest.importorskip("digitize.page.tesseract.engine")
if engine_mod.engine("vie") is None:
    pytest.skip("libtesseract cannot be loaded in-process here", allow_module_level=True)


@pytest.fixture(scope="module")
def lines() -> np.ndarray:
    page = g.gaussian_noise(g.render_page(200), 4)
    return page[: page.shape[0] // 3]  # the header and the first lines: enough words, quick to read


def test_in_process_reading_is_the_commands(lines: np.ndarray) -> None:
    import pikepdf

    from digitize.page.tesseract.ocr import parse_tsv, run_tesseract, run_tesseract_cli

    tsv, pdf = run_tesseract(lines, dpi=200, text_pdf=True)
    tsv_cli, pdf_cli = run_tesseract_cli(lines, dpi=200, text_pdf=True)
    assert tsv == tsv_cli
    words, text = parse_tsv(tsv)
    assert len(words) > 20 and "CỘNG HÒA" in text
    boxes = []
    for data in (pdf, pdf_cli):
        with pikepdf.open(io.BytesIO(data)) as doc:
            assert len(doc.pages) == 1
            boxes.append([float(v) for v in doc.pages[0].mediabox])
    assert boxes[0] == boxes[1] == pytest.approx([0, 0, lines.shape[1] * 72 / 200, lines.shape[0] * 72 / 200], abs=1)
    # a colour image and another segmentation mode go the same way
    bgr = np.dstack([lines, lines, lines])
    assert run_tesseract(bgr, dpi=200, psm=6)[0] == run_tesseract_cli(bgr, dpi=200, psm=6)[0]


def test_engine_is_kept_per_thread_and_reused() -> None:
    first = engine_mod.engine("vie")
    assert engine_mod.engine("vie") is first
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(engine_mod.engine("vie")))
    t.start()
    t.join()
    assert other[0] is not None and other[0] is not first


def test_overrunning_the_time_limit_is_an_ocr_error(lines: np.ndarray) -> None:
    with pytest.raises(OcrError, match="longer than"):
        engine_mod.engine("vie").recognize(lines, dpi=200, timeout=0.001)
    # the engine is still usable afterwards
    tsv, _ = engine_mod.engine("vie").recognize(lines, dpi=200)
    assert "CỘNG" in tsv


def test_missing_language_data_is_a_clear_error() -> None:
    with pytest.raises(OcrError, match="language data for 'xqz'"):
        engine_mod.engine("xqz")


def test_the_command_is_used_when_the_library_is_not(lines: np.ndarray) -> None:
    code = (
        "import sys, numpy as np\n"
        "from digitize.page.tesseract.engine import engine\n"
        "from digitize.page.tesseract.ocr import run_tesseract\n"
        "assert engine('vie') is None\n"
        "img = np.load(sys.argv[1])\n"
        "tsv, _ = run_tesseract(img, dpi=200)\n"
        "assert 'CỘNG' in tsv, tsv\n"
    )
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"digitize-engine-{os.getpid()}.npy")
    np.save(path, lines)
    try:
        env = dict(os.environ, DIGITIZE_TESSERACT_CLI="1")
        r = subprocess.run([sys.executable, "-c", code, path], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    finally:
        os.unlink(path)


def test_leptonica_messages_go_to_the_debug_log(caplog: pytest.LogCaptureFixture,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    import ctypes
    import ctypes.util
    import logging

    lept = ctypes.CDLL(ctypes.util.find_library("lept") or "liblept.so.5")
    lept.boxCreate.restype = ctypes.c_void_p
    lept.boxCreate.argtypes = [ctypes.c_int] * 4
    with caplog.at_level(logging.DEBUG, logger="digitize.page.tesseract.engine"):
        assert not lept.boxCreate(-5, -5, 0, 0)  # leptonica refuses it and says so
    assert any("boxCreate" in r.getMessage() for r in caplog.records)
    assert "boxCreate" not in capfd.readouterr().err
