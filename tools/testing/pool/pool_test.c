// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of codeheap's free-region pool (module/pool.c), built on the
 * host under ASan+UBSan against the kernel's tools/include and
 * tools/lib/rbtree.c.  After every operation the pool's invariants are
 * checked (pool_check.c), largest-free-range included.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "pool.h"
#include "pool_check.h"

#define BASE	0x10000ULL
#define LIMIT	0x100000ULL
#define MAXR	64

#define CHECK(p) do {							\
	const char *_m = pool_check(p);					\
	if (_m)								\
		TH_LOG("pool invariant broken: %s", _m);		\
	ASSERT_NULL(_m);						\
} while (0)

/* Expected ranges as start, size pairs, in address order. */
#define ASSERT_RANGES(p, ...) do {					\
	const u64 _e[] = { __VA_ARGS__ };				\
	ASSERT_TRUE(ranges_are(p, _e, ARRAY_SIZE(_e) / 2));		\
} while (0)

struct snap {
	int n;
	u64 r[MAXR][2];
	u64 count, bytes, largest;
};

static void take_snap(const struct codeheap_pool *pool, struct snap *s)
{
	const struct codeheap_pool_node *node;

	memset(s, 0, sizeof(*s));
	for (node = pool_lowest(pool); node && s->n < MAXR;
	     node = codeheap_pool_next(node)) {
		s->r[s->n][0] = node->start;
		s->r[s->n][1] = node->size;
		s->n++;
	}
	s->count = codeheap_pool_count(pool);
	s->bytes = codeheap_pool_free_bytes(pool);
	s->largest = codeheap_pool_largest(pool);
}

static int unchanged(const struct codeheap_pool *pool, const struct snap *old)
{
	struct snap now;

	take_snap(pool, &now);
	return !memcmp(&now, old, sizeof(now));
}

static int ranges_are(const struct codeheap_pool *pool, const u64 *exp, int n)
{
	const struct codeheap_pool_node *node;
	int i = 0, ok = 1;

	for (node = pool_lowest(pool); node;
	     node = codeheap_pool_next(node), i++)
		if (i >= n || node->start != exp[2 * i] ||
		    node->size != exp[2 * i + 1])
			ok = 0;
	if (i != n || codeheap_pool_count(pool) != (u64)n)
		ok = 0;
	if (ok)
		return 1;
	for (i = 0; i < n; i++)
		fprintf(stderr, "#   expected %#llx+%#llx\n",
			(unsigned long long)exp[2 * i],
			(unsigned long long)exp[2 * i + 1]);
	for (node = pool_lowest(pool); node;
	     node = codeheap_pool_next(node))
		fprintf(stderr, "#   found    %#llx+%#llx\n",
			(unsigned long long)node->start,
			(unsigned long long)node->size);
	return 0;
}

static struct codeheap_pool_node *new_node(void)
{
	return calloc(1, sizeof(struct codeheap_pool_node));
}

FIXTURE(pool) {
	struct codeheap_pool pool;
	struct codeheap_pool_node *spare;
	struct codeheap_pool_node *freed;
};

FIXTURE_SETUP(pool)
{
	ASSERT_EQ(0, codeheap_pool_init(&self->pool, BASE, LIMIT));
	self->spare = NULL;
	self->freed = NULL;
}

FIXTURE_TEARDOWN(pool)
{
	struct codeheap_pool_node *node;

	while ((node = codeheap_pool_pop(&self->pool)))
		free(node);
	free(self->spare);
	free(self->freed);
}

static void give_spare(FIXTURE_DATA(pool) *self)
{
	if (!self->spare)
		self->spare = new_node();
}

/* Merge with a spare at hand; returns the merge's result. */
static int put(FIXTURE_DATA(pool) *self, u64 start, u64 size)
{
	struct codeheap_pool_node *freed;
	int ret;

	give_spare(self);
	ret = codeheap_pool_merge(&self->pool, start, size, NULL, NULL,
				  &self->spare, &freed);
	free(freed);
	return ret;
}

static int alloc_in(FIXTURE_DATA(pool) *self, u64 size, u64 align, u64 lo,
		    u64 hi, u64 *addr)
{
	struct codeheap_pool_node *freed;
	int ret;

	give_spare(self);
	ret = codeheap_pool_alloc_in(&self->pool, size, align, lo, hi, addr,
				     &self->spare, &freed);
	free(freed);
	return ret;
}

TEST(node_is_48_bytes)
{
	/* The metadata cost per free range documented in pool.rst. */
	ASSERT_EQ(48, sizeof(struct codeheap_pool_node));
}

TEST(init_rejects_empty_bounds)
{
	struct codeheap_pool pool;
	struct codeheap_pool_node *spare = new_node(), *freed;

	ASSERT_EQ(-EINVAL, codeheap_pool_init(&pool, 0x2000, 0x2000));
	ASSERT_EQ(-EINVAL, codeheap_pool_init(&pool, 0x3000, 0x2000));
	ASSERT_EQ(-EINVAL, codeheap_pool_merge(&pool, 0x2000, 0x10, NULL, NULL,
					       &spare, &freed));
	ASSERT_NE(NULL, spare);
	ASSERT_EQ(0, codeheap_pool_count(&pool));
	free(spare);
}

TEST_F(pool, merge_neither_consumes_spare)
{
	struct codeheap_pool_node *sp;
	u64 ms = 0, mz = 0;

	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x1000, 0x100,
					 &ms, &mz, &self->spare, &self->freed));
	ASSERT_NULL(self->spare);
	ASSERT_NULL(self->freed);
	ASSERT_EQ(BASE + 0x1000, ms);
	ASSERT_EQ(0x100, mz);
	ASSERT_TRUE(pool_contains_node(&self->pool, sp));
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x100);
	ASSERT_EQ(0x100, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0x100, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);

	/* A second isolated range needs (and takes) another spare. */
	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x3000, 0x300,
					 &ms, &mz, &self->spare, &self->freed));
	ASSERT_NULL(self->spare);
	ASSERT_TRUE(pool_contains_node(&self->pool, sp));
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x100, BASE + 0x3000, 0x300);
	ASSERT_EQ(0x300, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, first_from_starts_a_walk_at_an_address)
{
	const struct codeheap_pool_node *n;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x300));
	ASSERT_EQ(0, put(self, BASE + 0x5000, 0x500));

	n = codeheap_pool_first_from(&self->pool, 0);
	ASSERT_NE(NULL, n);
	ASSERT_EQ(BASE + 0x1000, n->start);
	n = codeheap_pool_first_from(&self->pool, BASE + 0x3000);
	ASSERT_NE(NULL, n);
	ASSERT_EQ(BASE + 0x3000, n->start);
	/* Inside a range: the next one, not the one reaching over. */
	n = codeheap_pool_first_from(&self->pool, BASE + 0x3001);
	ASSERT_NE(NULL, n);
	ASSERT_EQ(BASE + 0x5000, n->start);
	n = codeheap_pool_next(n);
	ASSERT_NULL(n);
	ASSERT_NULL(codeheap_pool_first_from(&self->pool, BASE + 0x5001));
	ASSERT_NULL(codeheap_pool_first_from(&self->pool, ~0ULL));
}

TEST_F(pool, merge_neither_without_spare_fails)
{
	struct codeheap_pool_node *none = NULL;
	struct snap s;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	take_snap(&self->pool, &s);
	self->freed = (void *)1;	/* must be overwritten with NULL */
	ASSERT_EQ(-ENOMEM, codeheap_pool_merge(&self->pool, BASE + 0x3000,
					       0x100, NULL, NULL, NULL,
					       &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_EQ(-ENOMEM, codeheap_pool_merge(&self->pool, BASE + 0x3000,
					       0x100, NULL, NULL, &none,
					       &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_TRUE(unchanged(&self->pool, &s));
	CHECK(&self->pool);
}

TEST_F(pool, merge_with_below)
{
	struct codeheap_pool_node *sp;
	u64 ms, mz;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x1100, 0x80,
					 &ms, &mz, &self->spare, &self->freed));
	ASSERT_EQ(sp, self->spare);	/* not consumed */
	ASSERT_NULL(self->freed);
	ASSERT_EQ(BASE + 0x1000, ms);
	ASSERT_EQ(0x180, mz);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x180);
	ASSERT_EQ(0x180, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);

	/* Coalescing never needs a spare. */
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x1180, 0x80,
					 &ms, &mz, NULL, &self->freed));
	ASSERT_EQ(0x200, mz);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x200);
	CHECK(&self->pool);
}

TEST_F(pool, merge_with_above)
{
	u64 ms, mz;

	ASSERT_EQ(0, put(self, BASE + 0x1100, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x800));
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x1000, 0x100,
					 &ms, &mz, NULL, &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_EQ(BASE + 0x1000, ms);
	ASSERT_EQ(0x200, mz);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x200, BASE + 0x3000, 0x800);
	CHECK(&self->pool);
	/* Growing the top range downwards changes the largest range. */
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x2000, 0x1000,
					 &ms, &mz, NULL, &self->freed));
	ASSERT_EQ(0x1800, mz);
	ASSERT_EQ(0x1800, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, merge_with_both_frees_a_node)
{
	const struct codeheap_pool_node *upper;
	struct codeheap_pool_node *sp;
	u64 ms, mz;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x1200, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x8000, 0x180));
	upper = codeheap_pool_next(pool_lowest(&self->pool));
	ASSERT_EQ(BASE + 0x1200, upper->start);
	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_merge(&self->pool, BASE + 0x1100, 0x100,
					 &ms, &mz, &self->spare, &self->freed));
	ASSERT_EQ(sp, self->spare);	/* never both consume and free */
	ASSERT_EQ(upper, self->freed);
	ASSERT_FALSE(pool_contains_node(&self->pool, self->freed));
	ASSERT_EQ(BASE + 0x1000, ms);
	ASSERT_EQ(0x300, mz);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x300, BASE + 0x8000, 0x180);
	ASSERT_EQ(0x300, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0x480, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, merge_overlap_rejected)
{
	static const u64 bad[][2] = {
		{ BASE + 0x1000, 0x100 },	/* the same range */
		{ BASE + 0x1010, 0x10 },	/* inside */
		{ BASE + 0xf80, 0x100 },	/* straddles the start */
		{ BASE + 0x1080, 0x100 },	/* straddles the end */
		{ BASE + 0xf00, 0x400 },	/* covers */
		{ BASE + 0x10f0, 0x120 },	/* overlaps both */
		{ BASE + 0x1100, 0x101 },	/* fills the gap and one more */
		{ BASE + 0x12ff, 0x1 },		/* last byte */
	};
	struct codeheap_pool_node *sp;
	struct snap s;
	unsigned int i;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x1200, 0x100));
	take_snap(&self->pool, &s);
	give_spare(self);
	sp = self->spare;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, codeheap_pool_merge(&self->pool, bad[i][0],
						       bad[i][1], NULL, NULL,
						       &self->spare,
						       &self->freed))
			TH_LOG("case %u", i);
		ASSERT_EQ(sp, self->spare);
		ASSERT_NULL(self->freed);
		ASSERT_TRUE(unchanged(&self->pool, &s));
	}
	CHECK(&self->pool);
}

TEST_F(pool, merge_out_of_range_rejected)
{
	struct snap s;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));
	take_snap(&self->pool, &s);
	ASSERT_EQ(-EINVAL, put(self, BASE - 0x10, 0x20));
	ASSERT_EQ(-EINVAL, put(self, BASE - 0x100, 0x10));
	ASSERT_EQ(-EINVAL, put(self, LIMIT - 0x10, 0x20));
	ASSERT_EQ(-EINVAL, put(self, LIMIT, 0x10));
	ASSERT_EQ(-EINVAL, put(self, 0, 0x10));
	ASSERT_EQ(-EINVAL, put(self, BASE + 0x3000, 0));
	ASSERT_EQ(-EOVERFLOW, put(self, ~0ULL - 0x10, 0x20));
	ASSERT_EQ(-EOVERFLOW, put(self, BASE, ~0ULL));
	ASSERT_EQ(-EOVERFLOW, put(self, ~0ULL, 1));
	ASSERT_TRUE(unchanged(&self->pool, &s));
	/* The bounds themselves are fine. */
	ASSERT_EQ(0, put(self, BASE, 0x10));
	ASSERT_EQ(0, put(self, LIMIT - 0x10, 0x10));
	ASSERT_RANGES(&self->pool, BASE, 0x10, BASE + 0x1000, 0x100,
		      LIMIT - 0x10, 0x10);
	CHECK(&self->pool);
}

TEST_F(pool, top_of_address_space)
{
	u64 addr = 0;

	ASSERT_EQ(0, codeheap_pool_init(&self->pool, ~0ULL - 0x1000, ~0ULL));
	ASSERT_EQ(0, put(self, ~0ULL - 0x100, 0x100));	/* ends at U64_MAX */
	ASSERT_EQ(-EINVAL, put(self, ~0ULL - 0x2000, 0x100));
	ASSERT_EQ(-EOVERFLOW, put(self, ~0ULL - 0x10, 0x11));
	/* Aligning past the top must not wrap to 0. */
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x10, 1ULL << 63, 0, ~0ULL, &addr));
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x10, 0x1000, 0, ~0ULL, &addr));
	/* The range is [~0 - 0x100, ~0): its first 0x80-aligned byte is +1. */
	ASSERT_EQ(0, alloc_in(self, 0x10, 0x80, 0, ~0ULL, &addr));
	ASSERT_EQ(~0ULL - 0xff, addr);
	ASSERT_EQ(0, alloc_in(self, 0xef, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(~0ULL - 0xef, addr);
	ASSERT_RANGES(&self->pool, ~0ULL - 0x100, 1);
	CHECK(&self->pool);
	ASSERT_TRUE(pool_range_free(&self->pool, ~0ULL - 0x100, 1));
	ASSERT_FALSE(pool_range_free(&self->pool, ~0ULL - 0x100, 2));
}

TEST_F(pool, alloc_front)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, codeheap_pool_alloc(&self->pool, 0x100, &addr, NULL,
					 &self->freed));
	ASSERT_EQ(BASE + 0x1000, addr);
	ASSERT_NULL(self->freed);
	ASSERT_RANGES(&self->pool, BASE + 0x1100, 0xf00);
	ASSERT_EQ(0xf00, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0xf00, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, alloc_back)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, codeheap_pool_alloc_in(&self->pool, 0x100, 1,
					    BASE + 0x1f00, LIMIT, &addr, NULL,
					    &self->freed));
	ASSERT_EQ(BASE + 0x1f00, addr);
	ASSERT_NULL(self->freed);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0xf00);
	ASSERT_EQ(0xf00, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, alloc_whole_range_frees_node)
{
	const struct codeheap_pool_node *node;
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, put(self, BASE + 0x4000, 0x200));
	node = pool_lowest(&self->pool);
	give_spare(self);
	ASSERT_EQ(0, codeheap_pool_alloc(&self->pool, 0x1000, &addr,
					 &self->spare, &self->freed));
	ASSERT_EQ(BASE + 0x1000, addr);
	ASSERT_EQ(node, self->freed);
	ASSERT_NE(NULL, self->spare);
	ASSERT_RANGES(&self->pool, BASE + 0x4000, 0x200);
	ASSERT_EQ(0x200, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, alloc_middle_consumes_spare)
{
	struct codeheap_pool_node *sp;
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_alloc_in(&self->pool, 0x100, 1,
					    BASE + 0x1800, LIMIT, &addr,
					    &self->spare, &self->freed));
	ASSERT_EQ(BASE + 0x1800, addr);
	ASSERT_NULL(self->spare);
	ASSERT_NULL(self->freed);
	ASSERT_TRUE(pool_contains_node(&self->pool, sp));
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x800, BASE + 0x1900, 0x700);
	ASSERT_EQ(0x800, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0xf00, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, alloc_middle_without_spare_fails)
{
	struct snap s;
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	/* A later exact fit must not be taken instead: first fit is fixed. */
	ASSERT_EQ(0, put(self, BASE + 0x4000, 0x100));
	take_snap(&self->pool, &s);
	ASSERT_EQ(-ENOMEM, codeheap_pool_alloc_in(&self->pool, 0x100, 1,
						  BASE + 0x1800, LIMIT, &addr,
						  NULL, &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_TRUE(unchanged(&self->pool, &s));
	CHECK(&self->pool);
}

TEST_F(pool, window_starts_inside_range)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x1000));
	/* Too little room left above lo: the next range's front is used. */
	ASSERT_EQ(0, alloc_in(self, 0x100, 1, BASE + 0x1f80, LIMIT, &addr));
	ASSERT_EQ(BASE + 0x3000, addr);
	/* A window starting exactly at a range's start. */
	ASSERT_EQ(0, alloc_in(self, 0x10, 1, BASE + 0x3100, LIMIT, &addr));
	ASSERT_EQ(BASE + 0x3100, addr);
	ASSERT_EQ(0, alloc_in(self, 0x10, 1, BASE + 0x3110, LIMIT, &addr));
	ASSERT_EQ(BASE + 0x3110, addr);
	ASSERT_EQ(0, put(self, BASE + 0x3100, 0x20));
	/* Enough room: starts exactly at lo. */
	ASSERT_EQ(0, alloc_in(self, 0x80, 1, BASE + 0x1f80, LIMIT, &addr));
	ASSERT_EQ(BASE + 0x1f80, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0xf80, BASE + 0x3100, 0xf00);
	CHECK(&self->pool);
}

TEST_F(pool, window_ends_inside_range)
{
	struct snap s;
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x1000));
	take_snap(&self->pool, &s);
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x100, 1, 0, BASE + 0x1080, &addr));
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x100, 1, BASE + 0x2800,
				    BASE + 0x3080, &addr));
	ASSERT_TRUE(unchanged(&self->pool, &s));
	ASSERT_EQ(0, alloc_in(self, 0x80, 1, BASE + 0x2800, BASE + 0x3080,
			      &addr));
	ASSERT_EQ(BASE + 0x3000, addr);
	ASSERT_EQ(0, alloc_in(self, 0x80, 1, 0, BASE + 0x1080, &addr));
	ASSERT_EQ(BASE + 0x1000, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x1080, 0xf80, BASE + 0x3080, 0xf80);
	CHECK(&self->pool);
}

TEST_F(pool, window_inside_one_range)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x101, 1, BASE + 0x1400,
				    BASE + 0x1500, &addr));
	ASSERT_EQ(0, alloc_in(self, 0x100, 1, BASE + 0x1400, BASE + 0x1500,
			      &addr));
	ASSERT_EQ(BASE + 0x1400, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x1000, 0x400, BASE + 0x1500, 0xb00);
	/* A window in the gap between ranges finds nothing. */
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x10, 1, BASE + 0x1400,
				    BASE + 0x1500, &addr));
	CHECK(&self->pool);
}

TEST_F(pool, first_fit_is_lowest_address)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x4000, 0x1000));
	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x40));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x80));
	ASSERT_EQ(0, put(self, BASE + 0x2000, 0x200));
	/* Not the exact fit at 0x3000, not the largest at 0x4000. */
	ASSERT_EQ(0, alloc_in(self, 0x80, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x2000, addr);
	ASSERT_EQ(0, alloc_in(self, 0x180, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x2080, addr);
	ASSERT_EQ(0, alloc_in(self, 0x80, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x3000, addr);
	ASSERT_EQ(0, alloc_in(self, 0x41, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x4000, addr);
	ASSERT_EQ(0, alloc_in(self, 0x40, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x1000, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x4041, 0xfbf);
	CHECK(&self->pool);
}

TEST_F(pool, first_fit_in_a_deep_tree)
{
	u64 addr = 0, i, n = 2000;

	/* n small ranges, in scattered order, then one big one at the top. */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, put(self, BASE + ((i * 7919) % n) * 0x100, 0x40));
	ASSERT_EQ(0, put(self, BASE + n * 0x100, 0x80));
	ASSERT_EQ(0, put(self, BASE + n * 0x100 + 0x1000, 0x80));
	CHECK(&self->pool);
	ASSERT_EQ(0x80, codeheap_pool_largest(&self->pool));
	/* Each small range is skipped, from any window start. */
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x41, 1, 0, BASE + n * 0x100, &addr));
	ASSERT_EQ(0, alloc_in(self, 0x41, 1, BASE + 0x123, ~0ULL, &addr));
	ASSERT_EQ(BASE + n * 0x100, addr);
	ASSERT_EQ(0x80, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, alloc_in(self, 0x41, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + n * 0x100 + 0x1000, addr);
	ASSERT_EQ(0x40, codeheap_pool_largest(&self->pool));
	/* Inside the small ranges, the lowest one at or above lo. */
	ASSERT_EQ(0, alloc_in(self, 0x40, 1, BASE + 0x1001, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x1100, addr);
	ASSERT_EQ(n + 1, codeheap_pool_count(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, alignment)
{
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1010, 0x1ff0));
	ASSERT_EQ(0, alloc_in(self, 0x100, 0x1000, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x2000, addr);
	ASSERT_EQ(0, alloc_in(self, 0x10, 0x20, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x1020, addr);
	ASSERT_EQ(0, alloc_in(self, 0x10, 0x1, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x1010, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x1030, 0xfd0, BASE + 0x2100, 0xf00);
	/* Alignment applies after the window clips the range. */
	ASSERT_EQ(0, alloc_in(self, 0x10, 0x100, BASE + 0x2101, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x2200, addr);
	CHECK(&self->pool);
}

TEST_F(pool, alignment_near_misses)
{
	u64 addr = 0;

	/* Big enough, but no 0x100-aligned 0x100 bytes inside. */
	ASSERT_EQ(0, put(self, BASE + 0x1010, 0x100));
	ASSERT_EQ(0, put(self, BASE + 0x1210, 0x1e0));
	ASSERT_EQ(0, put(self, BASE + 0x2000, 0x100));
	ASSERT_EQ(0, alloc_in(self, 0x100, 0x100, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x2000, addr);
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x100, 0x100, 0, ~0ULL, &addr));
	ASSERT_EQ(0, alloc_in(self, 0xf0, 0x100, 0, ~0ULL, &addr));
	ASSERT_EQ(BASE + 0x1300, addr);
	ASSERT_RANGES(&self->pool, BASE + 0x1010, 0x100, BASE + 0x1210, 0xf0);
	CHECK(&self->pool);
}

TEST_F(pool, invalid_allocations_rejected)
{
	static const u64 bad_align[] = {
		0, 3, 0x30, 0x1001, (1ULL << 63) + 1, ~0ULL
	};
	struct snap s;
	unsigned int i;
	u64 addr = 0;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	take_snap(&self->pool, &s);
	ASSERT_EQ(-EINVAL, alloc_in(self, 0, 1, 0, ~0ULL, &addr));
	for (i = 0; i < ARRAY_SIZE(bad_align); i++)
		ASSERT_EQ(-EINVAL, alloc_in(self, 0x10, bad_align[i], 0, ~0ULL,
					    &addr));
	ASSERT_EQ(-EINVAL, alloc_in(self, 0x10, 1, BASE + 0x1000,
				    BASE + 0x1000, &addr));
	ASSERT_EQ(-EINVAL, alloc_in(self, 0x10, 1, BASE + 0x1001,
				    BASE + 0x1000, &addr));
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x101, 1, BASE + 0x1000,
				    BASE + 0x1100, &addr));
	ASSERT_EQ(-ENOSPC, alloc_in(self, ~0ULL, 1, 0, ~0ULL, &addr));
	ASSERT_EQ(-ENOSPC, alloc_in(self, 0x10, 1ULL << 63, 0, ~0ULL, &addr));
	ASSERT_TRUE(unchanged(&self->pool, &s));
	CHECK(&self->pool);
}

TEST_F(pool, exhaustion_and_refill)
{
	struct codeheap_pool_node *freed;
	u64 addr = 0, i, n = (LIMIT - BASE) / 0x1000;
	int ret;

	ASSERT_EQ(0, put(self, BASE, LIMIT - BASE));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, codeheap_pool_alloc(&self->pool, 0x1000, &addr,
						 NULL, &freed));
		ASSERT_EQ(BASE + i * 0x1000, addr);
		ASSERT_EQ(i == n - 1, !!freed);
		free(freed);
		ASSERT_EQ(i == n - 1 ? 0 : 0x1000 * (n - i - 1),
			  codeheap_pool_largest(&self->pool));
	}
	ASSERT_EQ(-ENOSPC, codeheap_pool_alloc(&self->pool, 1, &addr, NULL,
					       &freed));
	ASSERT_EQ(0, codeheap_pool_count(&self->pool));
	ASSERT_EQ(0, codeheap_pool_free_bytes(&self->pool));
	ASSERT_EQ(0, codeheap_pool_largest(&self->pool));
	/* Give everything back in a scattered order: one range again. */
	for (i = 0; i < n; i++) {
		ret = put(self, BASE + ((i * 97) % n) * 0x1000, 0x1000);
		ASSERT_EQ(0, ret);
		CHECK(&self->pool);
	}
	ASSERT_RANGES(&self->pool, BASE, LIMIT - BASE);
}

TEST_F(pool, remove_front_back_middle_whole)
{
	struct codeheap_pool_node *sp;
	const struct codeheap_pool_node *node;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, codeheap_pool_remove(&self->pool, BASE + 0x1000, 0x100,
					  NULL, &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_RANGES(&self->pool, BASE + 0x1100, 0xf00);
	CHECK(&self->pool);
	ASSERT_EQ(0, codeheap_pool_remove(&self->pool, BASE + 0x1f00, 0x100,
					  NULL, &self->freed));
	ASSERT_RANGES(&self->pool, BASE + 0x1100, 0xe00);
	CHECK(&self->pool);
	give_spare(self);
	sp = self->spare;
	ASSERT_EQ(0, codeheap_pool_remove(&self->pool, BASE + 0x1200, 0x100,
					  &self->spare, &self->freed));
	ASSERT_NULL(self->spare);
	ASSERT_TRUE(pool_contains_node(&self->pool, sp));
	ASSERT_RANGES(&self->pool, BASE + 0x1100, 0x100, BASE + 0x1300, 0xc00);
	ASSERT_EQ(0xc00, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
	node = codeheap_pool_next(pool_lowest(&self->pool));
	ASSERT_EQ(0, codeheap_pool_remove(&self->pool, BASE + 0x1300, 0xc00,
					  NULL, &self->freed));
	ASSERT_EQ(node, self->freed);
	ASSERT_RANGES(&self->pool, BASE + 0x1100, 0x100);
	ASSERT_EQ(0x100, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0x100, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, remove_rejected_changes_nothing)
{
	struct snap s;

	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x1000));
	take_snap(&self->pool, &s);
	/* Not entirely free. */
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0xf00,
						0x200, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0x1f00,
						0x200, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0x1f00,
						0x101, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0xfff,
						0x10, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0x1000,
						0x3000, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0x2000,
						0x1000, NULL, &self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, 0, 0x10, NULL,
						&self->freed));
	ASSERT_EQ(-EINVAL, codeheap_pool_remove(&self->pool, BASE + 0x1000, 0,
						NULL, &self->freed));
	ASSERT_EQ(-EOVERFLOW, codeheap_pool_remove(&self->pool, ~0ULL, 2, NULL,
						   &self->freed));
	/* From the middle without a spare. */
	ASSERT_EQ(-ENOMEM, codeheap_pool_remove(&self->pool, BASE + 0x1100,
						0x100, NULL, &self->freed));
	ASSERT_NULL(self->freed);
	ASSERT_TRUE(unchanged(&self->pool, &s));
	CHECK(&self->pool);
}

TEST_F(pool, is_free)
{
	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x1000));
	ASSERT_TRUE(pool_range_free(&self->pool, BASE + 0x1000, 0x1000));
	ASSERT_TRUE(pool_range_free(&self->pool, BASE + 0x1800, 0x10));
	ASSERT_FALSE(pool_range_free(&self->pool, BASE + 0x1000, 0x1001));
	ASSERT_FALSE(pool_range_free(&self->pool, BASE + 0xfff, 0x10));
	ASSERT_FALSE(pool_range_free(&self->pool, BASE + 0x1800, 0));
	ASSERT_FALSE(pool_range_free(&self->pool, ~0ULL, 2));
}

TEST_F(pool, largest_after_every_kind_of_op)
{
	u64 addr = 0;

	ASSERT_EQ(0, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x100));		/* neither */
	ASSERT_EQ(0x100, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x400));
	ASSERT_EQ(0x400, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, alloc_in(self, 0x200, 1, 0, ~0ULL, &addr));	/* front */
	ASSERT_EQ(BASE + 0x3000, addr);
	ASSERT_EQ(0x200, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x200));		/* above */
	ASSERT_EQ(0x400, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, alloc_in(self, 0x300, 1, BASE + 0x3100, ~0ULL, &addr));
	ASSERT_EQ(0x100, codeheap_pool_largest(&self->pool));	/* back */
	ASSERT_EQ(0, put(self, BASE + 0x3100, 0x300));		/* below */
	ASSERT_EQ(0x400, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, alloc_in(self, 0x100, 1, BASE + 0x3100, ~0ULL, &addr));
	ASSERT_EQ(0x200, codeheap_pool_largest(&self->pool));	/* middle */
	CHECK(&self->pool);
	ASSERT_EQ(0, put(self, BASE + 0x3100, 0x100));		/* both */
	ASSERT_EQ(0x400, codeheap_pool_largest(&self->pool));
	ASSERT_EQ(0, codeheap_pool_remove(&self->pool, BASE + 0x3000, 0x400,
					  NULL, &self->freed));	/* whole */
	ASSERT_EQ(0x100, codeheap_pool_largest(&self->pool));
	free(self->freed);
	self->freed = codeheap_pool_pop(&self->pool);		/* pop */
	ASSERT_NE(NULL, self->freed);
	ASSERT_EQ(0, codeheap_pool_largest(&self->pool));
	CHECK(&self->pool);
}

TEST_F(pool, pop_drains_in_address_order)
{
	struct codeheap_pool_node *node;

	ASSERT_EQ(0, put(self, BASE + 0x3000, 0x30));
	ASSERT_EQ(0, put(self, BASE + 0x1000, 0x10));
	ASSERT_EQ(0, put(self, BASE + 0x2000, 0x20));
	node = codeheap_pool_pop(&self->pool);
	ASSERT_EQ(BASE + 0x1000, node->start);
	free(node);
	ASSERT_EQ(0x50, codeheap_pool_free_bytes(&self->pool));
	ASSERT_EQ(2, codeheap_pool_count(&self->pool));
	CHECK(&self->pool);
	node = codeheap_pool_pop(&self->pool);
	ASSERT_EQ(BASE + 0x2000, node->start);
	free(node);
	node = codeheap_pool_pop(&self->pool);
	ASSERT_EQ(BASE + 0x3000, node->start);
	free(node);
	ASSERT_NULL(codeheap_pool_pop(&self->pool));
	ASSERT_EQ(0, codeheap_pool_free_bytes(&self->pool));
	CHECK(&self->pool);
}

TEST_HARNESS_MAIN
