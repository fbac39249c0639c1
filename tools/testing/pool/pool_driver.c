// SPDX-License-Identifier: GPL-2.0
/*
 * Differential driver of codeheap's free-region pool.
 *
 * The reference model is deliberately naive: a byte map of a SPACE-byte
 * window of the u64 address space (one flag per byte: free or not), placed
 * at the bottom, the middle, across 2^63 or at the very top of the space so
 * that overflow and alignment edges are reached.  Its arithmetic is done in
 * 128 bits, independently of the pool's overflow checks.  Each operation
 * decoded from the input runs on both; the driver then compares the result
 * code, the address or merged range, whether the spare node was consumed
 * and whether a node was handed back, the whole free set, the count, the
 * free bytes and the largest free range, and checks the pool's internal
 * invariants (pool_check.c).
 *
 * Nodes come from a fixed arena, poisoned for ASan while they are not the
 * pool's or the driver's, so a pool that keeps using a node it handed back,
 * hands back one it still links, or loses one is caught.  No malloc: a
 * failed run (longjmp out of the replay) leaks nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/errno.h>
#include <sanitizer/asan_interface.h>

#include "pool.h"
#include "pool_check.h"
#include "pool_driver.h"

#define SPACE	1024
#define NODES	(SPACE / 2 + 8)
#define MAXBLK	256

void (*pool_driver_fail)(const char *msg);

static u64 mapbase, lim_lo, lim_hi;
static unsigned char map[SPACE];	/* 1: the byte at mapbase + i is free */
static u64 run[SPACE + 1];		/* free bytes from i on */
static struct codeheap_pool pool;
static struct codeheap_pool_node *spare;

static struct codeheap_pool_node arena[NODES];
static unsigned char used[NODES];
static int in_use;

static u64 blk[MAXBLK][2];		/* allocated ranges, to free later */
static int nblk;
static size_t opno;

static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "op %zu: ", opno);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	pool_driver_fail(buf);
}

/* ---- node arena ---- */

static struct codeheap_pool_node *node_get(void)
{
	int i;

	for (i = 0; i < NODES; i++) {
		if (!used[i]) {
			used[i] = 1;
			in_use++;
			ASAN_UNPOISON_MEMORY_REGION(&arena[i], sizeof(arena[i]));
			/* The pool must not rely on anything in a spare. */
			memset(&arena[i], 0xa5, sizeof(arena[i]));
			return &arena[i];
		}
	}
	fail("node arena exhausted (the pool holds too many nodes)");
	return NULL;
}

static void node_put(struct codeheap_pool_node *node)
{
	long i = node - arena;

	if (i < 0 || i >= NODES || &arena[i] != node)
		fail("handed back a node that is not from the arena");
	if (!used[i])
		fail("handed back node %ld twice", i);
	used[i] = 0;
	in_use--;
	ASAN_POISON_MEMORY_REGION(node, sizeof(*node));
}

/* ---- input ---- */

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned int rd8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned int rd16(struct input *in)
{
	return rd8(in) | rd8(in) << 8;
}

static u64 rd_addr(struct input *in)
{
	unsigned int b = rd8(in);

	if ((b & 15) == 0) {
		switch ((b >> 4) & 7) {
		case 0:
			return 0;
		case 1:
			return ~0ULL;
		case 2:
			return ~0ULL - rd8(in);
		case 3:
			return mapbase - 1 - rd8(in);
		case 4:
			return lim_hi + rd8(in) - 8;
		case 5:
			return lim_lo - 8 + rd8(in) % 16;
		default:
			return 1ULL << (rd8(in) % 64);
		}
	}
	return mapbase + rd16(in) % (SPACE + 64) - 32;
}

static u64 rd_size(struct input *in)
{
	unsigned int b = rd8(in);

	if (b < 12) {
		switch (b % 6) {
		case 0:
			return 0;
		case 1:
			return ~0ULL;
		case 2:
			return ~0ULL - rd8(in);
		case 3:
			return 1ULL << 63;
		case 4:
			return 1ULL << (rd8(in) % 64);
		default:
			return SPACE + rd8(in);
		}
	}
	if (b < 160)
		return 1 + rd8(in) % 64;
	return 1 + rd16(in) % SPACE;
}

static u64 rd_align(struct input *in)
{
	unsigned int b = rd8(in);

	if (b < 160)
		return 1ULL << (b % 8);
	if (b < 230)
		return 1ULL << (b % 64);
	if (b < 240)
		return 0;
	return b;		/* mostly not a power of two */
}

static void rd_window(struct input *in, u64 *lo, u64 *hi)
{
	unsigned int b = rd8(in);

	if (b < 64) {
		*lo = 0;
		*hi = ~0ULL;
	} else if (b < 192) {
		*lo = rd_addr(in);
		*hi = *lo + 1 + rd16(in) % SPACE;
		if (*hi < *lo)
			*hi = ~0ULL;
	} else {
		*lo = rd_addr(in);
		*hi = rd_addr(in);
	}
}

/* ---- reference model ---- */

static void compute_runs(void)
{
	int i;

	run[SPACE] = 0;
	for (i = SPACE - 1; i >= 0; i--)
		run[i] = map[i] ? run[i + 1] + 1 : 0;
}

/* Is [s, s + n) inside the map? Then *i is its index. */
static int in_map(u64 s, u64 n, u64 *i)
{
	if (s < mapbase || (__uint128_t)s + n > (__uint128_t)mapbase + SPACE)
		return 0;
	*i = s - mapbase;
	return 1;
}

static int free_at(u64 i)
{
	return i < SPACE && map[i];
}

static int free_below(u64 i)
{
	return i > 0 && map[i - 1];
}

struct expect {
	int ret;
	int need;	/* the operation needs a new node */
	int frees;	/* the operation hands back a node */
	u64 a, b;	/* address, or merged start and size */
};

static void ref_merge(u64 s, u64 n, int have_spare, struct expect *e)
{
	u64 i, k, lo, hi;

	memset(e, 0, sizeof(*e));
	if (!n) {
		e->ret = -EINVAL;
		return;
	}
	if ((__uint128_t)s + n > ~0ULL) {
		e->ret = -EOVERFLOW;
		return;
	}
	if (s < lim_lo || (__uint128_t)s + n > lim_hi) {
		e->ret = -EINVAL;
		return;
	}
	in_map(s, n, &i);
	for (k = i; k < i + n; k++) {
		if (map[k]) {
			e->ret = -EINVAL;
			return;
		}
	}
	e->need = !free_below(i) && !free_at(i + n);
	e->frees = free_below(i) && free_at(i + n);
	if (e->need && !have_spare) {
		e->ret = -ENOMEM;
		return;
	}
	memset(map + i, 1, n);
	for (lo = i; free_below(lo); lo--)
		;
	for (hi = i + n; free_at(hi); hi++)
		;
	e->a = mapbase + lo;
	e->b = hi - lo;
}

static void ref_take(u64 i, u64 n, int have_spare, struct expect *e)
{
	e->need = free_below(i) && free_at(i + n);
	e->frees = !free_below(i) && !free_at(i + n);
	if (e->need && !have_spare) {
		e->ret = -ENOMEM;
		return;
	}
	memset(map + i, 0, n);
}

static void ref_alloc(u64 n, u64 align, u64 lo, u64 hi, int have_spare,
		      struct expect *e)
{
	u64 i, a;

	memset(e, 0, sizeof(*e));
	if (!n || !align || (align & (align - 1)) || lo >= hi) {
		e->ret = -EINVAL;
		return;
	}
	compute_runs();
	for (i = 0; i < SPACE; i++) {
		a = mapbase + i;
		if (!map[i] || a < lo || (a & (align - 1)))
			continue;
		if ((__uint128_t)a + n > hi)
			break;
		if (run[i] >= n) {
			e->a = a;
			ref_take(i, n, have_spare, e);
			return;
		}
	}
	e->ret = -ENOSPC;
}

static void ref_remove(u64 s, u64 n, int have_spare, struct expect *e)
{
	u64 i, k;

	memset(e, 0, sizeof(*e));
	if (!n) {
		e->ret = -EINVAL;
		return;
	}
	if ((__uint128_t)s + n > ~0ULL) {
		e->ret = -EOVERFLOW;
		return;
	}
	if (!in_map(s, n, &i)) {
		e->ret = -EINVAL;
		return;
	}
	for (k = i; k < i + n; k++) {
		if (!map[k]) {
			e->ret = -EINVAL;
			return;
		}
	}
	ref_take(i, n, have_spare, e);
}

static int ref_is_free(u64 s, u64 n)
{
	u64 i, k;

	if (!n || (__uint128_t)s + n > ~0ULL || !in_map(s, n, &i))
		return 0;
	for (k = i; k < i + n; k++)
		if (!map[k])
			return 0;
	return 1;
}

/* The k-th free run of the model (k modulo their number); 0 if none. */
static int ref_run(unsigned int k, u64 *start, u64 *size)
{
	u64 i, count = 0;

	compute_runs();
	for (i = 0; i < SPACE; i++)
		if (map[i] && !free_below(i))
			count++;
	if (!count)
		return 0;
	k %= count;
	for (i = 0; i < SPACE; i++) {
		if (map[i] && !free_below(i) && !k--) {
			*start = mapbase + i;
			*size = run[i];
			return 1;
		}
	}
	return 0;
}

/* ---- comparison ---- */

static void compare_state(void)
{
	const struct codeheap_pool_node *node = pool_lowest(&pool);
	u64 i, count = 0, bytes = 0, largest = 0;
	const char *msg;

	msg = pool_check(&pool);
	if (msg)
		fail("invariant: %s", msg);
	compute_runs();
	for (i = 0; i < SPACE; i++) {
		if (!map[i] || free_below(i))
			continue;
		if (!node)
			fail("model range %#llx+%#llx missing from the pool",
			     (unsigned long long)(mapbase + i),
			     (unsigned long long)run[i]);
		if (node->start != mapbase + i || node->size != run[i])
			fail("pool range %#llx+%#llx, model %#llx+%#llx",
			     (unsigned long long)node->start,
			     (unsigned long long)node->size,
			     (unsigned long long)(mapbase + i),
			     (unsigned long long)run[i]);
		count++;
		bytes += run[i];
		if (run[i] > largest)
			largest = run[i];
		node = codeheap_pool_next(node);
	}
	if (node)
		fail("extra pool range %#llx+%#llx",
		     (unsigned long long)node->start,
		     (unsigned long long)node->size);
	if (codeheap_pool_count(&pool) != count ||
	    codeheap_pool_free_bytes(&pool) != bytes ||
	    codeheap_pool_largest(&pool) != largest)
		fail("count/bytes/largest %llu/%llu/%llu, model %llu/%llu/%llu",
		     (unsigned long long)codeheap_pool_count(&pool),
		     (unsigned long long)codeheap_pool_free_bytes(&pool),
		     (unsigned long long)codeheap_pool_largest(&pool),
		     (unsigned long long)count, (unsigned long long)bytes,
		     (unsigned long long)largest);
	if ((u64)in_use != count + (spare ? 1 : 0))
		fail("%d nodes out, pool holds %llu, spare %d: a node was lost",
		     in_use, (unsigned long long)count, !!spare);
}

/* Checks what one mutating operation did with its spare and freed node. */
static void check_nodes(const char *what, int ret, const struct expect *e,
			int gave_spare, struct codeheap_pool_node *freed)
{
	if (ret != e->ret)
		fail("%s returned %d, model %d", what, ret, e->ret);
	if (gave_spare && !spare != (!ret && e->need))
		fail("%s: spare %s, model says %s", what,
		     spare ? "kept" : "consumed",
		     !ret && e->need ? "needed" : "not needed");
	if (!!freed != (!ret && e->frees))
		fail("%s: freed node %p, model says %d", what, (void *)freed,
		     !ret && e->frees);
	if (freed) {
		if (pool_contains_node(&pool, freed))
			fail("%s handed back a node still in the tree", what);
		if (freed == spare)
			fail("%s handed back the spare", what);
		node_put(freed);
	}
}

static void add_block(u64 start, u64 size)
{
	if (nblk < MAXBLK) {
		blk[nblk][0] = start;
		blk[nblk][1] = size;
		nblk++;
	}
}

static void drop_block(int k)
{
	blk[k][0] = blk[nblk - 1][0];
	blk[k][1] = blk[nblk - 1][1];
	nblk--;
}

/* ---- one operation ---- */

static void do_op(struct input *in)
{
	struct codeheap_pool_node *none = NULL, **sp, *freed, *marker;
	unsigned int op = rd8(in), s = rd8(in), k;
	u64 a, n, align, lo, hi, ms, mz, addr, off;
	struct expect e;
	int ret, have, gave = 0;

	if ((s & 3) == 0) {
		sp = (s & 4) ? NULL : &none;
		have = 0;
	} else {
		if (!spare)
			spare = node_get();
		sp = &spare;
		have = 1;
		gave = 1;
	}
	marker = (void *)&marker;
	freed = marker;		/* the pool must always set *freed */

	switch (op % 8) {
	case 0:			/* merge anything */
	case 1:			/* merge back (part of) an allocated block */
		if (op % 8 == 1 && nblk) {
			k = rd8(in) % nblk;
			a = blk[k][0];
			n = blk[k][1];
			if (rd8(in) & 1) {
				off = rd16(in) % n;
				a += off;
				n = 1 + rd16(in) % (n - off);
			}
		} else {
			k = ~0U;
			a = rd_addr(in);
			n = rd_size(in);
		}
		ref_merge(a, n, have, &e);
		ret = codeheap_pool_merge(&pool, a, n, &ms, &mz, sp, &freed);
		check_nodes("merge", ret, &e, gave, freed);
		if (!ret && (ms != e.a || mz != e.b))
			fail("merge %#llx+%#llx gave %#llx+%#llx, model %#llx+%#llx",
			     (unsigned long long)a, (unsigned long long)n,
			     (unsigned long long)ms, (unsigned long long)mz,
			     (unsigned long long)e.a, (unsigned long long)e.b);
		if (k != ~0U && !ret) {
			/* Keep what is left of the block on either side. */
			u64 bs = blk[k][0], be = bs + blk[k][1];

			drop_block(k);
			if (a > bs)
				add_block(bs, a - bs);
			if (a + n < be)
				add_block(a + n, be - a - n);
		}
		break;
	case 2:			/* allocate in a window */
	case 7:
		n = rd_size(in);
		if (op % 8 == 7) {
			align = 64;
			lo = rd_addr(in);
			hi = lo + 256;
			if (hi < lo)
				hi = ~0ULL;
		} else {
			align = rd_align(in);
			rd_window(in, &lo, &hi);
		}
		ref_alloc(n, align, lo, hi, have, &e);
		addr = 0x5a5a;
		ret = codeheap_pool_alloc_in(&pool, n, align, lo, hi, &addr,
					     sp, &freed);
		check_nodes("alloc_in", ret, &e, gave, freed);
		if (!ret && addr != e.a)
			fail("alloc_in(%#llx, %#llx, [%#llx, %#llx)) = %#llx, model %#llx",
			     (unsigned long long)n, (unsigned long long)align,
			     (unsigned long long)lo, (unsigned long long)hi,
			     (unsigned long long)addr,
			     (unsigned long long)e.a);
		if (!ret)
			add_block(addr, n);
		break;
	case 3:			/* allocate anywhere, V8's Allocate */
		n = rd_size(in);
		ref_alloc(n, 1, 0, ~0ULL, have, &e);
		ret = codeheap_pool_alloc(&pool, n, &addr, sp, &freed);
		check_nodes("alloc", ret, &e, gave, freed);
		if (!ret && addr != e.a)
			fail("alloc(%#llx) = %#llx, model %#llx",
			     (unsigned long long)n, (unsigned long long)addr,
			     (unsigned long long)e.a);
		if (!ret)
			add_block(addr, n);
		break;
	case 4:			/* remove anything */
	case 5:			/* remove a part of a free range */
		if (op % 8 == 5 && ref_run(rd8(in), &a, &n)) {
			off = rd16(in) % n;
			a += off;
			n = 1 + rd16(in) % (n - off);
			if (rd8(in) & 1)
				n++;	/* one byte too many */
		} else {
			a = rd_addr(in);
			n = rd_size(in);
		}
		ref_remove(a, n, have, &e);
		ret = codeheap_pool_remove(&pool, a, n, sp, &freed);
		check_nodes("remove", ret, &e, gave, freed);
		if (!ret)
			add_block(a, n);
		break;
	default:		/* 6: queries, and now and then a pop */
		if (ref_run(rd8(in), &a, &n)) {
			off = rd16(in) % n;
			a += off;
			n = 1 + rd16(in) % (n - off) + (rd8(in) & 1);
		} else {
			a = rd_addr(in);
			n = rd_size(in);
		}
		if (pool_range_free(&pool, a, n) != ref_is_free(a, n))
			fail("is_free(%#llx, %#llx) = %d, model %d",
			     (unsigned long long)a, (unsigned long long)n,
			     pool_range_free(&pool, a, n),
			     ref_is_free(a, n));
		if ((op & 0xf0) == 0xf0) {
			freed = codeheap_pool_pop(&pool);
			if (ref_run(0, &a, &n)) {
				if (!freed || freed->start != a ||
				    freed->size != n)
					fail("pop: wrong node");
				memset(map + (a - mapbase), 0, n);
				add_block(a, n);
				node_put(freed);
			} else if (freed) {
				fail("pop from an empty pool gave a node");
			}
		}
		break;
	}
	if (none)
		fail("the pool wrote into a NULL spare slot");
	compare_state();
}

size_t pool_driver_run(const uint8_t *data, size_t size)
{
	static const u64 bases[4] = {
		0, 0x7fff00000000ULL, ~0ULL - SPACE, (1ULL << 63) - SPACE / 2,
	};
	struct input in = { data, size };
	struct codeheap_pool_node *freed;
	struct expect e;
	unsigned int cfg;
	int i;

	for (i = 0; i < NODES; i++) {
		used[i] = 0;
		ASAN_POISON_MEMORY_REGION(&arena[i], sizeof(arena[i]));
	}
	in_use = 0;
	spare = NULL;
	nblk = 0;
	opno = 0;
	memset(map, 0, sizeof(map));

	cfg = rd8(&in);
	mapbase = bases[cfg & 3];
	if ((cfg & 3) != 2)
		mapbase += (cfg >> 2) & 15;
	lim_lo = mapbase + rd8(&in) % 64;
	lim_hi = mapbase + SPACE - rd8(&in) % 64;
	if (codeheap_pool_init(&pool, lim_lo, lim_hi))
		fail("init [%#llx, %#llx) failed", (unsigned long long)lim_lo,
		     (unsigned long long)lim_hi);
	if (cfg & 0x40) {
		spare = node_get();
		ref_merge(lim_lo, lim_hi - lim_lo, 1, &e);
		if (codeheap_pool_merge(&pool, lim_lo, lim_hi - lim_lo, NULL,
					NULL, &spare, &freed) || spare || freed)
			fail("initial merge failed");
	}
	compare_state();

	while (in.n) {
		opno++;
		do_op(&in);
	}

	/* Tear down like the heap does: pop until empty. */
	for (;;) {
		struct codeheap_pool_node *node = codeheap_pool_pop(&pool);

		if (!node)
			break;
		node_put(node);
	}
	if (spare)
		node_put(spare);
	if (in_use)
		fail("%d nodes not returned at teardown", in_use);
	return opno;
}
