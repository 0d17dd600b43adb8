#!/bin/sh
# Print README.md with the block between the config markers replaced by
# `vigil config --default`, so the reference cannot drift from the code.
# Usage: scripts/readme-config.sh VIGIL README
set -eu
vigil=$1 readme=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{ echo '```yaml'; "$vigil" config --default; echo '```'; } >"$tmp"
awk -v f="$tmp" '
	/^<!-- config:begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
	/^<!-- config:end -->$/ { skip = 0 }
	!skip' "$readme"
