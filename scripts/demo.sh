#!/bin/bash
# Build privpop and start a demo server on 127.0.0.1 with a demo user and
# Maildir, check that a login works over the plain port, STLS and
# implicit TLS, then print how to connect.
#   bash scripts/demo.sh    as root, or as a user with sudo (it asks);
#                           PRIVPOP_AS_USER=1 runs every role as you
#   DIR:  $PRIVPOP_DEMO_DIR (default /tmp/privpop-demo)
#   stop: kill "$(cat /tmp/privpop-demo/privpopd.pid)"
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=as-root.sh
. "$SRC/scripts/as-root.sh"
DIR=${PRIVPOP_DEMO_DIR:-/tmp/privpop-demo}
PORT=${PRIVPOP_DEMO_PORT:-1110}
TLSPORT=${PRIVPOP_DEMO_TLS_PORT:-1995}

bash "$SRC/scripts/install-deps.sh" build
cd "$SRC"
if [ ! -x ./privpopd ] || [ ! -f Makefile ]; then
	autoreconf -fi
	./configure
fi
make -j"$(nproc)"

# Stop a demo left running from an earlier call.
if [ -f "$DIR/privpopd.pid" ] && kill -0 "$(cat "$DIR/privpopd.pid")" 2>/dev/null; then
	kill "$(cat "$DIR/privpopd.pid")"
	for _ in $(seq 50); do
		kill -0 "$(cat "$DIR/privpopd.pid" 2>/dev/null)" 2>/dev/null || break
		sleep 0.1
	done
fi
rm -rf "$DIR"
mkdir -p "$DIR/mail"
chmod 755 "$DIR"

if [ "$(id -u)" -eq 0 ]; then
	for u in privpop privpop-demo; do
		id "$u" >/dev/null 2>&1 || useradd --system --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin "$u"
	done
	OWNER=privpop-demo
else
	OWNER=$(id -un)
fi
UID_=$(id -u "$OWNER"); GID_=$(id -g "$OWNER")

# The demo mailbox: three messages, one with a dot-line and no final newline.
M="$DIR/mail/demo/Maildir"
mkdir -p "$M/new" "$M/cur" "$M/tmp"
now=$(date +%s)
cat >"$M/new/$now.M1P1.demo" <<MSG
From: privpop <postmaster@localhost>
To: demo@localhost
Subject: Welcome to privpop
Date: $(date -R)

Hello!  This message was served by privpop.
Each session runs in its own unprivileged, chrooted process.
MSG
cat >"$M/new/$((now + 1)).M2P1.demo" <<MSG
From: privpop <postmaster@localhost>
To: demo@localhost
Subject: A second message
Date: $(date -R)

RETR sends this with CRLF line ends and dot-stuffing:
.a line that starts with a dot
MSG
printf 'From: privpop <postmaster@localhost>\nSubject: No final newline\n\nlast line' \
	>"$M/new/$((now + 2)).M3P1.demo"
chown -R "$UID_:$GID_" "$DIR/mail"
chmod -R go-rwx "$DIR/mail/demo"

echo demo | ./privpop-passwd demo "$UID_" "$GID_" "$DIR/mail/demo" >"$DIR/passwd"
chmod 600 "$DIR/passwd"

# A self-signed certificate for the TLS port.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
chmod 600 "$DIR/key.pem"

cat >"$DIR/privpopd.conf" <<CONF
# privpop demo configuration (see etc/privpopd.conf for every key)
listen = 127.0.0.1:$PORT
listen_tls = 127.0.0.1:$TLSPORT
tls_cert = $DIR/cert.pem
tls_key = $DIR/key.pem
prefork = 2
max_sessions = 32
auth_fail_delay_ms = 500
passwd_file = $DIR/passwd
first_valid_uid = $UID_
pid_file = $DIR/privpopd.pid
auth_secret_file = $DIR/auth-secret
auth_helper = $SRC/privpop-auth
store_helper = $SRC/privpop-store
CONF

./privpopd -t -c "$DIR/privpopd.conf"
./privpopd -c "$DIR/privpopd.conf"
for _ in $(seq 50); do
	[ -f "$DIR/privpopd.pid" ] && break
	sleep 0.1
done
[ -f "$DIR/privpopd.pid" ] || { echo "privpopd did not start" >&2; exit 1; }

# "Running" means a real login works, not that a process exists: log in
# and STAT over each way a client connects (openssl is a build
# dependency, and bash's /dev/tcp needs nothing).
CMDS='USER demo\r\nPASS demo\r\nSTAT\r\nQUIT\r\n'
login_ok() {	# the server's answers on stdin, read to the end
	local n
	n=$(grep -c '^+OK Logged in, 3 messages' || true)
	[ "$n" -ge 1 ]
}
plain_login() {
	local out
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	# shellcheck disable=SC2059
	printf "$CMDS" >&3
	out=$(timeout 10 cat <&3 || true)
	exec 3<&-
	printf '%s\n' "$out" | tr -d '\r' | login_ok
}
tls_login() {	# extra s_client arguments
	# shellcheck disable=SC2059
	printf "$CMDS" | timeout 15 openssl s_client -quiet \
		-CAfile "$DIR/cert.pem" -verify_return_error "$@" 2>/dev/null |
		tr -d '\r' | login_ok
}
failed=""
plain_login || failed="$failed plain(port $PORT)"
tls_login -connect "127.0.0.1:$PORT" -starttls pop3 ||
	failed="$failed STLS(port $PORT)"
tls_login -connect "127.0.0.1:$TLSPORT" || failed="$failed implicit-TLS(port $TLSPORT)"
if [ -n "$failed" ]; then
	kill "$(cat "$DIR/privpopd.pid")" 2>/dev/null || true
	sleep 1
	echo "privpop started, but the demo login failed over:$failed" >&2
	echo "This is what privpopd says in the foreground (5 s):" >&2
	timeout 5 ./privpopd -f -c "$DIR/privpopd.conf" >&2 &
	sleep 1
	plain_login || true
	wait || true
	echo "The server is stopped.  Its log also went to syslog (facility mail:" \
		"journalctl -t privpopd -t privpop-auth, or /var/log/mail.log)." >&2
	exit 1
fi

cat <<TXT

privpop is running (pid $(cat "$DIR/privpopd.pid")) with the demo user "demo", password "demo";
a login worked over the plain port, STLS and implicit TLS.

  List the messages:       curl pop3://127.0.0.1:$PORT/ -u demo:demo
  Retrieve message 1:      curl pop3://127.0.0.1:$PORT/1 -u demo:demo
  Over implicit TLS:       curl -k pop3s://127.0.0.1:$TLSPORT/1 -u demo:demo
  With STLS:               curl -k --ssl-reqd pop3://127.0.0.1:$PORT/2 -u demo:demo
  By hand:                 openssl s_client -quiet -connect 127.0.0.1:$TLSPORT
  Python:                  python3 -c 'import poplib; p=poplib.POP3("127.0.0.1",$PORT); p.user("demo"); p.pass_("demo"); print(p.stat()); p.quit()'

Configuration: $DIR/privpopd.conf   Mailbox: $M
Logs go to syslog (facility mail); run it in the foreground with logs on
stderr instead:  $SRC/privpopd -f -c $DIR/privpopd.conf
Stop it:         kill \$(cat $DIR/privpopd.pid)
TXT
