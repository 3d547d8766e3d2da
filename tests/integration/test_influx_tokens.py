"""`zonewatch influx-tokens` against the real InfluxDB: each token can do what its process needs
on zonewatch's bucket and nothing more: the read token cannot write, the write token cannot
read, neither reaches another bucket, and the workers' token does both (they write, and their
API and ack check query)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException


def run_tokens(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zonewatch", "influx-tokens", "--out",
                           str(out)], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def tokens(zw_env: dict[str, str], influx: InfluxDBClient,
           tmp_path: Path) -> Iterator[dict[str, str]]:
    out = tmp_path / "tokens"
    done = run_tokens(zw_env, out)
    assert done.returncode == 0, done.stderr
    made = {p.name: p.read_text() for p in out.iterdir()}
    for token in made.values():
        assert token not in done.stdout + done.stderr
    yield made
    api = influx.authorizations_api()
    for auth in api.find_authorizations():
        if auth.token in made.values():
            api.delete_authorization(auth)


def can_write(env: dict[str, str], token: str, bucket: str) -> bool:
    with InfluxDBClient(url=env["ZW_INFLUX_URL"], token=token, org=env["ZW_INFLUX_ORG"]) as c:
        try:
            c.write_api(write_options=SYNCHRONOUS).write(
                bucket, record=f"probe,token=t f=1 {int(datetime.now(UTC).timestamp())}",
                write_precision="s")
            return True
        except ApiException as e:
            assert e.status in (401, 403, 404), e
            return False


def can_read(env: dict[str, str], token: str, bucket: str) -> bool:
    with InfluxDBClient(url=env["ZW_INFLUX_URL"], token=token, org=env["ZW_INFLUX_ORG"]) as c:
        try:
            c.query_api().query(f'from(bucket: "{bucket}") |> range(start: -1h) |> limit(n: 1)')
            return True
        except ApiException as e:
            assert e.status in (401, 403, 404), e
            return False


def test_each_token_does_what_its_process_needs_and_nothing_more(
        zw_env: dict[str, str], tokens: dict[str, str], tmp_path: Path) -> None:
    assert set(tokens) == {"influx_token", "influx_read_token", "influx_write_token"}
    for name in tokens:
        assert stat.S_IMODE((tmp_path / "tokens" / name).stat().st_mode) == 0o600
    mine, other = zw_env["ZW_INFLUX_BUCKET"], "zonewatch"  # the shared bucket of other runs
    rights = {name: (can_read(zw_env, token, mine), can_write(zw_env, token, mine))
              for name, token in tokens.items()}
    assert rights == {"influx_token": (True, True), "influx_read_token": (True, False),
                      "influx_write_token": (False, True)}
    for token in tokens.values():
        assert not can_read(zw_env, token, other) and not can_write(zw_env, token, other)


def test_a_second_run_keeps_the_tokens_and_prints_none(
        zw_env: dict[str, str], tokens: dict[str, str], tmp_path: Path) -> None:
    again = run_tokens(zw_env, tmp_path / "tokens")
    assert again.returncode == 0 and again.stdout.count("kept (exists)") == 3, again
    assert {p.name: p.read_text() for p in (tmp_path / "tokens").iterdir()} == tokens
    for token in tokens.values():
        assert token not in again.stdout + again.stderr


def test_a_missing_bucket_is_named(zw_env: dict[str, str], tmp_path: Path) -> None:
    done = run_tokens({**zw_env, "ZW_INFLUX_BUCKET": "no-such-bucket-zw"}, tmp_path / "t")
    assert done.returncode == 1 and "no-such-bucket-zw" in done.stderr
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
