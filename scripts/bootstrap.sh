#!/usr/bin/env bash
# One-command set-up for a fresh Debian machine with Python 3.11+.
#   scripts/bootstrap.sh demo   install everything, then run `digitize run` on the shipped samples
#   scripts/bootstrap.sh test   install everything (test extras too), then run the whole test suite,
#                               slow tests included (extra arguments go to pytest)
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"; shift || true

SYSTEM_PKGS=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng poppler-utils fonts-liberation2 qpdf)
TEST_PKGS=(redis-server postgresql chromium)  # chromium: the review station's browser tests (Playwright drives it)
[ "$mode" = test ] && SYSTEM_PKGS+=("${TEST_PKGS[@]}")

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "digitize needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2; exit 1
fi
"$PY" -c 'import ensurepip, venv' 2>/dev/null || SYSTEM_PKGS+=(python3-venv)

missing=()
for p in "${SYSTEM_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV="${DIGITIZE_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
if [ "$mode" = test ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
else
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
fi

case "$mode" in
  demo)
    archive="${DIGITIZE_ARCHIVE:-digitize-archive}"
    echo "Running digitize on samples/ (archive: $archive)"
    "$VENV/bin/digitize" --archive "$archive" run samples/ "$@"
    "$VENV/bin/digitize" --archive "$archive" export --jsonl "$archive/export.jsonl"
    echo "Documents: $VENV/bin/digitize --archive $archive list"
    ;;
  test)
    exec "$VENV/bin/python" -m pytest -q --runslow "$@"
    ;;
  *) echo "usage: $0 demo|test [args]" >&2; exit 2 ;;
esac
