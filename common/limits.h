/*
 * Every fixed limit of privpop, each with the reason for its number.
 * Limits an administrator may want to change are config keys instead
 * (see etc/privpopd.conf); their defaults live here too.
 */
/*
 * gcc's <limits.h> reaches the C library's through syslimits.h, which it
 * includes by a relative "..." name; that file's #include_next then
 * searches from the -iquote directories and lands here: pass it on (the
 * C library's MB_LEN_MAX was lost, and FORTIFY's wctomb checks it).
 */
#ifdef _GCC_NEXT_LIMITS_H
#include_next <limits.h>
#elif !defined(PRIVPOP_LIMITS_H)
#define PRIVPOP_LIMITS_H

/* RFC 2449 section 4: a command line is at most 255 octets including
 * the terminating CRLF. */
#define POP3_MAX_LINE		255

/* RFC 2449 section 4: a command argument is at most 40 octets, but
 * USER and PASS arguments (RFC 1939) are not bound by it; user names
 * with @domain need more room.  This is the longest user name accepted. */
#define POP3_MAX_USER		128

/* A password cannot be longer than a command line minus "PASS " and CRLF. */
#define POP3_MAX_PASS		(POP3_MAX_LINE - 7)

/* RFC 6856 LANG message catalogs (daemon/session/lang.c), read by the
 * slot zygote after its drop.  A tag: RFC 5646 allows long tags, but a
 * catalog is named by a language and perhaps a region or script
 * ("de", "pt-BR", "zh-Hant-TW"), well within 35 (the registry's
 * longest useful form).  A catalog holds one line for each answer of
 * the session (about 150 texts), so 256 entries and 64 KiB leave room
 * for them all in any script; 16 languages bound what a directory of
 * files can make the zygote (and every slot it forks) hold. */
#define LANG_TAG_MAX		35
#define LANG_FILE_MAX		(64 * 1024)
#define LANG_ENTRIES_MAX	256
#define LANG_MAX		16
/* A line of a catalog and a translated answer: the longest answer line
 * the session formats (POP3_MAX_LINE, RFC 2449's bound for a reply) */
#define LANG_LINE_MAX		POP3_MAX_LINE

/* RFC 1939 section 7: a UIDL is 1 to 70 characters in 0x21..0x7E. */
#define POP3_MAX_UIDL		70

/* mbox: the first bytes of a header line privpop-store keeps to name it
 * and to read the values of X-UIDL:, X-UID: and X-IMAPbase: ("X-UIDL: "
 * and a 70-character UIDL, with room for spaces and CRLF).  A longer
 * X-UIDL: or X-UID: line is not a valid one and is ignored. */
#define MBOX_HDR_LINE_MAX	128

/* RFC 1939 section 3: the autologout timer is at least 10 minutes. */
#define POP3_DEFAULT_TIMEOUT	600
#define POP3_MIN_TIMEOUT	10

/*
 * Before login (AUTHORIZATION state).  A connection that has not logged
 * in holds a slot and a root privpop-auth, so that phase is bounded in
 * total (Dovecot's login_timeout: 3 minutes), per command line (so a
 * client that dribbles a byte at a time cannot stretch it), and for the
 * TLS handshake (a client that says STLS and then nothing).  The
 * minimums allow a few seconds, for tests.
 */
#define DEFAULT_LOGIN_TIMEOUT		180
#define MIN_LOGIN_TIMEOUT		3
#define DEFAULT_LOGIN_LINE_TIMEOUT	60
#define DEFAULT_TLS_HANDSHAKE_TIMEOUT	30
/* a balancer sends its PROXY header at once (Dovecot's default) */
#define DEFAULT_HAPROXY_TIMEOUT		3
#define MAX_PREAUTH_TIMEOUT		3600
/* The master's backstop: it kills a slot that has not reported a login
 * this long after login_timeout, pam_timeout and the failure delays
 * (a session that is itself past its deadline is broken or hijacked). */
#define LOGIN_BACKSTOP_GRACE		10

/* Connections from one address (IPv6: one network of
 * limits_ipv6_prefix bits) that have not logged in, and in all.  Real
 * clients log in within a second, so a handful before login is plenty;
 * an office behind one NAT address polls with many. */
#define DEFAULT_MAX_PREAUTH_PER_IP	10
#define DEFAULT_MAX_SESSIONS_PER_IP	50
/* Seconds between two log lines about one address's refused
 * connections, or about evictions: a flood must not flood syslog. */
#define LIMIT_LOG_INTERVAL		60
/* Connections the master has accepted and holds for a slot that is
 * being freed (an eviction) or forked. */
#define MASTER_PENDING_MAX		64
/* Connections the master accepts from one listener per wakeup. */
#define MASTER_ACCEPT_BURST		16

/* Failed PASS/APOP attempts in one session before it is closed. */
#define POP3_DEFAULT_MAX_AUTH_FAILS	3

/* Output buffered by the session child before it must flush to the
 * client; large enough for a whole 16 KiB IPC data chunk plus a line. */
#define SESSION_OUTBUF		(32 * 1024)

/* A SASL client response line (RFC 5034), CRLF included.  The AUTH
 * command itself keeps the 255-octet limit; continuation responses may
 * be longer (a SCRAM client-final with channel binding data), and 1 KiB
 * holds every mechanism privpop offers with room to spare. */
#define SASL_MAX_LINE		1024

/* Input buffered from the client: one maximal line plus the start of
 * the next pipelined one. */
#define SESSION_INBUF		(2 * SASL_MAX_LINE + 2)

/* Largest IPC payload.  Small enough to check and copy cheaply, large
 * enough that a message body streams in few messages (style guide:
 * checked before any allocation, like OpenSSH mm_request_receive). */
#define IPC_MAX_PAYLOAD		(16 * 1024)
/* the largest body memfd a session maps from its store (body_shm.h) */
#define SESSION_BODY_MAP_MAX	(4 * 1024 * 1024)

/* A client address as logged and matched (common/peeraddr.h): an
 * IPv6 address (INET6_ADDRSTRLEN, 46 with the NUL), a '%' and an
 * interface name (IF_NAMESIZE, 16) fit. */
#define PEER_ADDR_MAX		64
/* The PROXY protocol (HAProxy's specification): a v1 line is at most
 * 107 bytes with its CRLF; a v2 header is 16 bytes and at most
 * PROXY_V2_MAX more (addresses and TLVs: more is refused, HAProxy sends
 * a few hundred at most); the TLV texts we keep are cut to these. */
#define PROXY_V1_MAX		107
#define PROXY_V2_MAX		1024
#define PROXY_AUTHORITY_MAX	255
#define PROXY_SSL_TEXT_MAX	63
/* A listen host as configured: an address (PEER_ADDR_MAX) or a name. */
#define LISTEN_HOST_MAX		64

/* Addresses the shared penalty table remembers at once (the oldest is
 * forgotten first), and the longest key of one: an address without its
 * scope, an IPv6 one cut to its prefix (INET6_ADDRSTRLEN) and room to
 * spare.  4096 entries of 56 bytes are 224 KiB of shared memory. */
#define PENALTY_SLOTS		4096
#define PENALTY_ADDR_MAX	48
/* Penalty reports the master takes in one turn of its loop, so a flood
 * of failures cannot keep it from accepting and reaping. */
#define PENALTY_READS_PER_TURN	256
/* A login mechanism's name in a penalty report ("scram-sha-256") */
#define AUTH_METHOD_NAME_MAX	16

/* Longest mailbox path or location string handed to privpop-store. */
#define MAIL_MAX_PATH		1024

/* Most messages one mailbox may hold in a session; bounds the worker's
 * index (about 100 bytes a message). */
#define MAIL_MAX_MESSAGES	1000000
/* A Maildir expunge journal: a name per message (MAIL_MAX_PATH at most;
 * real names are about 60 bytes), for a mailbox of up to 1,000,000. */
#define MAILDIR_JOURNAL_MAX	((size_t)64 * 1024 * 1024)

/* Another server's UIDL records in a Maildir (dovecot-uidlist,
 * courierpop3dsizelist; mailstore/maildir_uidmap.h): a line per message
 * of about 100 bytes (a file name of about 60, a UID, sizes, a GUID),
 * for a mailbox of up to 1,000,000 messages.  A larger file is not
 * read: its messages keep privpop's own UIDLs. */
#define MAILDIR_UIDMAP_MAX	((size_t)128 * 1024 * 1024)
/* One line of those files: a file name (MAIL_MAX_PATH at most) and the
 * other fields (numbers, a 32-digit GUID, a UIDL of 70) with room;
 * Courier itself reads lines into 2 KiB. */
#define MAILDIR_UIDMAP_LINE_MAX	2048
/* pop3_uidl_format: a template of a few directives ("%08Xu%08Xv") */
#define CONF_UIDL_FORMAT_MAX	64

/* Longest line of the configuration or the passwd-file. */
#define CONFIG_MAX_LINE		1024

/* Config values: a path (certificate, helper, pid file), a user, group
 * or PAM service name, an OpenSSL cipher, suite or group list, and a
 * list of networks (CIDR); longer values are refused when parsed. */
#define CONF_PATH_MAX		256
#define CONF_NAME_MAX		64
#define CONF_TLS_LIST_MAX	256
#define CONF_NET_LIST_MAX	512
/* The name in the greeting and the APOP/CRAM-MD5 stamp (a host's FQDN
 * in practice; DNS allows 253, which nobody runs a mail host under). */
#define HOSTNAME_MAX		128
/* The APOP and CRAM-MD5 stamp "<pid.random@hostname>" (RFC 1939
 * section 7), as privpop-auth makes it and the session takes it:
 * HOSTNAME_MAX and the numbers, with room. */
#define APOP_STAMP_MAX		256

/* The protocol transcript: the longest line it writes (a command is
 * POP3_MAX_LINE, each byte at most 4 once escaped), and what it holds
 * before a login that transcript_users may turn it on for. */
#define TRANSCRIPT_LINE_MAX	(4 * POP3_MAX_LINE + 16)
#define TRANSCRIPT_HOLD_MAX	8192
/* A transcript_dir file: where a session stops writing to it (a
 * transcript_lists UIDL listing of 100,000 messages is about 6 MB) */
#define TRANSCRIPT_FILE_MAX	((uint64_t)64 * 1024 * 1024)
/* transcript_users: the names, separated by spaces or commas */
#define CONF_USER_LIST_MAX	1024

/* SCRAM-SHA-256 (RFC 5802, 7677), as the session child parses it and
 * privpop-auth takes it: the client's nonce (clients send 24 to 48
 * characters), and the proof, an HMAC-SHA-256. */
#define SCRAM_NONCE_MAX		128
#define SCRAM_PROOF_LEN		32

/* tls_sni certificates besides the default one, and the longest name
 * (or *.domain) one of them is for. */
#define MAX_SNI			8
#define TLS_SNI_NAME_MAX	128

/* Listening sockets the master may hold (plain and TLS, v4 and v6). */
#define MAX_LISTENERS		8

/* Defaults of the pool: idle pre-forked slots and concurrent sessions. */
#define DEFAULT_PREFORK		4
#define DEFAULT_MAX_SESSIONS	256
#define MAX_PREFORK		256
#define MAX_SESSIONS_LIMIT	65536

/* Longest content privpop-auth signs for a TLS handshake: TLS 1.2's
 * 64 random bytes, 4 bytes of ECDHE parameters and a point of at most
 * 255 (RFC 8422 5.4), or TLS 1.3's 98 bytes of context and a transcript
 * hash (RFC 8446 4.4.3). */
#define TLS_SIGN_CONTENT_MAX	(64 + 4 + 255)
/* Largest signature privpop-auth makes (and RSA modulus it warms up):
 * an 8192-bit RSA key's; DER ECDSA signatures are far shorter. */
#define TLS_SIG_MAX		1024
/* close_notify (tls_close): tries while the socket would block, and the
 * wait for it to drain each time; the session is ending anyway. */
#define TLS_CLOSE_TRIES		3
#define TLS_CLOSE_WAIT_MS	1000

/* File descriptors a session child may hold: client, store socket, auth
 * socket, syslog, status pipe, and a few spare. */
#define SESSION_RLIMIT_NOFILE	16

/* Delay before a failed login is answered (Dovecot: auth_failure_delay
 * = 2 s); the same for unknown users and wrong passwords. */
#define DEFAULT_AUTH_FAIL_DELAY_MS	2000
#define MAX_AUTH_FAIL_DELAY_MS		60000

/* Seconds the master waits for sessions to end on SIGTERM before it
 * kills them. */
#define SHUTDOWN_GRACE_SECONDS	10

/* The master's longest sleep in its loop: how late it acts on a clock
 * (ticket-key rotation, a slot's login deadline, the end of an accept
 * pause). */
#define MASTER_TICK_MS		1000

/* Seconds the session child waits for one answer of privpop-store
 * (an answer line, or the next chunk of a body) before it ends the
 * session with [SYS/TEMP]: a worker stuck on a FIFO, a hung NFS server
 * or a stopped process must not pin a slot after its client has gone.
 * A first scan of 100,000 Maildir messages takes about 5 s (see the
 * README's benchmark), so 120 s is generous.  The session never waits
 * longer than its client's idle timeout either; at login and at QUIT
 * the worker may also wait for the mbox locks, so mbox_lock_timeout
 * is added there. */
#define STORE_ANSWER_TIMEOUT	120

/* How long the master waits for the slot zygote to name the slot it
 * forked (a clone: well under a millisecond) before it replaces the
 * zygote; the master accepts nothing meanwhile. */
#define ZYGOTE_ANSWER_TIMEOUT_MS	2000

/* The control socket (privpopctl, daemon/master/control.c).  The
 * argument of a request: a user name, an address or a session id, so
 * the longest of them, a user. */
#define CTL_ARG_MAX		POP3_MAX_USER
/* Connections to the control socket that may wait for their one
 * request at a time; one more closes the oldest.  privpopctl sends
 * its request as it connects, so more than a few means a stuck or
 * hostile peer, and the master's descriptors stay bounded. */
#define CTL_CONN_MAX		4
/* privpopctl transcript on: users, and addresses or networks, at most
 * (each list goes to every new session with its connection) */
#define CTL_TRANSCRIPT_MAX	16
/* Those users, separated by spaces, as a slot takes them */
#define CTL_TRANSCRIPT_USERS_LEN	(CTL_TRANSCRIPT_MAX * (POP3_MAX_USER + 1))
/* Seconds a control connection may take to send its request (the
 * master checks at each turn of its loop, MASTER_TICK_MS). */
#define CTL_REQUEST_TIMEOUT	2
/* One line of an answer: a session's pid, id, user (POP3_MAX_USER),
 * address (PEER_ADDR_MAX), state, TLS, age; or one counter. */
#define CTL_LINE_MAX		512
/* Seconds privpopctl waits for the master's answer: the master writes
 * it at once, at its next turn (MASTER_TICK_MS at the latest, longer
 * only while a reload runs). */
#define CTL_ANSWER_TIMEOUT	30
/* Seconds a kicked session has to end on SIGTERM (as at shutdown)
 * before the master sends SIGKILL: a session child ends at once, one
 * taken over could ignore it. */
#define KICK_GRACE_SECONDS	2
/* A session child's figures (MSG_MASTER_SESSION_STATS, enum sess_stat).
 * It reports when it is about to wait for its client, at most once
 * every SESSION_REPORT_INTERVAL_MS (what is left waits for that, a
 * timer wakes it), and at its end: privpopctl who's bytes lag by at
 * most that much, and a pipelining or chatty client costs the master
 * one read a second. */
#define SESSION_REPORT_INTERVAL_MS	1000
/* The most one field of one report may add: a session cannot move a
 * TiB in the interval, so more is a lie, clamped (a lying session can
 * still inflate counters, slowly: it only ever adds to them). */
#define SST_DELTA_MAX		(1ULL << 40)
/* Reports the master reads from one slot in one turn of its loop, and
 * from the socket of a slot it reaps (the last one comes just before
 * the exit): bounded, whatever a session queues. */
#define SLOT_REPORTS_PER_TURN	4
#define SLOT_REPORTS_AT_REAP	16
/* Reports a session may send in one second: it sends one a
 * SESSION_REPORT_INTERVAL_MS, a retry and its last, so more is a
 * session taken over that would keep the master busy: it is ended. */
#define SLOT_REPORTS_PER_SECOND	8

/* The metrics process (metrics_listen, daemon/metrics/).  Seconds
 * between two snapshots the master pushes to it: a Prometheus scrape
 * comes every 15 s or more, and a push is one memfd of a few KiB, so
 * a value is at most 2 s (and a loop tick, MASTER_TICK_MS) old. */
#define METRICS_PUSH_INTERVAL	2
/* The largest snapshot the metrics process maps: the stats text is
 * about 40 lines of CTL_LINE_MAX at most (some 20 KiB), so 64 KiB
 * leaves room for counters to come and refuses anything absurd. */
#define METRICS_SNAPSHOT_MAX	(64 * 1024)
/* The Prometheus text made of one snapshot: a HELP and a TYPE line
 * (under 256 bytes) added to each counter line, so four times the
 * snapshot bounds it. */
#define METRICS_BODY_MAX	(4 * METRICS_SNAPSHOT_MAX)
/* HTTP connections served at once; one more closes the oldest.  A
 * scraper or two and a curl by hand need a few; the descriptors of
 * the process stay bounded (METRICS_RLIMIT_NOFILE). */
#define METRICS_CONN_MAX	8
/* A request head (request line and headers) of a scraper or curl is
 * some 100 to 300 bytes; more is not a metrics client. */
#define METRICS_REQUEST_MAX	2048
/* Seconds a connection has to send its whole request head (a scraper
 * sends it as it connects) and to take the answer. */
#define METRICS_REQUEST_TIMEOUT	5
/* Descriptors of the metrics process: stdio, the listener, the master's
 * socketpair, syslog, a snapshot, and its connections. */
#define METRICS_RLIMIT_NOFILE	(METRICS_CONN_MAX + 8)
/* Seconds between two starts of a metrics process that died: a crash
 * loop costs a fork and a log line a second, no more. */
#define METRICS_RESTART_INTERVAL	1

/* Read size of the message encoder; one disk read feeds a few IPC
 * data messages. */
#define WIRE_READ_CHUNK		(64 * 1024)

/* A mbox dotlock's path ("<mailbox>.lock", MAIL_MAX_PATH and room), the
 * unique name it is first made under ("<lock>.<pid>.<time>.<host>"),
 * and the host name in that (liblockfile's convention). */
#define DOTLOCK_PATH_MAX	1100
#define DOTLOCK_TMP_MAX		1200
#define DOTLOCK_HOST_MAX	64

/* One log line before it is escaped (common/log.c), and the program
 * name syslog gets. */
#define LOG_LINE_MAX		1024
#define LOG_IDENT_MAX		32

/* Configuration bounds that common/conf.c's table checks and that a
 * helper checks again where the value reaches it over IPC (the store
 * worker re-checks the mbox lock settings in STORE_INIT, the dotlock
 * child its stale age): one name, so that the two never disagree. */
#define CONF_SECONDS_MAX	86400	/* a day: timeout, ticket rotation */
#define MAX_AUTH_FAILS_LIMIT	100	/* max_auth_fails */
#define PENALTY_FORGET_MAX	(86400 * 7)	/* a week */
#define IPV6_PREFIX_MIN		16	/* an IPv6 group for limits and */
#define IPV6_PREFIX_MAX		128	/* penalties: /16 .. one address */
#define PASSWD_ROUNDS_MIN	1000	/* passwd_upgrade_rounds (crypt(5)) */
#define PASSWD_ROUNDS_MAX	999999999
#define PAM_TIMEOUT_MAX		600	/* a PAM conversation, seconds */
#define MBOX_LOCK_TIMEOUT_MAX	3600	/* waiting for mbox locks, s */
#define DOTLOCK_STALE_MIN	10	/* a dotlock's age before it is */
#define DOTLOCK_STALE_MAX	86400	/* stale (liblockfile: 300 s) */
/* RFC 2449 LOGIN-DELAY and EXPIRE (issue 19; mailstore/expire.h):
 * login_delay in seconds up to a day (a client told to wait longer
 * would rather give up); expire in days up to ten years; EXPIRE_NEVER
 * stands for "never" where a number travels (STORE_INIT, READY). */
#define LOGIN_DELAY_MAX		86400
#define EXPIRE_DAYS_MAX		3650
#define EXPIRE_NEVER		UINT32_MAX
/* Per-domain overrides (login_delay_domain, expire_domain): a domain
 * name (RFC 1035: 253 characters) and how many a site lists. */
#define POLICY_DOMAIN_MAX	254
#define MAX_POLICY_DOMAINS	64
/* The mailbox owner's record files (mailstore/expire.h), which the
 * owner can write: the last login (a magic line and a number) and a
 * first-retrieval record per message ("SECONDS UIDL\n", at most 20 +
 * 1 + POP3_MAX_UIDL + 1 bytes), one per message of a mailbox of up to
 * MAIL_MAX_MESSAGES; larger files are ignored (nothing expires). */
#define LOGIN_FILE_MAX		64
#define EXPIRE_REC_LINE_MAX	(20 + 1 + POP3_MAX_UIDL + 1)
#define EXPIRE_FILE_MAX		((size_t)MAIL_MAX_MESSAGES * \
				 EXPIRE_REC_LINE_MAX + 64)
/* Test builds: the fake clock's offset file, a signed number */
#define TEST_CLOCK_FILE_MAX	32
/* mail_lock_stale: a Maildir lock file not refreshed for this long is
 * taken over by another node (mailstore/maildir_lock.h).  At least 10
 * s: it is refreshed every quarter of it, and the nodes' clocks must
 * agree to within a few seconds; at most an hour of [IN-USE] after a
 * node died.  Dovecot's own dotlock default is 2 minutes: ours too. */
#define MDLOCK_STALE_MIN	10
#define MDLOCK_STALE_MAX	3600
#define MDLOCK_STALE_DEFAULT	120
#define MDLOCK_REFRESH_DIVISOR	4	/* refreshed every stale / 4 */
/* mail_lock_node: a node's name in the lock file (a host name fits) */
#define MDLOCK_NODE_MAX		64
/* a lock file's line is about 150 bytes (magic, node, boot id, pid,
 * time); one larger is garbage and is not read */
#define MDLOCK_MAX_BYTES	256
/* make, find stale, take over, make again: a login that loses the
 * race this often to other nodes is [IN-USE] */
#define MDLOCK_ATTEMPTS		3

/* Bounds each used by one file, named here with every other. */
/* common/privdrop.c */
/* One kept variable (a sanitizer's options: a longer one is not
 * passed on), and "PATH=" with the search path we give. */
#define PRIV_ENV_LEN	512
#define PRIV_PATH_LEN	256

/* common/proctitle.c */
/* A title: far more than any privpop title (an IPv6 address, a user
 * name of POP3_MAX_USER is cut at this length) and below libbsd's own
 * limit of 255. */
#define PROCTITLE_MAX		200

/* common/buf.c */
/* buf_printf's text is ours (a status line, a number), never a body. */
#define BUF_PRINTF_MAX	512

/* daemon/metrics/metrics_proc.c */
/* The longest path kept of a request ("/metrics" is all we serve). */
#define METRICS_PATH_MAX	64
/* A status line and the headers of an answer. */
#define METRICS_HEAD_MAX	256

/* daemon/session/client.c */
/* Response lines are short; a longer one is a bug, not client input. */
#define RESPONSE_LINE_MAX	512

/* daemon/session/lang.c */
/* The most conversions an answer format holds (session.c: three). */
#define LANG_CONV_MAX	8

/* auth/tls_keys.c */
/* Bytes of all key files together, far above real keys. */
#define TLS_KEYS_MAX	(1024 * 1024)

/* mailstore/maildir_lock.c */
/* Linux's PID_MAX_LIMIT (4 * 1024 * 1024): no pid is larger. */
#define MDLOCK_PID_MAX	4194304u

#endif
