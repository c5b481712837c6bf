#!/usr/bin/env bash
# Installs what callaudit needs to build and test on Debian 12 (as root). Idempotent: only
# missing packages are installed. Usage: scripts/setup.sh [--browser] [--fuzz]
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config g++ tzdata sqlite3 zip python3 python3-jsonschema
  libboost-program-options-dev libre2-dev libsqlite3-dev libfmt-dev doctest-dev
  libtomlplusplus-dev libhowardhinnant-date-dev libarchive-dev libedit-dev)
for arg in "$@"; do
  case $arg in
    --browser) packages+=(chromium) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev llvm-14) ;;  # scripts/fuzz.sh: libFuzzer, symbolizer
    *) echo "setup: unknown option $arg (known: --browser --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
