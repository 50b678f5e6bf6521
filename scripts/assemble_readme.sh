#!/usr/bin/env bash
# README.md = the fragments in docs/readme/ in order, with their image links made root-relative.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=(00_head gui mos cli lab metrics training 50_results packaging 90_architecture)
{
  for part in "${parts[@]}"; do
    sed -e 's#(\.\./screenshots/#(docs/screenshots/#g' -e 's#(\.\./RESULTS\.md#(docs/RESULTS.md#g' "docs/readme/$part.md"
    echo
  done
} | cat -s > README.md
echo "README.md: $(wc -l < README.md) lines"
