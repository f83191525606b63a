"""Queue jobs run directly (no Redis needed for these paths): each step survives being run again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from digitize.config import load_settings
from digitize.errors import StorageError
from storage import layout
from storage.index import Index
from storage.objects import LocalObjectStore
from workers.cluster import Cluster


class OutageOnce(LocalObjectStore):
    """A folder store whose first write under ``prefix`` fails, as during an S3 outage."""

    def __init__(self, root: Path, prefix: str) -> None:
        super().__init__(root)
        self.prefix, self.failed = prefix, False

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        if key.startswith(self.prefix) and not self.failed:
            self.failed = True
            raise StorageError("object storage unreachable (test)")
        super().put_file(key, path, content_type)


def test_a_rejected_input_leaves_no_original_behind_when_quarantine_is_retried(tmp_path: Path) -> None:
    from workers import jobs

    settings = load_settings(archive=tmp_path / "archive", cache_dir=tmp_path / "cache", object_store="local")
    settings.archive.mkdir()
    store = OutageOnce(settings.archive / "objects", "quarantine/")
    index = Index.from_url(settings.index_db_url())
    data = b"%PDF-1.4\n%this is no PDF at all\n" * 4
    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / "broken.pdf"
    src.write_bytes(data)
    okey = layout.original_key(sha, "pdf")
    store.put_file(okey, src)
    index.upsert_file(sha, source="broken.pdf", size=len(data), kind="pdf", page_count=0, status="queued",
                      original_key=okey)
    jobs.use(Cluster(settings=settings, redis=None, index=index, store=store))  # type: ignore[arg-type]

    with pytest.raises(StorageError):
        jobs.ingest(sha)  # the outage hits the quarantine copy: the job fails and rq runs it again
    assert store.exists(okey)
    out = jobs.ingest(sha)
    assert out["error"] == "corrupt"
    assert not store.exists(okey), "the original of a rejected input was left in storage"
    assert store.exists(f"quarantine/{sha}/broken.pdf")
    row = index.get_file(sha)
    assert row is not None and row["status"] == "failed" and row["original_key"] is None
    record = json.loads(store.get_bytes(layout.file_record_key(sha)))
    assert record["status"] == "failed" and not record.get("original_key")
