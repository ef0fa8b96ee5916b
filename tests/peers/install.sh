#!/usr/bin/env bash
# Installs the independent UPnP stack the interop tests use: GUPnP 1.6 through PyGObject
# (Debian packages), plus iproute2 for the network-namespace harness, and the real browser
# the lab-console tests drive (chromium + chromedriver; selenium is a pip [test] extra).
# Needs root and apt; elsewhere it says so and does nothing (the interop tests then skip
# and say why). Idempotent: when everything is present it only reports that.
set -euo pipefail

PACKAGES=(iproute2 python3-gi gir1.2-gupnp-1.6 gir1.2-gssdp-1.6 chromium chromium-driver)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "peers: GUPnP interop packages present (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "peers: missing ${missing[*]}; not root with apt-get, not installing (interop tests will skip)"
    exit 0
fi

echo "peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# None of these packages ships a daemon; nothing UPnP starts in the host namespace.
# Another apt run may hold the dpkg lock (shared machines): wait for it a while.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        break
    fi
    if [ "$attempt" -lt 10 ] && grep -q "Could not get lock\|Unable to acquire\|Unable to lock" "$log"; then
        echo "peers: apt is busy (attempt $attempt), retrying in 15 s" >&2
        sleep 15
        continue
    fi
    cat "$log" >&2
    echo "peers: apt-get failed (interop and console tests will skip)" >&2
    exit 1
done
dpkg-query -W -f='peers: installed ${Package} ${Version}\n' "${missing[@]}"
