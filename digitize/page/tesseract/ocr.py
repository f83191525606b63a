"""Tesseract, wrapped: ONE run per page gives the words (boxes, confidences), the text and the
invisible text layer as a PDF page. Tesseract failures become :class:`digitize.errors.OcrError`.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import MissingDependencyError, OcrError
from digitize.models import Word

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcrOutput:
    """What one tesseract run produced for a page."""

    words: tuple[Word, ...]
    text: str
    mean_conf: float
    text_pdf: bytes  # one page, text only (render mode 3), sized from the image and dpi
    lang: str = "vie"  # the model(s) the words were read with


def parse_tsv(tsv: str) -> tuple[tuple[Word, ...], str]:
    """Words and reading-order text from tesseract's TSV output."""
    words: list[Word] = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        if not text:
            continue
        words.append(Word(text=text, left=int(row["left"]), top=int(row["top"]), width=int(row["width"]),
                          height=int(row["height"]), conf=float(row["conf"]), block=int(row["block_num"]),
                          par=int(row["par_num"]), line=int(row["line_num"])))
    return tuple(words), words_to_text(words)


def words_to_text(words: list[Word] | tuple[Word, ...]) -> str:
    """Join words into lines (tesseract's block/par/line order), lines by newlines."""
    lines: list[str] = []
    current: tuple[int, int, int] | None = None
    buf: list[str] = []
    for w in words:
        key = (w.block, w.par, w.line)
        if key != current and buf:
            lines.append(" ".join(buf))
            buf = []
        current = key
        buf.append(w.text)
    if buf:
        lines.append(" ".join(buf))
    return "\n".join(lines)


def run_tesseract(image: np.ndarray, *, dpi: float, lang: str = "vie", psm: int = 3, timeout: float = 180.0,
                  text_pdf: bool = False, backend: str = "library") -> tuple[str, bytes]:
    """One tesseract reading of a uint8 image (gray or BGR): its TSV output and, with ``text_pdf``, its
    text-only PDF page (else empty bytes).

    With ``backend`` "library" the reading runs in this process (:mod:`digitize.page.tesseract.engine`) when
    libtesseract can be loaded, else through the ``tesseract`` command; with "cli" always through the command.
    Failures become :class:`OcrError`.
    """
    from digitize.page.tesseract.engine import engine

    eng = engine(lang) if backend == "library" else None
    if eng is not None:
        return eng.recognize(image, dpi=dpi, psm=psm, timeout=timeout, text_pdf=text_pdf)
    return run_tesseract_cli(image, dpi=dpi, lang=lang, psm=psm, timeout=timeout, text_pdf=text_pdf)


def run_tesseract_cli(image: np.ndarray, *, dpi: float, lang: str = "vie", psm: int = 3, timeout: float = 180.0,
                      text_pdf: bool = False) -> tuple[str, bytes]:
    """:func:`run_tesseract` through the ``tesseract`` command (the image goes as a fast-compressed PNG)."""
    import cv2
    import pytesseract

    from digitize.page.tesseract.engine import VARIABLES

    variables = " ".join(f"-c {k}={v}" for k, v in VARIABLES.items())
    dpi_i = max(70, round(dpi))
    with tempfile.TemporaryDirectory(prefix="digitize-ocr-") as tmp:
        img_path = Path(tmp) / "page.png"
        if not cv2.imwrite(str(img_path), image, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OcrError("cannot write the page image for tesseract")
        pdf_config = "-c textonly_pdf=1" if text_pdf else ""
        config = f"--psm {psm} --dpi {dpi_i} -c tessedit_create_tsv=1 {variables} {pdf_config}"
        base = str(Path(tmp) / "out")
        try:
            pytesseract.pytesseract.run_tesseract(str(img_path), base, extension="pdf" if text_pdf else "tsv",
                                                  lang=lang, config=config, timeout=timeout)
        except pytesseract.TesseractNotFoundError as e:
            raise MissingDependencyError("tesseract is not installed: apt-get install tesseract-ocr "
                                         "tesseract-ocr-vie") from e
        except pytesseract.TesseractError as e:
            lines = str(e.message).strip().splitlines()
            raise OcrError(f"tesseract failed: {lines[-1] if lines else f'exit status {e.status}'}") from e
        except RuntimeError as e:  # pytesseract raises RuntimeError on timeout
            raise OcrError(f"tesseract took longer than {timeout:.0f} s") from e
        try:
            tsv = Path(base + ".tsv").read_text(encoding="utf-8")
            pdf = Path(base + ".pdf").read_bytes() if text_pdf else b""
        except FileNotFoundError as e:
            raise OcrError("tesseract produced no output") from e
    return tsv, pdf


FOREIGN_LANG = "vie+eng"  # a page found not Vietnamese is read again with English added (tesseract-ocr-eng)
VIETNAMESE_BELOW = 0.5  # share of a page's words that are Vietnamese syllables, under which it is foreign
MIN_WORDS = 8  # fewer words than this say nothing about the language
FOREIGN_MIN_CONF = 60.0  # a poorer reading (upside down, noise) is not a question of language


def vietnamese_share(words: tuple[Word, ...]) -> float | None:
    """Share of the alphabetic words that are Vietnamese syllables (about 1.0 on a Vietnamese page, 0.2 on
    an English one read with the Vietnamese model); None when too few words to tell."""
    from digitize.text.correct import lexicon

    lex = lexicon()
    tokens = ["".join(c for c in w.text if c.isalpha()).lower() for w in words]
    tokens = [t for t in tokens if t]
    if len(tokens) < MIN_WORDS:
        return None
    return sum(t in lex for t in tokens) / len(tokens)


def ocr_page(image: np.ndarray, *, dpi: float, lang: str = "vie", psm: int = 3, timeout: float = 180.0,
             correct: bool = True, backend: str = "library") -> OcrOutput:
    """Run tesseract once on a page image (uint8 gray or BGR) and return words, text and text layer.

    A page read with ``vie`` whose words are mostly not Vietnamese syllables (an English or French page)
    is read again with ``vie+eng`` and that reading kept when surer; it is not corrected as Vietnamese.
    With ``correct`` (Vietnamese only) the words and the text go through :func:`digitize.text.correct.correct_words`
    (syllables that do not exist, diacritics the neighbours contradict, stray marks); the PDF text
    layer keeps Tesseract's own reading. The caller sets OMP_THREAD_LIMIT=1 in the worker's
    environment (one tesseract thread per page).
    """
    tsv, pdf = run_tesseract(image, dpi=dpi, lang=lang, psm=psm, timeout=timeout, text_pdf=True, backend=backend)
    words, text = parse_tsv(tsv)
    mean = _mean_conf(words)
    foreign = False
    if lang == "vie":
        share = vietnamese_share(words)
        foreign = share is not None and share < VIETNAMESE_BELOW and mean >= FOREIGN_MIN_CONF
        if foreign:  # e.g. an English investment certificate: "This is" would come out "Thị iu"
            tsv2, pdf2 = run_tesseract(image, dpi=dpi, lang=FOREIGN_LANG, psm=psm, timeout=timeout, text_pdf=True,
                                       backend=backend)
            words2, text2 = parse_tsv(tsv2)
            log.debug("page not Vietnamese (%.0f%% syllables): read again with %s", 100 * share, FOREIGN_LANG)
            if _mean_conf(words2) >= mean:
                words, text, mean, pdf, lang = words2, text2, _mean_conf(words2), pdf2, FOREIGN_LANG
    if correct and lang.split("+")[0] == "vie" and not foreign:
        from digitize.text.correct import correct_words

        words = correct_words(words)
        text = words_to_text(words)
    return OcrOutput(words=words, text=text, mean_conf=mean, text_pdf=pdf, lang=lang)


def _mean_conf(words: tuple[Word, ...]) -> float:
    confs = [w.conf for w in words if w.conf >= 0]
    return sum(confs) / len(confs) if confs else 0.0
