"""``python -m bench``: install the peers, run the selected scenarios, write the results."""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import os
import re
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import history, machine, peers_env, profiling, report, runner, targets
from bench.queues import servers
from bench.registry import all_scenarios
from bench.scenario import Scenario, Settings, keep_sides, select, split_patterns

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROFILES_DIR = RESULTS_DIR / "profiles"  # raw stacks; git-ignored, summarised in the results
USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure capataz against supervisord and the Python job queues, "
        "in alternating runs, and write a Markdown results file under bench/results/.",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--scenarios", action="append", default=[], metavar="GLOB",
                        help="run only scenarios matching these globs (comma-separated, "
                        "repeatable), e.g. 'sup.start.*,queue.*.redis'")
    parser.add_argument("--sides", action="append", default=[], metavar="GLOB",
                        help="run only the sides matching these globs, e.g. 'capataz*' with "
                        "--profile (ratios need the peers)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer processes, jobs and megabytes: a pass takes minutes")
    parser.add_argument("--runs", type=int, default=3,
                        help="alternating runs per side (default 3)")
    parser.add_argument("--output", type=Path, help="results file (default bench/results/...)")
    parser.add_argument("--profile", action="store_true",
                        help="sample capataz's processes with py-spy and add their hottest "
                        "functions to the results (timings then include the sampling)")
    parser.add_argument("--compare", type=Path, metavar="JSON",
                        help="add capataz's before/after medians against an earlier run's "
                        ".json (written beside each results .md)")
    parser.add_argument("--no-install", action="store_true",
                        help="use bench/.venv as it is, without checking the pinned peers")
    return parser


def _raise_fd_limit() -> None:
    """1,000 children need a few thousand descriptors in the daemon; both daemons inherit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _compile_sources() -> None:
    """Byte-compile capataz and the harness before anything is timed.

    pip compiles every peer's modules when it installs them, but capataz is an
    editable install: with PYTHONDONTWRITEBYTECODE set (as on some CI machines)
    each daemon and worker start would compile capataz from source, a cost no
    installed package pays. py_compile writes the .pyc files even then.
    """
    for tree in (peers_env.REPO_ROOT / "src", peers_env.BENCH_DIR):
        # bench/.venv holds the peers, compiled by pip already.
        compileall.compile_dir(tree, quiet=1, rx=re.compile(r"/\.venv/"))


def _list(scenarios: Sequence[Scenario], settings: Settings) -> None:
    for scenario in scenarios:
        sides = ", ".join(side.label for side in scenario.sides)
        print(f"{scenario.name:24} {scenario.title(settings)}  [{sides}]")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _write_results(output: Path, info: report.RunInfo, results: list[runner.ScenarioResult],
                   *, before: dict[str, Any] | None, before_path: Path | None,
                   profile_dir: Path | None, final: bool) -> None:
    """The Markdown report (plus before/after and profiles if asked), its JSON twin."""
    verdicts = targets.evaluate_all(results)
    text = report.render(info, results, verdicts)
    if before is not None and before_path is not None:
        text += "\n" + history.compare_section(before, before_path.name, results)
    if profile_dir is not None:
        text += "\n" + profiling.report(profile_dir.relative_to(peers_env.REPO_ROOT))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    output.with_suffix(".json").write_text(history.to_json(info, results))
    if final:
        print(report.targets_table(verdicts))
        print(f"\nresults written to {output}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.quick_mode() if args.quick else Settings.full()
    try:
        chosen = keep_sides(select(all_scenarios(), split_patterns(args.scenarios)),
                            split_patterns(args.sides))
    except ValueError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.runs < 1:
        print("python -m bench: --runs must be at least 1", file=sys.stderr)
        return USAGE_ERROR
    if not chosen:
        print("python -m bench: no scenario has a side matching --sides", file=sys.stderr)
        return USAGE_ERROR
    if args.list:
        _list(chosen, settings)
        return 0
    before = None
    if args.compare is not None:
        try:
            before = history.load(args.compare)
        except history.HistoryError as exc:
            print(f"python -m bench: {exc}", file=sys.stderr)
            return USAGE_ERROR
    if not args.no_install:
        try:
            peers_env.ensure(_log)
        except peers_env.PeerEnvError as exc:
            print(f"python -m bench: {exc}", file=sys.stderr)
            return 1
    _raise_fd_limit()
    _compile_sources()
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%d-%H%M") + ("-quick" if args.quick else "")
    profile_dir = PROFILES_DIR / stamp
    if args.profile:
        profile_dir.mkdir(parents=True, exist_ok=True)
        os.environ[profiling.DIR_ENV] = str(profile_dir)
    facts = machine.facts()
    versions = peers_env.versions()
    output = args.output or RESULTS_DIR / f"{stamp}{'-profiled' if args.profile else ''}.md"
    started = time.perf_counter()
    mode = "quick" if args.quick else "full"

    def save(results: list[runner.ScenarioResult], *, final: bool = False) -> None:
        info = report.RunInfo(
            date=now.strftime("%Y-%m-%d %H:%M UTC"),
            command="python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
            mode=mode if final else f"{mode}, partial: {len(results)} of {len(chosen)} "
            "scenarios so far",
            runs=args.runs, seconds=time.perf_counter() - started, machine=facts,
            versions=versions,
        )
        _write_results(output, info, results, before=before, before_path=args.compare,
                       profile_dir=profile_dir if args.profile else None, final=final)

    try:
        # Saved after each scenario, so a run cut short still leaves its numbers.
        results = runner.run_all(chosen, settings, args.runs, _log, after_each=save)
    finally:
        servers.cleanup()
    # Other work on a shared machine shows here; a high load explains wide ranges.
    facts["load average at end"] = machine.load_average()
    save(results, final=True)
    return 0
