# Sourced by demo.sh and tests/run-all.sh: run the calling script as
# root.  As root it does nothing; as another user it re-executes the
# script with sudo when sudo is there, and otherwise (or with
# PRIVPOP_AS_USER=1) goes on as that user, in the reduced mode where
# every role runs as the invoking user and the packages are not
# installed.  Expects "$0" to be the script and "$@" its arguments.
if [ "$(id -u)" -ne 0 ] && [ "${PRIVPOP_AS_USER:-0}" != 1 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "$(basename "$0"): not root; re-running with sudo" >&2
		exec sudo --preserve-env=PRIVPOP_DEMO_DIR,PRIVPOP_DEMO_PORT,PRIVPOP_DEMO_TLS_PORT,PRIVPOP_TEST_DIR,FUZZ_SECONDS \
			bash "$0" "$@"
	fi
	echo "$(basename "$0"): not root and no sudo: running as $(id -un)" \
		"(reduced privilege separation; install the packages" \
		"scripts/install-deps.sh names as root first)" >&2
fi
