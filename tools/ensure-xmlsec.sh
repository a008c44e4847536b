#!/usr/bin/env bash
# Signature tests verify packages signed by another XML-DSig implementation: Debian's
# xmlsec1. As root, install it when missing; elsewhere those tests are skipped (not in CI).
set -euo pipefail
if command -v xmlsec1 >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian xmlsec1 for the signature interoperability tests..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null
  }
else
  echo "No xmlsec1: the xmlsec1 interoperability tests will be skipped (install Debian's xmlsec1)." >&2
  exit 1
fi
