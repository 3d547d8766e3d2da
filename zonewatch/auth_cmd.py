"""`zonewatch mqtt-auth`: the command around `zonewatch.mqtt_auth` (files, settings, output).

It says which files it wrote and whose password it generated, never a password.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from schemas.registry_check import RegistryError, load_registry
from zonewatch.mqtt_auth import (
    ACL_NAME,
    PASSWD_NAME,
    MqttAuthError,
    build_auth,
    load_secrets,
    write_auth,
)
from zonewatch.registry_cmd import format_issue
from zonewatch.settings import MqttSettings

__all__ = ["run_mqtt_auth"]


def run_mqtt_auth(args: argparse.Namespace, settings: MqttSettings, stdout: TextIO,
                  stderr: TextIO) -> int:
    """Exit 0 with the files written, 1 when the registry or the passwords fall short."""
    try:
        registry = load_registry(args.registry)
    except RegistryError as e:
        for issue in e.issues:
            print(format_issue(args.registry, issue), file=stderr)
        return 1
    if args.generate and args.secrets is None:
        print("zonewatch mqtt-auth: --generate needs --secrets FILE to keep the passwords in",
              file=stderr)
        return 2
    service_user = settings.username or "zonewatch"
    try:
        known = load_secrets(args.secrets) if args.secrets else {}
        if service_user not in known and settings.password is not None:
            known[service_user] = settings.password  # ZW_MQTT_PASSWORD: what the processes use
        files, kept = build_auth(registry, known, service_user, generate=args.generate)
    except MqttAuthError as e:
        print(f"zonewatch mqtt-auth: {e}", file=stderr)
        return 1
    acl = args.acl or args.out / ACL_NAME
    passwd = args.passwd or args.out / PASSWD_NAME
    write_auth(files, acl, passwd, args.secrets, kept)
    if files.unused:
        print(f"warning: {args.secrets} has users the registry does not name, left out: "
              f"{', '.join(files.unused)}", file=stderr)
    print(f"wrote {acl} and {passwd}: {len(files.users)} users "
          f"({len(registry.zones)} zones, {service_user}, alerts-reader)", file=stdout)
    if files.generated:
        print(f"generated passwords for {', '.join(files.generated)} into {args.secrets} "
              "(give each zone's gateways theirs)", file=stdout)
    print("reload: send mosquitto a SIGHUP (docker compose kill -s HUP mosquitto)", file=stdout)
    return 0

