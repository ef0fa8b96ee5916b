#!/usr/bin/env bash
# Installs the independent UPnP stack the interop tests use: GUPnP 1.6 through PyGObject
# (Debian packages), plus iproute2 for the network-namespace harness, and the real browser
# the lab-console tests drive (chromium + chromedriver; selenium is a pip [test] extra).
# Needs root and apt; elsewhere it says so and does nothing (the interop tests then skip
# and say why). Idempotent; apt busy on a shared machine is retried (apt-install.sh).
exec bash "$(dirname "$0")/apt-install.sh" "GUPnP interop and console" \
    iproute2 python3-gi gir1.2-gupnp-1.6 gir1.2-gssdp-1.6 chromium chromium-driver
