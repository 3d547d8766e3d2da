# Shared helpers for the local service scripts. Sourced, never run.
# Everything downloaded or built lives under $ZW_CACHE (outside the repo);
# everything a running service writes lives under $ZW_RUN.

ZW_CACHE="${ZW_CACHE:-$HOME/.cache/zonewatch}"
ZW_RUN="${ZW_RUN:-/tmp/zonewatch-run}"
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$ZW_CACHE" "$ZW_RUN"

# System Python for the small helpers (a pyenv shim costs ~0.4 s per call).
PY=$( [[ -x /usr/bin/python3 ]] && echo /usr/bin/python3 || command -v python3 || true)

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# run_with_progress LABEL LOGFILE CMD...: run a long step, print elapsed time
# every 30 s so a first-time build never looks hung; show the log tail on failure.
run_with_progress() {
    local label="$1" log="$2"; shift 2
    local start=$SECONDS
    say "$label (log: $log)"
    "$@" >"$log" 2>&1 &
    local pid=$! next=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        if (( SECONDS >= next )) && kill -0 "$pid" 2>/dev/null; then
            say "  … $label: $((SECONDS - start)) s so far; now: $(build_activity "$log")"
            next=$((SECONDS + 30))
        fi
    done
    if ! wait "$pid"; then
        tail -n 40 "$log" >&2
        die "$label failed after $((SECONDS - start)) s; full log in $log"
    fi
    say "$label done in $((SECONDS - start)) s"
}

# build_activity LOG: what a long build is doing right now: the crates rustc and the
# packages go are compiling (their output reaches the log only at the end), else the log.
build_activity() {
    local busy
    busy=$(ps -eo args= 2>/dev/null | grep -v -e "sed -n" | sed -n 's/.*rustc --crate-name \([^ ]*\).*/rust:\1/p;
        s/.*compile .*-p \([^ ]*\) .*/go:\1/p' | sort -u | head -4 | tr '\n' ' ')
    if [[ -n "$busy" ]]; then echo "compiling $busy"; else tail -c 200 "$1" | tr '\n\r' '  ' | tail -c 100; fi
}

# apt_install PKG...: install missing Debian packages. Their maintainer scripts
# must not start system-wide daemons (mosquitto on 1883, prometheus on 9090, …)
# that would take our ports, so a policy-rc.d denies service starts meanwhile.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    (( ${#missing[@]} == 0 )) && return 0
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
    fi
    apt-get update -qq >/dev/null || rc=1
    (( rc == 0 )) && { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=2; }
    (( ours )) && rm -f "$policy"
    (( rc == 1 )) && die "apt-get update failed"
    (( rc == 2 )) && die "apt-get install ${missing[*]} failed"
    return 0
}

# --- processes ---------------------------------------------------------------
# Each service has $ZW_RUN/pids/NAME.pid holding the pid of the daemon itself
# (started in its own session, so `down` can also end anything it forked).

pidfile() { echo "$ZW_RUN/pids/$1.pid"; }

# service_pid NAME PATTERN: print the recorded pid if that process is alive and
# its command line still matches PATTERN (guards against pid reuse).
service_pid() {
    local f pid
    f=$(pidfile "$1")
    [[ -s "$f" ]] || return 1
    pid=$(<"$f")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    echo "$pid"
}

# spawn NAME LOG CMD...: start CMD detached (own session, stdin closed, output
# appended to LOG) and record its pid; returns at once.
spawn() {
    local name="$1" log="$2"; shift 2
    mkdir -p "$ZW_RUN/pids" "$(dirname "$log")"
    printf '\n=== %s: starting %s\n' "$(date -Is)" "$name" >>"$log"
    # The subshell execs setsid, which execs bash -c, which writes its own pid,
    # closes inherited descriptors above 2 (a caller's pipes must not stay open
    # in a daemon) and execs the daemon: one process, no waiting parent left.
    ( cd "$ZW_RUN" || exit 1
      exec setsid bash -c 'echo $$ >"$0"
        for fd in /proc/$$/fd/*; do fd=${fd##*/}; (( fd > 2 )) && eval "exec $fd>&-"; done
        exec "$@"' "$(pidfile "$name")" "$@" ) </dev/null >>"$log" 2>&1 &
    local i
    for i in $(seq 50); do [[ -s "$(pidfile "$name")" ]] && return 0; sleep 0.1; done
    die "$name: no pid recorded after start"
}

# stop_pid NAME PATTERN: SIGTERM the service (and its session), wait up to
# ZW_STOP_TIMEOUT s, then SIGKILL. No-op when it is not running.
stop_pid() {
    local name="$1" pid i
    if pid=$(service_pid "$1" "$2"); then
        say "stopping $name (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq $(( ${ZW_STOP_TIMEOUT:-30} * 5 ))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop after ${ZW_STOP_TIMEOUT:-30} s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
        # leftovers of the same session (none expected; be thorough)
        pkill -KILL -s "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")" "$(pidfile "$name").port"
}

# --- ports and health ----------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ensure_port_free NAME PORT: fail loudly if something that is not ours listens.
ensure_port_free() {
    port_open "$2" || return 0
    local who
    who=$(ss -ltnpH "sport = :$2" 2>/dev/null | grep -o 'users:(.*' | head -1)
    die "$1: port $2 is already in use by something that is not ours (${who:-unknown process}).
    Stop it (a system-wide $1 started by its Debian package? try: systemctl stop <unit>)
    or pick another port with the ZW_*_PORT variables."
}

# wait_healthy NAME TIMEOUT LOG HEALTH_FN PATTERN [WORD]: poll HEALTH_FN until it
# succeeds; on timeout or if the process died, print the log tail and fail.
wait_healthy() {
    local name="$1" timeout="$2" log="$3" fn="$4" pattern="$5" word="${6:-healthy}" start=$SECONDS
    local next=$((SECONDS + 10))
    while (( SECONDS - start < timeout )); do
        "$fn" && { say "$name $word after $((SECONDS - start)) s"; return 0; }
        if ! service_pid "$name" "$pattern" >/dev/null; then
            tail -n 40 "$log" >&2
            die "$name exited during start-up; log: $log"
        fi
        if (( SECONDS >= next )); then
            say "  … waiting for $name: $((SECONDS - start)) s of at most $timeout s; log: $(tail -n 1 "$log" | cut -c1-100)"
            next=$((SECONDS + 10))
        fi
        sleep 0.5
    done
    tail -n 40 "$log" >&2
    die "$name not $word after $timeout s; log: $log"
}

http_ok() { curl -fsS -o /dev/null --max-time "${2:-3}" "$1" 2>/dev/null; }

# render TEMPLATE OUT NAME=VALUE...: copy TEMPLATE replacing each @NAME@.
render() {
    local tpl="$1" out="$2" text kv; shift 2
    text=$(<"$tpl")
    for kv in "$@"; do text=${text//"@${kv%%=*}@"/"${kv#*=}"}; done
    mkdir -p "$(dirname "$out")"
    printf '%s\n' "$text" >"$out"
}
