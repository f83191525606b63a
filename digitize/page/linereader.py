"""A neural reader of one short text line: PP-OCR's recogniser (rapidocr's bundled PP-OCRv6 model, run by
onnxruntime) for the crops Tesseract reads worst, the digits written by pen into printed slots.

Tesseract's Vietnamese model was trained on print; a handwritten "1595" comes out as "1/" or nothing.
PP-OCR's recogniser was trained on photographed and handwritten text as well as print: on pen-filled
number and day slots of real scans it reads most of them whole. It does not know Vietnamese diacritics,
so it is used for digits only. The model ships inside the rapidocr wheel (nothing is downloaded); the
engine is made on first use, once per process, on one thread (the pipeline already runs one page per core).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitize.errors import OcrError

log = logging.getLogger(__name__)

MIN_HEIGHT = 8  # pixels: a crop lower than this holds no readable line


@dataclass(frozen=True)
class LineText:
    """What the recogniser read on a crop and its confidence (0..1, the mean of its characters')."""

    text: str
    score: float


@functools.cache
def _rapidocr(task: str) -> Any:
    """This process's rapidocr engine for ``task`` ("rec": the recogniser, "det": the line detector), made
    once, on one thread; its models are in the installed wheel."""
    try:
        from rapidocr import RapidOCR
    except ImportError as e:  # pragma: no cover - a broken install
        raise OcrError(f"the line recogniser is not installed (rapidocr): {e}") from e
    params = {"Global.use_det": task == "det", "Global.use_rec": task == "rec", "Global.use_cls": False,
              "Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": 1,
              "EngineConfig.onnxruntime.inter_op_num_threads": 1}
    engine = RapidOCR(params=params)
    quiet = logging.getLogger("RapidOCR")  # it prints to stderr by its own handler: into ours, errors only
    quiet.handlers.clear()
    quiet.propagate = True
    quiet.setLevel(logging.ERROR)  # "The text detection result is empty" is no news here
    return engine


Box = tuple[int, int, int, int]  # left, top, right, bottom


def detect_lines(image: np.ndarray) -> list[Box]:
    """The text lines PP-OCR's detector finds in ``image`` (its pixels), top to bottom: a name under a
    signature's strokes is boxed apart from them."""
    if image.size == 0 or min(image.shape[:2]) < MIN_HEIGHT:
        return []
    img = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    try:
        out = _rapidocr("det")(np.ascontiguousarray(img), use_det=True, use_cls=False, use_rec=False)
    except Exception as e:  # onnxruntime raises its own types
        raise OcrError(f"the line detector failed on a {image.shape[1]}x{image.shape[0]} region: {e}") from e
    boxes = getattr(out, "boxes", None)
    if boxes is None:
        return []
    found = [(int(q[:, 0].min()), int(q[:, 1].min()), int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max())))
             for q in np.asarray(boxes)]
    return sorted(found, key=lambda b: (b[1], b[0]))


def read_line(crop: np.ndarray) -> LineText:
    """Read one line of text in ``crop`` (gray or BGR pixels); an empty reading for a crop too small."""
    if crop.size == 0 or crop.shape[0] < MIN_HEIGHT or crop.shape[1] < MIN_HEIGHT:
        return LineText("", 0.0)
    img = crop if crop.ndim == 3 else np.repeat(crop[..., None], 3, axis=2)
    try:
        out = _rapidocr("rec")(np.ascontiguousarray(img), use_det=False, use_cls=False, use_rec=True)
    except OcrError:
        raise
    except Exception as e:  # onnxruntime raises its own types; the page must not go down with it
        raise OcrError(f"the line recogniser failed on a {crop.shape[1]}x{crop.shape[0]} crop: {e}") from e
    txts, scores = getattr(out, "txts", None) or (), getattr(out, "scores", None) or ()
    if not txts:
        return LineText("", 0.0)
    return LineText(str(txts[0]), float(scores[0]))


PUNCT = ":;.,：'\"|"  # what a label's end reads as before a number's digits ("Số:")


def slot_digits(text: str, lead: str = PUNCT, most: int = 3) -> str:
    """The digits a slot reading holds: the run of digits at its start, after at most ``most`` characters of
    ``lead`` (a label's end read along: the colon of "Số:", the "y" of "ngày"; a number slot strips no
    letter, which may be a misread digit), up to the printed "/SYMBOL" or a letter."""
    t = text.strip().replace(" ", "")
    m = re.match(rf"^[{re.escape(lead)}]{{0,{most}}}(\d+)", t)
    return m.group(1) if m else ""
