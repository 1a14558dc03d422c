"""`check --dask local|tcp://scheduler:8786`: the parts of the inputs judged on a Dask cluster.

The inputs become a `dask.bag` with one partition per part (a file, or a line-aligned block of a large JSON
Lines file); each partition reads and judges its part on a worker with `parts.judge_part`, the same function the
process pool runs, and the partials come back in input order, a bounded number at a time. So stdout, the reports
and the exit code are those of a local run. `local` starts a `LocalCluster` of processes on this machine;
an address joins a running cluster (its scheduler and workers started with `dask scheduler` and `dask worker`,
hems-conformance installed on every worker and the inputs readable from them: shared paths or object storage).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator

from conformance.contract.judge import Judge
from conformance.errors import UsageError
from conformance.offline.core import Partial
from conformance.offline.parts import BLOCK, Part, judge_part, plan
from conformance.offline.sources import Progress
from conformance.report.baseline import Acceptance

NEEDS_DASK = "--dask needs Dask: pip install 'hems-conformance[dask]'"
IN_FLIGHT_PER_WORKER = 2


def _judge(part: Part, judge: Judge, strict: bool, as_json: bool, acceptance: Acceptance | None) -> Partial:
    return judge_part(judge, part, strict=strict, as_json=as_json, acceptance=acceptance)


def dask_partials(judge: Judge, paths: list[str], *, strict: bool, as_json: bool, address: str,
                  column: str | None = None, workers: int | None = None, block: int = BLOCK,
                  acceptance: Acceptance | None = None) -> Callable[[Progress], Iterator[Partial]]:
    """A source of partials for `run_check`, judged on the Dask cluster at `address` ('local': a new one);
    with a baseline, each part with its own fresh copy of `acceptance`."""
    if "-" in paths:
        raise UsageError("stdin (-) cannot be sent to a Dask cluster: give files or URLs")

    try:
        import dask.bag
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(NEEDS_DASK) from None
    # connected before anything is written, so an unreachable scheduler is one line and no partial output
    cluster = (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR) if address == "local" else None)
    try:
        client = Client(cluster if cluster is not None else address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def partials(progress: Progress) -> Iterator[Partial]:
        try:
            parts = list(plan(paths, split=block, column=column))
            progress.total = sum(part.size for part in parts)
            bag = dask.bag.from_sequence(parts, npartitions=max(len(parts), 1))
            template = acceptance.fresh() if acceptance else None  # sent to the workers, never changed here
            judged = bag.map(_judge, judge, strict, as_json, template).to_delayed()  # one delayed list per part
            limit = IN_FLIGHT_PER_WORKER * max(len(client.scheduler_info()["workers"]), 1)
            pending: deque = deque()
            for partition in judged:
                pending.append(client.compute(partition))
                while len(pending) >= limit:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    return partials
