#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine, then run the whole suite.
# The README's test command and CI's .ci/run both call this script.
set -euo pipefail
cd "$(dirname "$0")/.."

cross_packages=(
  binutils-arm-none-eabi gcc-arm-none-eabi libnewlib-arm-none-eabi
  binutils-riscv64-unknown-elf gcc-riscv64-unknown-elf
  binutils-arc-linux-gnu gcc-arc-linux-gnu
  binutils-xtensa-lx106 gcc-xtensa-lx106
  binutils-aarch64-linux-gnu
  gcc binutils
  python3-venv
  cmake ninja-build
  chromium
)
missing=()
for pkg in "${cross_packages[@]}"; do
  # "install ok installed" only: a removed package can leave a record that dpkg -s accepts.
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] \
    || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# PEP 668: Debian's python3 refuses `pip install` outside a virtual environment. Use the
# one that is active, else .venv (the README's set-up command makes the same one).
if [ -n "${VIRTUAL_ENV:-}" ]; then
  python="$VIRTUAL_ENV/bin/python"
else
  [ -x .venv/bin/python ] || python3 -m venv .venv
  python=.venv/bin/python
fi
"$python" -m pip install -q --disable-pip-version-check -e '.[test,dev]'

"$python" -m ruff check placer tests bench
"$python" -m mypy

run_suite() {
  local status=0
  "$python" -m pytest -n 2 "$@" || status=$?
  if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    return 1
  fi
  return "$status"
}

# Compiled modules built in the checkout would be imported instead of their sources by
# every later run: remove them however this script ends.
remove_compiled() {
  rm -rf build
  find placer -name '*.so' -delete
}
trap remove_compiled EXIT
remove_compiled

# The whole suite twice: on the pure-Python sources (what an editable install and a
# machine without a C compiler run), then on the modules setup.py compiles with mypyc
# (what a wheel installs). tests/test_native.py checks each run is what it says.
echo "== pure Python"
PLACER_COMPILE=0 PLACER_EXPECT_COMPILED=0 run_suite "$@"
echo "== compiled with mypyc"
PLACER_COMPILE=1 "$python" setup.py -q build_ext --inplace
PLACER_COMPILE=1 PLACER_EXPECT_COMPILED=1 run_suite "$@"
