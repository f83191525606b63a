"""Shape checks for values that arrive in URL paths, before they reach the index or the store."""

from __future__ import annotations

import re

from digitize.errors import DossierCodeError, InputError
from digitize.text.dossier_code import is_valid

# letters, digits, '.' and '-', starting and ending with a letter or digit; no '..' (never a path)
_CODE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$")
# document ids are "<16 hex>-d0001" / "-r0001": lower-case letters, digits and '-'
_DOC_ID = re.compile(r"^[0-9a-z][0-9a-z-]{0,63}$")
# job ids: rq's alphabet (letters, digits, '_', '-')
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidIdError(InputError):
    """A document or job id in a URL has a shape no id has."""

    http_status = 400
    reason = "invalid_id"


def dossier_code(code: str) -> str:
    """``code`` when it has a dossier code's shape; DossierCodeError (400) otherwise."""
    if not _CODE.match(code) or ".." in code or not is_valid(code):
        raise DossierCodeError(f"{code[:80]!r} is not a dossier code")
    return code


def document_id(doc_id: str) -> str:
    """``doc_id`` when it has a document id's shape; InvalidIdError (400) otherwise."""
    if not _DOC_ID.match(doc_id):
        raise InvalidIdError("not a document id")
    return doc_id


def job_id(value: str) -> str:
    """``value`` when it has a job id's shape; InvalidIdError (400) otherwise."""
    if not _JOB_ID.match(value):
        raise InvalidIdError("not a job id")
    return value
