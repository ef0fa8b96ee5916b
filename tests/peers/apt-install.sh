#!/usr/bin/env bash
# apt-install.sh WHAT PACKAGE...: install the Debian packages an interop test group needs
# (WHAT names the group in messages). Needs root and apt; elsewhere it says so and does
# nothing (those tests then skip, or fail where PROXIER_REQUIRE_NETNS is set). Idempotent:
# when everything is present it only reports that. apt may be locked by another install
# on a shared machine, so a locked apt is retried for a while. Packaged services are never
# started: without a policy-rc.d one that refuses every start (exit 101, honoured by
# invoke-rc.d and deb-systemd-invoke) is put in place for the install only, because the
# peers (hostapd, wpa_supplicant) must run only inside test namespaces.
set -euo pipefail

what=$1
shift
PACKAGES=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "peers: $what packages present (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "peers: missing ${missing[*]}; not root with apt-get, not installing ($what tests will skip)"
    exit 0
fi

echo "peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# proxier tests/peers: no service starts during this install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$log" "$policy"' EXIT
else
    trap 'rm -f "$log"' EXIT
fi
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if { apt-get -o DPkg::Lock::Timeout=60 update -qq &&
        apt-get -o DPkg::Lock::Timeout=60 install -y -qq --no-install-recommends \
            "${missing[@]}"; } >"$log" 2>&1; then
        dpkg-query -W -f='peers: installed ${Package} ${Version}\n' "${missing[@]}"
        exit 0
    fi
    grep -qi "lock" "$log" || break
    echo "peers: apt is locked by another install, retrying ($attempt)" >&2
    sleep 10
done
cat "$log" >&2
echo "peers: apt-get failed ($what tests will skip)" >&2
exit 1
