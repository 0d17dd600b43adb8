#!/bin/sh
# Install the Debian packages vigil's build, tests and benchmarks need.
# Idempotent: when nothing is missing it only asks dpkg and exits (well
# under a second). apt-get update runs once, and only when something is
# missing. Uses sudo when not root.
set -eu

PKGS="make gcc g++ pkg-config clang libclang-rt-14-dev \
libyaml-dev libpcre2-dev libzstd-dev libjemalloc-dev libcriterion-dev \
librdkafka-dev libsimdjson-dev zstd kcat \
libcurl4-openssl-dev libssl-dev prometheus-alertmanager \
libmicrohttpd-dev prometheus curl time gnuplot-nox iproute2"

# One dpkg query for all of them: a package is missing unless dpkg says
# "install ok installed" for it.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null | awk '/ ok installed$/ { print $1 }')
missing=""
for p in $PKGS; do
	case " $(echo $installed) " in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: not root and no sudo; install as root:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
