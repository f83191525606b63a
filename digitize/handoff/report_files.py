"""The office report as a clerk forwards it: a terminal table, CSV, or a formatted XLSX (openpyxl)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

from digitize.handoff.report import COUNTS, Report, Row
from digitize.i18n import _


def N_(message: str) -> str:  # noqa: N802 - gettext's marker: in the catalogue, translated when shown
    return message


COLUMN_LABELS = {"files": N_("Files received"), "pages": N_("Pages received"), "documents": N_("Documents made"),
                 "linked": N_("Linked to a dossier"), "needs_review": N_("Needing review"),
                 "reviewed": N_("Reviewed"), "signed": N_("Signed"), "published": N_("Published to the portal"),
                 "failed": N_("Files failed"), "rescans": N_("Pages to rescan")}
GROUP_LABELS = {"issuer": N_("Issuer"), "type": N_("Type"), "dossier": N_("Dossier"), "batch": N_("Batch"),
                "clerk": N_("Reviewing clerk"), None: N_("Period")}


def headers(report: Report) -> list[str]:
    """Column titles in the selected language: the group, the counts, who reviewed."""
    return [_(GROUP_LABELS[report.by])] + [_(COLUMN_LABELS[c]) for c in COUNTS] + [_("Reviewed by")]


def _line(report: Report, row: Row, total: bool) -> list[Any]:
    key = _("Total") if total else row.key
    if report.by is None:
        key = report.period.label if report.period.label != "all" else _("all")
    who = ", ".join(f"{name} ({n})" for name, n in sorted(row.reviewers.items()))
    return [key] + [row.counts[c] for c in COUNTS] + [who]


def lines(report: Report) -> list[list[Any]]:
    """The rows, then the total (the total alone when the report has no grouping)."""
    if report.by is None:
        return [_line(report, report.total, False)]
    return [_line(report, r, False) for r in report.rows] + [_line(report, report.total, True)]


def write_csv(report: Report, out: TextIO) -> None:
    """CSV (comma-separated, a header line, UTF-8); the last line is the total."""
    w = csv.writer(out)
    w.writerow(headers(report))
    w.writerows(lines(report))


def write_xlsx(report: Report, path: Path) -> None:
    """A workbook with one sheet: a title with the period, bold headers, the total in bold, frozen header."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _("Report")[:31]
    heads = headers(report)
    ws.append([_("Digitisation report, period: {period}").format(
        period=report.period.label if report.period.label != "all" else _("all"))])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([])
    ws.append(heads)
    thin = Side(style="thin", color="999999")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
    body = lines(report)
    for values in body:
        ws.append(values)
    if report.by is not None:
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
            cell.border = Border(top=thin)
    for i, head in enumerate(heads, start=1):
        longest = max([len(str(v[i - 1])) for v in body] + [min(len(head), 18)])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, longest + 2))
    ws.row_dimensions[3].height = 32
    ws.freeze_panes = "B4"
    wb.save(path)
