"""Abbreviations misread by one letter ("INDN" for TNDN) are repaired; anything else is left as read."""

from __future__ import annotations

import pytest

from digitize.models import Word
from digitize.text.abbreviations import known, repair
from digitize.text.correct import correct_words


@pytest.mark.parametrize(("core", "post", "expect"), [
    ("INDN", "", ("TNDN", "")),  # T read as I
    ("VBQPPI", ".", ("VBQPPL", "")),  # L read as "I." (its foot as a full stop)
    ("CCVEC", "'", ("CCVC", "'")),  # a speck read as a letter
    ("GDDT", "", ("GDĐT", "")),  # the bar of Đ lost
    ("UBND", "", None),  # known
    ("TI", "", None),  # too short to tell
    ("KSTTHC", "", None),  # unknown and no slip from a known one: as read
    ("123/TB-UIBND", "", None),  # a number with its symbol is the number parser's
])
def test_repair(core, post, expect):
    assert repair(core, post) == expect


def test_an_ambiguous_slip_is_left_as_read():
    """"TKHCN" is KHCN with a letter too many and TKCN with one too many: neither is guessed."""
    assert {"KHCN", "TKCN"} <= known()
    assert repair("TKHCN") is None


def _words(text: str) -> list[Word]:
    return [Word(text=t, left=60 * i, top=10, width=50, height=20, conf=91.0, block=1, par=1, line=1)
            for i, t in enumerate(text.split())]


def test_correct_words_repairs_abbreviations_in_a_line():
    got = " ".join(w.text for w in correct_words(_words("V/v chính sách thuế INDN và VBQPPI. năm 2013 của UBND")))
    assert got == "V/v chính sách thuế TNDN và VBQPPL năm 2013 của UBND"


@pytest.mark.parametrize(("read", "printed", "slip"), [
    ("CI", "CT", True), ("INDN", "TNDN", True), ("GDDT", "GDĐT", True),
    ("CS", "CT", False), ("CT", "CT", False), ("CIT", "CT", False), ("II", "TT", False),  # two slips
])
def test_one_slip(read, printed, slip):
    from digitize.text.abbreviations import one_slip

    assert one_slip(read, printed) is slip
