"""The review station in a real headless Chromium (Debian's ``chromium``, driven by Playwright from PyPI),
served by ``digitize serve`` over an archive made by ``digitize run``.

Signs in, opens the queue, fixes a wrong number from the keyboard, approves with Ctrl+Enter, checks the
index and ``metadata.json``, splits a document, approves the parts, and downloads one with a portal key.
Screenshots go to ``build/review-screenshots/``; keystrokes and seconds per record are printed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from digitize.cli import main
from digitize.handoff import manual
from storage import access, layout
from storage.index import Index
from storage.objects import LocalObjectStore
from tests.conftest import service_missing
from tests.gen.reviewbatch import D1, WRONG, make_batch, misread

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "build" / "review-screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``digitize serve`` over a fresh archive: a decision whose number was misread, and a công văn that
    segmentation ran together with the next decision (to split)."""
    base = tmp_path_factory.mktemp("station")
    archive = base / "archive"
    batch = make_batch(base / "in", second_decision=True)
    assert main(["--archive", str(archive), "run", "--no-progress", "--jobs", "2", str(batch)]) == 0
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    docs = list(index.list_documents())
    by_type = {(d.metadata.doc_type.value, d.metadata.number.value): d for d in docs}
    decision = by_type[("Quyết định", "123/QĐ-UBND")].doc_id
    misread(index, decision)
    later = sorted((d for d in docs if d.doc_id != decision), key=lambda d: d.pages[0])
    merged = manual.merge(index, [d.doc_id for d in later], who="segmentation-error")
    tokens = {role: access.create_key(index, f"{role}-1", role) for role in ("clerk", "portal")}
    port = _free_port()
    env = dict(os.environ, DIGITIZE_ARCHIVE=str(archive))
    proc = subprocess.Popen([sys.executable, "-m", "digitize.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=(base / "serve.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"digitize serve did not start: {(base / 'serve.log').read_text()[-2000:]}")
        yield {"url": url, "index": index, "store": LocalObjectStore(archive / "objects"), "tokens": tokens,
               "decision": decision, "merged": merged, "later": later}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        index.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Chromium context (new profile) from Debian's package; skipped (failed in CI) without it."""
    if not CHROMIUM.exists():
        service_missing("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=ARGS, viewport={"width": 1440, "height": 900}, locale="vi-VN")
        try:
            yield context
        finally:
            context.close()


class Keys:
    """The keyboard, counting what the clerk presses (a typed character is one key press)."""

    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.count += 1
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.count += len(text)
        self.page.keyboard.type(text)


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def test_review_station_end_to_end(station: dict[str, Any], browser: Any) -> None:
    url, index, store = station["url"], station["index"], station["store"]
    decision = station["decision"]
    page = browser.new_page()
    keys = Keys(page)
    # sign in: the queue sends an anonymous browser to the sign-in page, and back after it
    page.goto(f"{url}/review")
    assert "/review/login" in page.url and page.locator("h1").inner_text() == "Đăng nhập trạm duyệt"
    page.fill("#key", station["tokens"]["portal"])
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "không có quyền duyệt" in page.locator("#login-error").inner_text()
    page.fill("#key", station["tokens"]["clerk"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/review")
    cookie = next(c for c in browser.cookies() if c["name"] == "digitize_review")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    # the queue: both flagged documents, with counts
    assert page.locator("#shown-count").inner_text() == "2"
    assert "Số, ký hiệu (1)" in page.locator("select[name=reason]").inner_text()
    print(f"\nscreenshot: {_shot(page, 'queue.png')}")

    # open the first with Enter; the number comes first (it has a reason), its words are boxed on the page
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/doc/{decision}*")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'f-number'")
    page.wait_for_selector("#boxes .box")
    assert page.locator(".field").first.get_attribute("data-field") == "number"
    assert "đọc chưa chắc chắn (độ tin cậy 0,61)" in page.locator(".field.flagged .why").first.inner_text()
    page.keyboard.press("Control+A")
    page.keyboard.type("123/CV-UBND")  # validated as typed: the symbol does not fit a decision
    assert "không khớp loại văn bản Quyết định" in page.locator(".field[data-field=number] .msg").inner_text()
    page.keyboard.press("Escape")
    date = page.locator("#f-issued_date")
    date.focus()
    date.fill("")
    page.keyboard.type("01/01/2020")
    assert "trước ngày tiếp nhận hồ sơ (15/06/2021)" in page.locator(".field[data-field=issued_date] .msg").inner_text()
    page.keyboard.press("Escape")
    page.locator("#f-number").focus()
    page.wait_for_selector("#boxes .box")
    print(f"screenshot: {_shot(page, 'document.png')}")

    # the timed one-field fix: select, type, Enter (saved, next field), Ctrl+Enter (approve, next document)
    t0, k0 = time.perf_counter(), keys.count
    keys.press("Control+A")
    keys.type("123/QĐ-UBND")
    keys.press("Enter")
    page.wait_for_selector(".field[data-field=number].accepted")
    keys.press("Control+Enter")
    page.wait_for_url(f"**/review/doc/{station['merged'].doc_id}*")
    page.wait_for_function("document.activeElement && document.activeElement.tagName !== 'BODY'")
    fix_seconds, fix_keys = time.perf_counter() - t0, keys.count - k0
    assert page.locator("#flash").inner_text() == "Đã duyệt văn bản."
    doc = index.get_document(decision)
    assert doc.metadata.number.value == "123/QĐ-UBND" and not doc.needs_review
    md = json.loads(store.get_bytes(layout.document_key(decision, "metadata.json")))
    assert md["metadata"]["number"] == "123/QĐ-UBND" and md["needs_review"] is False
    assert [h["detail"]["changes"]["number"] for h in index.history_of(decision)
            if "number" in h["detail"].get("changes", {})] == [[WRONG, "123/QĐ-UBND"]]

    # split the run-together document before the decision's page (structure panel, same history)
    merged = station["merged"]
    cut = station["later"][1].pages[0]
    page.locator("#structure summary").click()
    page.select_option("#split-page", str(cut))
    page.locator("#split").click()
    page.wait_for_load_state()
    assert "Đã tách văn bản" in page.locator("#flash").inner_text()
    parts = [d for d in index.list_documents() if d.doc_id != decision]
    assert sorted(d.pages for d in parts) == [merged.pages[:merged.pages.index(cut)],
                                              merged.pages[merged.pages.index(cut):]]
    second = next(d for d in parts if d.pages[0] == cut)
    assert second.metadata.doc_type.value == "Quyết định" and second.pdf_key  # re-extracted, PDF re-made
    assert [h["action"] for h in index.history_of(second.doc_id)][-2:] == ["split", "remake"]

    # the timed clean record: look, Ctrl+Enter
    page.wait_for_function("document.activeElement && document.activeElement.tagName !== 'BODY'")
    t0, k0 = time.perf_counter(), keys.count
    keys.press("Control+Enter")
    page.wait_for_url(f"**/review/doc/{second.doc_id}*")
    page.wait_for_function("document.activeElement && document.activeElement.tagName !== 'BODY'")
    clean_seconds, clean_keys = time.perf_counter() - t0, keys.count - k0
    keys.press("Control+Enter")
    page.wait_for_url(f"{url}/review?*")
    assert "Không còn văn bản nào cần duyệt" in page.locator("#queue-empty").inner_text()
    print(f"review station: one-field fix {fix_keys} keystrokes, {fix_seconds:.2f} s; "
          f"clean record {clean_keys} keystroke(s), {clean_seconds:.2f} s (browser + server, no human)")

    # what the portal now gets: the split-off decision, approved
    portal = {"X-API-Key": station["tokens"]["portal"]}
    r = httpx.get(f"{url}/api/v1/documents/download/{second.doc_id}", headers=portal)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert httpx.get(f"{url}/api/v1/documents/{second.doc_id}", headers=portal).json()["review"]["state"] \
        == "approved"
    assert httpx.get(f"{url}/api/v1/dossiers/{D1}", headers=portal).json()["document_count"] == 3

    # logout ends the session
    page.goto(f"{url}/review")
    page.locator("form.logout button").click()
    page.wait_for_url("**/review/login")
    page.goto(f"{url}/review")
    assert "/review/login" in page.url

