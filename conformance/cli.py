"""The `hems-conformance` command: a thin shell over the catalogue, the judge and the deployment.

Exit codes: 0 conformant, 1 non-conformant, 2 bad usage/config/input, 3 target could not be tested.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from conformance import __version__
from conformance.errors import TargetError, UsageError
from conformance.report.baseline import EXPIRY_DAYS, WARN_DAYS, BaselineDays

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
ENV_PREFIX = "HEMS_CONFORMANCE_"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def seed(text: str) -> int:
    """A generation seed (--seed, --hems-seed): an integer from 0 to 2**64 - 1, checked before any request."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**64 - 1, got {text[:40]}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most 86400, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text}")
    return value


def _days(text: str) -> int:
    """A number of days (--baseline-expiry-days, --baseline-warn-days): 0 to 3650."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not 0 <= value <= 3650:
        raise argparse.ArgumentTypeError(f"expected days from 0 to 3650, got {text}")
    return value


def _flag(text: str) -> bool:
    if text.strip().lower() in _TRUE + _FALSE:
        return text.strip().lower() in _TRUE
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(_TRUE + _FALSE)}, got {text[:40]!r}")


def _annotations_default() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "none"


def _with_environment(parser: argparse.ArgumentParser, *flags: str, default: object = None, **kwargs: Any) -> None:
    """An option with an environment fallback, HEMS_CONFORMANCE_<NAME>: the command line wins, then the
    environment, then `default`. --help names the variable; a bad value is exit 2 naming it."""
    env = ENV_PREFIX + flags[0].lstrip("-").replace("-", "_").upper()
    kwargs["help"] = f"{kwargs.get('help', '')} [env {env}]".lstrip()
    action = parser.add_argument(*flags, default=None, **kwargs)
    parser.get_default("environment").append((action, env, default))


def apply_environment(args: argparse.Namespace) -> None:
    """Fill the options not given on the command line from the environment (an empty variable is unset, as CI
    templates leave unused inputs), then from their defaults."""
    for action, env, default in getattr(args, "environment", ()):
        if getattr(args, action.dest) is not None:
            continue
        text = os.environ.get(env, "").strip()
        if not text:
            setattr(args, action.dest, default() if callable(default) else default)
            continue
        try:
            if action.nargs == 0:  # a flag: --strict
                value: object = _flag(text)
            elif isinstance(action, argparse._AppendAction):  # repeatable: comma-separated
                value = [item.strip() for item in text.split(",") if item.strip()]
            else:
                value = action.type(text) if action.type else text
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise UsageError(f"{env}: {exc}") from None
        if action.choices is not None and value not in action.choices:
            raise UsageError(f"{env}: invalid choice {text[:40]!r} (choose from {', '.join(action.choices)})")
        setattr(args, action.dest, value)


EXIT_CODES_HELP = ("Exit codes: 0 conformant, 1 non-conformant, 2 bad usage, configuration or input, 3 the target "
                   "could not be tested, 130 interrupted.")


def unknown_environment(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> list[str]:
    """One warning per HEMS_CONFORMANCE_* variable no option reads (a typo such as HEMS_CONFORMANCE_STRICTT would
    otherwise be ignored in silence), with the nearest known name; never the value, which may be a secret."""
    known = sorted({env for sub in _parsers(parser) for _, env, _ in sub.get_default("environment") or ()})
    warnings = []
    for name in sorted(n for n in environ if n.startswith(ENV_PREFIX) and n not in known):
        nearest = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), [k.removeprefix(ENV_PREFIX) for k in known],
                                            n=1)  # the shared prefix would make every name look close
        hint = f"did you mean {ENV_PREFIX}{nearest[0]}?" if nearest else f"known: {', '.join(known)}"
        warnings.append(f"{name} is not a setting of hems-conformance and is ignored ({hint})")
    return warnings


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every subcommand's, depth first."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


class _Parser(argparse.ArgumentParser):
    """Every command and subcommand states its exit codes at the end of --help: `exit_codes` where they mean
    something of their own (replay, trace), else EXIT_CODES_HELP."""

    def __init__(self, prog: str | None = None, *, epilog: str | None = None, exit_codes: str = EXIT_CODES_HELP,
                 **kwargs: Any) -> None:
        if epilog and "Exit codes:" not in epilog:  # an epilog that states them already keeps its own
            epilog = f"{epilog} {exit_codes}"
        super().__init__(prog, epilog=epilog or exit_codes, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2, as argparse does, without the usage dump
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _cmd_invariants(args: argparse.Namespace) -> int:
    from conformance.contract import docs
    from conformance.live.live_cases import load_live_cases

    live = load_live_cases()
    if args.format == "markdown":
        sys.stdout.write(docs.render_markdown(live))
    elif args.live:
        sys.stdout.write((docs.render_live_json if args.format == "json" else docs.render_live_text)(live))
    else:
        sys.stdout.write((docs.render_json if args.format == "json" else docs.render_text)(args.cross))
    return EXIT_OK


def _cmd_trace(args: argparse.Namespace) -> int:
    from conformance.contract import trace
    from conformance.contract.spec import load_contract

    pinned = load_contract()
    rows = trace.trace(pinned.document) if args.spec is None else trace.diff(pinned.document, load_contract(args.spec).document)
    rows = trace.with_standards(rows)
    render = {"text": trace.render_text, "markdown": trace.render_markdown, "json": trace.render_json}[args.format]
    sys.stdout.write(render(rows))
    return EXIT_FINDINGS if trace.open_units(rows) else EXIT_OK  # a CI job on a newer spec fails until they are read


def _cmd_check(args: argparse.Namespace) -> int:
    from conformance.contract.judge import Judge
    from conformance.contract.served import ServedCheck
    from conformance.contract.settings import load_settings
    from conformance.contract.spec import load_contract
    from conformance.live.live_cases import known_check_ids, load_live_cases
    from conformance.offline.check_command import check_with_reports
    from conformance.report.baseline import baseline_to_apply

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is None:
        from conformance.offline.parallel import usable_cores

        args.workers = usable_cores()
    settings = load_settings(args.config, known_ids=known_check_ids())
    baseline = baseline_to_apply(args.baseline, args.baseline_update, known_check_ids())
    # recordings that keep the request path (HAR) are judged by the live case that checks it, too
    case = next(case for case in load_live_cases() if case.on_every_response == "path_names_session")
    served = ServedCheck(case.id, settings.level_of(case.id, case.level), case.statement, case.cite)
    judge = Judge(load_contract(args.spec), settings, served)
    return check_with_reports(judge, args.paths, strict=args.strict, output=args.format, report_dir=args.report_dir,
                              argv=args.argv, baseline=baseline, annotations=args.annotations, workers=args.workers,
                              column=args.column, dask=args.dask, dask_timeout_s=args.dask_timeout,
                              baseline_days=BaselineDays(args.baseline_warn_days, args.baseline_expiry_days),
                              baseline_update=args.baseline_update, verbose=args.verbose)


def _cmd_replay(args: argparse.Namespace) -> int:
    from conformance.live.replay import replay_command

    return replay_command(args.report_dir, args.checks, args.config, sys.stdout, args.max_requests, args.spec,
                          sys.stderr)


def _cmd_token(args: argparse.Namespace) -> int:
    from conformance.contract.spec import load_contract
    from conformance.live.client import access_token
    from conformance.live.target import load_target

    if not args.config:
        raise UsageError("token needs --config FILE (or HEMS_CONFORMANCE_CONFIG): the target config whose "
                         "credentials it uses")
    target = load_target(args.config, default_token_url=load_contract(args.spec).token_url)
    token = access_token(target.with_base_url(args.base_url) if args.base_url else target, args.tenant)
    sys.stdout.write(token + "\n")  # stdout only: never a report, never a log
    return EXIT_OK


def _cmd_report_compare(args: argparse.Namespace) -> int:
    from conformance.report.compare import compare_command

    return compare_command(args.old, args.new, args.format, args.html)


def _cmd_report_verify(args: argparse.Namespace) -> int:
    from conformance.report.verify import verify_command

    return verify_command(args.report_dir, args.spec, sys.stdout)


def _count_or_file(value: str) -> int | str:
    """`--sessions`: a number of sessions, or the path of a file of payloads."""
    return int(value) if value.lstrip("-").isdigit() else value


def _cmd_serve(args: argparse.Namespace) -> int:
    from conformance.reference.faults import fault_table
    from conformance.reference.server import serve
    from conformance.reference.variants import variant_table

    if args.list_faults or args.list_variants:
        sys.stdout.write(fault_table() if args.list_faults else variant_table())
        return EXIT_OK
    return serve(host=args.host, port=args.port, seed=args.seed, sessions=args.sessions, faults=args.fault,
                 token_ttl_s=args.token_ttl, write_config=args.write_config, quiet=args.quiet,
                 variants=args.variant)


def _cmd_run(args: argparse.Namespace) -> int:
    from conformance.live.launch import RunRequest, run

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    return run(RunRequest(config=args.config, base_url=args.base_url, profile=args.profile, seed=args.seed,
                          strict=args.strict, workers=args.workers, spec=args.spec, faults=tuple(args.fault),
                          report_dir=args.report_dir, baseline=args.baseline, annotations=args.annotations,
                          extra_pytest_args=tuple(args.pytest_args),
                          baseline_update=args.baseline_update,
                          baseline_days=BaselineDays(args.baseline_warn_days, args.baseline_expiry_days)))


BASELINE_HELP = ("TOML file of accepted failures ([[accept]] check, reason, expires; optional session_id or "
                 "pointer): accepted findings do not fail; stale entries (check ran, findings gone) exit 1")
BASELINE_OPTIONS = (
    ("--baseline-update", dict(metavar="FILE", help="after the verdict, write FILE: an entry per check and session "
                               "for today's unaccepted failures (reason to fill in), existing entries kept, stale "
                               "ones pruned; FILE is also the baseline applied unless --baseline names one")),
    ("--baseline-expiry-days", dict(type=_days, default=EXPIRY_DAYS, metavar="DAYS",
                                    help=f"expiry of the entries --baseline-update writes, from today (default: "
                                    f"{EXPIRY_DAYS})")),
    ("--baseline-warn-days", dict(type=_days, default=WARN_DAYS, metavar="DAYS",
                                  help=f"warn about baseline entries expiring within DAYS (default: {WARN_DAYS})")),
)
ANNOTATIONS_HELP = "github: one ::error / ::warning line per failing check (default: github when GITHUB_ACTIONS=true)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hems-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hems-conformance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inv = commands.add_parser("invariants", help="print the invariant catalogue",
                              exit_codes="Exit codes: 0 printed, 2 bad usage.")
    inv.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                     help="text for reading, markdown as in docs/invariants.md, json for tools (default: text)")
    inv.add_argument("--cross", action="store_true", help="the cross-endpoint (XEP) and sibling-route (SIB) checks "
                     "a run with [discover] judges, instead of the payload catalogue (markdown lists both)")
    inv.add_argument("--live", action="store_true", help="the live checks of `run` (cases/live: authentication, the "
                     "token endpoint, isolation, HTTP), instead of the payload catalogue (markdown lists them too)")
    inv.set_defaults(handler=_cmd_invariants)

    trace = commands.add_parser("trace", help="every unit of the spec with the checks that enforce it, or why none",
                                exit_codes="Exit codes: 0 every unit is enforced or has a written reason, 1 a unit "
                                "is open (new or changed in --spec, not yet read), 2 bad usage or input.")
    trace.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                       help="text for reading, markdown as in docs/traceability.md, json for tools (default: text)")
    trace.add_argument("--spec", metavar="FILE", help="a newer OpenAPI document: mark the units it added, changed "
                       "or removed versus the pinned one")
    trace.set_defaults(handler=_cmd_trace)

    check = commands.add_parser("check", help="judge recorded payloads offline (files, directories, JSON Lines, -)")
    check.add_argument("paths", nargs="+", metavar="PATH",
                       help="JSON file, directory, .jsonl/.ndjson file, .parquet/.arrow file (with --column), .har "
                       "file, - for stdin; or an fsspec URL (s3://, gs://, az://, file://; a glob, or a prefix ending "
                       "in / for the objects below it); .gz/.bz2/.xz/.zst are decompressed")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="output format (default: text): text prints one line per group of identical findings "
                       "(check, pointer, message) with its count and first locations, then the verdict; json "
                       "streams one record per payload, for tools that want every finding")
    check.add_argument("--verbose", action="store_true",
                       help="text: list INFO findings group by group too (by default one count line per INFO check)")
    check.add_argument("--strict", action="store_true", help="SHOULD findings fail the verdict too")
    check.add_argument("--spec", metavar="FILE", help="judge against this OpenAPI document instead of the pinned one")
    check.add_argument("--config", metavar="FILE", help="TOML file whose [judge] table sets readings and levels")
    check.set_defaults(environment=[])
    _with_environment(check, "--report-dir", metavar="DIR", help="where the reports go (default: reports/<UTC time>)")
    check.add_argument("--baseline", metavar="FILE", help=BASELINE_HELP)
    for flag, options in BASELINE_OPTIONS:
        check.add_argument(flag, **options)
    check.add_argument("--annotations", choices=("github", "none"), default=_annotations_default(),
                       help=ANNOTATIONS_HELP)
    check.add_argument("--workers", type=int, default=None, metavar="N",
                       help="processes that judge files and ranges of large JSON Lines files (default: usable cores); "
                       "the output is the same for any N")
    check.add_argument("--column", metavar="NAME", help="the column of a Parquet/Arrow file that holds each raw JSON body")
    check.add_argument("--dask", metavar="ADDRESS", help="judge on a Dask cluster: 'local' (a LocalCluster of "
                       "--workers processes) or a scheduler address such as tcp://host:8786 (needs the [dask] extra)")
    check.add_argument("--dask-timeout", type=_positive_seconds, default=None, metavar="SECONDS",
                       help="how long the Dask scheduler may take to answer, a worker to join, and the cluster may "
                       "stay without workers while results are due (default: 60)")
    check.set_defaults(handler=_cmd_check)

    serve = commands.add_parser("serve", help="run the reference deployment (optionally with faults)",
                                exit_codes="Exit codes: 0 stopped (Ctrl-C) or listed, 2 bad usage or configuration.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--seed", type=int, default=0, help="seed of the simulated fleet (default: 0)")
    serve.add_argument("--sessions", type=_count_or_file, default=12, metavar="N|FILE",
                       help="sessions per tenant (default: 12; more if covering every outcome takes more), or a "
                       "JSON / JSON Lines FILE of your own payloads with their coordinates, served as they are")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME",
                       help="break the deployment in one named way; repeatable (see --list-faults)")
    serve.add_argument("--write-config", metavar="FILE", help="write the target config for `run` to FILE")
    serve.add_argument("--token-ttl", type=float, default=3600.0, metavar="SECONDS",
                       help="access token lifetime (default: 3600)")
    serve.add_argument("--list-faults", action="store_true", help="print the fault table and exit")
    serve.add_argument("--quiet", action="store_true", help="no request log lines")
    serve.add_argument("--variant", action="append", default=[], metavar="NAME",
                       help="be correct in another legitimate way; repeatable (see --list-variants)")
    serve.add_argument("--list-variants", action="store_true", help="print the legitimate variants and exit")
    serve.set_defaults(handler=_cmd_serve)

    live = commands.add_parser("run", help="judge a live deployment (default: the bundled reference deployment)",
                               usage="%(prog)s [options] [-- PYTEST_ARGS ...]",
                               epilog="Every option has an environment fallback (named in brackets); the command "
                                      "line wins. Arguments after -- go to the underlying pytest session as they are "
                                      "(e.g. -- --alluredir allure-results, with allure-pytest installed).")
    live.set_defaults(environment=[])
    _with_environment(live, "--config", metavar="FILE", help="target TOML (see examples/conformance.toml); "
                      "without it the bundled reference deployment is started on a free loopback port")
    _with_environment(live, "--base-url", metavar="URL", help="override base_url of the config")
    _with_environment(live, "--profile", choices=("quick", "ci", "thorough"), default="ci",
                      help="how many requests Schemathesis generates, positive + negative: quick 25 + 25, "
                      "ci 120 + 120, thorough 1000 + 1000 (default: ci)")
    _with_environment(live, "--seed", type=seed, default=0,
                      help="generation seed: same seed, same requests (default: 0)")
    _with_environment(live, "--strict", action="store_true", default=False,
                      help="SHOULD findings fail the verdict too")
    _with_environment(live, "--workers", type=int, default=None, metavar="N",
                      help="requests in flight at once, halved by each 429 (default: 16)")
    _with_environment(live, "--spec", metavar="FILE", help="judge against this OpenAPI document instead of the pinned one")
    _with_environment(live, "--report-dir", metavar="DIR", help="where the reports go (default: reports/<UTC time>)")
    _with_environment(live, "--fault", action="append", default=list, metavar="NAME",
                      help="start the bundled reference deployment with this fault; repeatable, comma-separated "
                           "in the environment (see serve --list-faults)")
    _with_environment(live, "--baseline", metavar="FILE", help=BASELINE_HELP)
    for flag, options in BASELINE_OPTIONS:
        _with_environment(live, flag, **options)
    _with_environment(live, "--annotations", choices=("github", "none"), default=_annotations_default,
                      help=ANNOTATIONS_HELP)
    live.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARGS",
                      help="after --: arguments for the underlying pytest session (reporters such as --alluredir)")
    live.set_defaults(handler=_cmd_run)

    replay = commands.add_parser("replay", help="re-send the requests behind every failing finding of a run and "
                                 "judge them again (exit 0: all replayed and fixed, 1: any not)",
                                 exit_codes="Exit codes: 0 every finding replayed and fixed, 1 a finding still fails "
                                 "or could not be replayed, 2 a report or config it cannot use, 3 the target cannot "
                                 "be reached.")
    replay.add_argument("report_dir", metavar="REPORT_DIR", help="report folder (or summary.json) of a `run`")
    replay.add_argument("checks", nargs="*", metavar="CHECK_ID", help="only these failing checks (default: all)")
    replay.add_argument("--config", metavar="FILE", help="target TOML with fresh credentials (required: a report "
                        "is untrusted and never chooses them); requests go to its base_url")
    replay.add_argument("--max-requests", type=int, metavar="N", help="send at most N requests (default: one per "
                        "request the report recorded; at most 1000)")
    replay.add_argument("--spec", metavar="FILE", help="judge against this OpenAPI document (default: the pinned one; "
                        "the path a report names is never opened)")
    replay.set_defaults(handler=_cmd_replay)

    token = commands.add_parser("token", help="print a fresh access token of the target config's credentials, "
                                "for the reproductions' curls: HEMS_TOKEN=$(hems-conformance token --config FILE)",
                                epilog="The token goes to stdout only, never into a report or log.",
                                exit_codes="Exit codes: 0 printed, 2 bad usage or config, 3 the token endpoint gave "
                                "no token.")
    token.set_defaults(environment=[])
    _with_environment(token, "--config", metavar="FILE", help="target TOML whose credentials are used (as `run`)")
    _with_environment(token, "--base-url", metavar="URL", help="override base_url of the config (a relative "
                      "token_url is below it)")
    _with_environment(token, "--spec", metavar="FILE", help="the OpenAPI document whose token URL is the default "
                      "(default: the pinned one)")
    token.add_argument("--tenant", choices=("a", "b"), default="a", help="whose credentials: a ([auth], default) "
                       "or b ([tenant_b.auth])")
    token.set_defaults(handler=_cmd_token)

    report = commands.add_parser("report", help="work with the reports of earlier runs",
                                 exit_codes="Exit codes: see each subcommand's --help.")
    report_commands = report.add_subparsers(dest="report_command", required=True, parser_class=_Parser)
    compare = report_commands.add_parser("compare", help="what changed between two runs (new and fixed findings)",
                                         exit_codes="Exit codes: 0 compared, 2 a report it cannot read.")
    compare.add_argument("old", metavar="OLD", help="report folder or summary.json of the earlier run")
    compare.add_argument("new", metavar="NEW", help="report folder or summary.json of the later run")
    compare.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    compare.add_argument("--html", metavar="FILE", help="also write a page with the changed sessions' timelines "
                         "side by side")
    compare.set_defaults(handler=_cmd_report_compare)
    verify = report_commands.add_parser(
        "verify", help="check that a report folder's files belong together and to the spec it names",
        description="Recompute the SHA-256 of DIR/summary.json and compare it with the one summary.md, report.html "
                    "and junit.xml name; recompute the spec's SHA-256 (summary.json's metadata.spec.sha256) from "
                    "--spec FILE, or from the spec file summary.json names when it is here. One line per check.",
        epilog="Exit codes: 0 every hash matches, 1 a mismatch, 2 bad usage or an unreadable folder or file.")
    verify.add_argument("report_dir", metavar="DIR", help="report folder of a `run` or a `check`")
    verify.add_argument("--spec", metavar="FILE", help="the spec to hash (default: the file summary.json names, "
                        "if it is here; otherwise the spec is left unchecked)")
    verify.set_defaults(handler=_cmd_report_verify)
    return parser


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, a stopped container) ends a command as Ctrl-C does: `run` and `check` stop
    their work (and `check` its workers), write reports that say "interrupted" and exit 130. Only the main thread
    can take signals; elsewhere SIGTERM keeps its own handler (and `serve` sets its own)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    closed = [name for name in ("stdout", "stderr") if getattr(sys, name) is None]  # started with fd 1 or 2 closed
    if closed:
        for name in closed:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # for the rest of the process
        print(f"hems-conformance: error: {' and '.join(closed)} closed: no verdict could be seen",
              file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for warning in unknown_environment(parser, os.environ):
        print(f"hems-conformance: warning: {warning}", file=sys.stderr)
    try:
        apply_environment(args)
        with _terminate_as_interrupt():
            return args.handler(args)
    except UsageError as exc:
        print(f"hems-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TargetError as exc:
        print(f"hems-conformance: target could not be tested: {exc}", file=sys.stderr)
        return EXIT_TARGET
    except KeyboardInterrupt:
        print("hems-conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `| head`: the verdict was never seen, so it must not read as conformant
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        print("hems-conformance: output closed before the verdict: incomplete", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last resort: never a traceback, never exit 1
        return _unexpected(exc, args.command)


_TARGET_MODULES = ("requests", "urllib3", "httpx", "httpcore", "h11", "ssl", "socket")


def _unexpected(exc: Exception, command: str) -> int:
    """An error no part of the suite expected: one line (its type and where it arose, never its message, which
    may hold a secret), each unfinished report folder marked, and exit 3 when it came from talking to the target
    (`run`, `replay`), else 2. Never 1: a crash is no finding."""
    from conformance.report.summary import mark_unfinished

    module = type(exc).__module__.split(".")[0]
    talking = isinstance(exc, (ConnectionError, TimeoutError)) or module in _TARGET_MODULES
    code = EXIT_TARGET if talking and command in ("run", "replay", "token") else EXIT_USAGE
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if "conformance" in frame.filename]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    cause = f"unexpected {type(exc).__name__}{where} (a defect of hems-conformance: please report this line)"
    mark_unfinished(code, cause)
    prefix = "target could not be tested" if code == EXIT_TARGET else "error"
    print(f"hems-conformance: {prefix}: {cause}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
