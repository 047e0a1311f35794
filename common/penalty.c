/*
 * The master (root) writes the table; privpop-auth (root) reads it.  No
 * unprivileged process maps it: the master's mapping is not inherited
 * by the children it forks (MADV_DONTFORK), and a session slot closes
 * the descriptor before it drops.
 *
 * Runs as: root (the master writes, privpop-auth reads).
 */
#include "config.h"

#include <sys/mman.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "numparse.h"
#include "penalty.h"

int
penalty_create(struct penalty_table **t_r)
{
	int fd = memfd_create("privpop-penalty", MFD_CLOEXEC);
	void *p;

	if (fd == -1)
		return -1;
	if (ftruncate(fd, sizeof(struct penalty_table)) == -1 ||
	    (p = mmap(NULL, sizeof(struct penalty_table),
	    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	/* a forked slot would otherwise keep it writable after it drops:
	 * closing the fd does not unmap */
	if (madvise(p, sizeof(struct penalty_table), MADV_DONTFORK) == -1) {
		munmap(p, sizeof(struct penalty_table));
		close(fd);
		return -1;
	}
	*t_r = p;
	return fd;
}

const struct penalty_table *
penalty_map(int fd)
{
	void *p = mmap(NULL, sizeof(struct penalty_table), PROT_READ,
	    MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
penalty_key(const char *addr, unsigned prefix, char *out)
{
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN + 8], txt[INET6_ADDRSTRLEN];
	const char *pct;
	size_t len, i;

	snprintf(out, PENALTY_ADDR_MAX, "%s", addr);
	/* the scope (fe80::1%eth0) names an interface, not a network */
	len = (pct = strchr(addr, '%')) != NULL ? (size_t)(pct - addr) :
	    strlen(addr);
	if (len >= sizeof(buf) || memchr(addr, ':', len) == NULL)
		return;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		if (inet_ntop(AF_INET, &a.s6_addr[12], txt, sizeof(txt)))
			snprintf(out, PENALTY_ADDR_MAX, "%s", txt);
		return;
	}
	if (prefix == 0 || prefix > IPV6_PREFIX_MAX)
		prefix = PENALTY_DEFAULT_V6PREFIX;
	for (i = 0; i < 16; i++) {
		unsigned keep = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;

		if (keep < 8)
			a.s6_addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	if (inet_ntop(AF_INET6, &a, txt, sizeof(txt)) != NULL &&
	    (size_t)snprintf(buf, sizeof(buf), "%s/%u", txt, prefix) <
	    PENALTY_ADDR_MAX)
		memcpy(out, buf, strlen(buf) + 1);
}

static int
find(const struct penalty_table *t, const char *addr)
{
	size_t i;

	for (i = 0; i < PENALTY_SLOTS; i++)
		if (t->e[i].addr[0] != '\0' &&
		    strncmp(t->e[i].addr, addr, PENALTY_ADDR_MAX) == 0)
			return (int)i;
	return -1;
}

void
penalty_apply(struct penalty_table *t, const struct penalty_report *r,
    time_t now)
{
	char raw[PENALTY_ADDR_MAX], addr[PENALTY_ADDR_MAX];
	int i = -1;
	size_t k, oldest = 0;

	memcpy(raw, r->addr, sizeof(raw));
	raw[sizeof(raw) - 1] = '\0';
	if (raw[0] == '\0')
		return;
	penalty_key(raw, t->v6prefix, addr);
	i = find(t, addr);
	if (r->ok) {
		if (i >= 0)
			memset(&t->e[i], 0, sizeof(t->e[i]));
		return;
	}
	if (i < 0) {
		/* a free slot, else the longest quiet one */
		for (k = 0; k < PENALTY_SLOTS; k++) {
			if (t->e[k].addr[0] == '\0') {
				oldest = k;
				break;
			}
			if (t->e[k].last < t->e[oldest].last)
				oldest = k;
		}
		i = (int)oldest;
		memset(&t->e[i], 0, sizeof(t->e[i]));
		memcpy(t->e[i].addr, addr, sizeof(addr));
	}
	if ((uint32_t)now - t->e[i].last > (t->forget ? t->forget :
	    PENALTY_DEFAULT_FORGET))
		t->e[i].fails = 0;	/* the old failures are forgotten */
	if (t->e[i].fails < UINT32_MAX)
		t->e[i].fails++;
	t->e[i].last = (uint32_t)now;
}

uint32_t
penalty_fails(const struct penalty_table *t, const char *addr, time_t now,
    int forget)
{
	char key[PENALTY_ADDR_MAX];
	int i;

	if (t == NULL)
		return 0;
	penalty_key(addr, t->v6prefix, key);
	if ((i = find(t, key)) < 0)
		return 0;
	if ((uint32_t)now - t->e[i].last > (uint32_t)forget)
		return 0;
	return t->e[i].fails;
}

int
penalty_delay_ms(uint32_t n, int base_ms, int max_ms)
{
	long d;

	if (n == 0 || base_ms <= 0)
		return 0;
	d = base_ms;
	while (--n > 0 && d < max_ms)
		d *= 2;
	return d > max_ms ? max_ms : (int)d;
}
