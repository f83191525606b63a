"""``digitize watch`` (a scan folder as a service) and the office report, for the ``digitize`` command."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

from digitize.config import Settings
from digitize.errors import ConfigError, InputError


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Process each scan dropped into a folder once it is complete; until stopped (or --once)."""
    from digitize.cli import _open_backends
    from digitize.embedded.watch import Watcher, WatchOptions, WatchState, embedded_processor, queue_processor

    folder = Path(args.folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    for d in (args.done_dir, args.failed_dir):
        if d is not None and _inside_visible(Path(d), folder):
            raise ConfigError(f"{d} is inside the watched folder: its files would be taken again "
                              "(use a folder outside it, or a hidden one such as .done)")
    options = WatchOptions(folder=folder, settle=args.settle, poll=args.poll, marker=args.marker,
                           done_dir=args.done_dir, failed_dir=args.failed_dir)
    if args.enqueue or settings.object_store == "s3":
        from workers import cluster as distributed

        process = queue_processor(distributed.connect(settings))
    else:
        index, store = _open_backends(settings)
        process = embedded_processor(settings, index, store)
    settings.archive.mkdir(parents=True, exist_ok=True)
    watcher = Watcher(options, WatchState.load(settings.archive, folder), process)
    before = {sig: signal.signal(sig, lambda *_: watcher.stop.set())  # finish the batch in hand, then stop
              for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        watcher.run(once=args.once)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    return 0


def _inside_visible(path: Path, folder: Path) -> bool:
    try:
        rel = path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return not any(part.startswith(".") for part in rel.parts)


def add_watch(add: Any) -> None:
    """The ``watch`` subcommand's arguments."""
    sp = add("watch", cmd_watch, "process each scan dropped into a folder, once it is complete (a service)")
    sp.add_argument("folder", type=Path)
    sp.add_argument("--settle", type=float, default=5.0,
                    help="seconds a file must stay unchanged, with no writer, before it is taken (default 5)")
    sp.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the folder (default 2)")
    sp.add_argument("--marker", metavar="SUFFIX",
                    help="take FILE only once FILE+SUFFIX exists (e.g. .done written by the scanner)")
    sp.add_argument("--done-dir", type=Path, help="move processed originals here (default: leave them)")
    sp.add_argument("--failed-dir", type=Path, help="move failed originals here (default: leave them)")
    sp.add_argument("--enqueue", action="store_true",
                    help="distributed mode: queue the files for the workers (default with DIGITIZE_OBJECT_STORE=s3)")
    sp.add_argument("--once", action="store_true", help="take what is in the folder, then exit")
    sp.add_argument("--jobs", "-j", type=int, help="pages processed in parallel (default: number of cores)")


def cmd_office_report(args: argparse.Namespace, settings: Settings) -> int:
    """Counts of a period in the office's terms: a table, or --csv / --xlsx / --json."""
    import json
    import sys

    from digitize import terminal
    from digitize.cli import _open_backends
    from digitize.handoff import report, report_files

    period = report.parse_period(args.period, getattr(args, "from"), args.to)
    index, _store = _open_backends(settings)
    rep = report.build(index, period, args.by)
    if args.json:
        print(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
    elif args.csv:
        if args.csv == "-":
            report_files.write_csv(rep, sys.stdout)
        else:
            with open(args.csv, "w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel reads it as UTF-8
                report_files.write_csv(rep, out)
    if args.xlsx:
        report_files.write_xlsx(rep, Path(args.xlsx))
    if not (args.json or args.csv == "-"):
        if not args.csv and not args.xlsx:
            terminal.table(report_files.headers(rep), report_files.lines(rep),
                           right=range(1, len(report.COUNTS) + 1))
        for path in (args.csv, args.xlsx):
            if path:
                print(f"{path}", file=sys.stderr)
    return 0


def add_report_args(sp: Any) -> None:
    """The office report's arguments on the ``report`` subcommand."""
    when = sp.add_mutually_exclusive_group()
    when.add_argument("--period", help="2026-Q3, 2026-07 or 2026 (default: everything)")
    when.add_argument("--from", metavar="DATE", help="first day (YYYY-MM-DD), with or without --to")
    sp.add_argument("--to", metavar="DATE", help="last day (YYYY-MM-DD), included")
    sp.add_argument("--by", choices=("issuer", "type", "dossier", "batch", "clerk"), help="one row per ...")
    sp.add_argument("--csv", metavar="FILE", help="write CSV ('-': standard output)")
    sp.add_argument("--xlsx", metavar="FILE", help="write a formatted Excel workbook")
