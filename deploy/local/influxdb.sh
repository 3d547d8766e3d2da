# InfluxDB OSS 2.x built from source by build-influxdb.sh, onboarded on first start.
# Sourced by deploy/local/services. Secrets (token, password) live in
# $ZW_RUN/influxdb/*.secret (mode 600) and are printed only by `services env`.
INFLUX_PORT="${ZW_INFLUX_PORT:-8086}"
INFLUX_ORG=zonewatch
INFLUX_BUCKET=zonewatch
INFLUX_DIR="$ZW_RUN/influxdb"
INFLUX_TOKEN_FILE="$INFLUX_DIR/token.secret"
INFLUX_PATTERN="influxd.* --bolt-path $INFLUX_DIR/influxd.bolt"
INFLUX_BIN=""

influxdb_install() {
    # build-influxdb.sh takes a lock, prints the binary path and returns at once if built.
    INFLUX_BIN=$(bash "$DEPLOY_DIR/local/build-influxdb.sh") || die "influxdb: build failed"
    [[ -x "$INFLUX_BIN" ]] || die "influxdb: no binary at '$INFLUX_BIN'"
}

# influx_curl PATH [curl args…]: authenticated API call; the token goes through
# curl's config on stdin, never on a command line.
influx_curl() {
    local path="$1"; shift
    printf 'header = "Authorization: Token %s"\n' "$(<"$INFLUX_TOKEN_FILE")" |
        curl -fsS --max-time 5 -K - "$@" "http://127.0.0.1:$INFLUX_PORT$path"
}

influxdb_health() {
    influxdb_ready || return 1
    [[ -s "$INFLUX_TOKEN_FILE" ]] || return 1
    influx_curl "/api/v2/buckets?name=$INFLUX_BUCKET" 2>/dev/null | grep -q "\"name\": *\"$INFLUX_BUCKET\""
}

influxdb_start() {
    mkdir -p "$INFLUX_DIR"; chmod 700 "$INFLUX_DIR"
    # Bounded queries: one runaway Flux query once took 21 GiB of this 24 GiB machine.
    # influxd wants concurrency x initial <= max, so each query starts at 64 MiB and may grow to 512.
    spawn influxdb "$ZW_RUN/logs/influxdb.log" env INFLUXD_CONFIG_PATH="$INFLUX_DIR" \
        GOMEMLIMIT="${ZW_INFLUX_GOMEMLIMIT:-3GiB}" "$INFLUX_BIN" \
        --bolt-path "$INFLUX_DIR/influxd.bolt" --engine-path "$INFLUX_DIR/engine" \
        --sqlite-path "$INFLUX_DIR/influxd.sqlite" \
        --query-concurrency 8 --query-queue-size 64 \
        --query-initial-memory-bytes 67108864 --query-memory-bytes 536870912 \
        --query-max-memory-bytes 2147483648 \
        --http-bind-address "127.0.0.1:$INFLUX_PORT" --reporting-disabled
}

influxdb_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$INFLUX_PORT/health" 2>/dev/null | grep -q '"status": *"pass"'; }

# Called once influxdb_ready passes: onboard a fresh data dir (org, bucket, our token).
influxdb_setup() {
    local base="http://127.0.0.1:$INFLUX_PORT"
    if curl -fsS --max-time 5 "$base/api/v2/setup" | grep -q '"allowed": *true'; then
        say "influxdb: first start, onboarding org/bucket '$INFLUX_ORG' with a new token"
        ( umask 077
          "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$INFLUX_TOKEN_FILE"
          "$PY" -c 'import secrets; print(secrets.token_urlsafe(18))' >"$INFLUX_DIR/password.secret" )
        "$PY" - "$INFLUX_TOKEN_FILE" "$INFLUX_DIR/password.secret" "$INFLUX_ORG" "$INFLUX_BUCKET" <<'PY' |
import json, sys
tok, pw = (open(p).read().strip() for p in sys.argv[1:3])
print(json.dumps({"username": "zonewatch", "password": pw, "org": sys.argv[3],
                  "bucket": sys.argv[4], "token": tok}))
PY
            curl -fsS --max-time 10 -o /dev/null -H 'Content-Type: application/json' \
                --data-binary @- "$base/api/v2/setup" || die "influxdb: onboarding (POST /api/v2/setup) failed"
    elif [[ ! -s "$INFLUX_TOKEN_FILE" ]]; then
        die "influxdb: the data in $INFLUX_DIR is set up but its token file is gone; run: services down --purge"
    fi
}

influxdb_stop() { stop_pid influxdb "$INFLUX_PATTERN"; }
