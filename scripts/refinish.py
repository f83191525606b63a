#!/usr/bin/env python3
"""Re-run the document stages (segmentation, extraction, validation) on an archive's stored page results,
without OCR, and write the export records — for developing extraction against a corpus in seconds.

    python scripts/refinish.py ARCHIVE OUT.jsonl [--only SUBSTRING]

The archive must keep its page results: make it with ``digitize run --keep-pages`` (a done file's page
results are dropped otherwise; only a file with a failed page keeps them). Nothing in the
archive is changed: documents are made in memory and exported, not stored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from digitize.document.reocr import make_reocr
from digitize.handoff.export import export_record
from digitize.models import InputKind, SourceFile
from digitize.pipeline.file import PagePdfs
from digitize.pipeline.page import make_document, plan_file
from digitize.pipeline.pagestore import load_stored_page
from storage.index import Index
from storage.objects import LocalObjectStore


def main(argv: list[str] | None = None) -> int:
    """Refinish every file of the archive; print how long it took."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archive", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--only", help="only files whose source contains this")
    args = ap.parse_args(argv)
    index = Index.from_url(f"sqlite:///{args.archive / 'index.sqlite'}")
    store = LocalObjectStore(args.archive / "objects")
    start = time.monotonic()
    n = 0
    with args.out.open("w", encoding="utf-8") as out:
        for row in index.list_files():
            if args.only and args.only not in row["source"]:
                continue
            if row["status"] != "done" and not row["page_count"]:
                continue  # rejected input: no pages
            pages = int(row["page_count"] or 0)
            results = [r for p in range(1, pages + 1) if (r := load_stored_page(store, row["sha256"], p))]
            if len(results) != pages:
                print(f"{row['source']}: {pages - len(results)} page results missing, skipped", file=sys.stderr)
                continue
            src = SourceFile(path=row["source"], source=row["source"], sha256=row["sha256"], size=row["size"],
                             kind=InputKind(row["kind"] or "pdf"), page_count=pages)
            seg = plan_file(src, results)
            pdfs = PagePdfs(store, src.sha256)
            reocr = make_reocr(results, pdfs.get)
            for plan in seg.plans:
                doc = make_document(src, plan, results, reocr=reocr)
                out.write(json.dumps(export_record(doc), ensure_ascii=False) + "\n")
                n += 1
                pdfs.clear()
    print(f"{n} records in {time.monotonic() - start:.1f}s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
