#!/usr/bin/env bash
# Make `docker compose` work where only the docker CLI is installed (the project's machines have
# no Compose plugin and no Docker engine; `docker compose config` needs neither engine nor
# network): build the Compose v2 plugin from the Go module proxy and link it into
# $DOCKER_CONFIG/cli-plugins. Compose's go.mod has replace directives, so `go install
# …@version` is refused: download the module, build in a copy. Kept in $ZW_CACHE/bin; the
# first build takes minutes (several hundred modules), later runs only link.
set -euo pipefail
version=${COMPOSE_VERSION:-v2.40.3}
cache=${ZW_CACHE:-$HOME/.cache/zonewatch}
bin=$cache/bin/docker-compose-$version
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

command -v docker >/dev/null \
    || { echo "[compose] the docker CLI is not on PATH (the deploy tests run \`docker compose config\`)" >&2; exit 1; }
if docker compose version >/dev/null 2>&1; then
    exit 0
fi
command -v go >/dev/null || { echo "[compose] building the Compose plugin needs \`go\` on PATH" >&2; exit 1; }
if [ ! -x "$bin" ]; then
    echo "[compose] building Docker Compose $version from the Go module proxy (once)" >&2
    src=$(cd / && go mod download -json "github.com/docker/compose/v2@$version" \
          | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp -r "$src/." "$work/"
    chmod -R u+w "$work"
    mkdir -p "$(dirname "$bin")"
    (cd "$work" && go build -trimpath \
        -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
        -o "$bin.tmp" ./cmd)
    mv "$bin.tmp" "$bin"
fi
mkdir -p "$plugins"
ln -sf "$bin" "$plugins/docker-compose"
docker compose version
