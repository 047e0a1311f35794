#!/bin/bash
# Build privpop and start a demo server on 127.0.0.1 with a demo user and
# Maildir, then print how to connect.  Run as root for the full privilege
# separation (as another user every role runs as that user).
#   DIR:  $PRIVPOP_DEMO_DIR (default /tmp/privpop-demo)
#   stop: kill "$(cat /tmp/privpop-demo/privpopd.pid)"
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
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
pid_file = $DIR/privpopd.pid
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

cat <<TXT

privpop is running (pid $(cat "$DIR/privpopd.pid")) with the demo user "demo", password "demo".

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
