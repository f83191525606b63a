"""What a clerk reads on the terminal: tables, plurals, mistakes with exit codes, Vietnamese messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from digitize import i18n, terminal
from digitize.cli import main
from storage import access
from storage.index import Index
from tests.apienv import D1, make_env, populated_archive
from tests.serve import env_for, start_digitize_serve
from workers.localservers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return populated_archive(tmp_path)


def test_run_on_an_empty_folder_or_one_without_scans_fails_clearly(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--archive", str(tmp_path / "a"), "run", str(empty)]) == 4
    assert f"no scans to process in {empty}: no files there" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a scan")
    (other / "list.csv").write_text("a,b")
    assert main(["--archive", str(tmp_path / "a"), "--lang", "vi", "run", str(other)]) == 4
    err = capsys.readouterr().err
    assert "digitize: lỗi: không có bản quét nào để xử lý" in err and "có 2 tệp" in err
    assert not (tmp_path / "a" / "index.sqlite").exists() or not Index.from_url(
        f"sqlite:///{tmp_path / 'a' / 'index.sqlite'}").list_files()  # nothing recorded as failed


def test_list_is_a_table_with_headers_and_the_reason_for_review(archive: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--archive", str(archive), "list"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["DOCUMENT", "DOSSIER", "STATE", "TYPE"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    # every column starts at the same place on every line
    start = lines[0].index("STATE")
    assert all(line[start:start + 6].strip() in ("STATE", "ok", "REVIEW", "------") for line in lines)
    review = [line for line in lines if " REVIEW " in line]
    assert review and all(line.rstrip().split("  ")[-1].strip() not in ("", "-") for line in review)
    assert err.strip() == f"{len(lines) - 2} documents"
    assert main(["--archive", str(archive), "list", "--review", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == len(review) and all(d["needs_review"] and d["review_reasons"] for d in docs)


def test_show_in_vietnamese_and_as_json(archive: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "")
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    assert main(["--archive", str(archive), "show", D1]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Hồ sơ {D1}: 2 văn bản")
    assert "Cơ quan ban hành: Ủy ban nhân dân" in out and "Trích yếu:" in out and "Cần kiểm tra:" in out
    assert main(["--archive", str(archive), "list", "--review"]) == 0
    out = capsys.readouterr().out
    assert "LÝ DO CẦN KIỂM TRA" in out and "Ngày ban hành: không đọc được" in out  # the reason, in Vietnamese
    assert "unreadable" not in out and "lý do khác" not in out.lower()
    assert main(["--archive", str(archive), "--lang", "en", "show", D1, "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["dossier_id"] == D1 and len(rec["documents"]) == 2


def test_report_explains_its_columns(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--archive", str(archive), "report", "--rescan"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["FILE", "PAGE", "SKEW", "°", "SHARPNESS", "DPI", "BLANK", "TO", "CHECK"]
    assert "SHARPNESS: about 1 for a sharp scan, below 0.5" in err and "0 pages to scan again" in err


def test_plurals_and_the_file_line() -> None:
    i18n.set_language("en")
    one = SimpleNamespace(status="done", source="a.tif", pages=1, documents=1, needs_review=0, error=None)
    assert terminal.file_line(one) == "DONE     a.tif — 1 page, 1 document"
    two = SimpleNamespace(status="done", source="b.pdf", pages=2, documents=3, needs_review=1, error=None)
    assert terminal.file_line(two) == "DONE     b.pdf — 2 pages, 3 documents (1 to review)"
    i18n.set_language("vi")
    try:
        assert terminal.file_line(two) == "XONG     b.pdf — 2 trang, 3 văn bản (1 cần kiểm tra)"
    finally:
        i18n.set_language("en")


def test_language_from_the_environment() -> None:
    assert i18n.language_from_env({"LANG": "vi_VN.UTF-8"}) == "vi"
    assert i18n.language_from_env({"LANG": "en_US.UTF-8"}) == "en"
    assert i18n.language_from_env({"LANGUAGE": "vi:en", "LANG": "C"}) == "vi"
    assert i18n.language_from_env({"LC_ALL": "C.UTF-8", "LANG": "vi_VN.UTF-8"}) == "en"
    assert i18n.language_from_env({}) == "en"


def test_every_message_has_a_vietnamese_translation_and_the_mo_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import compile_locale
    finally:
        sys.path.pop(0)
    from babel.messages.pofile import read_po

    po = ROOT / "digitize/locale/vi/LC_MESSAGES/digitize.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    for message in compile_locale.extract():
        if not message.id:
            continue
        translated = catalog.get(message.id)
        assert translated is not None and all(translated.string if isinstance(translated.string, tuple)
                                              else [translated.string]), f"no translation of {message.id!r}"
    assert po.with_suffix(".mo").read_bytes() == compile_locale.compiled(po), \
        "digitize.mo is older than digitize.po: run scripts/compile_locale.py"


def test_a_wrong_api_key_is_called_unknown_or_revoked(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    r = env.client.get(f"/api/v1/dossiers/{D1}", headers={"X-API-Key": "dgz_not-a-key"})
    assert r.status_code == 401 and "unknown or revoked" in r.text
    r = env.client.get(f"/api/v1/dossiers/{D1}")
    assert r.status_code == 401 and "required" in r.text


def test_serve_says_where_it_serves_and_logs_each_request(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    token = access.create_key(index, "ops", "admin")
    index.close()
    port = free_port()
    proc = start_digitize_serve(env_for(archive), port, subprocess.PIPE, cwd=ROOT)
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/dossiers/{D1}", headers={"X-API-Key": token}, timeout=5)
        assert r.status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    start = next(line for line in out.splitlines() if "serving http://" in line)
    assert f"serving http://127.0.0.1:{port}" in start and str(archive / "objects") in start
    assert " object at 0x" not in out
    assert f'"GET /api/v1/dossiers/{D1} HTTP/1.1" 200' in out


def test_each_error_is_shown_once_and_libraries_stay_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF")
    (folder / "notes.jpg").write_bytes(b"this is no scan")
    env = env_for(tmp_path / "a") | {"PYTHONPATH": str(ROOT), "LANGUAGE": "en"}
    cmd = [sys.executable, "-m", "digitize", "run", "--no-progress", str(folder)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 1
    both = res.stdout + res.stderr
    assert both.count("not a PDF, TIFF, JPEG or PNG") == 1 and both.count("damaged or truncated PDF") == 1, both
    assert "pikepdf" not in both and " INFO " not in both
    assert "FAILED   notes.jpg: not a PDF" in res.stdout and "2 files found — 0 processed" in res.stdout
    verbose = subprocess.run([*cmd[:3], "-v", *cmd[3:]], env=env, capture_output=True, text=True, timeout=120,
                             cwd=tmp_path)
    assert verbose.returncode == 1 and "INFO [-] pikepdf._core" in verbose.stderr  # -v: libraries too


def test_rejected_files_are_explained_in_vietnamese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "hong.pdf").write_bytes(b"%PDF-1.4 junk")
    (folder / "rong.tif").write_bytes(b"")
    (folder / "ghichu.jpg").write_bytes(b"not a scan")
    assert main(["--archive", str(tmp_path / "a"), "--lang", "vi", "run", "--no-progress", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "LỖI      rong.tif: tệp rỗng (0 byte)" in out
    assert "LỖI      hong.pdf: tệp bị hỏng hoặc không đầy đủ" in out
    assert "LỖI      ghichu.jpg: không phải tệp PDF, TIFF, JPEG hoặc PNG" in out
    assert "Tệp:         tìm thấy 3 tệp — 0 đã xử lý, 0 đã xử lý từ trước, 3 lỗi" in out
