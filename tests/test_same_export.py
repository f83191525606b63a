"""scripts/check_same_export.py on a generated corpus: embedded, embedded reindexed, distributed and
distributed reindexed give the same export, byte for byte (records and ``pdf_sha256``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitize.samples.documents import DocSpec, cong_van, render, save_pdf
from tests.conftest import service_missing
from workers.localservers import postgres_bindir, redis_binary, weed_binary

ROOT = Path(__file__).resolve().parent.parent
DPI = 200


@pytest.mark.slow
def test_both_drivers_and_reindex_give_the_same_export(tmp_path: Path) -> None:
    for name, found in (("redis-server", redis_binary()), ("weed", weed_binary()), ("postgres", postgres_bindir())):
        if found is None:
            service_missing(f"{name} is not installed")
    corpus = tmp_path / "corpus"
    (corpus / "box").mkdir(parents=True)
    qd, cv = render(DocSpec(), dpi=DPI), render(cong_van(), dpi=DPI)
    save_pdf(qd.pages + cv.pages, corpus / "box" / "two_docs.pdf", dpi=DPI)
    cv.pages[0].convert("RGB").save(corpus / "000.00.13.H56-210615-0001.jpg", quality=85, dpi=(DPI, DPI))
    (corpus / "empty.pdf").write_bytes(b"")  # a rejected input: recorded alike by every path
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")} | {"PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_same_export.py"), str(corpus), "--jobs", "1",
                          "--workers", "1"], env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[-1] == "same export: yes"
    assert len([line for line in lines if "3 records,    3 with a PDF  identical to embedded" in line]) == 4, lines
