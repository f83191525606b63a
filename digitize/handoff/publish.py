"""Publishing: push each reviewed document's package to the portal, once.

``digitize publish --dossier CODE`` or ``--ready`` sends, for every result document that has a dossier
code, a PDF and no pending review, one HTTP(S) ``POST`` to the configured portal endpoint
(``DIGITIZE_PORTAL_URL``). The body is the document's package — the same zip the API serves for a
dossier, with this one document: its PDF (the agency-signed copy when a certificate is configured),
``metadata.json`` under the official names and ``SHA256SUMS``. Headers:

- ``Idempotency-Key``: the sha256 of the PDF sent and the metadata sent with it (:func:`idempotency_key`;
  the portal keeps one copy per key),
- ``Content-Type: application/zip``, ``Content-Digest: sha-256=:<base64>:`` (RFC 9530) of the body,
- ``X-Dossier-Code``, ``X-Document-Id``, ``X-Digitize-Signed: true|false``,
- ``Authorization: Bearer <DIGITIZE_PORTAL_TOKEN>`` when a token is configured.

Any 2xx is success. Connection errors, timeouts, 408, 409 (the same key still in flight), 425, 429
and 5xx are retried with exponential backoff (``Retry-After`` is honoured, capped); other answers
are permanent failures for that document. What was published when is recorded in the index
(``storage.access.publications``, keyed by the idempotency key) and in the audit log; a copy already
published is never sent again, so re-running publishes only what is new. A document whose PDF
changed (re-made, or signed since it was last sent) or whose metadata was corrected since (a clerk's
review) has a new key and is sent as a new version.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import logging
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitize.config import Settings
from digitize.errors import ConfigError, DigitizeError, NotFoundError, PublishError
from digitize.handoff.sign import CopySigner, ensure_signed, served_copy, signature_in_force
from digitize.models import Document
from storage import access
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
USER_AGENT = "digitize-publish/1"


@dataclass(frozen=True)
class Portal:
    """Where and how to publish: the endpoint, its credentials and the retry policy."""

    url: str
    token: str | None = None
    ca_file: Path | None = None
    attempts: int = 6
    backoff: float = 1.0  # first retry delay (s), doubled after each failure, with up to 25 % jitter
    max_delay: float = 60.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the portal URL {self.url!r} is not an http(s) URL (set DIGITIZE_PORTAL_URL)")
        if self.attempts < 1:
            raise ConfigError("publish attempts must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> Portal:
        """The portal the settings name; ConfigError when ``DIGITIZE_PORTAL_URL`` is not set."""
        if not settings.portal_url:
            raise ConfigError("no portal to publish to: set DIGITIZE_PORTAL_URL (e.g. https://portal.example/api/"
                              "v1/documents/import)")
        return cls(url=settings.portal_url,
                   token=settings.portal_token.get_secret_value() if settings.portal_token else None,
                   ca_file=settings.portal_ca_file, attempts=settings.publish_attempts,
                   backoff=settings.publish_backoff, max_delay=settings.publish_max_delay,
                   timeout=settings.publish_timeout)

    @property
    def safe_url(self) -> str:
        """The URL without user info or query (for logs and the publications table)."""
        p = urllib.parse.urlsplit(self.url)
        host = p.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        return urllib.parse.urlunsplit((p.scheme, netloc + (f":{p.port}" if p.port else ""), p.path, "", ""))


@dataclass(frozen=True)
class Outcome:
    """What happened to one document: published, already (published before), skipped or failed."""

    doc_id: str
    dossier_id: str | None
    status: str
    idempotency_key: str | None = None
    signed: bool = False
    attempts: int = 0
    http_status: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Delivery:
    """The portal's final answer to one package."""

    http_status: int
    body: str
    attempts: int


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without the package: report it instead of following."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _is_loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # type: ignore[arg-type]
    except ValueError:
        return False


def _opener(portal: Portal) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [_NoRedirect()]
    if urllib.parse.urlsplit(portal.url).scheme == "https":
        try:
            context = ssl.create_default_context(cafile=str(portal.ca_file) if portal.ca_file else None)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"cannot load the portal CA file {portal.ca_file}: {e}") from e
        handlers.append(urllib.request.HTTPSHandler(context=context))
    if _is_loopback(urllib.parse.urlsplit(portal.url).hostname):
        handlers.append(urllib.request.ProxyHandler({}))  # a local portal is never reached through a proxy
    return urllib.request.build_opener(*handlers)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _post_once(opener: urllib.request.OpenerDirector, portal: Portal, body: bytes,
               headers: dict[str, str]) -> tuple[int, str, float | None]:
    """One POST: (status, the answer's first 64 KiB as text, Retry-After seconds)."""
    request = urllib.request.Request(portal.url, data=body, method="POST", headers=headers)
    try:
        with opener.open(request, timeout=portal.timeout) as response:
            return response.status, response.read(65536).decode("utf-8", "replace"), None
    except urllib.error.HTTPError as e:
        with e:
            text = e.read(65536).decode("utf-8", "replace") if e.fp else ""
        return e.code, text, _retry_after(e.headers.get("Retry-After") if e.headers else None)


def deliver(portal: Portal, body: bytes, headers: dict[str, str], *,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST ``body`` until the portal accepts it, retrying transient failures with exponential backoff.

    Raises PublishError (with ``attempts`` and ``http_status``) on a permanent refusal or when every
    attempt failed.
    """
    opener = _opener(portal)
    delay = portal.backoff
    last = ""
    status: int | None = None
    for attempt in range(1, portal.attempts + 1):
        retry_after = None
        try:
            status, text, retry_after = _post_once(opener, portal, body, headers)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # refused, reset, timeout, TLS
            status = None
            reason = getattr(e, "reason", e)
            last = f"{e.__class__.__name__}: {reason}"
        else:
            if 200 <= status < 300:
                return Delivery(http_status=status, body=text, attempts=attempt)
            last = f"HTTP {status}: {text.strip()[:300]}"
            if status not in RETRYABLE:
                hint = " (the portal redirected; set DIGITIZE_PORTAL_URL to the final address)" \
                    if 300 <= status < 400 else ""
                raise _publish_error(f"the portal refused the package: {last}{hint}", attempt, status)
        if attempt == portal.attempts:
            break
        wait = retry_after if retry_after is not None else delay * (1 + random.random() / 4)
        wait = min(portal.max_delay, wait)
        log.warning("publish to %s: attempt %d of %d failed (%s); retrying in %.1f s", portal.safe_url, attempt,
                    portal.attempts, last, wait)
        sleep(wait)
        delay *= 2
    raise _publish_error(f"the portal did not accept the package after {portal.attempts} attempts: {last}",
                         portal.attempts, status)


def _publish_error(message: str, attempts: int, status: int | None) -> PublishError:
    err = PublishError(message)
    err.attempts = attempts  # type: ignore[attr-defined]
    err.http_status = status  # type: ignore[attr-defined]  # the portal's, not ours
    return err


# --- choosing and publishing documents -------------------------------------------------------------


def select(index: Index, *, dossier: str | None = None, ready: bool = False) -> list[Document]:
    """The result documents of one dossier, or (``ready``) of every dossier. NotFoundError for an unknown
    dossier; DossierCodeError for something that is not a dossier code."""
    from digitize.text.dossier_code import parse

    if (dossier is None) == (not ready):
        raise ConfigError("publish either one dossier (--dossier CODE) or everything ready (--ready)")
    if dossier is not None:
        parse(dossier)
        docs = list(index.list_documents(dossier_id=dossier))
        if not docs:
            raise NotFoundError(f"dossier {dossier} has no result documents")
        return docs
    return [d for d in index.list_documents() if d.dossier_id]


def _skip_reason(doc: Document) -> str | None:
    if not doc.dossier_id:
        return "no dossier code"
    if doc.needs_review:
        return "needs review"
    if not doc.pdf_key:
        return "no PDF"
    return None


def idempotency_key(pdf_sha256: str, doc: Document) -> str:
    """The publication's key: sha256 over the PDF's sha256 and the official metadata sent with it, so a
    metadata correction after publishing is sent again as a new version."""
    from digitize.document.extract import official_metadata

    official = official_metadata(doc.metadata, page_amount=len(doc.pages), dossier_id=doc.dossier_id)
    blob = json.dumps({"pdf_sha256": pdf_sha256, "dossier": doc.dossier_id, "metadata": official}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def package_bytes(doc: Document, store: ObjectStore, signatures: dict[str, access.Signature]) -> bytes:
    """The one-document package (zip) of ``doc`` as handed out; IntegrityError when the PDF is corrupt."""
    from digitize.document.extract import official_metadata
    from digitize.handoff.package import stream_package

    assert doc.dossier_id is not None
    return b"".join(stream_package(doc.dossier_id, [doc], store, official_metadata, signatures))


def publish(docs: Iterable[Document], index: Index, store: ObjectStore, portal: Portal, *, who: str,
            signer: CopySigner | None = None, dry_run: bool = False,
            sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Publish each document not yet published (signing it first when ``signer`` is given).

    Every document gets an Outcome; a failure of one (portal refusal, corrupt PDF, signing error) is
    recorded and reported and the others go on.
    """
    outcomes = []
    for doc in docs:
        reason = _skip_reason(doc)
        if reason:
            outcomes.append(Outcome(doc.doc_id, doc.dossier_id, "skipped", message=reason))
            continue
        try:
            outcomes.append(_publish_one(doc, index, store, portal, who=who, signer=signer, dry_run=dry_run,
                                         sleep=sleep))
        except PublishError as e:
            outcomes.append(Outcome(doc.doc_id, doc.dossier_id, "failed", getattr(e, "key", None),
                                    attempts=getattr(e, "attempts", 0), http_status=getattr(e, "http_status", None),
                                    message=e.message))
        except DigitizeError as e:  # signing or storage: this document cannot go out as it is
            log.error("publish %s: %s", doc.doc_id, e)
            access.record(index, who=who, role=None, action="publish", target=doc.doc_id, ip=None, status=0,
                          detail={"error": e.reason, "message": str(e)})
            outcomes.append(Outcome(doc.doc_id, doc.dossier_id, "failed", message=str(e)))
    return outcomes


def _publish_one(doc: Document, index: Index, store: ObjectStore, portal: Portal, *, who: str,
                 signer: CopySigner | None, dry_run: bool, sleep: Callable[[float], None]) -> Outcome:
    assert doc.dossier_id is not None
    sig = signature_in_force(index, doc)
    if sig is None and signer is not None and not dry_run:
        sig = ensure_signed(doc, index, store, signer, who=who)
    served = served_copy(doc, sig)
    pdf_sha = served.pdf_sha256
    if pdf_sha is None:  # an old row without the PDF's sha256: hash the stored bytes
        pdf_sha = hashlib.sha256(store.get_bytes(served.pdf_key or "")).hexdigest()
    key = idempotency_key(pdf_sha, doc)
    signed = sig is not None
    done = access.get_publication(index, key)
    if done is not None and done["status"] == "published":
        return Outcome(doc.doc_id, doc.dossier_id, "already", key, signed, http_status=done["http_status"],
                       message=f"published {done['published_at']:%Y-%m-%d %H:%M:%S} UTC")
    if dry_run:
        return Outcome(doc.doc_id, doc.dossier_id, "would publish", key, signed)
    body = package_bytes(served, store, {doc.doc_id: sig} if sig else {})
    package_sha = hashlib.sha256(body).digest()
    headers = {"Content-Type": "application/zip", "Idempotency-Key": key,
               "Content-Digest": f"sha-256=:{base64.b64encode(package_sha).decode()}:",
               "X-Dossier-Code": doc.dossier_id, "X-Document-Id": doc.doc_id,
               "X-Digitize-Signed": "true" if signed else "false", "User-Agent": USER_AGENT}
    if portal.token:
        headers["Authorization"] = f"Bearer {portal.token}"
    common = {"idempotency_key": key, "doc_id": doc.doc_id, "dossier_id": doc.dossier_id,
              "endpoint": portal.safe_url, "signed": signed, "package_sha256": package_sha.hex()}
    try:
        delivery = deliver(portal, body, headers, sleep=sleep)
    except PublishError as e:
        attempts, status = getattr(e, "attempts", 0), getattr(e, "http_status", None)
        access.record_publication(index, status="failed", attempts=attempts, http_status=status, receipt=e.message,
                                  **common)
        access.record(index, who=who, role=None, action="publish", target=doc.doc_id, ip=None, status=status or 0,
                      detail={"idempotency_key": key, "attempts": attempts, "error": e.message})
        log.error("publish %s (%s): %s", doc.doc_id, doc.dossier_id, e.message)
        e.key = key  # type: ignore[attr-defined]
        raise
    access.record_publication(index, status="published", attempts=delivery.attempts,
                              http_status=delivery.http_status, receipt=delivery.body, **common)
    access.record(index, who=who, role=None, action="publish", target=doc.doc_id, ip=None,
                  status=delivery.http_status, detail={"idempotency_key": key, "attempts": delivery.attempts,
                                                       "dossier": doc.dossier_id, "signed": signed})
    log.info("published %s (%s) to %s after %d attempt(s)", doc.doc_id, doc.dossier_id, portal.safe_url,
             delivery.attempts)
    return Outcome(doc.doc_id, doc.dossier_id, "published", key, signed, delivery.attempts, delivery.http_status)
