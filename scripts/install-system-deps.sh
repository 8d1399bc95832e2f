#!/usr/bin/env bash
# Debian packages the tests need: python3-onnx writes the small BERT test models (scripts/generate-test-models.py).
set -euo pipefail
if /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnx python3-numpy >/dev/null
else
  echo "python3-onnx is missing; install it (apt-get install python3-onnx) to generate the test models" >&2
fi
