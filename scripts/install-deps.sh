#!/bin/sh
# Install what privpop needs to build and test on Debian 12 (run as root).
# Usage: scripts/install-deps.sh [build|test]   (default: test = everything)
set -eu
BUILD="build-essential autoconf automake pkg-config libssl-dev libcrypt-dev libmd-dev
libbsd-dev libpam0g-dev libseccomp-dev libidn-dev openssl ca-certificates"
TEST="libcmocka-dev clang libclang-rt-14-dev curl fetchmail mpop socat python3 procps
iproute2 passwd procmail liblockfile-bin libpam-wrapper libnss-wrapper
pamtester libpam-modules mandoc groff-base util-linux fail2ban dovecot-pop3d
haproxy strace"
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
# popa3d conflicts with every other pop3-server (dovecot-pop3d): the
# migration test (tests_mbox.py) runs its binary unpacked from Debian's
# package here, never installed.
POPA3D_DIR=/usr/local/lib/privpop-tests/popa3d
unpack_popa3d() {
	[ "${1:-test}" != build ] || return 0
	[ ! -x "$POPA3D_DIR/usr/sbin/popa3d" ] || return 0
	dl=$(mktemp -d)
	chmod 755 "$dl"		# apt's _apt user downloads into it
	(cd "$dl" && apt-get download -q popa3d) &&
		mkdir -p "$POPA3D_DIR" &&
		dpkg-deb -x "$dl"/popa3d_*.deb "$POPA3D_DIR" ||
		echo "install-deps: popa3d not unpacked; its test will skip" >&2
	rm -rf "$dl"
}
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	unpack_popa3d "${1:-test}"
	exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# No service a package brings starts here (dovecot-pop3d's would take
# ports 110 and 995): invoke-rc.d asks policy-rc.d; 101 is "not now".
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=1
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
unpack_popa3d "${1:-test}"
