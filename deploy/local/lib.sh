# Shared helpers for the local service scripts. Sourced, never run.
# Everything downloaded or built lives under $ZW_CACHE (outside the repo);
# everything a running service writes lives under $ZW_RUN.

ZW_CACHE="${ZW_CACHE:-$HOME/.cache/zonewatch}"
ZW_RUN="${ZW_RUN:-${XDG_RUNTIME_DIR:-/tmp}/zonewatch-run}"
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$ZW_CACHE" "$ZW_RUN"

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# run_with_progress LABEL LOGFILE CMD...: run a long step, print elapsed time
# every 30 s so a first-time build never looks hung; show the log tail on failure.
run_with_progress() {
    local label="$1" log="$2"; shift 2
    local start=$SECONDS
    say "$label (log: $log)"
    "$@" >"$log" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        if (( (SECONDS - start) % 30 < 5 )) && kill -0 "$pid" 2>/dev/null; then
            say "  … $label: $((SECONDS - start)) s so far; last: $(tail -c 300 "$log" | tr '\n\r' '  ' | tail -c 120)"
        fi
    done
    if ! wait "$pid"; then
        tail -n 40 "$log" >&2
        die "$label failed after $((SECONDS - start)) s; full log in $log"
    fi
    say "$label done in $((SECONDS - start)) s"
}

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    (( ${#missing[@]} == 0 )) && return 0
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}
