"""`zonewatch …`: the one command. Each subcommand builds its settings here, at the edge."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

Handler = Callable[[argparse.Namespace], int]


def _worker(_args: argparse.Namespace) -> int:
    from streams.app import run_worker
    from streams.config import StreamSettings

    run_worker(StreamSettings())
    return 0


def _ingest(_args: argparse.Namespace) -> int:
    from ingest.app import run
    from ingest.config import IngestSettings

    asyncio.run(run(IngestSettings()))
    return 0


def _registry_check(args: argparse.Namespace) -> int:
    from zonewatch.registry_cmd import run_check

    return run_check(args.file, sys.stdout, sys.stderr)


def _registry_load(args: argparse.Namespace) -> int:
    from schemas.registry_check import RegistryError, load_registry
    from zonewatch.registry_cmd import format_issue
    from zonewatch.registry_feed import publish_registry
    from zonewatch.settings import CommonSettings
    from zonewatch.topics import ensure_topics

    try:
        registry = load_registry(args.file)
    except RegistryError as e:
        for issue in e.issues:
            print(format_issue(args.file, issue), file=sys.stderr)
        return 1
    settings = CommonSettings()

    async def load() -> None:
        await ensure_topics(settings)
        await publish_registry(settings, registry)

    asyncio.run(load())
    print(f"loaded {args.file}: {len(registry.zones)} zones, {len(registry.points)} points "
          f"→ {settings.topics.registry}")
    return 0


def _hj212_parse(_args: argparse.Namespace) -> int:
    from zonewatch.hj212_cmd import run_parse

    return run_parse(sys.stdin.buffer, sys.stdout, sys.stderr)


def _simulate(args: argparse.Namespace) -> int:
    from zonewatch.simulate_cmd import run_simulate

    return run_simulate(args)


def _demo(args: argparse.Namespace) -> int:
    from zonewatch.demo_cmd import run_demo

    return run_demo(args)


def _report(args: argparse.Namespace) -> int:
    from zonewatch.report import run_report

    return run_report(args)


def _mqtt_auth(args: argparse.Namespace) -> int:
    from zonewatch.auth_cmd import run_mqtt_auth
    from zonewatch.settings import MqttSettings

    return run_mqtt_auth(args, MqttSettings(), sys.stdout, sys.stderr)


def _influx_tokens(args: argparse.Namespace) -> int:
    from zonewatch.influx_tokens import run_influx_tokens
    from zonewatch.settings import InfluxSettings

    return run_influx_tokens(args, InfluxSettings(), sys.stdout, sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zonewatch", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run a stream-processing worker").set_defaults(fn=_worker)
    sub.add_parser("ingest", help="run MQTT → Kafka ingest").set_defaults(fn=_ingest)
    reg = sub.add_parser("registry", help="check or load the registry").add_subparsers(
        dest="action", required=True)
    for name, fn in (("check", _registry_check), ("load", _registry_load)):
        cmd = reg.add_parser(name)
        cmd.add_argument("file", type=Path)
        cmd.set_defaults(fn=fn)
    hj = sub.add_parser("hj212", help="HJ 212-2017 tools").add_subparsers(dest="action",
                                                                           required=True)
    hj.add_parser("parse", help="parse frames from stdin, one per line").set_defaults(
        fn=_hj212_parse)
    sim = sub.add_parser("simulate", help="publish a simulated fleet over MQTT")
    sim.add_argument("--registry", type=Path, default=Path("deploy/demo/registry.yaml"))
    sim.add_argument("--duration", type=float, default=0, help="seconds; 0 runs until stopped")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--scenario", choices=("calm", "realistic", "stormy"), default="realistic",
                     help="how much goes wrong: outages, faults, exceedances, bad input …")
    sim.add_argument("--rate", type=float, default=0,
                     help="at most this many messages/s; 0: no cap")
    sim.add_argument("--points", type=int, default=0, metavar="N",
                     help="simulate only the first N points of the registry; 0: all")
    sim.add_argument("--history", type=float, default=0, metavar="MINUTES",
                     help="first publish the past MINUTES (event times in the past), then go live")
    sim.add_argument("--speedup", "--speed", type=float, default=0, metavar="K",
                     help="replay --history at K× real time; 0: as fast as --rate allows")
    sim.add_argument("--bad-rate", type=float, default=None, metavar="R",
                     help="bad messages per good one (default: the scenario's; 0 in calm)")
    sim.add_argument("--shard", metavar="K/N", default=None,
                     help="only every N-th point from the K-th, to run N simulators side by side")
    sim.set_defaults(fn=_simulate)
    demo = sub.add_parser("demo", help="run the whole loop on the local services")
    demo.add_argument("--registry", type=Path, default=Path("deploy/demo/registry.yaml"))
    demo.add_argument("--duration", type=float, default=0, help="seconds; 0 runs until Ctrl-C")
    demo.add_argument("--history", type=float, default=65, metavar="MINUTES",
                      help="the simulator first replays the past MINUTES, so figures mean "
                           "something from the start")
    demo.set_defaults(fn=_demo)
    rep = sub.add_parser("report", help="a zone's compliance report for a period (HTML, CSV)")
    rep.add_argument("--zone", required=True, help="zone id, as in the registry")
    rep.add_argument("--from", dest="date_from", required=True, metavar="DATE",
                     help="first day, YYYY-MM-DD (Asia/Shanghai)")
    rep.add_argument("--to", dest="date_to", required=True, metavar="DATE",
                     help="last day, included, YYYY-MM-DD (Asia/Shanghai); at most 366 days")
    rep.add_argument("--format", choices=("html", "csv", "both"), default="both")
    rep.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="folder for the files (made if missing)")
    rep.add_argument("--registry", type=Path, default=None, metavar="FILE",
                     help="the registry the period was judged against (default: $ZW_REGISTRY)")
    rep.set_defaults(fn=_report)
    _security_parsers(sub)
    return p


def _security_parsers(sub: argparse._SubParsersAction) -> None:
    """`mqtt-auth` and `influx-tokens`: least-privilege credentials for the brokers."""
    auth = sub.add_parser("mqtt-auth", help="Mosquitto ACL and password file from the registry")
    auth.add_argument("--registry", type=Path, required=True, metavar="FILE")
    auth.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                      help="folder for mosquitto.acl and mosquitto_passwd (default: .)")
    auth.add_argument("--acl", type=Path, default=None, metavar="FILE",
                      help="write the ACL here instead of DIR/mosquitto.acl")
    auth.add_argument("--passwd", type=Path, default=None, metavar="FILE",
                      help="write the password file here instead of DIR/mosquitto_passwd")
    auth.add_argument("--secrets", type=Path, default=None, metavar="FILE",
                      help="YAML `user: password` (mode 0600); the service user's may come "
                           "from ZW_MQTT_PASSWORD instead")
    auth.add_argument("--generate", action="store_true",
                      help="make random passwords for the users --secrets lacks, and add them")
    auth.set_defaults(fn=_mqtt_auth)
    tok = sub.add_parser("influx-tokens",
                         help="InfluxDB tokens scoped to the bucket: read+write, read, write")
    tok.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="folder for the token files (an existing file is kept)")
    tok.add_argument("--operator-token-file", type=Path, default=None, metavar="FILE",
                     help="a token allowed to create tokens (default: ZW_INFLUX_TOKEN)")
    tok.set_defaults(fn=_influx_tokens)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except ValidationError as e:
        print(f"zonewatch: bad configuration:\n{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
