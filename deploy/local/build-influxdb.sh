#!/usr/bin/env bash
# Build influxd (InfluxDB OSS 2.x) from its Go module into $ZW_CACHE/bin.
#
# Why from source: this machine reaches package registries only, and the Go
# module proxy carries InfluxDB's source. Its go.mod has `replace` directives,
# so `go install …@tag` is refused: we download the module, copy it somewhere
# writable and build inside it. Flux's Rust part (libflux) is built by cargo
# through influxdata's pkg-config wrapper.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

INFLUXDB_VERSION="${INFLUXDB_VERSION:-v2.9.1}"
BIN="$ZW_CACHE/bin/influxd-$INFLUXDB_VERSION"
[[ -x "$BIN" ]] && { echo "$BIN"; exit 0; }

# One build at a time (tests and `services up` may call this concurrently).
exec 9>"$ZW_CACHE/influxd-build.lock"
if ! flock -n 9; then
    say "another InfluxDB build is running; waiting for it"
    flock 9
fi
[[ -x "$BIN" ]] && { echo "$BIN"; exit 0; }

apt_install pkg-config build-essential
for tool in go cargo; do  # toolchains are the machine's, not ours to install
    command -v "$tool" >/dev/null || die "building InfluxDB needs \`$tool\` on PATH (Go ≥ 1.25, Rust stable via rustup)"
done
mkdir -p "$ZW_CACHE/bin" "$ZW_CACHE/logs" "$ZW_CACHE/src"
LOGS="$ZW_CACHE/logs"

say "building InfluxDB $INFLUXDB_VERSION from source (first time only; ~20-40 min on 2 cores)"
mod_dir=$(go mod download -json "github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION" \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
src="$ZW_CACHE/src/influxdb-$INFLUXDB_VERSION"
if [[ ! -f "$src/go.mod" ]]; then  # copied whole or not at all: an interrupted copy is redone
    rm -rf "$src" "$src.tmp"; cp -r "$mod_dir" "$src.tmp"; chmod -R u+w "$src.tmp"
    mv "$src.tmp" "$src"
fi

# influxdata's pkg-config wrapper: builds libflux with cargo when asked for `flux`.
pc_version=$(awk '$1=="github.com/influxdata/pkg-config"{print $2}' "$src/go.mod")
if [[ ! -x "$ZW_CACHE/bin/pkg-config-wrapper" ]]; then
    run_with_progress "building influxdata/pkg-config $pc_version" "$LOGS/pkg-config.log" \
        env GOBIN="$ZW_CACHE/gobin" go install "github.com/influxdata/pkg-config@$pc_version"
    cp "$ZW_CACHE/gobin/pkg-config" "$ZW_CACHE/bin/pkg-config-wrapper"
fi

# flux pins an older Rust channel in rust-toolchain.toml; rustup cannot download
# it here, so use the installed stable one. Flux's `strict` feature denies
# warnings, which newer Rust adds lints for: cap them.
export PKG_CONFIG="$ZW_CACHE/bin/pkg-config-wrapper"
export PKG_CONFIG_LOG="$LOGS/pkg-config-wrapper.log"
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}"
export RUSTFLAGS="${RUSTFLAGS:---cap-lints warn}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CGO_ENABLED=1
cd "$src"
run_with_progress "building influxd $INFLUXDB_VERSION (Go + Rust libflux)" "$LOGS/influxd-build.log" \
    go build -tags sqlite_foreign_keys,sqlite_json -ldflags "-X main.version=$INFLUXDB_VERSION" \
        -o "$BIN.tmp" ./cmd/influxd
mv "$BIN.tmp" "$BIN"
say "built $BIN"
echo "$BIN"
