"""Abbreviations of administrative writing ("TNDN", "VBQPPL", "CCVC") misread by one letter, repaired.

Tesseract reads a capital T as I in some fonts ("INDN" for TNDN), an L as "I." (its foot read as a full
stop: "VBQPPI."), and adds a letter where a stroke or a speck touches the word ("CCVEC"). The
correction of :mod:`digitize.text.correct` leaves upper-case letter runs alone (they are no syllables);
this module repairs one when it is not a known abbreviation and exactly one known abbreviation is a
single such slip away. Known abbreviations: ``digitize/data/abbreviations.txt`` (written for the project).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MIN_LENGTH = 4  # shorter runs have too many neighbours ("TI" could be TT, TL …): left as read
# letters Tesseract reads for another on upper-case print: read -> what may have been printed
_CONFUSED = {"I": "TLJ", "T": "I", "L": "I", "J": "I", "D": "Đ", "Đ": "D", "O": "D"}
_RUN = re.compile(r"[A-ZĐ][A-ZĐ&-]*")  # letters only: a number with its symbol ("12/QĐ-UBND") is not for here


@cache
def known() -> frozenset[str]:
    """The abbreviations in ``digitize/data/abbreviations.txt`` (loaded once per process)."""
    text = resources.files("digitize").joinpath("data/abbreviations.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def one_slip(read: str, printed: str) -> bool:
    """``read`` is ``printed`` with one letter read for another that Tesseract confuses on capitals ("CI" for
    "CT")."""
    return len(read) == len(printed) and sum(a != b for a, b in zip(read, printed, strict=True)) == 1 and any(
        a != b and b in _CONFUSED.get(a, "") for a, b in zip(read, printed, strict=True))


def _variants(read: str) -> set[str]:
    out = set()
    for i, ch in enumerate(read):
        for alt in _CONFUSED.get(ch, ""):
            out.add(read[:i] + alt + read[i + 1:])
    if len(read) >= 5:  # a letter too many: a speck or a stroke read as one
        out.update(read[:i] + read[i + 1:] for i in range(len(read)))
    return out


def repair(core: str, post: str = "") -> tuple[str, str] | None:
    """(abbreviation, what remains of ``post``) that ``core`` (an upper-case run, ``post`` the marks after
    it) was printed as, or None to leave it as read. "I" before a full stop may be an L whose foot was read
    as the stop: ("VBQPPI", ".") -> ("VBQPPL", "")."""
    words = known()
    if len(core) < MIN_LENGTH or core in words or not _RUN.fullmatch(core):
        return None
    found = {v: post for v in _variants(core) if v in words}
    if core.endswith("I") and post.startswith(".") and core[:-1] + "L" in words:
        found[core[:-1] + "L"] = post[1:]
    return next(iter(found.items())) if len(found) == 1 else None
