#!/usr/bin/env bash
# Installs every Debian 12 package that fieldsync's build, demo and tests need.
# Idempotent: when everything is present it prints nothing and changes nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libsqlite3-dev sqlite3 zlib1g-dev
  libmicrohttpd-dev libgnutls28-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libcurl4-gnutls-dev libcmocka-dev   # the client's HTTP: GnuTLS, as the server
  clang libclang-rt-14-dev openssl curl ca-certificates
  tzdata                  # time zones: the client's local times, report days
  man-db groff-base       # tests render the man pages (man -l --warnings)
  systemd                 # tests check the unit (systemd-analyze verify)
  postgresql libpq-dev    # the central store when one machine is not enough
  libsodium-dev           # back-office passwords (Argon2id), session ids
  chromium chromium-driver python3-selenium   # the console's browser tests
  libjs-leaflet libjs-chart.js fonts-noto-cjk # the console's map, charts, CJK text
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
