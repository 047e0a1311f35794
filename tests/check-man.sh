#!/bin/sh
# check-man.sh PAGE...: each man page renders without a warning, with
# mandoc (-T lint -W warning) and with groff (-ww, to /dev/null).  Any
# output is a failure.  Ends with "man: N passed, M failed".
pass=0
fail=0
if ! command -v mandoc >/dev/null 2>&1 && ! command -v groff >/dev/null 2>&1; then
	echo "check-man: neither mandoc nor groff is installed" \
	    "(apt-get install mandoc)" >&2
	echo "man: 0 passed, 1 failed"
	exit 1
fi
for page in "$@"; do
	out=""
	if command -v mandoc >/dev/null 2>&1; then
		# (a stale system mandoc.db is the host's business, not the page's)
		out=$(mandoc -T lint -W warning "$page" 2>&1 |
		    grep -v 'outdated mandoc.db')
	fi
	if command -v groff >/dev/null 2>&1; then
		out="$out$(LC_ALL=C groff -ww -mandoc -z "$page" 2>&1)"
	fi
	if [ -n "$out" ]; then
		echo "FAIL $page"
		printf '%s\n' "$out" | sed 's/^/    /'
		fail=$((fail + 1))
	else
		echo "PASS $page"
		pass=$((pass + 1))
	fi
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
