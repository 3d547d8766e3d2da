#!/usr/bin/env bash
# The headless browser for the dashboard tests (tests/browser): Debian's chromium, its
# chromedriver, and a CJK font so the Chinese pages render (and screenshot) as text.
# Idempotent; a no-op in a few milliseconds when everything is there.
#
#   deploy/local/browser.sh          install what is missing
#   deploy/local/browser.sh --check  exit 1 (naming what is missing) instead of installing
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/lib.sh"

PACKAGES=(chromium chromium-driver fonts-noto-cjk)

missing() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"
    done
}

todo=$(missing)
if [[ -z "$todo" && -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if [[ "${1:-}" == --check ]]; then
    die "missing for the browser tests: ${todo:-/usr/bin/chromium or /usr/bin/chromedriver}
    (install: deploy/local/browser.sh)"
fi
# shellcheck disable=SC2086  # one package name per word
apt_install ${todo:-${PACKAGES[*]}}
[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] \
    || die "chromium or chromedriver still missing after apt-get install"
say "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1); $(/usr/bin/chromedriver --version | head -1)"
