#!/usr/bin/env bash
# Installs the independent UPnP stack the interop tests use: GUPnP 1.6 through PyGObject
# (Debian packages), plus iproute2 for the network-namespace harness.
# None of these packages ships a daemon; nothing UPnP starts in the host namespace.
exec bash "$(dirname "$0")/apt-install.sh" "GUPnP interop" \
    iproute2 python3-gi gir1.2-gupnp-1.6 gir1.2-gssdp-1.6
