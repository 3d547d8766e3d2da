#!/bin/sh
# Make the secret files of the Compose deployment (secrets/README.md), with random values.
# An existing file is never overwritten. Prints the first API admin token once: keep it.
#   ./make-secrets.sh [SECRETS_DIR]        (default: ./secrets next to this script)
# Needs: sh, od, sha256sum (or shasum), and mosquitto_passwd or docker (for the hashed file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${SECRETS_DIR:-$here/secrets}}
mkdir -p "$dir"
chmod 700 "$dir"
umask 022   # files readable by the containers' users; the folder keeps everyone else out

random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
sha256() {
    if command -v sha256sum >/dev/null; then printf %s "$1" | sha256sum | cut -d' ' -f1
    else printf %s "$1" | shasum -a 256 | cut -d' ' -f1; fi
}
made() { echo "made $dir/$1"; }
new() { [ ! -e "$dir/$1" ]; }

new metrics_token && metrics_new=1 || metrics_new=
for name in influx_admin_password influx_admin_token mqtt_password grafana_admin_password \
        metrics_token; do
    if new "$name"; then random > "$dir/$name"; made "$name"; fi
done
if new influx_token; then
    # At first zonewatch uses the admin token; replace it with a bucket-scoped one
    # (deploy/OPERATIONS.md, "Secrets").
    cp "$dir/influx_admin_token" "$dir/influx_token"; made influx_token
fi
if new routes.yaml; then cp "$here/secrets/routes.yaml.example" "$dir/routes.yaml"; made routes.yaml; fi
# Prometheus's entry: role metrics reads the workers' /metrics (every zone's figures) and
# nothing else.
metrics_entry() {
    printf -- '- name: prometheus\n  sha256: "%s"\n  role: metrics\n' \
        "$(sha256 "$(cat "$dir/metrics_token")")"
}
if new tokens.yaml; then
    token=$(random)
    { printf -- '- name: operator\n  sha256: "%s"\n  role: admin\n' "$(sha256 "$token")"
      metrics_entry; } > "$dir/tokens.yaml"
    made tokens.yaml
    echo "API/dashboard admin token (shown once, only its SHA-256 is kept): $token"
elif [ -n "$metrics_new" ]; then
    echo "add Prometheus's entry to $dir/tokens.yaml, then recreate the workers:"
    metrics_entry
fi
if new mosquitto_passwd; then
    # A plain user:password file, hashed in place by `mosquitto_passwd -U`.
    printf 'zonewatch:%s\n' "$(cat "$dir/mqtt_password")" > "$dir/mosquitto_passwd"
    if command -v mosquitto_passwd >/dev/null; then
        mosquitto_passwd -U "$dir/mosquitto_passwd"
    else
        docker run --rm --user "$(id -u):$(id -g)" -v "$dir:/secrets" \
            "${MOSQUITTO_IMAGE:-eclipse-mosquitto:2}" mosquitto_passwd -U /secrets/mosquitto_passwd
    fi
    chmod 644 "$dir/mosquitto_passwd"
    made mosquitto_passwd
    echo "add zone gateways with: mosquitto_passwd $dir/mosquitto_passwd <zone-id>"
fi
