/*
 * The master (root) writes the table; privpop-auth (root) reads it.  No
 * unprivileged process maps it.
 */
#include "config.h"

#include <sys/mman.h>

#include <arpa/inet.h>

#include <string.h>
#include <unistd.h>

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
	char addr[PENALTY_ADDR_MAX];
	int i = -1;
	size_t k, oldest = 0;

	memcpy(addr, r->addr, sizeof(addr));
	addr[sizeof(addr) - 1] = '\0';
	if (addr[0] == '\0')
		return;
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
	int i;

	if (t == NULL || (i = find(t, addr)) < 0)
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

/* One "addr/bits" (or a bare address) range. */
static int
in_range(const char *addr, const char *r, size_t rlen)
{
	unsigned char a[16], n[16];
	char net[64];
	const char *slash = memchr(r, '/', rlen);
	size_t nlen = slash ? (size_t)(slash - r) : rlen;
	int fa, fn, alen, bits, i;
	uint64_t v;

	if (nlen == 0 || nlen >= sizeof(net))
		return 0;
	memcpy(net, r, nlen);
	net[nlen] = '\0';
	fa = strchr(addr, ':') ? AF_INET6 : AF_INET;
	fn = strchr(net, ':') ? AF_INET6 : AF_INET;
	if (fa != fn || inet_pton(fa, addr, a) != 1 ||
	    inet_pton(fn, net, n) != 1)
		return 0;
	alen = fa == AF_INET ? 4 : 16;
	bits = alen * 8;
	if (slash != NULL) {
		if (parse_uint(slash + 1, rlen - nlen - 1, 0, (uint64_t)bits,
		    &v) == -1)
			return 0;
		bits = (int)v;
	}
	for (i = 0; i < alen && bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a[i] & mask) != (n[i] & mask))
			return 0;
	}
	return 1;
}

int
penalty_exempt(const char *addr, const char *list)
{
	while (*list != '\0') {
		size_t n;

		while (*list == ' ' || *list == ',' || *list == '\t')
			list++;
		if ((n = strcspn(list, " ,\t")) == 0)
			break;
		if (in_range(addr, list, n))
			return 1;
		list += n;
	}
	return 0;
}

int
penalty_list_valid(const char *list)
{
	while (*list != '\0') {
		char net[64], *slash;
		unsigned char b[16];
		size_t n;
		uint64_t v;
		int af;

		while (*list == ' ' || *list == ',' || *list == '\t')
			list++;
		if ((n = strcspn(list, " ,\t")) == 0)
			break;
		if (n >= sizeof(net))
			return 0;
		memcpy(net, list, n);
		net[n] = '\0';
		af = strchr(net, ':') ? AF_INET6 : AF_INET;
		if ((slash = strchr(net, '/')) != NULL) {
			*slash = '\0';
			if (parse_uint(slash + 1, strlen(slash + 1), 0,
			    af == AF_INET ? 32 : 128, &v) == -1)
				return 0;
		}
		if (inet_pton(af, net, b) != 1)
			return 0;
		list += n;
	}
	return 1;
}
