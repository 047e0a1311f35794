#!/bin/sh
# Build and run the privpop libFuzzer targets.
#
#   tests/fuzz/run.sh                  # every target, 20 s each
#   FUZZ_SECONDS=60 tests/fuzz/run.sh  # longer
#   tests/fuzz/run.sh fuzz_ipc         # only the named targets
#
# Binaries go to tests/fuzz/bin/ (gitignored).  Each target runs on a
# copy of tests/fuzz/corpus/<target>/ in a temporary directory; the
# committed corpus is never written.  A crash reproducer is copied to
# tests/fuzz/out/<target>/ (gitignored) and its log kept beside it.
# Environment: FUZZ_SECONDS (default 20), CC (default clang),
# FUZZ_JOBS_KEEP=1 keeps the temporary directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${FUZZ_SECONDS:-20}
cc=${CC:-clang}
bin=$here/bin
out=$here/out

case $secs in
''|*[!0-9]*) echo "FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac
[ "$secs" -ge 1 ] || secs=1

ALL="fuzz_pop3_line fuzz_ipc fuzz_wire fuzz_passwd_line fuzz_passwd_index \
    fuzz_conf fuzz_maildir_name fuzz_maildir_cache fuzz_maildir_listing \
    fuzz_maildir_uidmap fuzz_maildir_lock fuzz_uidl_format \
    fuzz_mbox_parse fuzz_sasl fuzz_transcript fuzz_http fuzz_proxy \
    fuzz_expire_records fuzz_utf8 fuzz_lang"
targets=${*:-$ALL}

CFLAGS="-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined \
 -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wall -Wextra \
 -I$here -I$top/common -I$top/daemon/master -I$top/daemon/session -I$top/daemon/metrics -I$top/mailstore -I$top/auth"

srcs_for() {
	case $1 in
	fuzz_pop3_line)	echo "daemon/session/pop3_parse.c common/numparse.c" ;;
	fuzz_proxy)	echo "daemon/session/proxy_proto.c" ;;
	fuzz_ipc)	echo "common/ipc.c common/ipc_auth.c common/ipc_master.c common/ipc_store.c common/ipc_store_init.c common/uidlfmt.c common/uidlfmt_render.c common/peeraddr.c" ;;
	fuzz_wire)	echo "mailstore/wire.c common/buf.c" ;;
	fuzz_passwd_line) echo "auth/passwd_file.c auth/passwd_index.c common/fsutil.c common/numparse.c common/log.c common/utf8.c" ;;
	fuzz_passwd_index) echo "auth/passwd_file.c auth/passwd_index.c common/fsutil.c common/numparse.c common/log.c common/utf8.c" ;;
	fuzz_utf8)	echo "common/utf8.c common/saslprep.c auth/passwd_file.c auth/passwd_index.c common/fsutil.c common/numparse.c common/log.c" ;;
	fuzz_lang)	echo "daemon/session/lang.c common/utf8.c" ;;
	fuzz_conf)	echo "common/conf.c common/fsutil.c common/numparse.c common/addrlist.c common/log.c common/uidlfmt.c common/uidlfmt_render.c" ;;
	fuzz_maildir_name) echo "mailstore/maildir.c mailstore/maildir_cache.c mailstore/maildir_listing.c mailstore/maildir_lock.c mailstore/maildir_uidmap.c common/uidlfmt.c common/uidlfmt_render.c mailstore/mailerr.c mailstore/wire.c common/buf.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_maildir_cache) echo "mailstore/maildir_cache.c common/buf.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_maildir_uidmap) echo "mailstore/maildir_uidmap.c common/uidlfmt.c common/uidlfmt_render.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_uidl_format) echo "common/uidlfmt.c common/uidlfmt_render.c" ;;
	fuzz_expire_records) echo "mailstore/expire.c common/buf.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_maildir_lock) echo "mailstore/maildir_lock.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_maildir_listing) echo "mailstore/maildir_listing.c common/buf.c common/numparse.c common/log.c common/fsutil.c common/fsutil_owner.c" ;;
	fuzz_mbox_parse) echo "mailstore/mbox_parse.c mailstore/wire.c common/buf.c common/log.c common/numparse.c" ;;
	fuzz_sasl)	echo "common/base64.c auth/scram.c daemon/session/scram_msg.c common/numparse.c" ;;
	fuzz_transcript) echo "daemon/session/transcript.c common/addrlist.c common/numparse.c" ;;
	fuzz_http)	echo "daemon/metrics/http_request.c common/metrics_text.c common/buf.c common/numparse.c" ;;
	*)		return 1 ;;
	esac
}

libs_for() {
	case $1 in
	fuzz_maildir_name|fuzz_mbox_parse) echo "-lcrypto -lmd" ;;
	fuzz_sasl) echo "-lcrypto" ;;
	fuzz_utf8) echo "-lidn" ;;
	*)		echo "" ;;
	esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/privpop-fuzz.XXXXXX") || exit 2
cleanup() {
	[ "${FUZZ_JOBS_KEEP:-0}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$bin" "$out"
pass=0
fail=0

for t in $targets; do
	if ! srcs=$(srcs_for "$t"); then
		echo "unknown target $t" >&2
		echo "FAIL $t"
		fail=$((fail + 1))
		continue
	fi
	files=""
	for s in $srcs; do files="$files $top/$s"; done
	libs=$(libs_for "$t")
	# shellcheck disable=SC2086
	if ! $cc $CFLAGS -o "$bin/$t" "$here/$t.c" $files $libs \
	    >"$tmp/$t.build.log" 2>&1; then
		cat "$tmp/$t.build.log" >&2
		echo "$t: build failed" >&2
		echo "FAIL $t"
		fail=$((fail + 1))
		continue
	fi

	corp=$tmp/corpus-$t
	mkdir -p "$corp"
	if [ -d "$here/corpus/$t" ]; then
		cp -R "$here/corpus/$t/." "$corp/"
	fi
	art=$tmp/art-$t/
	mkdir -p "$art"
	dict=""
	[ -f "$here/pop3.dict" ] && dict="-dict=$here/pop3.dict"

	# -max_total_time bounds the run; timeout(1) backs it up in case
	# the target hangs (the libFuzzer -timeout catches single inputs).
	# shellcheck disable=SC2086
	timeout -k 10 $((secs + 60)) "$bin/$t" "$corp" $dict \
	    -max_total_time="$secs" -max_len=4096 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$art" -print_final_stats=1 \
	    >"$tmp/$t.log" 2>&1
	rc=$?
	crashes=$(cd "$art" && find . -type f | sed 's|^\./||' | head -n 20)
	if [ "$rc" -eq 0 ] && [ -z "$crashes" ]; then
		echo "PASS $t"
		pass=$((pass + 1))
	else
		mkdir -p "$out/$t"
		cp "$tmp/$t.log" "$out/$t/fuzz.log"
		for c in $crashes; do cp "$art/$c" "$out/$t/"; done
		{
			echo "$t: exit $rc; log and reproducers in $out/$t/"
			grep -m 3 -E 'ERROR:|SUMMARY:|runtime error' \
			    "$tmp/$t.log" | sed 's/^/    /'
		} >&2
		echo "FAIL $t"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
