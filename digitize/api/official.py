"""Official metadata names (Circular 02/2019/TT-BNV / the portal's data warehouse) for a document.

``digitize.document.extract.official_metadata`` is the product's mapping; until it exists this module's
:func:`official_metadata` (same signature) stands in. :func:`mapper` picks whichever is present.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from digitize.models import Metadata

OFFICIAL_NAMES = ("TypeName", "CodeNumber", "CodeNotation", "IssuedDate", "OrganName", "Subject", "PageAmount",
                  "Position", "FullName", "DossierCode")


def split_number(number: str | None) -> tuple[str | None, str | None]:
    """``123/QĐ-UBND`` -> (``123``, ``QĐ-UBND``); ``163/2025/QĐ-UBND`` -> (``163``, ``2025/QĐ-UBND``)."""
    if not number:
        return None, None
    head, sep, rest = number.partition("/")
    head, rest = head.strip(), rest.strip()
    if not sep:
        return (head, None) if head.isdigit() else (None, head or None)
    return head or None, rest or None


def official_metadata(metadata: Metadata, *, page_amount: int, dossier_id: str | None) -> dict[str, Any]:
    """The document's metadata under the official names, plus its dossier code."""
    v = metadata.values()
    code_number, code_notation = split_number(v["number"])
    return {
        "TypeName": v["doc_type"],
        "CodeNumber": code_number,
        "CodeNotation": code_notation,
        "IssuedDate": v["issued_date"],
        "OrganName": v["issuer"],
        "Subject": v["summary"],
        "PageAmount": page_amount,
        "Position": v["signer_position"],
        "FullName": v["signer"],
        "DossierCode": dossier_id,
    }


def mapper() -> Callable[..., dict[str, Any]]:
    """``digitize.document.extract.official_metadata`` when that module exists, else this module's function."""
    if importlib.util.find_spec("digitize.document.extract") is not None:
        extract = importlib.import_module("digitize.document.extract")
        fn = getattr(extract, "official_metadata", None)
        if fn is not None:
            return fn
    return official_metadata
