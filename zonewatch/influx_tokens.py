"""`zonewatch influx-tokens`: InfluxDB tokens scoped to zonewatch's bucket, one per need.

The setup (operator) token can do anything, backups included; no zonewatch process should hold
it. Each process gets the least that works:

- `influx_token`, read + write the bucket: the workers. They write readings, states, coverage
  and alerts, and they also query it (the HTTP API; the alert lookup behind an MQTT ack).
- `influx_read_token`, read the bucket: `zonewatch report`, Grafana, anything that only looks.
- `influx_write_token`, write the bucket: a writer that never queries (none of zonewatch's
  processes today; kept for tools such as bulk loaders).

Ingest, `registry load` and `simulate` need no InfluxDB token at all. The tokens are written
to files (mode 0600), never printed; an existing file is kept, so running it again is harmless.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from influxdb_client import Authorization, InfluxDBClient, Permission, PermissionResource
from influxdb_client.rest import ApiException

from zonewatch.settings import InfluxSettings

__all__ = ["TOKENS", "TokenSpec", "permissions", "run_influx_tokens"]


@dataclass(frozen=True, slots=True)
class TokenSpec:
    file: str
    actions: tuple[str, ...]
    purpose: str


TOKENS = (
    TokenSpec("influx_token", ("read", "write"), "zonewatch workers"),
    TokenSpec("influx_read_token", ("read",), "zonewatch read-only: report, Grafana"),
    TokenSpec("influx_write_token", ("write",), "zonewatch write-only"),
)


def permissions(bucket_id: str, org_id: str, actions: tuple[str, ...]) -> list[Permission]:
    """One permission per action on this one bucket: no other bucket, no org-wide right."""
    return [Permission(action=a, resource=PermissionResource(type="buckets", id=bucket_id,
                                                             org_id=org_id))
            for a in actions]


def create_tokens(client: InfluxDBClient, settings: InfluxSettings, out: Path
                  ) -> list[tuple[TokenSpec, bool]]:
    """Make each token whose file does not exist yet; (spec, made) for each."""
    bucket = client.buckets_api().find_bucket_by_name(settings.bucket)
    if bucket is None:
        raise LookupError(f"no bucket {settings.bucket!r} (ZW_INFLUX_BUCKET)")
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for spec in TOKENS:
        path = out / spec.file
        if path.exists():
            done.append((spec, False))
            continue
        auth = Authorization(org_id=bucket.org_id,
                             permissions=permissions(bucket.id, bucket.org_id, spec.actions),
                             description=f"{spec.purpose} ({'+'.join(spec.actions)} "
                                         f"bucket {settings.bucket})")
        token = client.authorizations_api().create_authorization(authorization=auth).token
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        done.append((spec, True))
    return done


def run_influx_tokens(args: argparse.Namespace, settings: InfluxSettings, stdout: TextIO,
                      stderr: TextIO) -> int:
    """Exit 0 with the files named, 1 when InfluxDB refuses or the bucket is missing."""
    operator = (args.operator_token_file.read_text().strip() if args.operator_token_file
                else settings.token.get_secret_value())
    if not operator:
        print("zonewatch influx-tokens: no operator token (--operator-token-file or "
              "ZW_INFLUX_TOKEN)", file=stderr)
        return 2
    with InfluxDBClient(url=settings.url, token=operator, org=settings.org,
                        timeout=settings.timeout_ms) as client:
        try:
            done = create_tokens(client, settings, args.out)
        except LookupError as e:
            print(f"zonewatch influx-tokens: {e}", file=stderr)
            return 1
        except ApiException as e:
            print(f"zonewatch influx-tokens: InfluxDB answered {e.status} {e.reason} "
                  "(is the operator token allowed to create tokens?)", file=stderr)
            return 1
    for spec, made in done:
        state = "made" if made else "kept (exists)"
        print(f"{args.out / spec.file}: {'+'.join(spec.actions)} bucket {settings.bucket}, "
              f"for {spec.purpose}: {state}", file=stdout)
    return 0
