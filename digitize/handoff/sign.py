"""Legally usable electronic copies: the agency signs each document's PDF (PAdES, with pyHanko).

Decree 30/2020/NĐ-CP, Appendix I, asks for the agency's digital signature on an electronic copy made
from a paper document at the top right of the first page, showing the copy form (hình thức sao:
"SAO Y" for paper -> electronic, art. 25), the name of the copying agency and the signing time
(date, time, Vietnam time zone, ISO 8601), in Times New Roman 10 pt, upright, black. We draw that
mark with Liberation Serif (metric-compatible with Times New Roman, full Vietnamese coverage) as
the appearance of a visible PAdES signature field (``/ETSI.CAdES.detached``, SHA-256).

Where signing happens: when a copy leaves the agency — ``digitize publish``, the API's download and
package routes, or ``digitize sign`` ahead of time — and only for documents that need no review.
Signing is idempotent: a document keeps one signed copy per unsigned PDF (``storage.access.signatures``,
keyed by the unsigned PDF's sha256); a document whose PDF was re-made is signed again. Signed copies
live next to the document as ``documents/<doc_id>/signed-<sha256[:16]>.pdf`` and the unsigned
searchable PDF stays untouched. Without a configured certificate documents are served and published
unsigned, and marked so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import logging
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitize.config import Settings
from digitize.errors import DigitizeError, IntegrityError, SigningError
from digitize.models import Document
from storage import access, layout
from storage.access import Signature
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
FIELD_NAME = "BanSaoDienTu"
FONT_SIZE = 10
LEADING = 12
PADDING = 4
MARGIN = 8  # points between the mark and the page's top and right edges
WRAP = 48  # characters per line of a long agency name


@dataclass(frozen=True)
class CopySigner:
    """The agency's signing key and certificate and what the visible mark says."""

    signer: Any  # pyhanko.sign.signers.SimpleSigner
    agency: str
    copy_form: str
    font: Path
    subject: str
    cert_sha256: str
    location: str = ""


def load_signer(settings: Settings) -> CopySigner | None:
    """The signer the settings configure (``DIGITIZE_SIGN_PKCS12`` ...), or None when there is no certificate."""
    if settings.sign_pkcs12 is None:
        return None
    password = settings.sign_pkcs12_password.get_secret_value() if settings.sign_pkcs12_password else None
    return load_pkcs12(settings.sign_pkcs12, password, agency=settings.sign_agency,
                       copy_form=settings.sign_copy_form, font=settings.sign_font, location=settings.sign_location)


def load_pkcs12(path: Path, password: str | None, *, agency: str = "", copy_form: str = "SAO Y",
                font: Path = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
                location: str = "") -> CopySigner:
    """Load the agency's PKCS#12 file; SigningError with advice when the file, password or font is wrong."""
    from pyhanko.sign.signers import SimpleSigner

    if not font.is_file():
        raise SigningError(f"the font for the signature mark is missing: {font}; install fonts-liberation2 "
                           "(apt-get install fonts-liberation2) or set DIGITIZE_SIGN_FONT to a TrueType font "
                           "with Vietnamese letters")
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SigningError(f"cannot read the signing certificate {path}: {e.strerror}") from e
    try:
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=[],
                                               passphrase=password.encode("utf-8") if password else None)
    except ValueError as e:
        raise SigningError(f"cannot open the signing certificate {path}: wrong password or not a PKCS#12 file "
                           "(check DIGITIZE_SIGN_PKCS12_PASSWORD)") from e
    cert = signer.signing_cert
    names = cert.subject.native
    subject = cert.subject.human_friendly
    name = agency.strip() or names.get("organization_name") or names.get("common_name") or ""
    if not name:
        raise SigningError("the certificate names no organisation: set DIGITIZE_SIGN_AGENCY to the agency's name")
    now = dt.datetime.now(dt.UTC)
    if not (cert.not_valid_before <= now <= cert.not_valid_after):
        raise SigningError(f"the signing certificate is not valid now (valid {cert.not_valid_before:%Y-%m-%d} to "
                           f"{cert.not_valid_after:%Y-%m-%d})")
    return CopySigner(signer=signer, agency=name, copy_form=copy_form.strip() or "SAO Y", font=Path(font),
                      subject=subject, cert_sha256=hashlib.sha256(cert.dump()).hexdigest(), location=location)


def signing_time(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (default: the current time) in Vietnam time, to the second."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(VIETNAM).replace(microsecond=0)


def mark_lines(signer: CopySigner, when: dt.datetime) -> list[str]:
    """The mark's lines: copy form, the agency (wrapped when long), the signing time (ISO 8601, +07:00)."""
    return [signer.copy_form, *textwrap.wrap(signer.agency, WRAP), when.astimezone(VIETNAM).isoformat()]


def _mark_box(pdf: bytes, lines: list[str], font: Path) -> tuple[float, float, float, float]:
    """The mark's rectangle at the top right of page 1, sized to its text."""
    import pikepdf
    from PIL import ImageFont

    measure = ImageFont.truetype(str(font), FONT_SIZE)  # 10 px at 72 units/inch = 10 pt
    width = max(measure.getlength(line) for line in lines) + 2 * PADDING + 4
    height = LEADING * len(lines) + 2 * PADDING + 4
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        if not len(doc.pages):
            raise SigningError("the PDF has no pages")
        page = doc.pages[0]
        x0, y0, x1, y1 = (float(v) for v in page.cropbox)
        if int(page.obj.get("/Rotate", 0)) % 360:
            log.warning("page 1 is rotated; the mark goes to the top right of its unrotated box")
    right, top = x1 - MARGIN, y1 - MARGIN
    left, bottom = max(x0 + MARGIN, right - width), max(y0 + MARGIN, top - height)
    return (round(left, 2), round(bottom, 2), round(right, 2), round(top, 2))


def sign_pdf(pdf: bytes, signer: CopySigner, when: dt.datetime | None = None) -> bytes:
    """``pdf`` with the agency's visible PAdES signature (an incremental update; the original bytes stay)."""
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfStrictReadError
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
    from pyhanko.stamp import TextStampStyle

    when = signing_time(when)
    lines = mark_lines(signer, when)
    box = _mark_box(pdf, lines, signer.font)
    inner = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MIN,
                                       y_align=layout.AxisAlignment.ALIGN_MID,
                                       margins=layout.Margins.uniform(PADDING))  # pyHanko's default: 10
    style = TextStampStyle(
        stamp_text="\n".join(f"%(line{i})s" for i in range(len(lines))),
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(pdf_font(signer.font)), font_size=FONT_SIZE),
                                    font_size=FONT_SIZE, leading=LEADING, text_color=(0, 0, 0),
                                    box_layout_rule=inner),
        inner_content_layout=layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MIN,
                                                        y_align=layout.AxisAlignment.ALIGN_MID),
        border_width=1, border_color=(0, 0, 0), background=None)
    params = {f"line{i}": line for i, line in enumerate(lines)}
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        name=signer.agency, reason=f"{signer.copy_form} — {signer.agency}", location=signer.location or None)
    pdf_signer = signers.PdfSigner(meta, signer=signer.signer, stamp_style=style,
                                   new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=box))
    out = io.BytesIO()

    async def run(source: bytes) -> None:
        # the steps of PdfSigner.async_sign_pdf, with the signing time fixed so that the mark, the
        # signature dictionary's /M and the CMS attributes all carry the same second
        writer = IncrementalPdfFileWriter(io.BytesIO(source))
        session = pdf_signer.init_signing_session(writer)
        session.system_time = when
        info = await session.perform_presign_validation(writer)
        reserved = await session.estimate_signature_container_size(info)
        tbs = session.prepare_tbs_document(validation_info=info, bytes_reserved=reserved,
                                           appearance_text_params=params)
        digest, output = tbs.digest_tbs_document(output=out)
        attrs = PdfCMSSignedAttributes(signing_time=when, cades_signed_attrs=meta.cades_signed_attr_spec)
        post = await tbs.perform_signature(document_digest=digest.document_digest, pdf_cms_signed_attrs=attrs)
        await post.post_signature_processing(output)

    try:
        try:
            asyncio.run(run(pdf))
        except PdfStrictReadError as e:
            # a slightly malformed file (e.g. Pillow's xref): let qpdf rewrite it cleanly, then sign that
            log.info("rewriting a PDF pyHanko reads only leniently before signing: %s", e)
            out.seek(0)
            out.truncate()
            asyncio.run(run(_rewrite(pdf)))
    except DigitizeError:
        raise
    except Exception as e:  # pyHanko raises many kinds (PdfReadError, SigningError, ValueError ...)
        raise SigningError(f"signing failed: {e.__class__.__name__}: {e}") from e
    return out.getvalue()


def _rewrite(pdf: bytes) -> bytes:
    """The same document saved again by qpdf (repairs xref tables and object numbering)."""
    import pikepdf

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.save(out)
    return out.getvalue()


# what the mark may need: Latin, Vietnamese letters (precomposed and combining), punctuation
MARK_UNICODES = (*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370), *range(0x1EA0, 0x1F00),
                 *range(0x2000, 0x2070))


@functools.cache
def pdf_font(font: Path) -> Path:
    """A copy of ``font`` fit for pyHanko's text stamps: subset to the mark's letters, 1000 units per em.

    pyHanko writes the glyph widths of the PDF font (``/W``) in the font's own units, which PDF reads
    as thousandths of an em; Liberation Serif has 2048 units per em, so its text would be spread to
    twice its width. The converted font is cached in the temp folder, keyed by the font's sha256.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    data = font.read_bytes()
    cached = _font_cache() / f"{hashlib.sha256(data).hexdigest()[:24]}-1000.ttf"
    if cached.is_file():
        return cached
    tt = TTFont(io.BytesIO(data))
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=MARK_UNICODES)
    subsetter.subset(tt)
    if tt["head"].unitsPerEm != 1000:
        scale_upem(tt, 1000)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            tt.save(out)
        os.replace(tmp, cached)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return cached


def _font_cache() -> Path:
    """A temp folder only this user can write to (another user could otherwise plant a font in it)."""
    folder = Path(tempfile.gettempdir()) / f"digitize-fonts-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.lstat()
    if folder.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return Path(tempfile.mkdtemp(prefix="digitize-fonts-"))  # not ours: a private one for this process
    return folder


def signed_key(doc_id: str, signed_sha256: str) -> str:
    """Where a signed copy is stored (named by its own sha256, so concurrent signers never overwrite)."""
    return layout.document_key(doc_id, f"signed-{signed_sha256[:16]}.pdf")


def signature_in_force(index: Index, doc: Document) -> Signature | None:
    """The document's signature when it covers the document's current PDF."""
    sig = access.get_signatures(index, [doc.doc_id]).get(doc.doc_id)
    return sig if sig is not None and doc.pdf_key and sig.covers(doc.pdf_sha256) else None


def ensure_signed(doc: Document, index: Index, store: ObjectStore, signer: CopySigner, *, who: str,
                  keys: Any = None, now: dt.datetime | None = None) -> Signature:
    """Sign the document's PDF unless a signed copy of this very PDF exists; return the signature in force.

    ``keys`` is where the audit log lives (default: the index). Raises SigningError for documents that
    still need review or have no PDF, IntegrityError when the stored PDF does not match its sha256.
    """
    existing = signature_in_force(index, doc)
    if existing is not None:
        return existing
    if not doc.pdf_key:
        raise SigningError(f"document {doc.doc_id} has no PDF to sign")
    if doc.needs_review:
        raise SigningError(f"document {doc.doc_id} needs a clerk's review before its copy can be signed")
    pdf = store.get_bytes(doc.pdf_key)
    source_sha = hashlib.sha256(pdf).hexdigest()
    if doc.pdf_sha256 and source_sha != doc.pdf_sha256:
        raise IntegrityError(f"{doc.pdf_key}: stored bytes do not match the recorded sha256; not signing")
    when = signing_time(now)
    signed = sign_pdf(pdf, signer, when)
    digest = hashlib.sha256(signed).hexdigest()
    key = signed_key(doc.doc_id, digest)
    if store.put_bytes(key, signed, "application/pdf") != digest:
        raise IntegrityError(f"{key}: the object store returned a different sha256 than the bytes written")
    mine = Signature(doc_id=doc.doc_id, source_sha256=source_sha, signed_key=key, signed_sha256=digest,
                     signer=signer.subject, cert_sha256=signer.cert_sha256, signed_at=when)
    sig = access.record_signature(index, mine)
    if sig.signed_key != key:  # another signer recorded its copy first: keep that one
        store.delete(key)
        return sig
    access.record(keys if keys is not None else index, who=who, role=None, action="sign", target=doc.doc_id,
                  ip=None, status=200, detail={"signed_sha256": digest, "source_sha256": source_sha,
                                               "signer": signer.subject, "signed_at": when.isoformat()})
    log.info("signed %s (%s) as %s", doc.doc_id, signer.agency, digest[:12])
    return sig


def served_copy(doc: Document, sig: Signature | None) -> Document:
    """The document as handed out: its signed copy when there is one, else the unsigned PDF."""
    if sig is None:
        return doc
    return dataclasses.replace(doc, pdf_key=sig.signed_key, pdf_sha256=sig.signed_sha256)
