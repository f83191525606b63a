"""The embedded driver's page pool: a spawn-based process pool that survives a page killing its worker.

:func:`run_isolated` runs page tasks and yields each one's outcome as it completes; it knows nothing
of files, the index or the store (the driver does the bookkeeping). When a worker process dies, every
page that was in flight runs again alone; a page that kills its worker while alone
``MAX_CRASHES_PER_PAGE`` times gets a failed outcome, and the batch goes on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from digitize.pipeline.page import PageOutcome, PageTask, failed_page, process_page

log = logging.getLogger(__name__)

MAX_CRASHES_PER_PAGE = 2

T = TypeVar("T")


def _init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2  # imported once per worker, not per page

    cv2.setNumThreads(1)


def _make_pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)


def run_isolated(items: Iterator[T], task: Callable[[T], PageTask], *, jobs: int,
                 heavy: Callable[[T], bool] = lambda _: False) -> Iterator[tuple[T, PageOutcome]]:
    """Process ``task(item)`` for every item in ``jobs`` worker processes; yield ``(item, outcome)`` as each
    completes. At most ``2 * jobs`` pages are in flight; a ``heavy`` page runs with nothing else in flight
    (two side by side could pass 1 GiB, see ``ingest.heavy_pages``). Items are taken from ``items`` lazily."""
    # Pages in flight when a worker process died. Any of them may have killed it, so each runs again
    # alone: a page that kills its worker while alone, MAX_CRASHES_PER_PAGE times, fails by itself.
    suspects: list[T] = []
    crashes: dict[tuple[str, int], int] = {}  # (file, page) -> crashes while alone
    max_in_flight = jobs * 2
    held: T | None = None  # the next item, waiting for the pool to empty (heavy)
    exhausted = False
    while True:
        pool = _make_pool(jobs)
        in_flight: dict[Future[PageOutcome], T] = {}
        broken = False
        try:
            while True:
                while len(in_flight) < max_in_flight:
                    if suspects:  # a suspect runs alone, with nothing else in flight
                        if not in_flight:
                            item = suspects.pop(0)
                            in_flight[pool.submit(process_page, task(item))] = item
                        break
                    if held is not None:
                        item, held = held, None
                    elif exhausted:
                        break
                    else:
                        nxt = next(items, None)
                        if nxt is None:
                            exhausted = True
                            break
                        item = nxt
                    if in_flight and (heavy(item) or any(heavy(i) for i in in_flight.values())):
                        held = item
                        break
                    in_flight[pool.submit(process_page, task(item))] = item
                if not in_flight:
                    break
                alone = len(in_flight) == 1
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = in_flight.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        t = task(item)
                        if alone:
                            crashes[t.path, t.page] = crashes.get((t.path, t.page), 0) + 1
                        if crashes.get((t.path, t.page), 0) < MAX_CRASHES_PER_PAGE:
                            suspects.append(item)
                            continue
                        outcome = PageOutcome(failed_page(t.page, "the worker process crashed on this page"), None)
                    yield item, outcome
                if broken:
                    for fut, item in in_flight.items():
                        fut.cancel()
                        suspects.append(item)
                    in_flight.clear()
                    break
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)
        if not broken:
            return
        log.warning("a worker process died; restarting the pool and retrying its pages")
