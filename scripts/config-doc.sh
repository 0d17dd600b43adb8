#!/bin/sh
# Print a page (docs/configuration.md) with the block between the config
# markers replaced by `vigil config --default`, so the reference cannot
# drift from the code. Fails when PAGE has no markers.
# Usage: scripts/config-doc.sh VIGIL PAGE
set -eu
vigil=$1 page=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{ echo '```yaml'; "$vigil" config --default; echo '```'; } >"$tmp"
awk -v f="$tmp" '
	/^<!-- config:begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; found = 1; next }
	/^<!-- config:end -->$/ { skip = 0 }
	!skip
	END { exit !found }' "$page"
