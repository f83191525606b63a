"""The ``digitize`` command: a thin edge over the library (argument parsing, settings, output)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from digitize import terminal
from digitize.cli_read import cmd_list, cmd_report, cmd_show  # noqa: F401  (reading back: tables, --json)
from digitize.config import Settings, load_settings
from digitize.errors import DigitizeError, InputError
from digitize.i18n import _

log = logging.getLogger("digitize")

EXIT_FILES_FAILED = 1
EXIT_INTERRUPTED = 130


class NoScansError(InputError):
    """``digitize run`` was given nothing to process."""

    reason = "no_scans"


def _open_backends(settings: Settings):  # type: ignore[no-untyped-def]
    """The index and object store the settings select (created here, at the edge)."""
    import storage

    store, index = storage.open(settings)
    return index, store


# --- run -------------------------------------------------------------------------------------------


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    from digitize.embedded.driver import FileReport, Progress

    if not enabled:
        class Plain(Progress):
            def file_done(self, report: FileReport) -> None:
                print(terminal.file_line(report), flush=True)
        return Plain()

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    class RichProgress(Progress):
        def __init__(self) -> None:
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                           TimeRemainingColumn(), transient=False)
            self.files = self.bar.add_task(_("files"), total=0, rate="")
            self.pages = self.bar.add_task(_("pages"), total=0, rate="")
            self.bar.start()

        def start(self, files: int) -> None:
            self.bar.update(self.files, total=files)

        def add_pages(self, n: int) -> None:
            t = self.bar.tasks[self.pages]
            self.bar.update(self.pages, total=(t.total or 0) + n)

        def page_done(self) -> None:
            self.bar.advance(self.pages)
            t = self.bar.tasks[self.pages]
            speed = t.finished_speed or t.speed
            self.bar.update(self.pages, rate=_("{rate:.2f} pages/s").format(rate=speed) if speed else "")

        def file_done(self, report: FileReport) -> None:
            self.bar.advance(self.files)

        def stop(self) -> None:
            self.bar.stop()

    return RichProgress()


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Process files and folders; exit 0 only when every file was processed."""
    from digitize.embedded import driver as embedded

    missing = [p for p in args.paths if not Path(p).exists()]
    for p in missing:
        print(f"digitize: {p}: " + _("no such file or folder"), file=sys.stderr)
    if len(missing) == len(args.paths):
        return InputError.exit_code
    _check_there_are_scans([Path(p) for p in args.paths if Path(p).exists()], missing)
    index, store = _open_backends(settings)
    show_bar = sys.stderr.isatty() and not args.no_progress
    try:
        summary = embedded.run([Path(p) for p in args.paths if Path(p).exists()], settings, index, store,
                               _progress(show_bar), keep_pages=args.keep_pages)
    except KeyboardInterrupt:
        print("\ndigitize: " + _("stopped. Finished pages are saved; run the same command again to resume."),
              file=sys.stderr)
        return EXIT_INTERRUPTED
    terminal.run_summary(summary, settings.archive, reasons=show_bar)
    return 0 if summary.ok and not missing else EXIT_FILES_FAILED


def _check_there_are_scans(paths: list[Path], missing: list[str]) -> None:
    """Raise :class:`NoScansError` when the paths hold no file at all, or no file that is a scan."""
    from digitize.page.ingest import detect_kind, discover

    found = list(discover(paths))
    where = ", ".join(map(str, paths)) or ", ".join(missing)
    if not found:
        raise NoScansError(_("no scans to process in {where}: no files there").format(where=where))
    for cand in found:
        try:
            with open(cand.path, "rb") as f:
                detect_kind(f.read(1024))
            return
        except (InputError, OSError):
            continue
    raise NoScansError(_("no scans to process in {where}: {files}, none of them a PDF, TIFF, JPEG or PNG").format(
        where=where, files=terminal.n_("{n} file", "{n} files", len(found))))


# --- reading back -----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the JSONL export (contract 2)."""
    from digitize.handoff.export import write_jsonl

    index, _store = _open_backends(settings)
    docs = index.list_documents()
    if args.jsonl == "-":
        n = write_jsonl(docs, sys.stdout)
    else:
        with open(args.jsonl, "w", encoding="utf-8") as out:
            n = write_jsonl(docs, out)
    print(f"{n} documents written to {args.jsonl}", file=sys.stderr)
    return 0


# --- segmentation tools ------------------------------------------------------------------------------


def cmd_separator(args: argparse.Namespace, settings: Settings) -> int:
    """Print separator sheets (one A4 page per dossier code, QR = the code)."""
    from digitize.page.separator import write_sheets

    write_sheets(args.codes, Path(args.output))
    print(f"{len(args.codes)} separator sheets written to {args.output}", file=sys.stderr)
    return 0


def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    """Attach a document to a dossier code by hand."""
    from digitize.handoff import manual

    index, _store = _open_backends(settings)
    manual.assign(index, args.doc_id, args.code, who=args.who)
    print(f"{args.doc_id} -> {args.code}")
    return 0


def cmd_split(args: argparse.Namespace, settings: Settings) -> int:
    """Split a document in two before a page; both parts are re-made (PDF, text, metadata)."""
    from digitize.handoff import review

    index, store = _open_backends(settings)
    a, b = review.split(index, store, args.doc_id, args.at_page, review.Actor(args.who),
                        task=review.page_task(settings))
    print(f"{a.doc_id} pages {list(a.pages)}; {b.doc_id} pages {list(b.pages)}")
    return 0


def cmd_merge(args: argparse.Namespace, settings: Settings) -> int:
    """Merge documents of the same file into one, re-made (PDF, text, metadata)."""
    from digitize.handoff import review

    index, store = _open_backends(settings)
    doc = review.merge(index, store, args.doc_ids, review.Actor(args.who), task=review.page_task(settings))
    print(f"{doc.doc_id} pages {list(doc.pages)}")
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    """``fix`` and ``approve``: see digitize/handoff/review.py."""
    from digitize.handoff import review

    return getattr(review, f"cmd_{args.command}")(args, settings)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the portal HTTP API."""
    from digitize.api.server import serve

    serve(settings, args.host or settings.api_host, args.port or settings.api_port)
    return 0


# --- hand-off: signing, publishing, API keys -------------------------------------------------------


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    """Sign the electronic copies of reviewed documents ahead of hand-off (idempotent)."""
    from digitize.errors import ConfigError
    from digitize.handoff import sign
    from digitize.handoff.publish import select

    signer = sign.load_signer(settings)
    if signer is None:
        raise ConfigError("no certificate: set DIGITIZE_SIGN_PKCS12 (and DIGITIZE_SIGN_PKCS12_PASSWORD)")
    index, store = _open_backends(settings)
    docs = select(index, dossier=args.dossier, ready=args.ready)
    signed = skipped = 0
    for doc in docs:
        if doc.needs_review or not doc.pdf_key:
            skipped += 1
            continue
        sig = sign.ensure_signed(doc, index, store, signer, who=args.who)
        print(f"{doc.doc_id}  {doc.dossier_id}  signed {sig.signed_at.astimezone(sign.VIETNAM).isoformat()}  "
              f"{sig.signed_sha256}")
        signed += 1
    print(f"{signed} documents signed by {signer.agency}; {skipped} skipped (need review or have no PDF)",
          file=sys.stderr)
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    """Push packages of reviewed documents to the portal; exit 1 when any document failed."""
    from digitize.handoff import publish
    from digitize.handoff.sign import load_signer

    portal = publish.Portal.from_settings(settings)
    signer = None if args.dry_run else load_signer(settings)
    index, store = _open_backends(settings)
    docs = publish.select(index, dossier=args.dossier, ready=args.ready)
    outcomes = publish.publish(docs, index, store, portal, who=args.who, signer=signer, dry_run=args.dry_run)
    for o in outcomes:
        extra = f" after {o.attempts} attempt(s)" if o.attempts > 1 else ""
        signed = "" if o.status == "skipped" else (" signed" if o.signed else " UNSIGNED")
        why = f": {o.message}" if o.message else ""
        print(f"{o.status:<13} {o.doc_id}  {o.dossier_id or '-'}{signed}{extra}{why}")
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("published", "would publish", "already", "skipped", "failed")}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("published", "failed")) +
          f" — portal {portal.safe_url}", file=sys.stderr)
    return EXIT_FILES_FAILED if counts["failed"] else 0


def cmd_key(args: argparse.Namespace, settings: Settings) -> int:
    """Create, list or revoke API keys (the first admin key can only be made here)."""
    from storage import access

    index, _store = _open_backends(settings)
    if args.action == "create":
        if not args.name or not args.role:
            raise DigitizeError("key create needs NAME and --role portal|clerk|admin")
        token = access.create_key(index, args.name, args.role)
        access.record(index, who=args.who, role=None, action="key_create", target=args.name, ip=None, status=201,
                      detail={"role": args.role, "via": "cli"})
        print(token)
        print(f"API key {args.name!r} ({args.role}) created; the token above is shown only now.", file=sys.stderr)
    elif args.action == "revoke":
        if not args.name:
            raise DigitizeError("key revoke needs NAME")
        access.revoke_key(index, args.name)
        access.record(index, who=args.who, role=None, action="key_revoke", target=args.name, ip=None, status=204,
                      detail={"via": "cli"})
        print(f"API key {args.name!r} revoked", file=sys.stderr)
    else:
        for k in access.list_keys(index):
            state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
            print(f"{k['name']:<32} {k['role']:<7} {k['key_id']}  created {k['created_at']:%Y-%m-%d}  {state}")
    return 0


# --- distributed mode: queues on Redis, S3, PostgreSQL ----------------------------------------------


def cmd_enqueue(args: argparse.Namespace, settings: Settings) -> int:
    """Store the originals in object storage and queue their processing; exit 1 when a file was rejected."""
    from workers.cluster import connect
    from workers.queue import enqueue_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    for p in missing:
        print(f"digitize: {p}: no such file or folder", file=sys.stderr)
    cluster = connect(settings)
    rep = enqueue_paths([Path(p) for p in args.paths if Path(p).exists()], cluster)
    for line in rep.skipped:
        print(f"skipped  {line}")
    for line in rep.failed:
        print(f"rejected {line}")
    print(f"{len(rep.queued)} files queued, {len(rep.skipped)} skipped, {len(rep.failed)} rejected "
          f"(quarantined); watch with `digitize status`", file=sys.stderr)
    return EXIT_FILES_FAILED if rep.failed or missing else 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run a queue worker (until stopped, or until the queues are empty with --burst)."""
    from workers.worker import run

    return run(settings, args.queue, burst=args.burst)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Per queue: waiting, running, retries scheduled, failed, finished, oldest waiting job; pages/min."""
    from workers.cluster import connect
    from workers.status import status

    st = status(connect(settings))
    if args.json:
        print(json.dumps(st, ensure_ascii=False, indent=2))
        return 0
    print(f"{'queue':<8} {'waiting':>8} {'running':>8} {'retrying':>8} {'failed':>7} {'finished':>9}  oldest waiting")
    for name, q in st["queues"].items():
        oldest = (f"{q['oldest_waiting']['waiting_seconds']:.0f}s ({q['oldest_waiting']['job_id']})"
                  if q["oldest_waiting"] else "-")
        print(f"{name:<8} {q['waiting']:>8} {q['running']:>8} {q['scheduled']:>8} {q['failed']:>7} "
              f"{q['finished']:>9}  {oldest}")
    files = ", ".join(f"{n} {s}" for s, n in sorted(st["files"].items())) or "none"
    print(f"pages/min (last 5 min): {st['pages_per_minute']:.1f}   workers: {st['workers']}   files: {files}")
    return 0


def cmd_retry_failed(args: argparse.Namespace, settings: Settings) -> int:
    """Re-queue failed jobs and failed files."""
    from workers.cluster import connect
    from workers.recovery import retry_failed

    counts = retry_failed(connect(settings))
    print(f"{counts['jobs']} failed jobs and {counts['files']} failed files queued again", file=sys.stderr)
    return 0


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    """Re-queue every file the index says is unfinished (e.g. after Redis restarted empty)."""
    from workers.cluster import connect
    from workers.recovery import reconcile

    counts = reconcile(connect(settings))
    print(f"{counts['files']} unfinished files queued again; intermediates of {counts['cleaned']} finished "
          f"files removed", file=sys.stderr)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the index from object storage alone."""
    import storage
    from storage.reindex import reindex

    store, index = storage.open(settings)
    counts = reindex(store, index)
    print(f"index rebuilt: {counts['files']} files, {counts['pages']} pages, {counts['documents']} documents",
          file=sys.stderr)
    return 0


# --- parser ---------------------------------------------------------------------------------------------


Command = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also read by tests that check docker-compose commands)."""
    import getpass

    p = argparse.ArgumentParser(prog="digitize", description="Digitise scanned administrative results.")
    p.add_argument("--archive", type=Path, help="archive folder (default: $DIGITIZE_ARCHIVE or ./digitize-archive)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, library messages included")
    p.add_argument("--lang", choices=("en", "vi"), help="language of the messages (default: from LANG)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--archive", type=Path, default=argparse.SUPPRESS, help="archive folder")
        sp.set_defaults(func=func)
        return sp

    sp = add("run", cmd_run, "process scanned files and folders (recursively)")
    sp.add_argument("paths", nargs="+", help="files or folders")
    sp.add_argument("--jobs", "-j", type=int, help="pages processed in parallel (default: number of cores)")
    sp.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    sp.add_argument("--keep-pages", action="store_true", help="developers: keep page results (scripts/refinish.py)")

    sp = add("export", cmd_export, "write one JSON line per document")
    sp.add_argument("--jsonl", required=True, help="output file ('-' for standard output)")

    sp = add("list", cmd_list, "list documents (or files)")
    sp.add_argument("--dossier", help="only this dossier code")
    sp.add_argument("--files", action="store_true", help="list input files and their status instead")
    sp.add_argument("--status", help="with --files: only this status (done, failed, processing)")
    sp.add_argument("--review", action="store_true", help="only documents that need a clerk's review")
    sp.add_argument("--json", action="store_true", help="as JSON")

    sp = add("show", cmd_show, "show a document (by id) or a dossier (by code)")
    sp.add_argument("id")
    sp.add_argument("--text", action="store_true", help="include the OCR text")
    sp.add_argument("--json", action="store_true", help="as JSON (the export record and the history)")

    sp = add("report", cmd_report, "counts of a period in the office's terms (or, with --pages, scan quality)")
    from digitize.cli_ops import add_report_args

    add_report_args(sp)
    sp.add_argument("--pages", action="store_true", help="scan quality of every page")
    sp.add_argument("--rescan", action="store_true", help="only pages that should be scanned again")
    sp.add_argument("--json", action="store_true", help="as JSON")

    sp = add("separator", cmd_separator, "print separator sheets for dossier codes")
    sp.add_argument("codes", nargs="+", metavar="CODE")
    sp.add_argument("-o", "--output", required=True, help="output PDF")

    who = getpass.getuser()
    sp = add("assign", cmd_assign, "attach a document to a dossier code")
    sp.add_argument("doc_id")
    sp.add_argument("code")
    sp.add_argument("--who", default=who)

    sp = add("split", cmd_split, "split a document before a page")
    sp.add_argument("doc_id")
    sp.add_argument("at_page", type=int)
    sp.add_argument("--who", default=who)

    sp = add("merge", cmd_merge, "merge documents into one")
    sp.add_argument("doc_ids", nargs="+")
    sp.add_argument("--who", default=who)

    sp = add("fix", cmd_review, "correct one metadata field of a document (validated, kept in history)")
    sp.add_argument("doc_id")
    sp.add_argument("field", help="doc_type, number, issued_date, issuer, place, summary, signer, signer_position")
    sp.add_argument("value", help="the new value ('' clears it); dates as YYYY-MM-DD or DD/MM/YYYY")
    sp.add_argument("--who", default=who)

    sp = add("approve", cmd_review, "approve a reviewed document (re-makes metadata.json, index, manifest)")
    sp.add_argument("doc_id")
    sp.add_argument("--who", default=who)

    sp = add("serve", cmd_serve, "run the portal HTTP API and the review station (/review)")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)

    for name, func, text in (("sign", cmd_sign, "sign the electronic copies of reviewed documents"),
                             ("publish", cmd_publish, "push packages of reviewed documents to the portal")):
        sp = add(name, func, text)
        which = sp.add_mutually_exclusive_group(required=True)
        which.add_argument("--dossier", metavar="CODE", help="the documents of one dossier")
        which.add_argument("--ready", action="store_true", help="every reviewed document with a dossier code")
        sp.add_argument("--who", default=who, help="who, in the audit log")
        if name == "publish":
            sp.add_argument("--dry-run", action="store_true", help="list what would be published; send nothing")

    sp = add("key", cmd_key, "manage API keys of the portal API")
    sp.add_argument("action", choices=("create", "list", "revoke"))
    sp.add_argument("name", nargs="?", help="the key's name (who, in the audit log)")
    sp.add_argument("--role", choices=("portal", "clerk", "admin"))
    sp.add_argument("--who", default=who, help="who, in the audit log")

    sp = add("enqueue", cmd_enqueue, "distributed: store scans in object storage and queue them for the workers")
    sp.add_argument("paths", nargs="+", help="files or folders")
    sp = add("worker", cmd_worker, "distributed: run a queue worker")
    sp.add_argument("--queue", "-q", action="append", choices=("ingest", "ocr", "extract"),
                    help="serve only this queue (repeatable; default: extract, ocr, ingest)")
    sp.add_argument("--burst", action="store_true", help="exit when the queues are empty (retries included)")
    sp = add("status", cmd_status, "distributed: queues, running and failed jobs, pages/min")
    sp.add_argument("--json", action="store_true", help="as JSON")
    add("retry-failed", cmd_retry_failed, "distributed: queue failed jobs and failed files again")
    add("reconcile", cmd_reconcile, "distributed: queue again every file the index says is unfinished")
    add("reindex", cmd_reindex, "rebuild the index from object storage alone")
    from digitize.cli_ops import add_watch

    add_watch(add)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitize`` command."""
    from digitize.i18n import set_language
    from digitize.logs import configure

    args = build_parser().parse_args(argv)
    set_language(args.lang)
    service = args.command in SERVICES
    configure("DEBUG" if args.verbose else "INFO", clerk=not (args.verbose or service))
    try:
        settings = load_settings(archive=getattr(args, "archive", None), jobs=getattr(args, "jobs", None))
        return args.func(args, settings)
    except DigitizeError as e:
        print(f"digitize: {_('error')}: {e}", file=sys.stderr)
        return e.exit_code


SERVICES = ("serve", "worker", "watch")  # long-running: timestamped log lines with the job id


if __name__ == "__main__":
    sys.exit(main())
