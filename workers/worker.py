"""The worker entry point (``digitize worker``): one rq worker over the stage queues.

OpenCV, the pipeline's modules, the OCR lexicon and the gazetteer are loaded once per worker, and
Tesseract runs one thread per job (``OMP_THREAD_LIMIT=1``): scale with more workers, not more threads.
Jobs run in the worker process itself (rq's ``SimpleWorker``), not in a work-horse forked per job:
the fork, a new PostgreSQL connection, a new S3 client and SQLAlchemy's statement compilation cost
~40 ms of CPU per job (measured: 100 trivial jobs, 64 ms vs 25 ms each), which on a one-page job is
a real share of the distributed path's overhead.

Crash safety: a thread heartbeats the running job every ``job_heartbeat`` seconds. Every worker's
maintenance (at most every few seconds, one at a time) re-queues jobs whose heartbeat stopped
``job_stale_after`` seconds ago — a worker killed with ``kill -9``, a native library crashing the
worker on a page, a machine lost — through rq's retry, or into the failed registry when no retry is
left. The process manager (compose's ``restart:``) brings a crashed worker back.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from digitize.config import Settings
from digitize.errors import ConfigError
from workers.cluster import Cluster, connect
from workers.queue import QUEUES, pending_jobs
from workers.recovery import reap_abandoned

log = logging.getLogger(__name__)

PRELOAD = ("img2pdf", "pikepdf", "pytesseract", "zxingcpp", "digitize.page.codes", "digitize.page.ingest",
           "digitize.page.pdf", "digitize.page.preprocess", "digitize.page.tesseract.ocr",
           "digitize.document.extract", "digitize.document.reocr", "digitize.document.segment",
           "digitize.pipeline.file")


def _prepare_process() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2  # once per worker: forked jobs inherit it

    cv2.setNumThreads(1)
    # Everything a job needs, loaded before the fork: a work-horse that imported the pipeline's modules
    # and loaded the OCR lexicon and the gazetteer itself would pay for it on every page.
    for name in PRELOAD:
        importlib.import_module(name)
    from digitize.page import pdf
    from digitize.text import correct, gazetteer

    correct.lexicon()
    gazetteer.lookup("Hà Nội", "thành phố")
    pdf.srgb_icc()


def make_worker(cluster: Cluster, queues: Sequence[str], *, burst: bool = False) -> Any:
    """An rq worker on ``queues`` that runs jobs in its own process with a heartbeat thread, and
    re-queues abandoned jobs during its maintenance. ``burst``: the worker is to be run with
    ``work(burst=True)``; it then starts no scheduler process (see ``run_maintenance_tasks``)."""
    from rq import SimpleWorker
    from rq.worker.base import BaseWorker, WorkerStatus

    s = cluster.settings

    class DigitizeWorker(SimpleWorker):
        _beat: tuple[threading.Thread, threading.Event] | None = None

        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            # as a forking worker: the next heartbeat is due within the monitoring interval
            # (SimpleWorker's own TTL is the job's whole timeout, which would delay crash recovery)
            return BaseWorker.get_heartbeat_ttl(self, job, working_time)

        def execute_job(self, job: Any, queue: Any) -> None:
            # SimpleWorker.execute_job, with the heartbeat thread a forking worker's monitor loop gives
            execution = self.prepare_execution(job)
            self._start_beat(job, execution)
            try:
                self.perform_job(job, queue, execution)
            finally:
                self._stop_beat()
            self.set_state(WorkerStatus.IDLE)

        def _start_beat(self, job: Any, execution: Any) -> None:
            stop = threading.Event()

            def beat() -> None:
                while not stop.wait(self.job_monitoring_interval):
                    try:
                        self.maintain_heartbeats(job, execution)
                    except Exception:  # noqa: BLE001 - a missed beat is retried at the next tick
                        log.warning("heartbeat of job %s failed", job.id, exc_info=True)

            thread = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
            thread.start()
            self._beat = (thread, stop)

        def _stop_beat(self) -> None:
            # before the job's end is recorded: a late beat must not put it back in the running registry
            if self._beat is not None:
                thread, stop = self._beat
                stop.set()
                thread.join()
                self._beat = None

        def _finalize_success(self, *args: Any, **kwargs: Any) -> Any:
            self._stop_beat()
            return super()._finalize_success(*args, **kwargs)

        def _finalize_failure(self, *args: Any, **kwargs: Any) -> Any:
            self._stop_beat()
            return super()._finalize_failure(*args, **kwargs)

        def subscribe(self) -> None:
            # rq's own, with a 1 s poll instead of 60 s: from redis-py 8 on, stopping the pubsub thread
            # joins it, and once rq has unsubscribed the thread waits its whole poll for a subscription
            # that never comes — a warm shutdown (SIGTERM) took up to a minute
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=1.0, daemon=True,
                                                           exception_handler=self._pubsub_exception_handler)

        def run_maintenance_tasks(self) -> None:
            if burst:
                # rq starts a scheduler process from its maintenance even in burst mode. One started just
                # before the burst ends is sent SIGTERM before it has installed its handler, never stops,
                # and the worker waits for it forever (seen under load). A burst worker's delayed retries
                # are enqueued by run()'s loop instead, at the start of each work(burst=True) round.
                scheduler, self.scheduler = self.scheduler, None
                try:
                    super().run_maintenance_tasks()
                finally:
                    self.scheduler = scheduler
            else:
                super().run_maintenance_tasks()
            try:
                reap_abandoned(self.connection, QUEUES, heartbeat=s.job_heartbeat, stale_after=s.job_stale_after)
            except Exception:  # noqa: BLE001 - maintenance must never stop the worker
                log.exception("re-queueing abandoned jobs failed")

    maintenance = max(1, min(10, s.job_stale_after // 3))
    return DigitizeWorker([cluster.queue(q) for q in queues], connection=cluster.redis,
                          job_monitoring_interval=s.job_heartbeat, maintenance_interval=maintenance,
                          worker_ttl=maintenance + 15 + 1,  # idle workers wake up for maintenance
                          default_result_ttl=3600)


def run(settings: Settings, queues: Sequence[str] | None = None, *, burst: bool = False) -> int:
    """Run a worker until stopped (SIGTERM finishes the running job first); with ``burst``, until
    the queues it serves are empty, retries included. Returns the exit code."""
    from workers import jobs

    queues = list(queues or QUEUES)
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise ConfigError(f"unknown queue(s) {', '.join(unknown)}: the queues are {', '.join(QUEUES)}")
    if settings.job_stale_after < 3 * settings.job_heartbeat:
        raise ConfigError("DIGITIZE_JOB_STALE_AFTER must be at least 3 × DIGITIZE_JOB_HEARTBEAT")
    _prepare_process()
    cluster = connect(settings)
    jobs.use(cluster)
    _sweep_cache(settings)
    log.info("worker on queues %s (heartbeat %ds, abandoned after %ds)", ", ".join(queues),
             settings.job_heartbeat, settings.job_stale_after)
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    if not burst:
        make_worker(cluster, queues).work(with_scheduler=True, logging_level=level)
        return 0
    while True:
        make_worker(cluster, queues, burst=True).work(burst=True, with_scheduler=True, logging_level=level)
        reap_abandoned(cluster.redis, QUEUES, heartbeat=settings.job_heartbeat,
                       stale_after=settings.job_stale_after)
        if not pending_jobs(cluster.redis, queues):
            return 0
        time.sleep(1.0)  # retries scheduled later, or jobs running in other workers that may fan out


def _sweep_cache(settings: Settings, max_age: float = 24 * 3600) -> None:
    """Remove local copies of originals nobody used for a day (files finished on other machines)."""
    cache = settings.cache_dir
    if not cache.is_dir():
        return
    cutoff = time.time() - max_age
    for p in cache.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass
