"""An RQ worker that keeps painrcm loaded between jobs: ``rq worker -w painrcm.store.worker.Worker``.

RQ's default worker forks a fresh work horse per job, and the horse imports the job's module and
loads what it needs again, every job: for a re-scrub partition that is painrcm's imports and the
reference tables that load on first use. This worker imports painrcm and builds (and warms) the
scrubbing engine in its own process before it forks, so every horse inherits them. It checks the
files the engine is built from before each job and loads again when a data import or a payer file
changed them. Jobs still run in a forked horse, as with the default worker (a job that crashes
does not take the worker with it).
"""

from __future__ import annotations

from typing import Any

from rq import Worker as _RqWorker

from painrcm.store import rescrub


class Worker(_RqWorker):
    def execute_job(self, job: Any, queue: Any) -> Any:
        rescrub.current_engine(warm=True)
        return super().execute_job(job, queue)
