"""Where the time goes, from py-spy's collapsed stacks (`py-spy record --format raw`).

    python -m bench.profile_summary FILE [--top 25]

Prints the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive), as shares of all samples.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def summarise(text: str) -> tuple[int, Counter[str], Counter[str]]:
    total, own, anywhere = 0, Counter[str](), Counter[str]()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    return total, own, anywhere


def _short(frame: str) -> str:
    """`fn (path/to/module.py:12)` → `fn (module.py)`: lines apart, one function is one row."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    total, own, anywhere = summarise(args.file.read_text())
    for title, counts in (("self", own), ("inclusive", anywhere)):
        print(f"-- {title} ({total} samples)")
        for frame, n in counts.most_common(args.top):
            print(f"{n / total:7.1%}  {frame}")


if __name__ == "__main__":
    main()
