"""What masking costs as a secret grows: `Redactor.add` and `Redactor.text` with one secret of each size.

    python bench/bench_redaction.py [--sizes 1024,65536,52428800] [--texts 200]

For each size, a Redactor learns the run's usual secrets (a client secret, a password, two tokens) plus one
secret of that size (each in every encoding it masks), then masks `--texts` response bodies of 64 KiB (the
most an Exchange keeps), one in ten holding a secret. Printed: the time `add` took, the time per masked text, and
the process's peak RSS. Goal (issue 12): the cost per text does not grow with the secret's size. Tokens over
64 KiB are refused before they reach the redactor; the 50 MiB size is there to show the structure's cost alone.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import time

from conformance.report.redaction import Redactor


def measure(size: int, texts: int) -> tuple[float, float]:
    """(seconds for add, seconds per masked text) with one secret of `size` characters among the usual ones."""
    usual = [secrets.token_urlsafe(24) for _ in range(4)]
    big = secrets.token_urlsafe(size)[:size]
    started = time.perf_counter()
    redactor = Redactor([*usual, big])
    added = time.perf_counter() - started
    filler = ('{"decisions": [' + '{"time": "2025-06-01T10:00:00Z", "note": "x"}, ' * 1400)[: 64 * 1024]
    bodies = [filler[:-40] + usual[n % 4] if n % 10 == 0 else filler for n in range(texts)]
    started = time.perf_counter()
    for body in bodies:
        redactor.text(body)
    return added, (time.perf_counter() - started) / texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,65536,52428800", help="secret sizes in characters")
    parser.add_argument("--texts", type=int, default=200, help="64 KiB texts masked per size")
    args = parser.parse_args()
    print("| secret | add | per 64 KiB text |\n|---:|---:|---:|")
    for size in map(int, args.sizes.split(",")):
        added, per_text = measure(size, args.texts)
        print(f"| {size / 1024:g} KiB | {added * 1000:.1f} ms | {per_text * 1e6:.0f} µs |", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
