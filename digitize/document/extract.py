"""Layout-aware metadata extraction from OCR words and their boxes (Decree 30/2020 Appendix I).

A Decree 30 document puts its metadata in fixed places: the issuer block top left (parent body,
issuing body, "Số: …" under it, and for a công văn "V/v …" under that), the national title block top
right with "<place>, ngày … tháng … năm …" on the "Số" line, the type name and trích yếu centred
under the header, the signer block bottom right (authority, position, signature and seal, name) and
"Nơi nhận:" bottom left. Tesseract reads the two header columns line by line into one text, so this
module never parses the flattened text: it regroups the words into lines by geometry (rows by
vertical position, columns by horizontal gaps and the national title's left edge) and looks for each
field where the layout puts it. Certificates, permits and civil-status extracts follow their own
forms and are read the same way ("Số:" under the heading, the date above the signer).

A field that cannot be read is None with a reason; :mod:`digitize.document.validate` checks the values and
turns doubts into review reasons.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import replace

from digitize.document import validate
from digitize.document.fields import find_date_place, find_doc_type, find_number, find_summary
from digitize.document.issuer import (
    _agree_place_issuer,
    check_issuer_locality,
    find_issuer,
    issuer_from_closing,
    respell_places,
)
from digitize.document.issuer_symbol import issuer_by_symbol, symbol_by_issuer
from digitize.document.lines import Line, _Found, build_lines
from digitize.document.signer import Reocr, _second_look, find_signer
from digitize.document.skeleton import skeleton
from digitize.models import Field, Metadata, PageResult
from digitize.text import doctypes
from digitize.text.vntext import fold

log = logging.getLogger(__name__)


# types sent to addressees ("Kính gửi:"), which a page without a heading may be; the first part of a
# công văn's symbol is its issuer's abbreviation, which may spell a type too ("2191/CT-CS": Cục Thuế)
ADDRESSED = ("giay moi", "to trinh", "bao cao", "thong bao", "giay gioi thieu", "phieu trinh")


def extract_metadata(
    pages: Sequence[PageResult], *, dossier_id: str | None = None, today: dt.date | None = None,
    reocr: Reocr | None = None,
) -> tuple[Metadata, tuple[str, ...]]:
    """Decree 30 metadata of one document from its pages' OCR words, and the review reasons.

    Returns the metadata (each field with its confidence and, when doubtful, a reason) and the review
    reasons; an empty tuple means no review is needed. ``reocr(page, box)``, when given, OCRs a
    region of a page again (``page`` is the PageResult's page number; box in page pixels)
    and returns its words in page coordinates: it is asked for the signature block when the first
    reading of the signer's name is missing or doubtful (seals and signatures over the name).
    """
    usable = [p for p in pages if p.words and not p.failed]
    all_text = "\n".join(p.text for p in pages)
    personal = validate.contains_personal_id(all_text)
    if not usable:
        md = Metadata(contains_personal_id=personal)
        md = replace(md, **{n: Field(None, 0.0, f"{n}: no OCR text") for n in _REQUIRED})
        return validate.review(md, dossier_id=dossier_id, today=today, doc_type=None)
    sk = skeleton(usable[0], 0)
    pages_lines: list[Sequence[Line]] = [sk.lines]
    for i, p in enumerate(usable[1:], start=1):
        pages_lines.append(build_lines(p, i))
    doc_type_f = find_doc_type(sk)
    doc_type = doctypes.by_name(doc_type_f.value)
    number_f = find_number(sk, doc_type)
    date_f, place_f = find_date_place(sk, pages_lines)
    if getattr(reocr, "image_of", None) is not None:  # the number and the day filled in by pen
        from digitize.document import handwriting_fill

        number_f, date_f = handwriting_fill.recheck(number_f, date_f, reocr, usable[0], sk)
    guessed = doc_type is None or (doc_type_f.reason or "").startswith("doc_type: no heading")
    if guessed and number_f.value:  # no heading: the number's symbol may name the type ("/GM-UBND")
        parsed = validate.parse_number(number_f.value if number_f.value[:1].isdigit() else "1" + number_f.value)
        guess = None
        if parsed and parsed.symbol:  # "115/CV-PA83", "368-CV/BPTT": CV is a công văn
            guess = doctypes.CONG_VAN if parsed.symbol[0] == "CV" else doctypes.by_abbreviation(parsed.symbol[0])
        addressed = doc_type is None or guess is None or fold(guess.name) in ADDRESSED
        if guess is not None and addressed:  # a "Kính gửi" without a heading: a type sent to addressees
            doc_type = guess
            doc_type_f = _Found(guess.name, 0.5, "doc_type: no heading, inferred from the number's symbol")
    issuer_f = issuer_by_symbol(check_issuer_locality(find_issuer(sk, number_f.line, pages_lines)),
                                 number_f.value, doc_type_f.value)
    if issuer_f.value is None and number_f.value is None and len(usable) > 1:
        number_f, date_f, place_f, issuer_f = _from_closing_block(usable, doc_type, number_f, date_f, place_f,
                                                                  issuer_f, reocr=reocr)
    if issuer_f.value is None:  # no header at all (a continuation page in a file of its own)
        issuer_f = issuer_from_closing(pages_lines) or issuer_f
    number_f = symbol_by_issuer(number_f, issuer_f)
    summary_f = find_summary(sk, doc_type, number_f.line)
    if summary_f.value:
        summary_f = replace(summary_f, value=respell_places(summary_f.value))
    signer_f, position_f = find_signer(pages_lines)
    if reocr is not None and (signer_f.value is None or signer_f.reason or signer_f.conf < validate.MIN_CONFIDENCE):
        again = _second_look(reocr, pages_lines, usable)
        if again is not None and again[0].value and (
            signer_f.value is None or (again[0].reason is None and again[0].conf >= signer_f.conf)
            or (bool(signer_f.reason) == bool(again[0].reason) and again[0].conf > signer_f.conf)
        ):
            signer_f = again[0]
            if again[1].value and not position_f.value:
                position_f = again[1]
    by_lines = getattr(reocr, "by_lines", None)
    if by_lines is not None and signer_f.value is None:  # the name not read at all: the block line by line
        again = _second_look(reocr, pages_lines, usable, read=by_lines)
        if again is not None and again[0].value:
            signer_f = replace(again[0], conf=min(again[0].conf, 0.6),
                               reason=again[0].reason or "signer: read line by line under the signature")
    image_of = getattr(reocr, "image_of", None)
    if image_of is not None and signer_f.value:  # the start of the name lost under the signature
        from digitize.document.signer_surname import restore_surname

        signer_f = restore_surname(signer_f, image_of, [p.page for p in usable])
    place_f = _agree_place_issuer(place_f, issuer_f, pages_lines)
    md = Metadata(
        doc_type=doc_type_f.field(),
        number=number_f.field(),
        issued_date=date_f.field(),
        issuer=issuer_f.field(),
        place=place_f.field(),
        summary=summary_f.field(),
        signer=signer_f.field(),
        signer_position=position_f.field(),
        contains_personal_id=personal,
    )
    log.debug("extracted %s number=%s date=%s", md.doc_type.value, md.number.value, md.issued_date.value)
    return validate.review(md, dossier_id=dossier_id, today=today, doc_type=doc_type)


def _from_closing_block(pages: Sequence[PageResult], doc_type: doctypes.DocType | None, *found: _Found,
                        reocr: Reocr | None = None) -> tuple[_Found, ...]:
    """Number, date, place and issuer of a consolidated text from its authentication block at the end, for
    those the first page did not give (``found``: the first page's, in that order); its pen-filled number
    and day are read as on a first page."""
    from digitize.document.consolidated import closing_header, shifted_reocr

    got = closing_header(pages)
    if got is None:
        return found
    sk, block, shift = got
    number = find_number(sk, doc_type)
    date, place = find_date_place(sk, [sk.lines])
    if getattr(reocr, "image_of", None) is not None:
        from digitize.document import handwriting_fill

        number, date = handwriting_fill.recheck(number, date, shifted_reocr(reocr, shift), block, sk)
    issuer = check_issuer_locality(find_issuer(sk, number.line, [sk.lines]))
    mine = (number, date, place, issuer)
    log.debug("consolidated text: header read from its authentication block")
    return tuple(f if f.value is not None or m.value is None else replace(m, line=None)
                 for f, m in zip(found, mine, strict=True))


_REQUIRED = ("doc_type", "number", "issued_date", "issuer", "place", "signer")


# --- portal names ---------------------------------------------------------------------------------


def official_metadata(md: Metadata, *, page_amount: int, dossier_id: str | None) -> dict:
    """The metadata under the names the service portal uses (TypeName, CodeNumber, CodeNotation, …)."""
    number = md.number.value
    code_number = code_notation = None
    if number:
        parsed = validate.parse_number(number)
        if parsed is not None:
            code_number, code_notation = parsed.number, parsed.code_notation or None
        else:
            code_number = number
    return {
        "DossierCode": dossier_id,
        "TypeName": md.doc_type.value,
        "CodeNumber": code_number,
        "CodeNotation": code_notation,
        "IssuedDate": md.issued_date.value,
        "OrganName": md.issuer.value,
        "Subject": md.summary.value,
        "PageAmount": page_amount,
        "Position": md.signer_position.value,
        "FullName": md.signer.value,
    }
