"""Keep the message catalogues in step with the code, and compile them.

    python scripts/compile_locale.py            # compile digitize/locale/*/LC_MESSAGES/digitize.po to .mo
    python scripts/compile_locale.py --update   # first add the code's new messages to each .po (empty)

Messages are the English strings marked ``_()``, ``N_()``, ``n_()`` / ``ngettext()`` in the modules of
``SOURCES``. Uses Babel (a test extra); the compiled .mo files are shipped in the package.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "digitize" / "locale"
SOURCES = ["digitize/cli.py", "digitize/cli_read.py", "digitize/terminal.py", "digitize/logs.py",
           "digitize/handoff/report_files.py", "digitize/cli_ops.py"]
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2), "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every marked message of the sources."""
    cat = Catalog()
    for rel in SOURCES:
        path = ROOT / rel
        if not path.exists():
            continue
        for lineno, message, _comments, _ctx in extract_from_file("python", path, keywords=KEYWORDS):
            cat.add(message, locations=[(rel, lineno)])
    return cat


def po_files() -> list[Path]:
    """The catalogues, one per language."""
    return sorted(LOCALE.glob("*/LC_MESSAGES/digitize.po"))


def compiled(po: Path) -> bytes:
    """The .mo bytes of a .po file."""
    with po.open("rb") as f:
        cat = read_po(f)
    out = io.BytesIO()
    write_mo(out, cat, use_fuzzy=False)
    return out.getvalue()


def main() -> int:
    """Update (optionally) and compile every catalogue."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="add new messages of the code to the .po files")
    args = ap.parse_args()
    for po in po_files():
        if args.update:
            with po.open("rb") as f:
                cat = read_po(f)
            cat.update(extract(), no_fuzzy_matching=True)
            with po.open("wb") as f:
                write_po(f, cat, width=120, omit_header=False, include_previous=False, no_location=True)
        po.with_suffix(".mo").write_bytes(compiled(po))
        print(f"{po.relative_to(ROOT)} -> digitize.mo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
