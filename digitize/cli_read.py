"""``digitize list``, ``show`` and ``report``: the archive read back as aligned tables (or JSON with --json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from digitize import i18n, terminal
from digitize.config import Settings
from digitize.i18n import _


def _open_backends(settings: Settings):  # type: ignore[no-untyped-def]
    from digitize.cli import _open_backends as open_backends

    return open_backends(settings)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """List documents (or files with --files) as a table, or JSON with --json."""
    from digitize.handoff.export import export_record

    index, _store = _open_backends(settings)
    if args.files:
        files = list(index.list_files(status=args.status))
        if args.json:
            print(json.dumps([{k: f[k] for k in ("source", "status", "page_count", "error_message")} | {
                "sha256": f["sha256"]} for f in files], ensure_ascii=False, indent=2, default=str))
            return 0
        terminal.table([_("STATUS"), _("PAGES"), _("FILE"), _("REASON")],
                       [(_(f["status"]), f["page_count"], f["source"], f["error_message"]) for f in files], right=(1,))
        return 0
    docs = [d for d in index.list_documents(dossier_id=args.dossier) if d.needs_review or not args.review]
    if args.json:
        print(json.dumps([export_record(d) | {"text": None} for d in docs], ensure_ascii=False, indent=2))
        return 0
    rows = []
    for d in docs:
        md = d.metadata.values()
        state = _("REVIEW") if d.needs_review else _("ok")
        rows.append((d.doc_id, d.dossier_id, state, md["doc_type"], md["number"], md["issued_date"],
                     f"{d.source} p{','.join(map(str, d.pages))}", _reasons(d.reasons)))
    terminal.table([_("DOCUMENT"), _("DOSSIER"), _("STATE"), _("TYPE"), _("NUMBER"), _("DATE"), _("FILE, PAGES"),
                    _("WHY REVIEW")], rows)
    print(terminal.n_("{n} document", "{n} documents", len(docs)), file=sys.stderr)
    return 0


def _reasons(reasons: list[str] | tuple[str, ...]) -> str:
    """Review reasons as the clerk reads them: in Vietnamese (the station's texts) when the language is."""
    if i18n.language() == "vi":
        from digitize.api.review.texts import doc_reason

        return "; ".join(doc_reason(r) for r in reasons)
    return "; ".join(reasons)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: marked for the catalogue, translated later
    return message


_LABELS = {"doc_type": N_("Type"), "number": N_("Number"), "issued_date": N_("Date"), "issuer": N_("Issuer"),
           "place": N_("Place"), "summary": N_("Summary"), "signer": N_("Signer"),
           "signer_position": N_("Signer's position")}
FILE_STATES = (N_("done"), N_("failed"), N_("processing"), N_("queued"))


def _show_document(rec: dict[str, Any]) -> None:
    md = rec["metadata"]
    terminal.fields([(_("Document"), rec["doc_id"]), (_("Dossier"), rec["dossier_id"]),
                     (_("File, pages"), f"{rec['source']} p{','.join(map(str, rec['pages']))}")]
                    + [(_(label), md.get(k)) for k, label in _LABELS.items()]
                    + [(_("Needs review"), _reasons(rec["review_reasons"]) if rec["needs_review"] else _("no"))])
    for h in rec.get("history", []):
        print(f"  {h.get('at', '')}  {h.get('who', '')}  {h.get('action', '')}")
    if isinstance(rec.get("text"), str) and not rec["text"].startswith("<"):
        print("\n" + rec["text"])


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    """Show a document (by id) or a dossier (by code); JSON with --json."""
    from digitize.errors import NotFoundError
    from digitize.handoff.export import export_record

    index, _store = _open_backends(settings)
    try:
        doc = index.get_document(args.id)
        rec = export_record(doc)
        rec["history"] = [{k: str(v) if k == "at" else v for k, v in h.items()} for h in index.history_of(doc.doc_id)]
        if not args.text:
            rec["text"] = f"<{len(doc.text)} characters; --text to show>"
        if args.json:
            print(json.dumps(rec, ensure_ascii=False, indent=2))
        else:
            _show_document(rec)
        return 0
    except NotFoundError:
        docs = list(index.list_documents(dossier_id=args.id, kind=None))
        if not docs:
            raise NotFoundError(_("no document or dossier {id!r}").format(id=args.id)) from None
        out = {"dossier_id": args.id, "documents": [export_record(d) for d in docs]}
        if not args.text:
            for r in out["documents"]:
                r.pop("text")
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
        print(_("Dossier {code}: {docs}").format(code=args.id, docs=terminal.n_("{n} document", "{n} documents",
                                                                              len(docs))))
        for rec in out["documents"]:
            print()
            _show_document(rec)
        return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """The office report; with --pages scan quality per page, --rescan only the pages to scan again."""
    if not (args.pages or args.rescan):
        from digitize.cli_ops import cmd_office_report

        return cmd_office_report(args, settings)
    index, _store = _open_backends(settings)
    rows = []
    for r in index.list_pages():
        issues = json.loads(r["issues"])
        if args.rescan and not issues and r["status"] != "failed":
            continue
        why = "; ".join(issues)
        if r["status"] == "failed":
            why = "; ".join(x for x in (why, r["error"] or _("failed")) if x)
        rows.append({"file": r["source"], "page": r["page"], "skew_deg": round(r["skew_deg"], 1),
                     "sharpness": round(r["blur"], 2), "dpi": round(r["dpi"]), "blank": bool(r["blank"]), "why": why})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    terminal.table([_("FILE"), _("PAGE"), _("SKEW °"), _("SHARPNESS"), _("DPI"), _("BLANK"), _("TO CHECK")],
                   [(r["file"], r["page"], f"{r['skew_deg']:+.1f}", f"{r['sharpness']:.2f}", r["dpi"],
                     _("yes") if r["blank"] else "", r["why"]) for r in rows], right=(1, 2, 3, 4))
    from digitize.page.preprocess import BLUR_MIN, MIN_DPI

    print(_("SKEW: the page's tilt as scanned (straightened before reading); SHARPNESS: about 1 for a sharp "
            "scan, below {blur} the text reads badly; DPI below {dpi:.0f}: scan again.").format(
        blur=BLUR_MIN, dpi=MIN_DPI), file=sys.stderr)
    if args.rescan:
        print(terminal.n_("{n} page to scan again", "{n} pages to scan again", len(rows)), file=sys.stderr)
    return 0
