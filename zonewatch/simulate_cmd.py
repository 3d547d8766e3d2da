"""`zonewatch simulate`: publish a simulated fleet over MQTT, in real time, as devices would.

The fleet (`zonewatch.fleet`) decides what is sent and when; this module only paces it against
the wall clock and the broker. `--history M` first replays the past M minutes (event times in
the past) as fast as allowed, then goes on live, so dashboards have a past to show at once.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ingest.hj212 import BEIJING
from schemas.registry_check import RegistryError, load_registry
from zonewatch.fleet import SCENARIOS, Fleet
from zonewatch.simulate_mqtt import Publisher, SimulateSettings

PROGRESS_S = 5.0


@dataclass(frozen=True)
class SimulateOptions:
    """The command line, checked before anything connects."""

    registry: Path
    duration: float = 0.0
    seed: int = 1
    scenario: str = "realistic"
    rate: float = 0.0
    points: int | None = None
    history_min: float = 0.0
    speedup: float = 0.0
    bad_rate: float | None = None
    shard: tuple[int, int] = (0, 1)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SimulateOptions:
        """ValueError for a malformed --shard; everything else is checked by `problems`."""
        return cls(registry=args.registry, duration=args.duration, seed=args.seed,
                   scenario=args.scenario, rate=args.rate, points=args.points or None,
                   history_min=args.history, speedup=args.speedup, bad_rate=args.bad_rate,
                   shard=_shard(args.shard))

    def problems(self) -> list[str]:
        checks = [
            (self.duration >= 0, "--duration must be ≥ 0 (0 runs until stopped)"),
            (self.rate >= 0, "--rate must be ≥ 0 (0: no cap)"),
            (self.points is None or self.points > 0, "--points must be ≥ 1"),
            (self.history_min >= 0, "--history must be ≥ 0 minutes"),
            (self.speedup == 0 or self.speedup >= 1, "--speedup must be 0 or ≥ 1"),
            (self.bad_rate is None or 0 <= self.bad_rate <= 1, "--bad-rate must be in 0…1"),
            (self.scenario in SCENARIOS, f"--scenario must be one of {', '.join(SCENARIOS)}"),
            (0 <= self.shard[0] < self.shard[1], "--shard K/N needs 0 ≤ K < N"),
        ]
        return [message for ok, message in checks if not ok]


class Progress:
    """One line on stderr every few seconds: messages sent, rate, counts by kind."""

    def __init__(self, out: TextIO, every_s: float = PROGRESS_S) -> None:
        self.out, self.every_s = out, every_s
        self.counts: Counter[str] = Counter()
        self.started = self._last_t = time.monotonic()
        self._last_n = 0
        self.event_time: datetime | None = None

    def count(self, kind: str, event_time: datetime) -> None:
        self.counts[kind] += 1
        self.event_time = event_time
        self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_t >= self.every_s:
            total = self.counts.total()
            rate = (total - self._last_n) / (now - self._last_t)
            self._last_t, self._last_n = now, total
            print(f"simulate: {total:,} sent, {rate:,.0f} msg/s, {self._kinds()}{self._at()}",
                  file=self.out, flush=True)

    def totals(self, acked: int) -> str:
        total, elapsed = self.counts.total(), max(time.monotonic() - self.started, 1e-9)
        return (f"simulate: done: {total:,} messages in {elapsed:,.1f} s "
                f"({total / elapsed:,.0f} msg/s), {acked:,} acknowledged by the broker; "
                f"{self._kinds()}")

    def _kinds(self) -> str:
        return ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.counts.items())) or "nothing"

    def _at(self) -> str:
        """The event time reached, in Beijing time like the devices' own clocks."""
        if self.event_time is None:
            return ""
        return f"; at {self.event_time.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} +08:00"


@dataclass(frozen=True)
class SimClock:
    """Fleet time: `speedup`× the wall clock from `sim0` until it catches up, then the wall."""

    wall0: float
    sim0: float
    speedup: float

    def now(self, wall: float) -> float:
        if self.speedup <= 0:
            return wall
        return min(wall, self.sim0 + (wall - self.wall0) * self.speedup)

    def wall_of(self, sim_t: float) -> float:
        """When (wall clock) fleet time reaches `sim_t`."""
        if self.speedup <= 0:
            return sim_t
        return max(sim_t, self.wall0 + (sim_t - self.sim0) / self.speedup)


class Pacer:
    """At most `rate` messages/s (0: no cap), with up to 50 ms of catch-up after a stall."""

    def __init__(self, rate: float) -> None:
        self.step = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()

    def take(self) -> None:
        if not self.step:
            return
        now = time.monotonic()
        self.next = max(self.next, now - 0.05) + self.step
        if self.next > now + 0.001:
            time.sleep(self.next - now)


def run_simulate(args: argparse.Namespace) -> int:
    """Entry point of `zonewatch simulate`; exit 0 on Ctrl-C or at the end of --duration."""
    try:
        options = SimulateOptions.from_args(args)
    except ValueError as e:
        print(f"zonewatch simulate: {e}", file=sys.stderr)
        return 2
    if problems := options.problems():
        print("zonewatch simulate: " + "; ".join(problems), file=sys.stderr)
        return 2
    settings = SimulateSettings()
    fleet = _fleet(options)
    if fleet is None:
        return 1
    publisher = Publisher(settings, client_id=f"zonewatch-sim-{os.getpid()}")
    try:
        publisher.start()
    except ConnectionError as e:
        print(f"zonewatch simulate: {settings.mqtt.url}: {e}", file=sys.stderr)
        return 1
    print(_summary(fleet, options, settings), file=sys.stderr, flush=True)
    progress = Progress(sys.stderr)
    with _sigterm_as_interrupt(), contextlib.suppress(KeyboardInterrupt):
        try:
            publish_loop(fleet, publisher, progress, options)
        finally:
            publisher.stop()
            print(progress.totals(publisher.acked), file=sys.stderr, flush=True)
    return 0


def _fleet(options: SimulateOptions) -> Fleet | None:
    try:
        registry = load_registry(options.registry)
    except RegistryError as e:
        for issue in e.issues:
            if issue.severity == "error":
                print(f"{options.registry}: {issue}", file=sys.stderr)
        return None
    start = datetime.fromtimestamp(time.time() - options.history_min * 60, UTC)
    return Fleet(registry, start=start, seed=options.seed, scenario=options.scenario,
                 bad_rate=options.bad_rate, points=options.points, shard=options.shard)


def _shard(text: str | None) -> tuple[int, int]:
    """`K/N` → (K, N): this process simulates every N-th point from the K-th."""
    if not text:
        return (0, 1)
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise ValueError(f"--shard must look like K/N, e.g. 0/4, not {text!r}")
    return int(index), int(count)


def _summary(fleet: Fleet, options: SimulateOptions, settings: SimulateSettings) -> str:
    protocols = Counter(fleet.protocol(p) for p in fleet.point_ids)
    dark = sorted(fleet.dark)
    text = (f"simulate: {options.registry}: {len(fleet.point_ids):,} points reporting "
            f"({protocols['hj212']:,} HJ 212, {protocols['json']:,} JSON), "
            f"{len(dark)} dark{': ' + ', '.join(dark[:8]) if dark else ''}"
            f"{' …' if len(dark) > 8 else ''}; scenario {fleet.scenario.name}, seed {fleet.seed}, "
            f"bad rate {fleet.bad_rate:g} → {settings.mqtt.url}")
    if options.history_min:
        pace = f"at {options.speedup:g}× real time" if options.speedup else "as fast as allowed"
        text += f"\nsimulate: publishing the past {options.history_min:g} min first, {pace}"
    return text


def publish_loop(fleet: Fleet, publisher: Publisher, progress: Progress,
                 options: SimulateOptions) -> None:
    """Publish whatever is due by fleet time, sleep until the next message, until the end."""
    clock = SimClock(time.time(), fleet.start.timestamp(), options.speedup)
    end = time.monotonic() + options.duration if options.duration else math.inf
    pacer = Pacer(options.rate)
    while time.monotonic() < end:
        sim_now = clock.now(time.time())
        for message in fleet.due(datetime.fromtimestamp(sim_now, UTC)):
            pacer.take()
            while not publisher.room():
                progress.tick()
                time.sleep(0.005)
            publisher.publish(message.topic, message.payload)
            progress.count(message.kind, message.event_time)
            if time.monotonic() >= end:
                return
        _sleep_until_due(fleet, clock, end)
        progress.tick()


def _sleep_until_due(fleet: Fleet, clock: SimClock, end: float) -> None:
    """Sleep until the next message is due, but wake at least 4× a second for progress."""
    due = fleet.next_due()
    wait = 0.25 if due is None else clock.wall_of(due.timestamp()) - time.time()
    time.sleep(max(0.0, min(wait, 0.25, end - time.monotonic())))


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, a test harness) stops as cleanly as Ctrl-C."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
