"""The pipeline's stages as plain functions, shared by the embedded and distributed drivers.

``process_page`` runs in a worker (process pool or rq job): decode one page, preprocess it, read its
codes, OCR it once and build its searchable PDF page. ``plan_file`` and ``make_document`` run once
per file when all its pages are done: segmentation into dossiers/documents, then metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from digitize.errors import DigitizeError
from digitize.models import Document, DocumentPlan, InputKind, Metadata, PageResult, Quality, SourceFile, Word

if TYPE_CHECKING:
    from digitize.config import Settings

log = logging.getLogger(__name__)


FLIP_BELOW_CONF = 70.0  # an uncertain page read below this mean confidence is also read upside down
FLIP_MARGIN = 10.0  # ... and turned when that reading is this much surer


@dataclass(frozen=True)
class PageTask:
    """Everything a worker needs to process one page (small: it crosses process boundaries)."""

    path: str
    kind: InputKind
    page: int
    render_dpi: int = 300
    max_pixels: int = 200_000_000
    lang: str = "vie"
    ocr_timeout: float = 180.0
    ocr_backend: str = "library"  # "library" (libtesseract in-process) or "cli" (the tesseract command)

    @classmethod
    def for_page(cls, settings: Settings, *, path: str, kind: InputKind, page: int) -> PageTask:
        """The task for one page with the run's settings (read at the edge)."""
        return cls(path=path, kind=kind, page=page, render_dpi=settings.render_dpi, max_pixels=settings.max_pixels,
                   lang=settings.lang, ocr_timeout=settings.ocr_timeout, ocr_backend=settings.ocr_backend)


@dataclass(frozen=True)
class OcrOptions:
    """The OCR settings for the readings made after the page stage (the signature block read again when a
    file is finished): the same language, time limit and back-end as the pages' own readings."""

    lang: str = "vie"
    timeout: float = 180.0
    backend: str = "library"

    @classmethod
    def from_settings(cls, settings: Settings) -> OcrOptions:
        """The run's OCR settings (read at the edge)."""
        return cls(lang=settings.lang, timeout=settings.ocr_timeout, backend=settings.ocr_backend)


@dataclass(frozen=True)
class PageOutcome:
    """A page's result and its searchable PDF page (None when the page failed)."""

    result: PageResult
    pdf: bytes | None


def process_page(task: PageTask) -> PageOutcome:
    """Decode, preprocess, read codes, OCR and render one page. Never raises for a bad page: the
    failure is returned in ``result.error`` so the batch goes on and the page is counted."""
    try:
        return _process_page(task)
    except DigitizeError as e:
        log.warning("%s page %d failed: %s", Path(task.path).name, task.page, e.message)
        return PageOutcome(PageResult(page=task.page, error=e.message), None)
    except Exception as e:  # a bug or an unexpected library error must not take down the batch
        log.exception("%s page %d failed unexpectedly", Path(task.path).name, task.page)
        return PageOutcome(PageResult(page=task.page, error=f"internal error: {e.__class__.__name__}: {e}"), None)


def _process_page(task: PageTask) -> PageOutcome:
    from digitize.page.codes import read_codes
    from digitize.page.ingest import load_page
    from digitize.page.pdf import page_pdf
    from digitize.page.preprocess import preprocess
    from digitize.page.tesseract.ocr import ocr_page

    if task.kind is InputKind.PDF:  # a page that carries real text is read from the PDF, not OCR'd
        from digitize.page.textlayer import born_digital_page

        born = born_digital_page(Path(task.path), task.page, dpi=task.render_dpi, max_pixels=task.max_pixels,
                                 lang=task.lang, timeout=task.ocr_timeout,
                                 backend=task.ocr_backend)
        if born is not None:
            return PageOutcome(*born)
    loaded = load_page(Path(task.path), task.kind, task.page, render_dpi=task.render_dpi,
                       max_pixels=task.max_pixels)
    prepared = preprocess(loaded.image, dpi=loaded.dpi, orientation_check=False)
    del loaded  # the decoded page (up to ~300 MB for a large colour page) is not needed during OCR
    h, w = prepared.ocr_image.shape[:2]
    base = PageResult(page=task.page, width=w, height=h, dpi=prepared.dpi, quality=prepared.quality)
    if prepared.quality.blank:
        pdf = page_pdf(prepared.store_image, is_color=prepared.is_color, dpi=prepared.store_resolution,
                       text_pdf=None)
        return PageOutcome(base, pdf)
    codes = read_codes(prepared.store_image)
    ocr = ocr_page(prepared.ocr_image, dpi=prepared.dpi, lang=task.lang, timeout=task.ocr_timeout,
                   backend=task.ocr_backend)
    if not prepared.upright_sure and ocr.mean_conf < FLIP_BELOW_CONF:
        # Orientation from the reading itself: upside-down text reads at ~35-50 mean confidence, upright
        # text at 85-95 (dev corpus). Only a poor reading of an uncertain page pays for a second run.
        flipped = prepared.turned_180()
        again = ocr_page(flipped.ocr_image, dpi=flipped.dpi, lang=task.lang, timeout=task.ocr_timeout,
                         backend=task.ocr_backend)
        if again.mean_conf > ocr.mean_conf + FLIP_MARGIN:
            prepared, ocr = flipped, again
    pdf = page_pdf(prepared.store_image, is_color=prepared.is_color, dpi=prepared.store_resolution,
                   text_pdf=ocr.text_pdf)
    result = PageResult(page=task.page, width=w, height=h, dpi=prepared.dpi, quality=prepared.quality,
                        codes=codes, text=ocr.text, words=ocr.words, mean_conf=ocr.mean_conf)
    return PageOutcome(result, pdf)


def plan_file(src: SourceFile, results: Sequence[PageResult]):  # type: ignore[no-untyped-def]
    """Cut a file's pages into dossiers and documents (see digitize.document.segment)."""
    from digitize.document.segment import segment

    return segment(list(results), filename=Path(src.source).name)


def document_id(sha256: str, pages: Sequence[int], kind: str = "result") -> str:
    """A stable id: same file and same first page give the same id in every mode."""
    prefix = "r" if kind == "receipt" else "d"
    return f"{sha256[:16]}-{prefix}{pages[0]:04d}" if pages else f"{sha256[:16]}-{prefix}0000"


def make_document(src: SourceFile, plan: DocumentPlan, results: Sequence[PageResult],
                  reocr: Callable[[int, tuple[int, int, int, int]], Sequence[Word]] | None = None) -> Document:
    """Extract metadata and assemble the Document for one planned document (no storage).

    ``reocr(page, box)``, when given, reads a region of a page again (see :mod:`digitize.document.reocr`)."""
    from digitize.document.extract import extract_metadata

    by_page = {r.page: r for r in results}
    pages = [by_page[p] for p in plan.pages]
    reasons = list(plan.reasons)
    failed = [p.page for p in pages if p.failed]
    if failed:
        reasons.append(f"pages {', '.join(map(str, failed))} failed: " + "; ".join(
            sorted({by_page[p].error or "" for p in failed})))
    if plan.kind == "result":
        metadata, md_reasons = extract_metadata(pages, dossier_id=plan.dossier_id, reocr=reocr)
        reasons.extend(md_reasons)
    else:
        metadata = Metadata()
    # Scan-quality findings (low dpi, blur, cut-off) are not review reasons by themselves: the fields'
    # confidences already say whether the reading suffered; the pages go to `digitize report --rescan`.
    text = "\f".join(p.text for p in pages)
    return Document(
        doc_id=document_id(src.sha256, plan.pages, plan.kind),
        sha256=src.sha256, source=src.source, pages=tuple(plan.pages), kind=plan.kind,
        dossier_id=plan.dossier_id, dossier_source=plan.dossier_source, metadata=metadata, text=text,
        needs_review=bool(reasons), reasons=tuple(dict.fromkeys(reasons)),
    )


def failed_page(page: int, error: str) -> PageResult:
    """A page result that records a failure (used when a worker died on the page)."""
    return PageResult(page=page, quality=Quality(), error=error)
