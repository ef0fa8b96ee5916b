#!/usr/bin/env bash
# Installs the independent WSC (Wi-Fi Simple Configuration) peers of the WPS interop
# tests: Debian 12's hostapd (AP Enrollee over WFA UPnP, driver=none) and wpasupplicant
# (External Registrar, -D none), plus the libnl libraries both need (dp-wps.md §5).
# Both ship daemons; none is started, and the tests run them only inside namespaces.
exec bash "$(dirname "$0")/apt-install.sh" "WSC interop" \
    iproute2 hostapd wpasupplicant libnl-3-200 libnl-genl-3-200 libnl-route-3-200
