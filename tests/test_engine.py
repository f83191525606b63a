"""Tesseract in-process (digitize.page.tesseract.engine) against the tesseract command it replaces."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from digitize.errors import OcrError
from digitize.samples import pages as g

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


def test_the_command_is_used_when_the_library_is_not(lines: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from digitize.page.tesseract.ocr import run_tesseract

    monkeypatch.setattr(engine_mod, "_lib", None)
    monkeypatch.setattr(engine_mod, "_lib_error", "libtesseract.so.5: cannot open shared object file")
    assert engine_mod.engine("vie") is None
    tsv, _ = run_tesseract(lines, dpi=200)
    assert "CỘNG" in tsv, tsv


def _recording_tesseract(bin_dir: Path) -> Path:
    """A `tesseract` on PATH that notes each call's arguments in a file, then runs the real one."""
    real = subprocess.run(["which", "tesseract"], capture_output=True, text=True, check=True).stdout.strip()
    calls = bin_dir / "calls"
    script = bin_dir / "tesseract"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return calls


def test_the_ocr_backend_setting_chooses_library_or_command(lines: np.ndarray, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from digitize.config import load_settings
    from digitize.page.tesseract.ocr import run_tesseract

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = _recording_tesseract(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    library, _ = run_tesseract(lines, dpi=200, backend="library")
    assert not calls.exists()  # read in-process: the command was not run
    monkeypatch.setenv("DIGITIZE_OCR_BACKEND", "cli")
    backend = load_settings().ocr_backend
    assert backend == "cli"
    command, _ = run_tesseract(lines, dpi=200, lang="vie", backend=backend)
    assert "-l vie" in calls.read_text()
    assert "CỘNG" in command and command == library


def test_an_unknown_ocr_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from digitize.config import load_settings

    monkeypatch.setenv("DIGITIZE_OCR_BACKEND", "gpu")
    with pytest.raises(ValidationError, match="ocr_backend"):
        load_settings()


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
