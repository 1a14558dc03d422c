"""`check --workers N`: the parts of the inputs judged by a pool of processes, written in input order.

At most two parts per worker are in flight, so memory stays bounded however large the input: a worker holds
one part's output at a time (a range of a large JSON Lines file is about `parts.BLOCK` bytes of input). Stdin
is read here, in chunks, since only this process has it. Ctrl-C (or a failing write) terminates the workers.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from multiprocessing.pool import AsyncResult

from conformance.contract.judge import Judge
from conformance.offline.evidence import Settled
from conformance.offline.partial import Partial, judge_items
from conformance.offline.parts import BLOCK, Part, judge_part, plan, read_part
from conformance.offline.sources import Progress
from conformance.report.baseline import Acceptance

CHUNK = 1000  # payloads per partial of a part judged in this process

_judge: Judge | None = None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_STOPS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _stops_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while the pool starts: its workers and threads are born with them blocked."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_worker(judge: Judge) -> None:
    """Born with Ctrl-C and SIGTERM blocked (`_stops_held`), a worker leaves the command's process group first:
    Ctrl-C or a cancelled CI job signals the group, and a worker killed by it while reading the pool's queue
    would leave the queue locked, so the parent's terminate() would hang. The parent alone takes them and stops
    the pool; terminate() ends a worker with SIGTERM, whose default action is restored here (the parent's
    handler turns it into Ctrl-C). Only then are they unblocked: one that came meanwhile is ignored or ends the
    worker before it touches the queue."""
    global _judge
    _judge = judge
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)


def _run(part: Part, strict: bool, as_json: bool, acceptance: Acceptance | None, settled: Settled) -> Partial:
    assert _judge is not None
    partial = judge_part(_judge, part, strict=strict, as_json=as_json, acceptance=acceptance, settled=settled)
    partial.evidence.settled = Settled()  # not sent back
    return partial


def pool_partials(judge: Judge, paths: Iterable[str], *, strict: bool, as_json: bool, workers: int,
                  column: str | None = None, block: int = BLOCK,
                  acceptance: Acceptance | None = None) -> Callable[[Progress], Generator[Partial, None, None]]:
    """A source of partials for `run_check`: the parts judged by `workers` processes, yielded in input order
    (with a baseline, each part judged with its own fresh copy of `acceptance`)."""
    acceptance = acceptance.fresh() if acceptance else None  # sent to the workers, never changed here

    def partials(progress: Progress) -> Generator[Partial, None, None]:
        parts = plan(paths, split=block, column=column)
        opening = list(itertools.islice(parts, 2))
        if len(opening) < 2:  # one part: no pool to start
            for part in opening:
                progress.total += part.size
                yield from local_partials(judge, part, strict=strict, as_json=as_json, acceptance=acceptance)
            return
        pool = None
        settled = Settled()  # what the partials yielded so far hold in full: later parts need not build it

        def take(pending: AsyncResult[Partial]) -> Partial:
            partial = _result(pending)
            settled.saw(partial.evidence)
            return partial

        try:
            with _stops_held():  # one that comes meanwhile is raised here, with `pool` set: terminate() runs
                pool = multiprocessing.get_context().Pool(workers, initializer=_start_worker, initargs=(judge,))
            pending: deque[AsyncResult[Partial]] = deque()
            for part in itertools.chain(opening, parts):
                progress.total += part.size
                if part.path == "-":  # only this process has stdin
                    while pending:
                        yield take(pending.popleft())
                    yield from local_partials(judge, part, strict=strict, as_json=as_json, acceptance=acceptance)
                    continue
                pending.append(pool.apply_async(_run, (part, strict, as_json, acceptance, settled.frozen())))
                while len(pending) >= 2 * workers:
                    yield take(pending.popleft())
            while pending:
                yield take(pending.popleft())
            pool.close()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()

    return partials


def _result(pending: AsyncResult[Partial]) -> Partial:
    """The result, waited for in short steps: Ctrl-C may reach one of the pool's threads, and a main thread
    blocked without a timeout would not see it."""
    while not pending.ready():
        pending.wait(0.1)
    return pending.get()


def local_partials(judge: Judge, part: Part, *, strict: bool, as_json: bool,
                   acceptance: Acceptance | None = None) -> Iterator[Partial]:
    """One part judged in this process, a chunk of payloads at a time (so a long stdin stays bounded). On Ctrl-C
    the chunk judged so far is yielded before the interruption goes on, so the reports count what was judged."""
    progress = Progress()
    items = read_part(part, progress)
    while (first := next(items, None)) is not None:  # payloads stream through; only the output is held
        before = progress.read
        chunk = itertools.chain([first], itertools.islice(items, CHUNK - 1))
        partial = Partial(acceptance=acceptance.fresh() if acceptance else None)
        try:
            judge_items(judge, chunk, strict=strict, as_json=as_json, into=partial)
        except KeyboardInterrupt:
            yield partial
            raise
        partial.read = progress.read - before
        yield partial
