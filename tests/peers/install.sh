#!/usr/bin/env bash
# Installs the independent UPnP stack the interop tests use: GUPnP 1.6 through PyGObject
# (Debian packages), plus iproute2 for the network-namespace harness.
# Needs root and apt; elsewhere it says so and does nothing (the interop tests then skip
# and say why). Idempotent: when everything is present it only reports that.
set -euo pipefail

PACKAGES=(iproute2 python3-gi gir1.2-gupnp-1.6 gir1.2-gssdp-1.6)

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
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "peers: apt-get failed (interop tests will skip)" >&2
    exit 1
fi
dpkg-query -W -f='peers: installed ${Package} ${Version}\n' "${missing[@]}"
