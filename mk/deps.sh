#!/usr/bin/env bash
# Installs what the build and tests need, only when it is missing.
#   mk/deps.sh debian               Debian packages (apt-get as root, or through sudo)
#   mk/deps.sh python REQS_FILE     a virtual environment at $HEXRUN_VENV with REQS_FILE
set -euo pipefail

DEBIAN_PACKAGES=(
  build-essential pkg-config libcurl4-openssl-dev libjson-c-dev check libmicrohttpd-dev
  valgrind clang libclang-rt-14-dev abigail-tools wrk openssl curl python3-venv graphviz
  postgresql libpq5 clang-format
)

debian() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "deps: installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

python_venv() {
  local reqs=$1 venv=${HEXRUN_VENV:-$HOME/.cache/hexrun/venv}
  local stamp="$venv/.hexrun-stamp" want
  want=$(sha256sum "$reqs" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    touch "$stamp"; return 0
  fi
  echo "deps: preparing Python environment in $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$reqs"
  echo "$want" > "$stamp"
}

case "${1:-}" in
  debian) debian ;;
  python) python_venv "${2:?requirements file}" ;;
  *) echo "usage: mk/deps.sh debian | python REQS_FILE" >&2; exit 2 ;;
esac
