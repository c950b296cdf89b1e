#!/usr/bin/env bash
# Install the Debian packages named in tools/apt-packages.txt that are missing.
# Usage: tools/install-deps.sh [app]   ("app": only what running the app needs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = app ]; then
  wanted=$(sed -n '/^# tests/q;/^[^#]/p' "$here/apt-packages.txt")
else
  wanted=$(grep -v '^#' "$here/apt-packages.txt")
fi
missing=()
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
# The mail servers are started privately by the tests: keep the system copies from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
# Postfix asks how to deliver mail at install time; the tests run their own instance.
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
