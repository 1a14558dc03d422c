"""The `hems-conformance` command: a thin shell over the catalogue, the judge and the deployment.

Exit codes: 0 conformant, 1 non-conformant, 2 bad usage/config/input, 3 target could not be tested.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from conformance import __version__
from conformance.errors import TargetError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as argparse does, without the usage dump
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _cmd_invariants(args: argparse.Namespace) -> int:
    from conformance import docs

    render = {"text": docs.render_text, "markdown": docs.render_markdown, "json": docs.render_json}[args.format]
    sys.stdout.write(render())
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from conformance.contract import load_contract
    from conformance.judge import Judge
    from conformance.offline import run_check
    from conformance.settings import load_settings

    judge = Judge(load_contract(args.spec), load_settings(args.config))
    tally = run_check(judge, args.paths, strict=args.strict, output=args.format)
    return tally.exit_code()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hems-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hems-conformance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inv = commands.add_parser("invariants", help="print the invariant catalogue")
    inv.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    inv.set_defaults(handler=_cmd_invariants)

    check = commands.add_parser("check", help="judge recorded payloads offline (files, directories, JSON Lines, -)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="JSON file, directory, .jsonl/.ndjson file, or - for stdin")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    check.add_argument("--strict", action="store_true", help="SHOULD findings fail the verdict too")
    check.add_argument("--spec", metavar="FILE", help="judge against this OpenAPI document instead of the pinned one")
    check.add_argument("--config", metavar="FILE", help="TOML file whose [judge] table sets readings and levels")
    check.set_defaults(handler=_cmd_check)
    return parser



def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
