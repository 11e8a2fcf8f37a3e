"""Run every benchmark on this machine and write BENCHMARKS.md.

uv run python -m bench.run            # full sizes, repeated; figures are medians
uv run python -m bench.run --quick    # tiny sizes (the test suite runs this)
uv run python -m bench.run --only groups   # one benchmark again; its section is replaced
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fanout, feedback, groups, media, replay, restart, sfu

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}"


def table(result: dict[str, Any]) -> str:
    cols = result["columns"]
    out = [f"## {result['title']}", "", f"Goal: {result['goal']}.", ""]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "---|" * len(cols))
    for row in result["rows"]:
        out.append("| " + " | ".join(str(row[c]) for c in cols) + " |")
    out.append("")
    out += [f"{n}" for n in result.get("notes", [])]
    out.append("")
    return "\n".join(out)


def replace_section(path: Path, result: dict[str, Any], how: str) -> int:
    """Put one benchmark's new section in place of its old one, saying when and how it ran."""
    result["notes"].append(
        f"This section was run again on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
        f"`uv run python -m bench.run {how}` on {machine()}."
    )
    text = path.read_text()
    head = f"## {result['title']}\n"
    if head not in text:  # a new benchmark: its section goes at the end
        path.write_text(text.rstrip("\n") + "\n\n" + table(result).rstrip("\n") + "\n")
        print(f"added {result['title']!r} to {path}")
        return 0
    start = text.index(head)
    end = text.find("\n## ", start + len(head))
    end = len(text) if end < 0 else end + 1
    path.write_text(text[:start] + table(result).rstrip("\n") + "\n\n" + text[end:])
    print(f"replaced {result['title']!r} in {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the benchmarks run")
    p.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    p.add_argument(
        "--only",
        choices=["groups", "fanout", "workers", "feedback", "media", "sfu", "replay", "restart"],
        help="run one benchmark at full size and replace its section of the output",
    )
    args = p.parse_args(argv)
    if args.quick:
        plan: list[Callable[[], dict[str, Any]]] = [
            lambda: groups.run([50, 200], repeats=2),
            lambda: fanout.run([20], repeats=1),
            lambda: fanout.run_workers(20, repeats=1),
            lambda: feedback.run(30, rate=10, seconds=2, repeats=1),
            lambda: media.run([2], repeats=1, window=2),
            lambda: sfu.run([1], repeats=1, window=2, baseline=False),
            lambda: replay.run([2000], repeats=1),
        ]
    else:
        full = {
            "groups": lambda: groups.run([200, 2000, 10000], repeats=7),
            "fanout": lambda: fanout.run([500, 2000, 5000], repeats=3),
            "workers": lambda: fanout.run_workers(2000, repeats=3),
            "feedback": lambda: feedback.run(500, rate=20, seconds=8, repeats=3),
            "media": lambda: media.run([4, 8, 16], repeats=3, window=5),
            "sfu": lambda: sfu.run([1, 2, 4], repeats=2, window=6),
            "replay": lambda: replay.run([10_000, 50_000, 200_000], repeats=3),
            "restart": lambda: restart.run([10_000, 50_000, 200_000], repeats=3),
        }
        plan = [full[args.only]] if args.only else list(full.values())
    results = []
    started = time.monotonic()
    for step in plan:
        t0 = time.monotonic()
        results.append(step())
        took = time.monotonic() - t0
        results[-1].setdefault("notes", []).append(f"This benchmark took {took / 60:.1f} minutes.")
        print(f"{results[-1]['title']}: {took:.0f} s", file=sys.stderr, flush=True)
    total = time.monotonic() - started
    if args.only and not args.quick:
        return replace_section(Path(args.output), results[0], f"--only {args.only}")
    command = "uv run python -m bench.run" + (" --quick" if args.quick else "")
    text = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}.",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Command: `{command}`.",
        "Figures are medians of repeated runs in one invocation.",
        f"The whole run took {total / 60:.1f} minutes.",
        "",
    ]
    text += [table(r) for r in results]
    Path(args.output).write_text("\n".join(text))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
