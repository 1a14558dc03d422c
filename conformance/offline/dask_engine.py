"""`check --dask local|tcp://scheduler:8786`: the parts of the inputs judged on a Dask cluster.

The inputs become a `dask.bag` with one partition per part (a file, or a line-aligned block of a large JSON
Lines file); each partition reads and judges its part on a worker with `parts.judge_part`, the same function the
process pool runs, and the partials come back in input order, a bounded number at a time. So stdout, the reports
and the exit code are those of a local run. `local` starts a `LocalCluster` of processes on this machine;
an address joins a running cluster (its scheduler and workers started with `dask scheduler` and `dask worker`,
hems-conformance installed on every worker and the inputs readable from them: shared paths or object storage).
Nothing waits on the cluster without a deadline (`timeout_s`, `--dask-timeout`): the scheduler must answer the
Dask protocol, a worker must join, and while results are awaited the cluster must not stay without workers;
otherwise the run ends with one line and exit 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import CancelledError
from typing import Any

from conformance.contract.judge import Judge
from conformance.errors import UsageError
from conformance.offline.partial import Partial
from conformance.offline.parts import BLOCK, Part, judge_part, plan
from conformance.offline.sources import Progress
from conformance.report.baseline import Acceptance

NEEDS_DASK = "--dask needs Dask: pip install 'hems-conformance[dask]'"
IN_FLIGHT_PER_WORKER = 2
DEFAULT_TIMEOUT_S = 60.0


def _judge(part: Part, judge: Judge, strict: bool, as_json: bool, acceptance: Acceptance | None) -> Partial:
    return judge_part(judge, part, strict=strict, as_json=as_json, acceptance=acceptance)


def _scheduler_answers(address: str, timeout_s: float) -> None:
    """A UsageError unless `address` answers as a Dask scheduler within timeout_s: the client's own handshake
    waits forever on a listener that never speaks (a wrong port, an HTTP server, a stuck proxy)."""
    from distributed.comm.core import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        answer = asyncio.run(asyncio.wait_for(identity(), timeout_s))
    except TimeoutError:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: no Dask answer within {timeout_s:g} s "
                         "(--dask-timeout)") from None
    except (OSError, ValueError, TypeError) as exc:  # refused, closed (CommClosedError), a bad address or answer
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc or type(exc).__name__}") from None
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise UsageError(f"{address} is not a Dask scheduler (it answers as {kind or 'something else'})")


def _result(client: Any, future: Any, address: str, timeout_s: float) -> Any:
    """A part's result: waited for as long as the cluster has a worker to compute it, never longer than
    timeout_s without one; a lost scheduler is one line."""
    while True:
        try:
            return future.result(timeout=timeout_s)
        except TimeoutError:
            try:
                workers = client.nthreads()
            except (OSError, TimeoutError):
                workers = {}
            if not workers:
                raise UsageError(f"the Dask cluster at {address} has no worker: no result within {timeout_s:g} s "
                                 "(--dask-timeout)") from None
        except (CancelledError, OSError) as exc:
            raise UsageError(f"lost the Dask scheduler at {address}: {exc or type(exc).__name__}") from None


def dask_partials(judge: Judge, paths: list[str], *, strict: bool, as_json: bool, address: str,
                  column: str | None = None, workers: int | None = None, block: int = BLOCK,
                  acceptance: Acceptance | None = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> Callable[[Progress], Generator[Partial, None, None]]:
    """A source of partials for `run_check`, judged on the Dask cluster at `address` ('local': a new one);
    with a baseline, each part with its own fresh copy of `acceptance`. `timeout_s` bounds each wait on the
    cluster: its answer, its first worker, a result while it has no worker."""
    if "-" in paths:
        raise UsageError("stdin (-) cannot be sent to a Dask cluster: give files or URLs")

    try:
        import dask.bag
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(NEEDS_DASK) from None
    # connected before anything is written, so an unreachable scheduler is one line and no partial output
    if address != "local":
        _scheduler_answers(address, timeout_s)
    cluster = (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR) if address == "local" else None)
    try:
        client = Client(cluster if cluster is not None else address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError:
        _close(client, cluster, timeout_s)
        raise UsageError(f"no Dask worker joined the scheduler at {address} within {timeout_s:g} s "
                         "(--dask-timeout)") from None

    def partials(progress: Progress) -> Generator[Partial, None, None]:
        try:
            parts = list(plan(paths, split=block, column=column))
            progress.total = sum(part.size for part in parts)
            bag = dask.bag.from_sequence(parts, npartitions=max(len(parts), 1))
            template = acceptance.fresh() if acceptance else None  # sent to the workers, never changed here
            judged = bag.map(_judge, judge, strict, as_json, template).to_delayed()  # one delayed list per part
            limit = IN_FLIGHT_PER_WORKER * max(len(client.scheduler_info()["workers"]), 1)
            pending: deque[Any] = deque()  # Dask futures
            for partition in judged:
                pending.append(client.compute(partition))
                while len(pending) >= limit:
                    yield from _result(client, pending.popleft(), address, timeout_s)
            while pending:
                yield from _result(client, pending.popleft(), address, timeout_s)
        finally:
            _close(client, cluster, timeout_s)

    return partials


def _close(client: Any, cluster: Any, timeout_s: float) -> None:
    """Leave the cluster, within timeout_s: a scheduler that stopped answering must not hold the exit."""
    with contextlib.suppress(OSError, TimeoutError):
        client.close(timeout=timeout_s)
    if cluster is not None:
        cluster.close()
