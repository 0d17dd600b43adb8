#!/usr/bin/env bash
# make demo: ./vigil demo (the embedded broker, generated service logs with
# incidents, vigil run's pipeline; see README.md, "Quick start"). Extra
# arguments pass through, e.g. scripts/demo.sh --duration 30.
set -eu
cd "$(dirname "$0")/.."
exec ./vigil demo --dir build/demo "$@"
