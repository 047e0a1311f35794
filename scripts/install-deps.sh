#!/bin/sh
# Install what privpop needs to build and test on Debian 12 (run as root).
# Usage: scripts/install-deps.sh [build|test]   (default: test = everything)
set -eu
BUILD="build-essential autoconf automake pkg-config libssl-dev libcrypt-dev libmd-dev
libbsd-dev libpam0g-dev libseccomp-dev openssl ca-certificates"
TEST="libcmocka-dev clang libclang-rt-14-dev curl fetchmail mpop python3 procps
iproute2 passwd procmail liblockfile-bin libpam-wrapper libnss-wrapper
pamtester libpam-modules mandoc groff-base util-linux fail2ban"
case "${1:-test}" in
build) PKGS="$BUILD" ;;
*) PKGS="$BUILD $TEST" ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: not root; skipping apt-get (need: $PKGS)" >&2
	exit 0
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
