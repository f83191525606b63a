"""Typed values that flow between the pipeline stages.

Every stage is a plain function over these frozen dataclasses, so each can be tested without Redis,
object storage or a database. All of them round-trip through JSON (``to_dict`` / ``from_dict``) so
the distributed driver can hand them between workers by object key.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class InputKind(enum.StrEnum):
    """File type decided from the bytes, never from the extension."""

    PDF = "pdf"
    TIFF = "tiff"
    JPEG = "jpeg"
    PNG = "png"


class PageKind(enum.StrEnum):
    """What a page is, once segmentation has looked at it."""

    DOCUMENT = "document"
    SEPARATOR = "separator"
    RECEIPT = "receipt"
    BLANK = "blank"
    FAILED = "failed"


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it was found and what its bytes are."""

    path: str  # absolute path on the machine that ran `digitize run`
    source: str  # path relative to the folder given on the command line (contract 2)
    sha256: str
    size: int
    kind: InputKind
    page_count: int


@dataclass(frozen=True)
class Word:
    """One OCR word with its box in processed-image pixels and Tesseract's confidence (0-100)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float
    block: int = 0
    par: int = 0
    line: int = 0


@dataclass(frozen=True)
class Code:
    """A barcode or QR code found on a page; payload taken exactly as decoded."""

    format: str  # e.g. "QRCode", "Code128"
    payload: str


@dataclass(frozen=True)
class Quality:
    """Scan-quality measurements for one page (Công văn 7197 asks for skew, blur, borders)."""

    rotation: int = 0  # clockwise degrees applied to make the page upright
    skew_deg: float = 0.0  # measured skew that was corrected
    blur: float = 0.0  # variance of the Laplacian on the text; low = blurred
    dpi: float = 0.0  # effective resolution of the page image
    border: bool = False  # a dark scanner border was found and cropped
    blank: bool = False
    ink_ratio: float = 0.0
    issues: tuple[str, ...] = ()  # reasons a rescan is advised, e.g. "dpi 150 < 200"


@dataclass(frozen=True)
class PageResult:
    """Everything the per-page stages learned about one page."""

    page: int  # 1-based page number in the source file
    width: int = 0  # processed (upright, cropped) image size in pixels
    height: int = 0
    dpi: float = 300.0
    quality: Quality = field(default_factory=Quality)
    codes: tuple[Code, ...] = ()
    text: str = ""
    words: tuple[Word, ...] = ()
    mean_conf: float = 0.0
    error: str | None = None  # set when the page failed; the page is then counted as failed

    @property
    def blank(self) -> bool:
        """True when the page carries no content (e.g. the back of a duplex sheet)."""
        return self.quality.blank

    @property
    def failed(self) -> bool:
        """True when a stage failed on this page."""
        return self.error is not None


@dataclass(frozen=True)
class Field:
    """One extracted metadata value with its confidence (0..1) and, when doubtful, why."""

    value: str | None
    confidence: float = 0.0
    reason: str | None = None


METADATA_FIELDS = ("doc_type", "number", "issued_date", "issuer", "place", "summary", "signer")


@dataclass(frozen=True)
class Metadata:
    """Decree 30/2020 metadata of one result document."""

    doc_type: Field = field(default_factory=lambda: Field(None))
    number: Field = field(default_factory=lambda: Field(None))
    issued_date: Field = field(default_factory=lambda: Field(None))
    issuer: Field = field(default_factory=lambda: Field(None))
    place: Field = field(default_factory=lambda: Field(None))
    summary: Field = field(default_factory=lambda: Field(None))
    signer: Field = field(default_factory=lambda: Field(None))
    signer_position: Field = field(default_factory=lambda: Field(None))
    contains_personal_id: bool = False

    def values(self) -> dict[str, str | None]:
        """The seven contract fields (plus signer_position) as plain values."""
        names = (*METADATA_FIELDS, "signer_position")
        return {n: getattr(self, n).value for n in names}


@dataclass(frozen=True)
class DocumentPlan:
    """A document as segmentation cut it: which pages, which dossier, and how the code was found."""

    pages: tuple[int, ...]  # 1-based pages of the source file, blanks/separators/receipts excluded
    kind: str = "result"  # "result" or "receipt"
    dossier_id: str | None = None
    dossier_source: str | None = None  # "separator", "receipt_barcode", "receipt_text", "filename", "text"
    reasons: tuple[str, ...] = ()  # segmentation doubts that need a clerk's look


@dataclass(frozen=True)
class Document:
    """A finished result document, ready for the index and the portal."""

    doc_id: str
    sha256: str  # of the original file
    source: str
    pages: tuple[int, ...]
    kind: str
    dossier_id: str | None
    dossier_source: str | None
    metadata: Metadata
    text: str
    needs_review: bool
    reasons: tuple[str, ...]
    pdf_key: str | None = None
    text_key: str | None = None
    pdf_sha256: str | None = None


# --- JSON round trip -----------------------------------------------------------------------------


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (cached), None for any other type."""
    names = _FIELDS.get(cls)
    if names is None and dataclasses.is_dataclass(cls):
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def to_dict(value: Any) -> Any:
    """Turn a dataclass tree into JSON-ready dicts/lists (enums become their values)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value.value if isinstance(value, enum.Enum) else value
    names = _field_names(type(value))
    if names is not None:
        return {n: to_dict(getattr(value, n)) for n in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dict(v) for k, v in value.items()}
    return value


Converter = Callable[[Any], Any] | None  # None: the JSON value is used as it is
_PLANS: dict[type, dict[str, Converter]] = {}


def _converter(tp: Any) -> Converter:
    """How to turn the JSON form of a value of type ``tp`` back into it (None: nothing to do)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        inner = _converter(args[0]) if args else None
        if inner is None:
            return tuple
        return lambda v: tuple(None if x is None else inner(x) for x in v)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _converter(non_none[0]) if len(non_none) == 1 else None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda v: from_dict(tp, v)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    return None


def _plan(cls: type) -> dict[str, Converter]:
    plan = _PLANS.get(cls)
    if plan is None:
        import typing

        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}
    return plan


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a dataclass (and its nested dataclasses, tuples and enums) from ``to_dict`` output."""
    plan = _plan(cls)
    kwargs = {}
    for k, v in data.items():
        if k in plan:
            conv = plan[k]
            kwargs[k] = v if conv is None or v is None else conv(v)
    return cls(**kwargs)
