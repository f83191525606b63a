"""What the ``digitize`` command prints for a clerk: aligned tables, one line per file, run summaries.

Every sentence goes through :mod:`digitize.i18n` (English in the code, Vietnamese in the catalogue);
plurals through ``ngettext``. Data go to standard output, messages about the run to standard error.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

from digitize.i18n import _, ngettext


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (combining marks take none: "Quyết" is 5)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in unicodedata.normalize("NFC", text))


def _pad(text: str, n: int, right: bool) -> str:
    gap = " " * max(0, n - width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = (),
          out: TextIO | None = None) -> None:
    """Print ``rows`` under ``headers`` as aligned columns (columns in ``right`` aligned right)."""
    out = out or sys.stdout
    cells = [[("-" if v is None or v == "" else str(v)) for v in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    last = len(headers) - 1

    def line(values: Sequence[str]) -> str:
        parts = [_pad(v, widths[i], i in right) if i < last or i in right else v for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    print(line(list(headers)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print(line(r), file=out)


def fields(pairs: Sequence[tuple[str, Any]], out: TextIO | None = None) -> None:
    """Print ``label: value`` lines with the values aligned."""
    out = out or sys.stdout
    n = max((width(k) for k, _v in pairs), default=0)
    for k, v in pairs:
        print(f"{_pad(k + ':', n + 1, False)} {'-' if v is None or v == '' else v}", file=out)


def n_(singular: str, plural: str, n: int) -> str:
    """``ngettext`` with ``{n}`` filled in."""
    return ngettext(singular, plural, n).format(n=n)


def N_(message: str) -> str:  # noqa: N802 - gettext's marker: in the catalogue, translated when shown
    return message


# why a file was rejected, by reason code (digitize.errors), in the clerk's language
REASONS = {"empty_file": N_("empty file (0 bytes)"),
           "unsupported_type": N_("not a PDF, TIFF, JPEG or PNG file (supported: PDF, TIFF, JPEG, PNG)"),
           "corrupt": N_("damaged or truncated file: scan it again or copy it again from the scanner"),
           "encrypted": N_("the PDF is protected by a password: remove it (qpdf --decrypt) and run again"),
           "too_large": N_("the page image is too large to process safely: scan at 300 dpi or less")}


def reason_text(report: Any) -> str:
    """Why a file failed: in the clerk's language when the reason is a known one, else the error as raised."""
    code = getattr(report, "reason", None)
    if code in REASONS and _(REASONS[code]) != REASONS[code]:
        return f"{report.source}: {_(REASONS[code])}"
    why = report.error or _("failed")
    return why if report.source in why else f"{report.source}: {why}"


def file_line(report: Any) -> str:
    """One line for one input file of a run (done, already done, failed)."""
    if report.status == "failed":
        return _pad(_("FAILED"), 8, False) + " " + reason_text(report)
    if report.status == "skipped":
        return _pad(_("SKIPPED"), 8, False) + " " + report.source + " — " + _("already processed earlier")
    what = n_("{n} page", "{n} pages", report.pages) + ", " + n_("{n} document", "{n} documents", report.documents)
    if report.needs_review:
        what += " " + _("({n} to review)").format(n=report.needs_review)
    return _pad(_("DONE"), 8, False) + " " + report.source + " — " + what


def run_summary(summary: Any, archive: Any, out: TextIO | None = None, *, reasons: bool = True) -> None:
    """The end of ``digitize run``: every file and page counted, and what to do next.

    ``reasons=False`` when each failed file's reason was already printed on its own line: the list of
    failed files then names them only (an error is shown once)."""
    out = out or sys.stdout
    files = summary.files
    pages = sum(f.pages for f in files)
    done_pages = sum(f.pages_done for f in files)
    failed_pages = sum(f.pages_failed for f in files)
    blank = sum(f.pages_blank for f in files)
    docs = sum(f.documents for f in files)
    review = sum(f.needs_review for f in files)
    read_now = max(0, summary.pages_processed - failed_pages)
    earlier = max(0, done_pages - read_now)
    rate = read_now / summary.seconds if summary.seconds else 0.0
    failed = [f for f in files if f.status == "failed"]
    fields([
        (_("Files"), _("{found} — {done} processed, {earlier} already done earlier, {failed} failed").format(
            found=n_("{n} file found", "{n} files found", len(files)), done=summary.count("done"),
            earlier=summary.count("skipped"), failed=len(failed))),
        (_("Pages"), _("{total} — {now} read now ({blank} blank), {earlier} done earlier, {failed} failed").format(
            total=n_("{n} page", "{n} pages", pages), now=read_now, blank=blank, earlier=earlier,
            failed=failed_pages)),
        (_("Documents"), _("{docs} — {review} to be reviewed by a clerk").format(
            docs=n_("{n} new document", "{n} new documents", docs), review=review)),
        (_("Time"), _("{seconds:.1f} s ({rate:.2f} pages/s)").format(seconds=summary.seconds, rate=rate)),
        (_("Archive"), str(archive)),
    ], out)
    if failed:
        print(_("Failed files (kept in the archive's quarantine):"), file=out)
        for f in failed:
            print(f"  {reason_text(f) if reasons else f.source}", file=out)
    twins = [f for f in files if f.status == "skipped" and (f.error or "").startswith("same bytes as ")
             and f.error != f"same bytes as {f.source}"]
    if twins:
        print(_("Read once (the same bytes under another name):"), file=out)
        for f in twins:
            print("  " + _("{source}: same bytes as {other}").format(
                source=f.source, other=f.error.removeprefix("same bytes as ")), file=out)
    print(_("Next:"), file=out)
    for step in next_steps(len(failed), review, docs):
        print(f"  - {step}", file=out)


def next_steps(failed: int, review: int, docs: int) -> list[str]:
    """What a clerk does after a run, in order."""
    steps = []
    if failed:
        steps.append(_("fix or scan again the failed files, then run the same command again "
                       "(finished files are not redone)"))
    if review:
        steps.append(_("check the documents marked REVIEW: digitize list --review"))
    steps.append(_("pages worth scanning again: digitize report --rescan"))
    if docs:
        steps.append(_("hand the reviewed documents over: digitize publish --ready"))
    return steps
