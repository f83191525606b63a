#!/usr/bin/env python3
"""Rebuild ``digitize/data/lexicon.tsv.gz``: Vietnamese syllables and syllable bigrams for OCR correction.

    python scripts/build_lexicon.py [--traineddata /usr/share/tesseract-ocr/5/tessdata/vie.traineddata]
                                    [--hunspell [/usr/share/hunspell/vi_VN.dic]] [--no-tesseract]

Sources (none of them is the benchmark corpus):
- **valid syllables**: the word list inside Tesseract's ``vie.traineddata`` (tessdata, Apache-2.0;
  extracted with ``combine_tessdata -u`` and ``dawg2wordlist``) and the project's own texts below;
  optionally (``--hunspell``, not in the shipped file: its licence is GPL-2) the Debian ``hunspell-vi``
  dictionary. On the dev corpus both builds score the same (CER 1.9%, word F1 0.98).
  Only the *list of syllables* is kept — the inventory of a language's
  spelling — filtered through a phonotactic pattern of Vietnamese syllables (onset, rhyme, one tone),
  so foreign words and abbreviations drop out.
- **frequencies and bigrams**: ``scripts/lexicon/admin_text.txt`` (generic administrative prose and
  formulas written for this project), ``scripts/lexicon/admin_topics.txt`` (generic prose of the sectors
  a province, district or commune writes about: internal affairs, education, health, finance and tax,
  investment, land, justice, security, Party and mass organisations, administrative reform; written for
  this project), ``scripts/lexicon/admin_more.txt`` (more of the same: every sector and document type, titles,
  closing formulas, recipient lists and table headings, partly varied from sentence frames with a fixed
  seed; written for this project), ``scripts/lexicon/names.txt`` (common family, middle and given names,
  written for this project) and the names of administrative units in
  ``digitize/data/gazetteer.tsv.gz`` (MIT, see ``scripts/build_gazetteer.py``).

Output, one entry a line, gzip: ``S<TAB>syllable<TAB>count`` and ``B<TAB>left right<TAB>count``
(lower case, NFC, new tone placement). Counts are occurrences in the texts plus 1 for a syllable
that a dictionary attests.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digitize.text.correct import is_syllable_shape, syllables_of  # noqa: E402
from digitize.text.vntext import new_tone_style  # noqa: E402

OUT = ROOT / "digitize" / "data" / "lexicon.tsv.gz"
HUNSPELL = Path("/usr/share/hunspell/vi_VN.dic")
TRAINEDDATA = Path("/usr/share/tesseract-ocr/5/tessdata/vie.traineddata")
TEXTS = [ROOT / "scripts" / "lexicon" / name
         for name in ("admin_text.txt", "admin_topics.txt", "admin_more.txt", "names.txt")]
GAZETTEER = ROOT / "digitize" / "data" / "gazetteer.tsv.gz"


def _norm(word: str) -> str:
    return new_tone_style(unicodedata.normalize("NFC", word)).lower()


def hunspell_words(path: Path) -> list[str]:
    """Stems of a hunspell .dic file (first line is the count; flags after '/')."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [ln.split("/", 1)[0].strip() for ln in lines if ln.strip()]


def tesseract_words(path: Path) -> list[str]:
    """The word list compiled into a traineddata file (LSTM word dawg)."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "vie.")
        subprocess.run(["combine_tessdata", "-u", str(path), prefix], check=True, capture_output=True)
        out = Path(tmp) / "words.txt"
        subprocess.run(["dawg2wordlist", prefix + "lstm-unicharset", prefix + "lstm-word-dawg", str(out)],
                       check=True, capture_output=True)
        return out.read_text(encoding="utf-8").split()


def text_lines() -> list[str]:
    """Lines of the project's own texts."""
    lines: list[str] = []
    for p in TEXTS:
        lines += [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return lines


def gazetteer_lines() -> list[str]:
    """The gazetteer's unit names, with their type word and province ("xã Vũ Ninh", "Vũ Thư, tỉnh Thái Bình")."""
    lines: list[str] = []
    with gzip.open(GAZETTEER, "rt", encoding="utf-8") as f:
        for row in f:
            parts = row.rstrip("\n").split("\t")
            if len(parts) >= 2:
                lines.append(f"{parts[0]} {parts[1]}")
                if len(parts) >= 3 and parts[2]:
                    lines.append(f"{parts[1]}, tỉnh {parts[2]}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hunspell", type=Path, nargs="?", const=HUNSPELL, default=None,
                    help=f"also take syllables from a hunspell-vi dictionary (GPL-2; default path {HUNSPELL}); "
                         "the shipped lexicon is built without it")
    ap.add_argument("--traineddata", type=Path, default=TRAINEDDATA)
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    attested: set[str] = set()
    if args.hunspell is not None:
        attested |= {_norm(w) for w in hunspell_words(args.hunspell)}
    if not args.no_tesseract:
        attested |= {_norm(w) for w in tesseract_words(args.traineddata)}
    uni: Counter[str] = Counter()
    bi: Counter[tuple[str, str]] = Counter()
    # Unigram counts come from the project's texts only (the gazetteer's thousands of names would make
    # rare name syllables look common); bigrams from both.
    for source, lines in (("text", text_lines()), ("gazetteer", gazetteer_lines())):
        for line in lines:
            for run in re.split(r"[,;:.()\"“”/!?–—]|\s-\s", line):
                sy = [_norm(s) for s in syllables_of(run)]
                sy = [s for s in sy if is_syllable_shape(s)]
                if source == "text":
                    uni.update(sy)
                else:
                    for s in sy:
                        uni.setdefault(s, 0)
                bi.update(zip(sy, sy[1:], strict=False))
    for s in attested | set(uni):
        if is_syllable_shape(s):
            uni[s] += 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out, "wb", compresslevel=9, mtime=0) as raw, io.TextIOWrapper(raw, encoding="utf-8") as f:
        f.write("# digitize lexicon: see scripts/build_lexicon.py for sources and licences\n")
        for s, n in sorted(uni.items()):
            f.write(f"S\t{s}\t{n}\n")
        for (a, b), n in sorted(bi.items()):
            f.write(f"B\t{a} {b}\t{n}\n")
    print(f"{args.out}: {len(uni)} syllables, {len(bi)} bigrams, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
