"""Vietnam's administrative units by name, to check and repair the place names OCR reads.

Issuers and places are localities ("Ủy ban nhân dân huyện Đông Hưng", "Đông Hưng, ngày …"), and the
set of localities is closed: 63 provinces, ~700 districts, ~10,000 communes before the 2025
reorganisation, and the units after it (``digitize/data/gazetteer.tsv.gz``, built by
``scripts/build_gazetteer.py`` from the MIT-licensed `vietnamadminunits` data). A name read with a
wrong or missing diacritic ("Đồng Hưng") has one spelling of that unit type with the same letters;
a name that matches nothing is doubtful.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from digitize.text.vntext import canonical, fold

Status = Literal["exact", "corrected", "ambiguous", "unknown"]


@dataclass(frozen=True)
class Place:
    """The result of looking a locality name up."""

    status: Status
    name: str  # the gazetteer's spelling when exact or corrected, else the name as read
    candidates: tuple[str, ...] = ()


def _key(name: str) -> str:
    return "".join(ch for ch in fold(name) if ch.isalnum())


@cache
def _table() -> dict[str, dict[str, set[str]]]:
    """folded name -> unit type -> spellings."""
    data = resources.files("digitize").joinpath("data/gazetteer.tsv.gz").read_bytes()
    table: dict[str, dict[str, set[str]]] = {}
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        unit, name, _province = line.split("\t")
        table.setdefault(_key(name), {}).setdefault(unit, set()).add(canonical(name))
    return table


def lookup(name: str, unit: str | None = None) -> Place:
    """Check ``name`` (e.g. "Đồng Hưng") as a unit of type ``unit`` ("huyện", "xã", …; None: any type).

    exact: a unit of that type has this spelling; corrected: exactly one spelling of that type has the
    same letters; ambiguous: several do; unknown: none.
    """
    read = canonical(name.strip())
    by_unit = _table().get(_key(read), {})
    units = [unit.lower()] if unit else list(by_unit)
    spellings = sorted({s for u in units for s in by_unit.get(u, ())})
    exact = next((s for s in spellings if s.lower() == read.lower()), None)
    if exact is not None:
        return Place("exact", exact, tuple(spellings))
    if len(spellings) == 1:
        return Place("corrected", spellings[0], tuple(spellings))
    if spellings:
        return Place("ambiguous", read, tuple(spellings))
    return Place("unknown", read)
