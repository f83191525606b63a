"""Post-OCR correction of Vietnamese words: syllables that do not exist, diacritics that do not fit.

Vietnamese is written in syllables, and the set of syllables is closed (about 7,000 in use). When
Tesseract reads a syllable that does not exist ("đât", "quyến" is fine but "đụng" after "sử" is not
what was printed) the nearest real syllables are few, and the neighbours tell which one was printed.
``digitize/data/lexicon.tsv.gz`` (built by ``scripts/build_lexicon.py``; sources and licences there)
holds the syllables with a count and the syllable bigrams of administrative text.

:func:`correct_words` works on Tesseract's words and keeps their boxes, so the page text, the word
list and the metadata extraction all see the corrected spelling. It

- replaces a word that is not a syllable by the best syllable within a small edit distance (a
  diacritic first, a letter at most), ranked by its bigrams with the neighbouring words, its count
  and the size of the edit;
- replaces a real syllable by a diacritic variant only when the neighbours attest the variant and
  not the word as read ("bát đầu" -> "bắt đầu", "CÔNG HÒA" -> "CỘNG HÒA"), and Tesseract was not sure;
  a rare one read unsurely by the common syllable a letter away that pairs on both sides ("ngành Nộ vụ");
- reads a lone "~" or "—" between two words as the en dash it was ("Công nghiệp – Dịch vụ");
- repairs an abbreviation misread by one letter ("INDN" -> "TNDN", "VBQPPI." -> "VBQPPL");
- drops stand-alone marks that are not text (rules "|", specks "`", seal fragments) and strips such
  marks glued to a word ("_„PHÓ");
- reads a paragraph's lines as running text: a line's last word and the next line's first are neighbours;
- never touches numbers, codes, abbreviations ("UBND", "123/QĐ-UBND") or words it cannot place.

The searchable PDF's invisible text layer is Tesseract's own rendering and keeps the raw reading.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rapidfuzz.distance import Levenshtein

from digitize.models import Word
from digitize.text.vntext import fold, new_tone_style

log = logging.getLogger(__name__)

_TONES = "\u0300\u0301\u0303\u0309\u0323"
_ONSET = r"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnprstvx])?"
_SYLLABLE = re.compile(rf"^{_ONSET}([aăâeêioôơuưy]{{1,3}})(ch|nh|ng|[cmnpt])?$")
# A lone mark on a scan is a list bullet or a range dash; any other is a speck, a rule or a seal fragment.
KEEP_MARKS = frozenset({"-", "–", "+", "…", "...", "./."})
# Marks that are never glued to a printed word: stripped from the ends of a word.
_JUNK_EDGE = "_„¬~^|`—¡¿›‹«»¦°\\"
# Characters of ordinary Vietnamese text; anything else in a low-confidence word marks it as noise.
_NORMAL = re.compile(r"[0-9A-Za-zÀ-ỹĐđ.,;:()/\-%\"'“”!?&+*=]")
_WORD = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.S)

MAX_COST = 3.0  # largest edit (see _cost) a replacement may make
JUNK_CONF = 50.0  # below this Tesseract confidence an odd-looking word is noise
SURE_CONF = 95.0  # at or above this a real syllable is left as read
UNSURE_CONF = 90.0  # below this a real syllable may be swapped for a less common variant the context attests
OUTWEIGH, OUTWEIGH_MIN = 10, 20  # a variant whose pairs are counted this many times more, and at least this often
RARE = 2  # a syllable counted this few times in the texts is rare ...
COMMON = 10  # ... and one counted this many times more is the likelier reading of the same ink


def _strip_tone(s: str) -> tuple[str, int]:
    """(syllable without its tone mark, tone: 0 none, 1-5 grave/acute/tilde/hook/dot, -1 several)."""
    d = unicodedata.normalize("NFD", s)
    tones = [c for c in d if c in _TONES]
    base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
    if len(tones) > 1:
        return base, -1
    return base, (_TONES.index(tones[0]) + 1) if tones else 0


def is_syllable_shape(s: str) -> bool:
    """True when a lower-case NFC string is shaped like a Vietnamese syllable (onset, rhyme, one tone).

    Checked: known onsets and finals, one to three vowels, at most one tone mark, and only the sharp
    or heavy tone on a syllable that ends in c, ch, p or t.
    """
    base, tone = _strip_tone(s)
    if tone < 0:
        return False
    m = _SYLLABLE.match(base)
    if not m:
        return False
    if m.group(2) in ("c", "ch", "p", "t") and tone not in (0, 2, 5):  # only acute (2) or dot (5)
        return False
    return True


def syllables_of(text: str) -> list[str]:
    """The space-separated words of ``text`` with surrounding punctuation removed."""
    out = []
    for tok in text.split():
        core = _WORD.match(tok).group(2)  # type: ignore[union-attr]
        if core:
            out.append(core)
    return out


@dataclass(frozen=True)
class Lexicon:
    """Syllable counts, bigram counts and look-up indexes."""

    uni: dict[str, int]
    bi: dict[tuple[str, str], int]
    by_fold: dict[str, tuple[str, ...]]  # diacritic-free form -> syllables
    by_delete: dict[str, tuple[str, ...]]  # folded form with one letter deleted -> folded forms

    def __contains__(self, s: str) -> bool:
        return s in self.uni

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> Lexicon:
        """Build from the lines of ``lexicon.tsv`` (``S<TAB>syllable<TAB>n`` / ``B<TAB>a b<TAB>n``)."""
        uni: dict[str, int] = {}
        bi: dict[tuple[str, str], int] = {}
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            kind, key, n = line.rstrip("\n").split("\t")
            if kind == "S":
                uni[key] = int(n)
            elif kind == "B":
                a, b = key.split(" ")
                bi[(a, b)] = int(n)
        by_fold: dict[str, list[str]] = {}
        for s in uni:
            by_fold.setdefault(fold(s), []).append(s)
        by_delete: dict[str, set[str]] = {}
        for f in by_fold:
            for d in _deletes(f):
                by_delete.setdefault(d, set()).add(f)
        return cls(uni=uni, bi=bi, by_fold={k: tuple(v) for k, v in by_fold.items()},
                   by_delete={k: tuple(sorted(v)) for k, v in by_delete.items()})


def _deletes(f: str) -> set[str]:
    return {f[:i] + f[i + 1:] for i in range(len(f))} | {f}


@cache
def lexicon() -> Lexicon:
    """The lexicon shipped in ``digitize/data/lexicon.tsv.gz`` (loaded once per process)."""
    data = resources.files("digitize").joinpath("data/lexicon.tsv.gz").read_bytes()
    return Lexicon.from_lines(gzip.decompress(data).decode("utf-8").splitlines())


def _cost(a: str, b: str) -> float:
    """Edit size: each changed diacritic costs 1, each changed letter 2."""
    nfd = Levenshtein.distance(unicodedata.normalize("NFD", a), unicodedata.normalize("NFD", b))
    return float(nfd + Levenshtein.distance(fold(a), fold(b)))


def _case_like(template: str, s: str) -> str:
    letters = [c for c in template if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return s.upper()
    if letters and letters[0].isupper():
        return s[:1].upper() + s[1:]
    return s


@dataclass
class _Tok:
    word: Word
    pre: str
    core: str
    post: str
    low: str  # lower-case NFC core, new tone style ('' when not a candidate for correction)


def _split(word: Word) -> _Tok:
    text = unicodedata.normalize("NFC", word.text)
    if any(c.isalnum() for c in text):
        text = text.strip(_JUNK_EDGE)  # "_" counts as a word character for the pattern below
    pre, core, post = _WORD.match(text).groups()  # type: ignore[union-attr]
    pre = pre.lstrip(_JUNK_EDGE)
    post = post.rstrip(_JUNK_EDGE)
    low = ""
    if len(core) > 1 and core.isalpha() and not _is_abbreviation(core):
        low = new_tone_style(core).lower()
    return _Tok(word, pre, core, post, low)


def _is_abbreviation(core: str) -> bool:
    """Upper-case letter runs that are no syllable ("UBND", "VT", "TNMT") are left as they are."""
    return len(core) > 1 and core.isupper() and not is_syllable_shape(core.lower()) and \
        fold(core) == core.lower()


def _is_noise(tok: _Tok) -> bool:
    text = tok.word.text
    if not any(c.isalnum() and _NORMAL.match(c) for c in text):
        return text not in KEEP_MARKS
    if tok.word.conf >= JUNK_CONF:
        return False
    odd = sum(1 for c in text if not _NORMAL.match(c))
    if odd == 0:
        return False
    return not (tok.low and tok.low in lexicon())


def _ctx(lex: Lexicon, left: str, s: str, right: str) -> int:
    return (lex.bi.get((left, s), 0) if left else 0) + (lex.bi.get((s, right), 0) if right else 0)


def _sides(lex: Lexicon, left: str, s: str, right: str) -> int:
    """On how many sides ``s`` makes a known pair with its neighbour (0-2)."""
    return int(bool(left) and (left, s) in lex.bi) + int(bool(right) and (s, right) in lex.bi)


def _score(lex: Lexicon, left: str, s: str, right: str, cost: float) -> float:
    return 1.6 * math.log1p(_ctx(lex, left, s, right)) + 0.4 * math.log1p(lex.uni.get(s, 0)) - 1.2 * cost


def _candidates(lex: Lexicon, s: str) -> list[str]:
    f = fold(s)
    forms = set()
    for d in _deletes(f):
        for g in lex.by_delete.get(d, ()):
            if Levenshtein.distance(f, g) <= 1:
                forms.add(g)
    return [c for g in forms for c in lex.by_fold.get(g, ())]


def best_syllable(s: str, left: str = "", right: str = "", conf: float = 0.0, *, name: bool = False,
                  lex: Lexicon | None = None) -> str:
    """The syllable most likely printed where ``s`` (lower case) was read between ``left`` and ``right``.

    ``name``: the word sits among capitalised words (a personal or place name), where a real syllable is
    never swapped for another. Returns ``s`` itself when it should stay.
    """
    lex = lex or lexicon()
    if s in lex:
        if name:
            return s
        here = _ctx(lex, left, s, right)
        if here > 0:
            # a pair on one side ("hỗ trợ thanh" from "hỗ trợ thanh niên") does not outweigh a variant the
            # neighbours attest many times more ("thành lập"): a diacritic slip
            strong = [(n, c) for c in lex.by_fold.get(fold(s), ())
                      if c != s and (n := _ctx(lex, left, c, right)) >= max(OUTWEIGH * here, OUTWEIGH_MIN)]
            return max(strong)[1] if strong else s
        if conf >= SURE_CONF:
            # A sure reading is swapped only for the diacritic variant that makes a word with a neighbour
            # ("kê hoạch" -> "kế hoạch"), the reading making none: Tesseract is sure of lost marks too.
            made = [(n, c) for c in lex.by_fold.get(fold(s), ()) if c != s and (n := _ctx(lex, left, c, right)) > 0]
            return max(made)[1] if len(made) == 1 or (made and sorted(made)[-1][0] > sorted(made)[-2][0]) else s
        if conf < UNSURE_CONF and lex.uni.get(s, 0) <= RARE:
            # a rare syllable that makes no pair: a letter lost ("ngành Nộ vụ" for "Nội vụ") when one common
            # syllable a letter away makes a pair on both sides
            both = [(_ctx(lex, left, c, right), c) for c in _candidates(lex, s)
                    if c != s and _cost(s, c) <= 2 and _sides(lex, left, c, right) == 2
                    and lex.uni.get(c, 0) >= COMMON * max(1, lex.uni.get(s, 0))]
            if len(both) == 1 or (both and sorted(both)[-1][0] > 2 * sorted(both)[-2][0]):
                return max(both)[1]
        # A real syllable is swapped for a diacritic variant only on positive evidence: the neighbours
        # attest the variant, and the variant is at least as common or Tesseract was unsure. Absence
        # of a bigram alone proves little: the texts are small.
        best, best_n = s, 0
        for c in lex.by_fold.get(fold(s), ()):
            n = _ctx(lex, left, c, right)
            if c == s or n == 0:
                continue
            if not (lex.uni.get(c, 0) >= lex.uni.get(s, 0) or conf < UNSURE_CONF):
                continue
            if n > best_n or (n == best_n and lex.uni.get(c, 0) > lex.uni.get(best, 0)):
                best, best_n = c, n
        return best
    scored = [(_score(lex, left, c, right, cost), c) for c in _candidates(lex, s)
              if (cost := _cost(s, c)) <= MAX_COST]
    if not scored:
        return s
    return max(scored)[1]


def _in_name(toks: list[_Tok], i: int) -> bool:
    """A capitalised (not all upper-case) word next to another on the same line: part of a name."""
    def title(t: _Tok) -> bool:
        return len(t.core) > 1 and t.core[0].isupper() and not t.core.isupper()

    if not title(toks[i]):
        return False
    key = _line_key(toks[i].word)
    return any(0 <= j < len(toks) and _line_key(toks[j].word) == key and title(toks[j]) for j in (i - 1, i + 1))


def _line_key(w: Word) -> tuple[int, int, int]:
    return (w.block, w.par, w.line)


def _running_on(a: Word, b: Word) -> bool:
    """``b`` follows ``a`` in running text: on the same line, or first on the next line of the same paragraph
    ("hỗ trợ thanh / lập mới": a trích yếu wrapped over two lines)."""
    return (a.block, a.par) == (b.block, b.par) and b.line - a.line in (0, 1)


_YEAR = re.compile(r"^(19|20)\d\d\b")
_NUMBER_REF = re.compile(r"^\d")


def _formulas(toks: list[_Tok]) -> int:
    """The two formulas of administrative text whose word a diacritic slip hides: "năm" before a year
    ("nam 2026", "nằm 2012") and "số" before a number ("sô 29-NQ/TW"). Returns how many were changed."""
    changed = 0
    for t, nxt in zip(toks, toks[1:], strict=False):
        if _line_key(t.word) != _line_key(nxt.word) or t.post or not t.low:
            continue
        following = nxt.pre + nxt.core + nxt.post
        want = ("năm" if fold(t.low) == "nam" and _YEAR.match(following)
                else "số" if fold(t.low) == "so" and _NUMBER_REF.match(following) else None)
        if want is not None and t.low != want:
            t.core, t.low = _case_like(t.core, want), want
            changed += 1
    return changed


def _abbreviations(toks: list[_Tok]) -> int:
    """Upper-case runs that are no known abbreviation but one misread letter from one ("INDN" -> "TNDN",
    "VBQPPI." -> "VBQPPL"): see :mod:`digitize.text.abbreviations`. Returns how many were changed."""
    from digitize.text.abbreviations import repair

    changed = 0
    for t in toks:
        if t.low or not _is_abbreviation(t.core):
            continue
        got = repair(t.core, t.post)
        if got is not None:
            t.core, t.post = got
            changed += 1
    return changed


_DASH_READS = frozenset({"~", "—", "―"})  # how Tesseract reads a lone en dash between words
DASH_CONF = JUNK_CONF  # at or above this such a mark is print, not a speck


def _dashes(words: Sequence[Word]) -> list[Word]:
    """A lone "~" or "—" read surely between two words of one line is the en dash of "Công nghiệp – Dịch vụ"."""
    out = list(words)
    for i in range(1, len(out) - 1):
        w, a, b = out[i], out[i - 1], out[i + 1]
        if (w.text in _DASH_READS and w.conf >= DASH_CONF and _line_key(a) == _line_key(w) == _line_key(b)
                and a.text[-1:].isalpha() and b.text[:1].isalpha()):
            out[i] = dataclasses.replace(w, text="–")
    return out


def correct_words(words: Sequence[Word], lex: Lexicon | None = None) -> tuple[Word, ...]:
    """Correct a page's words (Tesseract reading order); boxes and confidences are kept."""
    lex = lex or lexicon()
    words = _dashes(words)
    toks = [_split(w) for w in words]
    toks = [t for t in toks if not _is_noise(t)]
    changed = 0
    # Pass 1: words that are not syllables, with the neighbours as read. Pass 2: real syllables whose
    # neighbours attest a diacritic variant, with the neighbours as corrected in pass 1.
    for real_pass in (False, True):
        lows = [t.low for t in toks]
        for i, t in enumerate(toks):
            if not t.low or (t.low in lex) != real_pass:
                continue
            left = lows[i - 1] if i > 0 and _running_on(toks[i - 1].word, t.word) and not toks[i - 1].post else ""
            right = lows[i + 1] if i + 1 < len(toks) and _running_on(t.word, toks[i + 1].word) and not t.post else ""
            new = best_syllable(t.low, left, right, t.word.conf, name=_in_name(toks, i), lex=lex)
            if new != t.low:
                t.core = _case_like(t.core, new)
                t.low = new
                changed += 1
    changed += _formulas(toks)
    changed += _abbreviations(toks)
    out = []
    for t in toks:
        text = t.pre + t.core + t.post
        if not text:
            continue
        out.append(t.word if text == t.word.text else dataclasses.replace(t.word, text=text))
    log.debug("correction: %d of %d words changed, %d dropped", changed, len(words), len(words) - len(out))
    return tuple(out)
