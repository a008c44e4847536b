#!/usr/bin/env bash
# The cluster load test (bench/load/cluster.py) puts Debian's HAProxy in front of the app
# servers. As root, install it when missing.
set -euo pipefail
if command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's haproxy for the cluster load test..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
else
  echo "No haproxy: install Debian's haproxy for the cluster load test." >&2
  exit 1
fi
