#!/usr/bin/env bash
# Set up nas-toolkit and run it. Two jobs:
#   ./nas.sh tutorials   install what the notebooks need and open JupyterLab on the quickstart
#   ./nas.sh test        install everything the tests need and run the whole test suite
# Both create .venv (Python >= 3.10) on first use and are safe to run again.
# tutorials serves on 127.0.0.1 with a token and prints the URL to open. Settings (environment):
#   NAS_TOOLKIT_PORT=8888  NAS_TOOLKIT_NO_BROWSER=1 (print the URL only)  NAS_TOOLKIT_TOKEN=...
#   NAS_TOOLKIT_INSTALL=0 (start with the packages already in .venv, e.g. offline)
# TORCH_PACKAGES overrides the PyTorch pins (e.g. TORCH_PACKAGES="torch torchvision").
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
TORCH_PACKAGES=${TORCH_PACKAGES:-"torch==2.14.1 torchvision==0.29.1"}

say() { printf '\033[1m[nas-toolkit]\033[0m %s\n' "$*"; }
die() { printf '[nas-toolkit] error: %s\n' "$*" >&2; exit 1; }

find_python() {
  for py in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$py"; return
    fi
  done
  die "Python 3.10 or newer is needed; install it (https://www.python.org/downloads/) and run this again"
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$(find_python)" -m venv "$VENV" || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
}

pip_install() {
  if ! "$VENV/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
    say "installing PyTorch ($TORCH_PACKAGES)"
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install -q $TORCH_PACKAGES || die "PyTorch did not install; see https://pytorch.org"
  fi
  say "installing nas-toolkit[$1]"
  "$VENV/bin/python" -m pip install -q -e ".[$1]" || die "pip could not install the packages above"
}

apt_install() {  # apt_install COMMAND PACKAGE WHAT-FOR
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $2 with apt-get ($3)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null) \
      || say "apt-get could not install $2; $3 will be unavailable"
  else
    say "'$1' is missing: install $2 for $3 (Debian/Ubuntu: sudo apt-get install $2; macOS: brew install $2;" \
        "conda: conda install -c conda-forge $2)"
  fi
}

case "${1:-}" in
  tutorials)
    make_venv
    if [ "${NAS_TOOLKIT_INSTALL:-1}" != 0 ]; then
      pip_install notebooks
      apt_install dot graphviz "cell drawings"
    fi
    port=${NAS_TOOLKIT_PORT:-8888}
    token=${NAS_TOOLKIT_TOKEN:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')}
    flags=(--ip=127.0.0.1 "--port=$port" --ServerApp.port_retries=0 "--IdentityProvider.token=$token")
    [ "$(id -u)" = 0 ] && flags+=(--allow-root)  # containers and many workshop VMs run as root
    [ "${NAS_TOOLKIT_NO_BROWSER:-0}" = 1 ] && flags+=(--no-browser)
    say "starting JupyterLab on the quickstart (Ctrl-C to stop; NAS_TOOLKIT_PORT chooses another port). Open:"
    say "http://127.0.0.1:$port/lab/tree/00_quickstart.ipynb?token=$token"
    exec "$VENV/bin/python" -m jupyter lab notebooks/00_quickstart.ipynb "${flags[@]}"
    ;;
  test)
    make_venv
    pip_install dev
    apt_install dot graphviz "cell drawings"
    apt_install chromium chromium "the real-browser test"
    say "running the test suite"
    # One torch thread: tiny test models run faster that way and seeded results repeat across machines.
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    exec "$VENV/bin/python" -m pytest --nbval-lax -q tests notebooks "${@:2}"
    ;;
  *)
    echo "usage: ./nas.sh tutorials | ./nas.sh test [pytest options]" >&2
    exit 2
    ;;
esac
