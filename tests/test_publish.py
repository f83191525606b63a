"""Publishing to the portal: a real HTTP receiver on a free loopback port (in a thread) that fails the
first attempts; packages must arrive complete, signed when a certificate is configured, once each."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from digitize.errors import ConfigError, DossierCodeError, NotFoundError, PublishError
from digitize.handoff import publish, sign
from digitize.models import Document
from storage import access
from storage.index import MIGRATIONS, Index
from storage.objects import LocalObjectStore
from tests.apienv import D1, D2, populate
from tests.gen.certs import PASSWORD, Authority, validate
from workers.localservers import free_port

TOKEN = "portal-secret-token"


@dataclass
class Receiver:
    """The portal's import endpoint: answers ``script`` statuses first, then 201; keeps one copy per key."""

    script: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    stored: dict[str, bytes] = field(default_factory=dict)
    retry_after: str | None = None
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        with self.lock:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append({"path": handler.path, "headers": headers, "body": body})
            status = self.script.pop(0) if self.script else None
        if status == -1:  # drop the connection without an answer
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if status is None:
            key = headers.get("idempotency-key", "")
            with self.lock:
                status = 200 if key in self.stored else 201
                self.stored.setdefault(key, body)
            answer = json.dumps({"receipt": f"R-{key[:8]}"}).encode()
        else:
            answer = json.dumps({"error": f"scripted {status}"}).encode()
        handler.send_response(status)
        if self.retry_after and status in (429, 503):
            handler.send_header("Retry-After", self.retry_after)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            rec.handle(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/documents/import"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Archive:
    index: Index
    store: LocalObjectStore
    docs: dict[str, Document]
    pdfs: dict[str, bytes]

    def doc(self, number: str) -> Document:
        return next(d for d in self.index.list_documents() if d.metadata.number.value == number)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    index = Index.from_url(f"sqlite:///{tmp_path / 'index.sqlite'}")
    store = LocalObjectStore(tmp_path / "objects")
    docs, pdfs = populate(index, store)
    yield Archive(index, store, docs, pdfs)
    index.close()


def portal(receiver: Receiver, **kw: Any) -> publish.Portal:
    return publish.Portal(url=receiver.url, token=TOKEN, **{"attempts": 4, "backoff": 0.01, "max_delay": 0.05} | kw)


def by_status(outcomes: list[publish.Outcome]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for o in outcomes:
        out.setdefault(o.status, []).append(o.doc_id)
    return out


# --- publishing ----------------------------------------------------------------------------------


def test_publish_dossier_retries_signs_and_delivers_a_verifiable_package(archive: Archive, receiver: Receiver,
                                                                         signer: sign.CopySigner,
                                                                         ca: Authority) -> None:
    receiver.script = [503, -1, 500]  # unavailable, connection dropped, server error; then accepted
    sleeps: list[float] = []
    docs = publish.select(archive.index, dossier=D1)
    outcomes = publish.publish(docs, archive.index, archive.store, portal(receiver), who="clerk1", signer=signer,
                               sleep=sleeps.append)
    ready, review = archive.doc("123/QĐ-UBND"), archive.doc("45/GPXD")
    assert by_status(outcomes) == {"published": [ready.doc_id], "skipped": [review.doc_id]}
    done = next(o for o in outcomes if o.status == "published")
    assert done.attempts == 4 and done.http_status == 201 and done.signed
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2] <= 0.05  # exponential backoff, capped
    assert next(o for o in outcomes if o.status == "skipped").message == "needs review"

    assert len(receiver.requests) == 4
    request = receiver.requests[-1]
    h = request["headers"]
    assert request["path"] == "/api/v1/documents/import"
    assert h["authorization"] == f"Bearer {TOKEN}" and h["content-type"] == "application/zip"
    assert h["x-dossier-code"] == D1 and h["x-document-id"] == ready.doc_id and h["x-digitize-signed"] == "true"
    assert h["content-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(request['body']).digest()).decode()}:"
    assert {r["headers"]["idempotency-key"] for r in receiver.requests} == {h["idempotency-key"]}

    zf = zipfile.ZipFile(io.BytesIO(request["body"]))
    md = json.loads(zf.read("metadata.json"))
    assert md["DossierCode"] == D1 and md["DocumentCount"] == 1
    rec = md["Documents"][0]
    assert rec["DocId"] == ready.doc_id and rec["CodeNumber"] == "123" and rec["CodeNotation"] == "QĐ-UBND"
    assert rec["Signed"] is True and rec["SignedAt"].endswith("+07:00")
    pdf = zf.read(rec["FileName"])
    assert hashlib.sha256(pdf).hexdigest() == rec["Sha256"]
    # the key covers the PDF sent and its metadata
    assert h["idempotency-key"] == publish.idempotency_key(rec["Sha256"], ready)
    assert validate(pdf, ca)[1].bottom_line
    for line in zf.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest

    rows = access.list_publications(archive.index, dossier_id=D1)
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "published" and row["doc_id"] == ready.doc_id and row["attempts"] == 4
    assert row["idempotency_key"] == h["idempotency-key"] and row["signed"] and row["published_at"] is not None
    assert row["package_sha256"] == hashlib.sha256(request["body"]).hexdigest()
    assert row["endpoint"] == receiver.url and "R-" in row["receipt"]
    audit = access.audit_entries(archive.index, action="publish")
    assert [(a["who"], a["target"], a["status"]) for a in audit] == [("clerk1", ready.doc_id, 201)]


def test_rerunning_publishes_nothing_twice(archive: Archive, receiver: Receiver, signer: sign.CopySigner) -> None:
    first = publish.publish(publish.select(archive.index, ready=True), archive.index, archive.store,
                            portal(receiver), who="ops", signer=signer)
    published = by_status(first)["published"]
    assert len(published) == 2  # 123/QĐ-UBND (D1) and 7/QĐ-UBND (D2); the rest need review or have no PDF
    assert len(receiver.requests) == 2
    again = publish.publish(publish.select(archive.index, ready=True), archive.index, archive.store,
                            portal(receiver), who="ops", signer=signer)
    assert sorted(by_status(again)["already"]) == sorted(published)
    assert len(receiver.requests) == 2  # nothing sent
    assert len(access.audit_entries(archive.index, action="sign")) == 2  # nor signed again
    assert all(o.signed for o in again if o.status == "already")


def test_a_reviewed_document_is_published_on_the_next_run(archive: Archive, receiver: Receiver) -> None:
    publish.publish(publish.select(archive.index, dossier=D1), archive.index, archive.store, portal(receiver),
                    who="ops")
    assert len(receiver.requests) == 1
    review = archive.doc("45/GPXD")
    archive.index.update_document(dataclasses.replace(review, needs_review=False, reasons=()), who="clerk1",
                                  action="review", detail={"changes": {"needs_review": [True, False]}})
    outcomes = publish.publish(publish.select(archive.index, dossier=D1), archive.index, archive.store,
                               portal(receiver), who="ops")
    assert by_status(outcomes) == {"already": [archive.doc("123/QĐ-UBND").doc_id], "published": [review.doc_id]}
    assert len(receiver.requests) == 2
    assert receiver.requests[-1]["headers"]["x-digitize-signed"] == "false"  # no certificate configured
    zf = zipfile.ZipFile(io.BytesIO(receiver.requests[-1]["body"]))
    assert json.loads(zf.read("metadata.json"))["Documents"][0]["Signed"] is False


def test_permanent_refusal_fails_at_once_and_is_retried_on_the_next_run(archive: Archive, receiver: Receiver) -> None:
    receiver.script = [400]
    sleeps: list[float] = []
    outcomes = publish.publish(publish.select(archive.index, dossier=D1), archive.index, archive.store,
                               portal(receiver), who="ops", sleep=sleeps.append)
    failed = by_status(outcomes)["failed"]
    assert len(failed) == 1 and sleeps == [] and len(receiver.requests) == 1
    o = next(o for o in outcomes if o.status == "failed")
    assert o.http_status == 400 and "scripted 400" in o.message and o.attempts == 1
    row = access.list_publications(archive.index)[0]
    assert row["status"] == "failed" and row["http_status"] == 400 and row["published_at"] is None
    assert access.audit_entries(archive.index, action="publish")[0]["status"] == 400
    outcomes = publish.publish(publish.select(archive.index, dossier=D1), archive.index, archive.store,
                               portal(receiver), who="ops")
    assert by_status(outcomes)["published"] == failed
    row = access.list_publications(archive.index)[0]
    assert row["status"] == "published" and row["http_status"] == 201 and row["published_at"] is not None


def test_gives_up_after_every_attempt_and_honours_retry_after(archive: Archive, receiver: Receiver) -> None:
    receiver.script = [503] * 10
    receiver.retry_after = "7"
    sleeps: list[float] = []
    outcomes = publish.publish([archive.doc("123/QĐ-UBND")], archive.index, archive.store,
                               portal(receiver, attempts=3, max_delay=5.0), who="ops", sleep=sleeps.append)
    assert [o.status for o in outcomes] == ["failed"]
    assert outcomes[0].attempts == 3 and outcomes[0].http_status == 503 and "after 3 attempts" in outcomes[0].message
    assert sleeps == [5.0, 5.0]  # Retry-After: 7, capped at max_delay
    assert len(receiver.requests) == 3
    assert access.list_publications(archive.index)[0]["status"] == "failed"


def test_unreachable_portal_is_retried_then_reported(archive: Archive) -> None:
    dead = publish.Portal(url=f"http://127.0.0.1:{free_port()}/import", attempts=3, backoff=0.01, max_delay=0.02)
    sleeps: list[float] = []
    outcomes = publish.publish([archive.doc("123/QĐ-UBND")], archive.index, archive.store, dead, who="ops",
                               sleep=sleeps.append)
    assert outcomes[0].status == "failed" and "Connection refused" in outcomes[0].message
    assert len(sleeps) == 2 and outcomes[0].http_status is None


def test_a_corrupted_pdf_is_not_published(archive: Archive, receiver: Receiver) -> None:
    doc = archive.doc("123/QĐ-UBND")
    archive.store.put_bytes(doc.pdf_key or "", b"%PDF-1.4 tampered")
    outcomes = publish.publish([doc], archive.index, archive.store, portal(receiver), who="ops")
    assert outcomes[0].status == "failed" and "sha256" in outcomes[0].message
    assert receiver.requests == [] and access.list_publications(archive.index) == []
    assert access.audit_entries(archive.index, action="publish")[0]["detail"]["error"] == "integrity"


def test_dry_run_sends_and_signs_nothing(archive: Archive, receiver: Receiver, signer: sign.CopySigner) -> None:
    outcomes = publish.publish(publish.select(archive.index, ready=True), archive.index, archive.store,
                               portal(receiver), who="ops", signer=signer, dry_run=True)
    assert len(by_status(outcomes)["would publish"]) == 2
    assert receiver.requests == [] and access.audit_entries(archive.index) == []


def test_selection_and_configuration_errors(archive: Archive, tmp_path: Path) -> None:
    from digitize.config import Settings

    assert {d.dossier_id for d in publish.select(archive.index, ready=True)} == {D1, D2}
    with pytest.raises(NotFoundError):
        publish.select(archive.index, dossier="000.00.13.H56-210615-9999")
    with pytest.raises(DossierCodeError):
        publish.select(archive.index, dossier="../../etc")
    with pytest.raises(ConfigError):
        publish.select(archive.index)
    with pytest.raises(ConfigError, match="DIGITIZE_PORTAL_URL"):
        publish.Portal.from_settings(Settings(archive=tmp_path))
    with pytest.raises(ConfigError):
        publish.Portal(url="ftp://portal.example/in")
    p = publish.Portal.from_settings(Settings(archive=tmp_path, portal_url="https://u:pw@portal.example:8443/in?x=1",
                                              portal_token=TOKEN, publish_attempts=2))
    assert p.token == TOKEN and p.attempts == 2 and p.safe_url == "https://portal.example:8443/in"


def test_deliver_does_not_follow_redirects(receiver: Receiver) -> None:
    receiver.script = [308]
    with pytest.raises(PublishError, match="redirected"):
        publish.deliver(portal(receiver), b"zip", {"Idempotency-Key": "k"})


# --- schema migration ----------------------------------------------------------------------------


def test_v1_index_is_migrated_to_the_current_schema_with_publications(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    saved = list(MIGRATIONS)
    try:
        del MIGRATIONS[1:]
        assert Index.from_url(url).migrate() == 1
    finally:
        MIGRATIONS[:] = saved
    engine = sa.create_engine(url)
    assert not sa.inspect(engine).has_table("publications")
    index = Index.from_url(url)
    assert index.migrate() == len(MIGRATIONS)  # v2 (publications, signatures), then every later version
    names = set(sa.inspect(index.engine).get_table_names())
    assert {"publications", "signatures", "documents", "api_keys"} <= names
    index.close()
    engine.dispose()


def test_publish_on_postgres(postgres_db_url: str, tmp_path: Path, receiver: Receiver,
                             signer: sign.CopySigner) -> None:
    index = Index.from_url(postgres_db_url)
    store = LocalObjectStore(tmp_path / "objects")
    populate(index, store)
    receiver.script = [502]
    first = publish.publish(publish.select(index, ready=True), index, store, portal(receiver), who="ops",
                            signer=signer)
    assert len(by_status(first)["published"]) == 2
    again = publish.publish(publish.select(index, ready=True), index, store, portal(receiver), who="ops",
                            signer=signer)
    assert len(by_status(again)["already"]) == 2 and len(receiver.requests) == 3
    rows = access.list_publications(index)
    assert {r["status"] for r in rows} == {"published"} and all(r["signed"] for r in rows)
    assert len(access.get_signatures(index, [r["doc_id"] for r in rows])) == 2
    index.close()


# --- the command ---------------------------------------------------------------------------------


def test_publish_command_reports_and_exits_by_outcome(tmp_path: Path, receiver: Receiver, ca: Authority,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from digitize.cli import main

    index = Index.from_url(f"sqlite:///{tmp_path / 'index.sqlite'}")
    populate(index, LocalObjectStore(tmp_path / "objects"))
    index.close()
    for name, value in {"ARCHIVE": str(tmp_path), "PORTAL_URL": receiver.url, "PORTAL_TOKEN": TOKEN,
                        "PUBLISH_BACKOFF": "0.01", "SIGN_PKCS12": str(ca.p12),
                        "SIGN_PKCS12_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(f"DIGITIZE_{name}", value)
    receiver.script = [503]
    assert main(["publish", "--ready", "--who", "ops"]) == 0
    out, err = capsys.readouterr()
    assert out.count("published ") == 2 and " signed after 2 attempt(s)" in out and "needs review" in out
    assert "2 published" in err and "0 failed" in err
    assert main(["publish", "--dossier", D1]) == 0
    out, err = capsys.readouterr()
    assert "already" in out and "0 published" in err and len(receiver.requests) == 3
    receiver.script = [403]
    assert main(["publish", "--dossier", "not-a-code"]) == DossierCodeError.exit_code
    monkeypatch.setenv("DIGITIZE_PORTAL_URL", "")
    assert main(["publish", "--ready"]) == ConfigError.exit_code
    assert "DIGITIZE_PORTAL_URL" in capsys.readouterr().err
