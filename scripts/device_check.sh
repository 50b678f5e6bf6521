#!/usr/bin/env bash
# Run on a lent GPU machine first (device tool): installs, checks CUDA against the CPU, writes
# $OUT/device_check.json. Usage (device tool): bash scripts/device_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -e .
fi
OUT="${OUT:-.}" timeout 480 .venv/bin/python scripts/device_check.py --device cuda "$@"
