"""Session timelines: our SVG writer (`conformance.report.timeline`) against matplotlib's SVG backend and pygal.

The same picture from the same data: export and target power, commanded amps as a step line with a dot per
command coloured by verdict, observed current, a lane of decision markers by kind, and three finding labels.
Sessions are simulated by the loop model (`bench/payloads.py`): a realistic one (~50 decisions) and a long
one (~300 decisions), plus the long one's rows repeated to 1 200 decisions. Prints per renderer and size:
milliseconds per chart (best of `--repeat`), SVG bytes, and for the libraries the import time.

The libraries are no dependency of the suite: install them into a scratch venv and name its Python, e.g.

    python3 -m venv /tmp/charts && /tmp/charts/bin/pip install matplotlib pygal
    python bench/bench_timeline.py --chart-python /tmp/charts/bin/python

(the libraries' part runs in that interpreter on the data this script writes; it imports nothing of ours).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERDICT_COLOURS = {"applied": "#2e7d32", "accepted_ineffective": "#ef6c00", "phase_switch_ineffective": "#8e24aa",
                   "unverified": "#9e9e9e", "rejected": "#c62828", "unreachable": "#6d4c41", "timeout": "#f9a825",
                   "not_capable": "#455a64"}


def _best(render, data, repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(render(data).encode("utf-8"))
        best = min(best, time.perf_counter() - started)
    return best * 1000, size


# --- the libraries' side: plain data in, SVG text out ---


def matplotlib_svg(data: dict) -> str:
    import io

    import matplotlib

    matplotlib.use("svg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text, not glyph paths: smaller, still self-contained
    import matplotlib.pyplot as plt

    figure, (power, amps, lane) = plt.subplots(3, 1, figsize=(9.6, 3.6), sharex=True,
                                               gridspec_kw={"height_ratios": [3, 3, 1]})
    decisions, commands = data["decisions"], data["commands"]
    power.plot([d[0] for d in decisions if d[2] is not None], [d[2] for d in decisions if d[2] is not None],
               color="#43a047", lw=1)
    power.step([d[0] for d in decisions if d[3] is not None], [d[3] for d in decisions if d[3] is not None],
               where="post", color="#fb8c00", lw=1, ls="--")
    amps.step([c[0] for c in commands], [c[1] for c in commands], where="post", color="#3949ab", lw=1)
    amps.scatter([c[0] for c in commands], [c[1] for c in commands], s=12,
                 c=[VERDICT_COLOURS.get(c[3], "#000") for c in commands])
    observed = [c for c in commands if c[2] is not None]
    amps.step([c[0] for c in observed], [c[2] for c in observed], where="post", color="#222", lw=0.8, ls=":")
    for kind, marker, colour in (("start", "^", "#2e7d32"), ("step", "D", "#1565c0"), ("stop", "v", "#c62828"),
                                 ("hold", "|", "#9e9e9e"), ("skip", "|", "#e0a000")):
        times = [d[0] for d in decisions if d[1] == kind]
        lane.scatter(times, [0] * len(times), marker=marker, s=14, color=colour)
    for finding in data["findings"]:
        power.axvline(finding["x"], color="#d50000", lw=0.8, ls="--")
        power.text(finding["x"], power.get_ylim()[1], finding["id"], fontsize=7, color="white",
                   bbox={"facecolor": "#d50000", "pad": 1})
    lane.set_yticks([])
    out = io.StringIO()
    figure.savefig(out, format="svg")
    plt.close(figure)
    return out.getvalue()


def pygal_svg(data: dict) -> str:
    import pygal

    chart = pygal.XY(width=960, height=360, js=[], show_dots=False, stroke_style={"width": 1}, truncate_legend=-1)
    decisions, commands = data["decisions"], data["commands"]
    chart.add("export W", [(d[0], d[2]) for d in decisions if d[2] is not None], secondary=True)
    chart.add("target W", [(d[0], d[3]) for d in decisions if d[3] is not None], secondary=True)
    chart.add("commanded A", [{"value": (c[0], c[1]), "color": VERDICT_COLOURS.get(c[3], "#000"),
                               "label": f"command {c[6]}: {c[3]}"} for c in commands], show_dots=True)
    chart.add("observed A", [(c[0], c[2]) for c in commands if c[2] is not None])
    for kind in ("start", "step", "stop", "hold", "skip"):
        chart.add(kind, [(d[0], -1) for d in decisions if d[1] == kind], stroke=False, show_dots=True)
    chart.add("findings", [{"value": (f["x"], 20), "label": f["id"]} for f in data["findings"]], stroke=False,
              show_dots=True)
    return chart.render(is_unicode=True)


def libraries(path: str, repeat: int) -> None:
    """Runs in the charting venv: import time, then ms per chart and bytes, as JSON lines."""
    sessions = json.loads(Path(path).read_text(encoding="utf-8"))
    for name, render in (("matplotlib", matplotlib_svg), ("pygal", pygal_svg)):
        started = time.perf_counter()
        try:
            __import__(name)
        except ImportError:
            print(json.dumps({"renderer": name, "missing": True}))
            continue
        version = sys.modules[name].__version__
        imported = (time.perf_counter() - started) * 1000
        for label, data in sessions.items():
            ms, size = _best(render, data, repeat)
            print(json.dumps({"renderer": f"{name} {version}", "session": label, "ms": ms, "bytes": size,
                              "import_ms": imported}))


# --- our side ---


def ours(repeat: int, chart_python: str | None) -> None:
    sys.path.insert(0, str(HERE))
    from payloads import long_sessions, realistic

    from conformance.contract.judge import Judge
    from conformance.report.timeline import session_data, timeline_svg

    probe = "import time; t = time.perf_counter(); import conformance.report.timeline; print(time.perf_counter() - t)"
    imported = 1000 * float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                                           check=True).stdout)
    long = long_sessions(1)[0]
    longer = json.loads(json.dumps(long))
    longer["decisions"] = [dict(d, time=long["decisions"][-1]["time"]) for d in long["decisions"] * 4]
    payloads = {"realistic": realistic(1)[0], "long": long, "1200 decisions": longer}
    judge = Judge()
    rows, shared = [], {}
    for label, payload in payloads.items():
        broken = json.loads(json.dumps(payload))
        broken["session"]["commands_applied"] += 1
        for n in range(0, len(broken["commands"]), max(1, len(broken["commands"]) // 2)):
            broken["commands"][n]["commanded_amps"] = 4.0
        findings = [{"id": f.check_id, "level": f.level.value, "pointer": f.pointer, "message": f.message,
                     "expected": f.expected, "actual": f.actual} for f in judge.judge(broken).findings]
        data = session_data(label, label, broken, findings[:3])
        ms, size = _best(timeline_svg, data, repeat)
        rows.append(("ours (conformance.report.timeline)", label, ms, size, imported))
        xs = {n: c[0] for n, c in enumerate(data["commands"])}
        shared[label] = {"decisions": data["decisions"], "commands": data["commands"],
                         "findings": [{"id": f["id"], "x": xs.get(int(f["pointer"].split("/")[2]), 0)
                                       if f["pointer"].startswith("/commands/") else 0} for f in findings[:3]]}
    if chart_python:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(shared, handle)
        result = subprocess.run([chart_python, __file__, "--libraries", handle.name, "--repeat", str(repeat)],
                                capture_output=True, text=True, timeout=600, check=False)
        Path(handle.name).unlink()
        for line in result.stdout.splitlines():
            row = json.loads(line)
            if not row.get("missing"):
                rows.append((row["renderer"], row["session"], row["ms"], row["bytes"], row["import_ms"]))
        if result.returncode:
            print(result.stderr[-2000:], file=sys.stderr)
    print("| renderer | session | ms per chart | SVG bytes | import ms |")
    print("| --- | --- | --- | --- | --- |")
    for renderer, label, ms, size, imported in rows:
        print(f"| {renderer} | {label} | {ms:.1f} | {size:,} | {imported:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chart-python", metavar="PYTHON", help="an interpreter with matplotlib and pygal")
    parser.add_argument("--libraries", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.libraries:
        libraries(args.libraries, args.repeat)
    else:
        ours(args.repeat, args.chart_python)


if __name__ == "__main__":
    main()
