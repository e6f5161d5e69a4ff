#!/bin/sh
# Install the Debian packages the build, the tests and the demo need, when
# any is missing.  As root this runs apt-get; otherwise it prints the
# command to run and stops.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-dev libaudit-dev
libauparse-dev libssl-dev libsystemd-dev libseccomp-dev auditd audispd-plugins
mandoc openssl iproute2 procps psmisc faketime libzstd-dev strace gdb
bsdextrautils debhelper dpkg-dev fakeroot lintian systemd-container python3
libnats-dev nats-server"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
