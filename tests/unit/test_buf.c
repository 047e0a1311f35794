/*
 * Unit tests for common/buf.c: fixed and growable bounded buffers.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"

/* Bytes 0, 1, 2, ... so misplaced data shows. */
static void
pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static void
test_fixed_init(void **state)
{
	unsigned char mem[16];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_ptr_equal(b.data, mem);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_room(&b), 16);
	assert_ptr_equal(buf_ptr(&b), mem);
	assert_ptr_equal(buf_tail(&b), mem);
}

/* A table of appends into a fixed 16-byte buffer: (size, expected). */
static void
test_fixed_append_table(void **state)
{
	static const struct {
		size_t	n;
		int	want;
		size_t	used_after;
	} steps[] = {
		{ 0, 0, 0 },
		{ 17, -1, 0 },		/* more than the whole buffer */
		{ 10, 0, 10 },
		{ 7, -1, 10 },		/* one over */
		{ 6, 0, 16 },		/* exactly full */
		{ 1, -1, 16 },
		{ 0, 0, 16 },		/* empty append always fits */
		{ SIZE_MAX, -1, 16 },	/* no wrap-around */
	};
	unsigned char mem[16], src[32], want[16];
	struct buf b;
	size_t i, off = 0;

	(void)state;
	pattern(src, sizeof(src), 1);
	buf_init_fixed(&b, mem, sizeof(mem));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int r = buf_append(&b, src + off % 8, steps[i].n);

		if (r != steps[i].want)
			fail_msg("step %zu: append %zu got %d want %d", i,
			    steps[i].n, r, steps[i].want);
		if (buf_used(&b) != steps[i].used_after)
			fail_msg("step %zu: used %zu want %zu", i,
			    buf_used(&b), steps[i].used_after);
		if (r == 0 && steps[i].n > 0) {
			memcpy(want + b.len - steps[i].n, src + off % 8,
			    steps[i].n);
			off++;
		}
	}
	assert_memory_equal(buf_ptr(&b), want, 16);
	assert_ptr_equal(b.data, mem);	/* never reallocated */
}

/* A fixed buffer compacts to make room but never grows. */
static void
test_fixed_consume_compact(void **state)
{
	unsigned char mem[8];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(buf_puts(&b, "abcdefgh"), 0);
	assert_int_equal(buf_room(&b), 0);
	buf_consume(&b, 3);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_ptr(&b), "defgh", 5);
	assert_int_equal(buf_room(&b), 0);	/* room is at the tail only */
	/* 3 bytes fit after compacting, 4 do not */
	assert_int_equal(buf_append(&b, "XYZW", 4), -1);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_ptr(&b), "defgh", 5);
	assert_int_equal(buf_append(&b, "XYZ", 3), 0);
	assert_ptr_equal(buf_ptr(&b), mem);
	assert_memory_equal(mem, "defghXYZ", 8);
	assert_int_equal(buf_reserve(&b, 1), -1);
	assert_ptr_equal(b.data, mem);

	/* consuming everything rewinds to the start */
	buf_consume(&b, 8);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_room(&b), 8);
}

static void
test_compact(void **state)
{
	unsigned char mem[10];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	buf_compact(&b);	/* empty: nothing to do */
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	buf_consume(&b, 4);
	assert_int_equal(b.off, 4);
	buf_compact(&b);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 6);
	assert_int_equal(buf_room(&b), 4);
	assert_memory_equal(mem, "456789", 6);
	buf_compact(&b);	/* off 0: unchanged */
	assert_int_equal(b.len, 6);
	assert_memory_equal(mem, "456789", 6);
	buf_consume(&b, 0);
	assert_int_equal(buf_used(&b), 6);
}

static void
test_reset(void **state)
{
	unsigned char mem[4];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(buf_puts(&b, "abcd"), 0);
	buf_consume(&b, 1);
	buf_reset(&b);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_room(&b), 4);
	assert_ptr_equal(buf_ptr(&b), mem);
}

static void
test_tail_commit(void **state)
{
	unsigned char mem[8];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_ptr_equal(buf_tail(&b), mem + 2);
	memcpy(buf_tail(&b), "cde", 3);
	buf_commit(&b, 3);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_ptr(&b), "abcde", 5);
	buf_commit(&b, 0);
	buf_commit(&b, 3);	/* exactly the room left */
	assert_int_equal(buf_room(&b), 0);
}

static void
test_growable_init(void **state)
{
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 0, 100), 0);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_used(&b), 0);
	buf_free(&b);

	assert_int_equal(buf_init(&b, 32, 100), 0);
	assert_non_null(b.data);
	assert_int_equal(b.cap, 32);
	assert_int_equal(buf_room(&b), 32);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);

	/* initial above max is clamped */
	assert_int_equal(buf_init(&b, 500, 40), 0);
	assert_int_equal(b.cap, 40);
	assert_int_equal(b.max, 40);
	buf_free(&b);
}

/* Growth keeps content, never exceeds max, and refuses beyond it. */
static void
test_growable_grow_to_max(void **state)
{
	static const struct {
		size_t	initial, max, step;
	} cfg[] = {
		{ 0, 1, 1 },
		{ 0, 100, 1 },
		{ 0, 100, 7 },
		{ 1, 1000, 13 },
		{ 64, 64, 5 },
		{ 10, 4096, 1000 },
		{ 0, 65537, 4096 },
		{ 3, 200000, 65536 },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
		unsigned char *src = malloc(cfg[k].max + 1);
		struct buf b;
		size_t have = 0;

		assert_non_null(src);
		pattern(src, cfg[k].max + 1, (unsigned)k);
		assert_int_equal(buf_init(&b, cfg[k].initial, cfg[k].max), 0);
		while (have < cfg[k].max) {
			size_t n = cfg[k].step;

			if (n > cfg[k].max - have)
				n = cfg[k].max - have;
			if (buf_append(&b, src + have, n) != 0)
				fail_msg("cfg %zu: append %zu at %zu failed",
				    k, n, have);
			have += n;
			if (b.cap > cfg[k].max)
				fail_msg("cfg %zu: cap %zu > max %zu", k,
				    b.cap, cfg[k].max);
		}
		assert_int_equal(buf_used(&b), cfg[k].max);
		assert_memory_equal(buf_ptr(&b), src, cfg[k].max);
		assert_int_equal(buf_append(&b, src, 1), -1);
		assert_int_equal(buf_reserve(&b, 1), -1);
		assert_int_equal(buf_used(&b), cfg[k].max);
		assert_memory_equal(buf_ptr(&b), src, cfg[k].max);
		/* after consuming, the same room is found by compacting */
		buf_consume(&b, 1);
		assert_int_equal(buf_append(&b, src, 1), 0);
		assert_int_equal(buf_used(&b), cfg[k].max);
		assert_memory_equal(buf_ptr(&b), src + 1, cfg[k].max - 1);
		assert_int_equal(b.cap, cfg[k].max);
		buf_free(&b);
		free(src);
	}
}

/* One append larger than max fails whole, leaving the buffer alone. */
static void
test_growable_oversize(void **state)
{
	unsigned char src[300];
	struct buf b;

	(void)state;
	pattern(src, sizeof(src), 3);
	assert_int_equal(buf_init(&b, 0, 256), 0);
	assert_int_equal(buf_append(&b, src, 257), -1);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_append(&b, src, 200), 0);
	assert_int_equal(buf_append(&b, src, 57), -1);
	assert_int_equal(buf_used(&b), 200);
	assert_int_equal(buf_append(&b, src, 56), 0);
	assert_int_equal(buf_used(&b), 256);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(buf_reserve(&b, 0), 0);
	buf_free(&b);
}

/* Reserve on a growable buffer with consumed data compacts first. */
static void
test_growable_reserve_compacts(void **state)
{
	struct buf b;
	unsigned char *before;

	(void)state;
	assert_int_equal(buf_init(&b, 8, 8), 0);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	buf_consume(&b, 6);
	before = b.data;
	assert_int_equal(buf_reserve(&b, 6), 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.off, 0);
	assert_memory_equal(buf_ptr(&b), "78", 2);
	assert_int_equal(buf_room(&b), 6);
	assert_int_equal(buf_reserve(&b, 7), -1);
	buf_free(&b);
}

static void
test_puts(void **state)
{
	unsigned char mem[8];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(buf_puts(&b, ""), 0);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_puts(&b, "+OK"), 0);
	assert_int_equal(buf_puts(&b, " hello"), -1);	/* 9 > 8 */
	assert_int_equal(buf_used(&b), 3);
	assert_int_equal(buf_puts(&b, " hell"), 0);
	assert_memory_equal(buf_ptr(&b), "+OK hell", 8);
}

/* buf_printf: formats; an output of 512 or more characters is refused
 * whole instead of being cut, and max is enforced. */
static void
test_printf(void **state)
{
	static const struct {
		int	width;	/* %*s of "" gives exactly width spaces */
		size_t	max;
		int	want;
	} rows[] = {
		{ 0, 1024, 0 },
		{ 1, 1024, 0 },
		{ 510, 1024, 0 },
		{ 511, 1024, 0 },	/* 511 + NUL fills the 512 temp */
		{ 512, 1024, -1 },	/* would be truncated */
		{ 513, 1024, -1 },
		{ 100000, 200000, -1 },
		{ 100, 99, -1 },	/* fits the temp, not the buffer */
		{ 100, 100, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b;
		int r;

		assert_int_equal(buf_init(&b, 0, rows[i].max), 0);
		r = buf_printf(&b, "%*s", rows[i].width, "");
		if (r != rows[i].want)
			fail_msg("row %zu: width %d got %d want %d", i,
			    rows[i].width, r, rows[i].want);
		if (r == 0 && buf_used(&b) != (size_t)rows[i].width)
			fail_msg("row %zu: used %zu", i, buf_used(&b));
		if (r == -1 && buf_used(&b) != 0)
			fail_msg("row %zu: partial output on failure", i);
		buf_free(&b);
	}
}

static void
test_printf_format(void **state)
{
	unsigned char mem[64];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(buf_printf(&b, "+OK %u %llu", 2u, 320ULL), 0);
	assert_int_equal(buf_printf(&b, "%s\r\n", " x"), 0);
	assert_int_equal(buf_used(&b), strlen("+OK 2 320 x\r\n"));
	assert_memory_equal(buf_ptr(&b), "+OK 2 320 x\r\n",
	    strlen("+OK 2 320 x\r\n"));
	/* a printf that does not fit a nearly full buffer leaves it */
	assert_int_equal(buf_printf(&b, "%050d", 1), 0);
	assert_int_equal(buf_used(&b), 63);
	assert_int_equal(buf_printf(&b, "%d", 12), -1);
	assert_int_equal(buf_used(&b), 63);
	assert_int_equal(buf_printf(&b, "%d", 1), 0);
	assert_int_equal(buf_used(&b), 64);
}

/* Misuse aborts instead of corrupting memory. */
static void
expect_abort(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void
consume_too_much(void)
{
	unsigned char mem[4];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	(void)buf_puts(&b, "ab");
	buf_consume(&b, 3);
}

static void
commit_too_much(void)
{
	unsigned char mem[4];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	(void)buf_puts(&b, "ab");
	buf_commit(&b, 3);
}

static void
test_misuse_aborts(void **state)
{
	(void)state;
	expect_abort(consume_too_much);
	expect_abort(commit_too_much);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_init),
		cmocka_unit_test(test_fixed_append_table),
		cmocka_unit_test(test_fixed_consume_compact),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_tail_commit),
		cmocka_unit_test(test_growable_init),
		cmocka_unit_test(test_growable_grow_to_max),
		cmocka_unit_test(test_growable_oversize),
		cmocka_unit_test(test_growable_reserve_compacts),
		cmocka_unit_test(test_puts),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_format),
		cmocka_unit_test(test_misuse_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
