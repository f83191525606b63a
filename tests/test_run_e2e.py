"""End to end: `digitize run` on a generated folder, then `export`; re-runs, resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from digitize.cli import main
from digitize.samples.documents import DocSpec, cong_van, render, save_pdf
from tests.gen.bombs import bomb_png

DPI = 200


def _export(archive: Path, tmp: Path) -> list[dict]:
    out = tmp / "out.jsonl"
    assert main(["--archive", str(archive), "export", "--jsonl", str(out)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small batch: a 2-document PDF, a công văn photo rotated 180°, a G4 TIFF, and bad files."""
    root = tmp_path_factory.mktemp("batch")
    (root / "box1").mkdir()
    qd = render(DocSpec(), dpi=DPI)
    cv = render(cong_van(), dpi=DPI)
    save_pdf(qd.pages + cv.pages, root / "box1" / "two_docs.pdf", dpi=DPI)
    cv.pages[0].rotate(180).convert("RGB").save(root / "photo.jpg", quality=85, dpi=(DPI, DPI))
    qd.pages[0].convert("1").save(root / "bilevel.tif", compression="group4", dpi=(DPI, DPI))
    (root / "empty.pdf").write_bytes(b"")
    (root / "notes.jpg").write_text("this is a text file\n")
    bomb_png(root / "bomb.png")
    truth = {"qd": qd.fields, "cv": cv.fields}
    return {"root": root, "truth": truth}


@pytest.fixture(scope="module")
def first_run(batch: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    archive = tmp_path_factory.mktemp("archive")
    rc = main(["--archive", str(archive), "run", "--no-progress", "--jobs", "2", str(batch["root"])])
    return {"archive": archive, "rc": rc}


def test_run_processes_good_files_and_reports_bad_ones(batch: dict, first_run: dict, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert first_run["rc"] == 1  # some files failed
    recs = _export(first_run["archive"], tmp_path)
    by_src: dict[str, list[dict]] = {}
    for r in recs:
        by_src.setdefault(r["source"], []).append(r)
    assert sorted(by_src) == ["bilevel.tif", "box1/two_docs.pdf", "photo.jpg"]
    two = sorted(by_src["box1/two_docs.pdf"], key=lambda r: r["pages"])
    assert [r["pages"] for r in two] == [[1], [2]]
    assert two[0]["metadata"]["number"] == batch["truth"]["qd"]["number"]
    assert two[0]["metadata"]["issued_date"] == batch["truth"]["qd"]["issued_date"]
    assert two[1]["metadata"]["number"] == batch["truth"]["cv"]["number"]
    photo = by_src["photo.jpg"][0]
    assert "Cường" in photo["text"]  # read upright although scanned upside down
    for r in recs:
        assert set(r) >= {"source", "pages", "dossier_id", "metadata", "text", "needs_review"}
        assert set(r["metadata"]) >= {"doc_type", "number", "issued_date", "issuer", "place", "summary", "signer"}


def test_bad_files_are_recorded_with_reasons(first_run: dict, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--archive", str(first_run["archive"]), "list", "--files", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "empty.pdf: empty file" in out
    assert "notes.jpg: not a PDF, TIFF, JPEG or PNG" in out
    assert "bomb.png: page 1 is 40000x40000 px" in out
    quarantine = first_run["archive"] / "objects" / "quarantine"
    assert len(list(quarantine.rglob("*.*"))) == 3


def test_rerun_does_no_new_work_and_no_duplicates(batch: dict, first_run: dict, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _export(first_run["archive"], tmp_path)
    capsys.readouterr()
    rc = main(["--archive", str(first_run["archive"]), "run", "--no-progress", str(batch["root"])])
    out = capsys.readouterr().out
    assert rc == 1  # the bad files are still bad
    assert "3 already done earlier" in out and "0 read now" in out
    after = _export(first_run["archive"], tmp_path)
    assert after == before


def test_reindex_rebuilds_an_embedded_archive(first_run: dict, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The embedded driver writes each file's record too: its index can be rebuilt from its objects."""
    import shutil

    expected = _export(first_run["archive"], tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(first_run["archive"] / "objects", copy / "objects")
    assert main(["--archive", str(copy), "reindex"]) == 0
    assert _export(copy, tmp_path) == expected
    capsys.readouterr()
    assert main(["--archive", str(copy), "list", "--files", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "empty.pdf: empty file" in out and "notes.jpg: not a PDF, TIFF, JPEG or PNG" in out


def test_summary_counts_every_file_and_page(batch: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a"
    sub = tmp_path / "in"
    sub.mkdir()
    blank = Image.new("L", (1654, 2339), 255)
    page = render(DocSpec(), dpi=DPI).pages[0]
    save_pdf([page, blank], sub / "with_blank.pdf", dpi=DPI)
    (sub / "zero.tif").write_bytes(b"")
    rc = main(["--archive", str(archive), "run", "--no-progress", str(sub)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "Files:     2 files found — 1 processed, 0 already done earlier, 1 failed" in out
    assert "Pages:     2 pages — 2 read now (1 blank), 0 done earlier, 0 failed" in out


def _fake_tesseract(bin_dir: Path, fail_call: int) -> None:
    """A `tesseract` that crashes on its N-th call and runs the real one otherwise."""
    real = subprocess.run(["which", "tesseract"], capture_output=True, text=True, check=True).stdout.strip()
    script = bin_dir / "tesseract"
    counter = bin_dir / "calls"
    script.write_text(f"""#!/bin/sh
mkdir "{counter}.lock.$$" 2>/dev/null
n=$(ls -d "{counter}".lock.* 2>/dev/null | wc -l)
if [ "$n" -eq {fail_call} ]; then echo "Segmentation fault (core dumped)" >&2; exit 139; fi
exec "{real}" "$@"
""")
    script.chmod(0o755)


def _two_document_scan(tmp_path: Path) -> Path:
    """A folder with scan.pdf: a decision (page 1) and a công văn (page 2)."""
    src = tmp_path / "in"
    src.mkdir()
    pages = render(DocSpec(), dpi=DPI).pages + render(cong_van(), dpi=DPI).pages
    save_pdf(pages, src / "scan.pdf", dpi=DPI)
    return src


def test_page_that_fails_ocr_is_recorded_and_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    src = _two_document_scan(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tesseract(bin_dir, fail_call=1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DIGITIZE_OCR_BACKEND", "cli")  # the workers run the (crashing) tesseract command
    archive = tmp_path / "a"
    rc = main(["--archive", str(archive), "run", "--no-progress", "--jobs", "1", str(src)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "Pages:     2 pages — 1 read now (0 blank), 0 done earlier, 1 failed" in out
    assert "scan.pdf" in out and "tesseract failed" in out
    # a file with a failed page keeps its good pages' intermediates, for the retry
    pages_dir = archive / "objects" / "pages"
    assert len(list(pages_dir.rglob("*.pdf"))) == 1 and len(list(pages_dir.rglob("*.json"))) == 1
    record = json.loads(next((archive / "objects" / "files").rglob("file.json")).read_text(encoding="utf-8"))
    assert record["status"] == "failed" and record["pages_failed"] == 1  # what reindex reads back
    # the next run (Tesseract in-process again) retries only the failed page and completes the file
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    monkeypatch.delenv("DIGITIZE_OCR_BACKEND")
    rc = main(["--archive", str(archive), "run", "--no-progress", str(src)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "1 read now" in out and "1 done earlier" in out
    # done now: its page objects are dropped (kept only while a page failed, as above)
    assert not list(pages_dir.rglob("*.pdf")) and not list(pages_dir.rglob("*.json"))
    assert len(_export(archive, tmp_path)) == 2


_CRASH_HOOK = """
import os, signal
import digitize.pipeline.page as pipeline

_real = pipeline.process_page


def process_page(task):
    if task.page == {page}:  # as a native crash in Tesseract would: the worker process dies
        os.kill(os.getpid(), signal.SIGSEGV)
    return _real(task)


pipeline.process_page = process_page
"""


def test_a_page_that_kills_its_worker_fails_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    src = _two_document_scan(tmp_path)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_CRASH_HOOK.format(page=2))  # runs in every spawned worker
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), *sys.path]))
    archive = tmp_path / "a"
    rc = main(["--archive", str(archive), "run", "--no-progress", "--jobs", "2", str(src)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "Pages:     2 pages — 1 read now (0 blank), 0 done earlier, 1 failed" in out, out
    assert "worker process crashed on this page" in out, out
    # the good page was read; the dead one is kept in its document, for a clerk to see, not dropped
    records = _export(archive, tmp_path)
    assert records and records[0]["metadata"]["number"] and 2 in records[0]["pages"]
    assert any("pages 2 failed" in r for r in records[0]["review_reasons"]), records[0]["review_reasons"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_stopped_run_resumes_where_it_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    src = tmp_path / "in"
    src.mkdir()
    pages = []
    for i in range(3):
        pages += render(DocSpec(number=f"{10 + i}/QĐ-UBND"), dpi=DPI).pages
    save_pdf(pages, src / "three.pdf", dpi=DPI)
    archive = tmp_path / "a"
    cmd = [sys.executable, "-m", "digitize", "--archive", str(archive), "run", "--no-progress", "--jobs", "1",
           str(src)]
    # SIGINT as at a terminal: a suite started in the background by a script inherits it ignored
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pages_dir = archive / "objects" / "pages"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(pages_dir.rglob("*.json")):
        time.sleep(0.1)
    os.killpg(proc.pid, sig)  # the parent and its pool workers, mid-run (Ctrl-C reaches the whole group)
    rc = proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert rc == 130  # interrupted: the clerk is told, nothing is lost
    done_before = len(list(pages_dir.rglob("*.json")))
    assert 1 <= done_before < 3
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{3 - done_before} read now (0 blank), {done_before} done earlier" in res.stdout
    out = tmp_path / "o.jsonl"
    subprocess.run([sys.executable, "-m", "digitize", "--archive", str(archive), "export", "--jsonl", str(out)],
                   check=True)
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["pages"] for r in recs) == [[1], [2], [3]]
