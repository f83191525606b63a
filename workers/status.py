"""``digitize status``: the queues, the workers and the pace, for operators."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workers.cluster import Cluster
from workers.queue import QUEUES


def status(cluster: Cluster, window_minutes: int = 5) -> dict[str, Any]:
    """Per queue: waiting, running, scheduled retries, failed, finished and the oldest waiting job;
    pages per minute over the last ``window_minutes`` (from the index); files by status."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    now = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {"queues": {}}
    for name in QUEUES:
        q = cluster.queue(name)
        oldest = None
        first = q.get_job_ids(0, 0)
        if first:
            job = Job.fetch(first[0], connection=cluster.redis) if Job.exists(first[0], cluster.redis) else None
            if job is not None and job.enqueued_at is not None:
                at = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=dt.UTC)
                oldest = {"job_id": job.id, "waiting_seconds": round((now - at).total_seconds(), 1)}
        out["queues"][name] = {
            "waiting": q.count,
            "running": StartedJobRegistry(queue=q).count,
            "scheduled": ScheduledJobRegistry(queue=q).count,
            "failed": FailedJobRegistry(queue=q).count,
            "finished": FinishedJobRegistry(queue=q).count,
            "oldest_waiting": oldest,
        }
    since = now - dt.timedelta(minutes=window_minutes)
    out["pages_per_minute"] = round(cluster.index.pages_updated_since(since) / window_minutes, 2)
    out["files"] = cluster.index.files_by_status()
    from rq import Worker

    out["workers"] = len(Worker.all(connection=cluster.redis))
    return out
