// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side checks of a codeheap pool's internal invariants, used after
 * every operation by the unit tests and the differential fuzzer:
 *  - ranges are non-empty, inside [base, limit), do not wrap, are sorted,
 *    disjoint and coalesced (no two touch);
 *  - nr_ranges and free_bytes match the ranges;
 *  - every node's subtree_max is the largest size in its subtree, and
 *    codeheap_pool_largest() is the largest size of all;
 *  - the tree is a valid red-black tree (parent links, no red node with a
 *    red child, the same number of black nodes on every path).
 */
#include <stdio.h>

#include <linux/rbtree_augmented.h>

#include "pool_check.h"

static char msg[256];

static inline const struct codeheap_pool_node *node_of(const struct rb_node *rb)
{
	return rb_entry(rb, struct codeheap_pool_node, rb);
}

/* Returns the black height of @rb, or -1 with msg set. */
static int check_subtree(const struct rb_node *rb, const struct rb_node *parent,
			 u64 *max)
{
	const struct codeheap_pool_node *node;
	u64 lmax = 0, rmax = 0, m;
	int lh, rh;

	*max = 0;
	if (!rb)
		return 1;
	node = node_of(rb);
	if (rb_parent(rb) != parent) {
		snprintf(msg, sizeof(msg), "bad parent link at %#llx",
			 (unsigned long long)node->start);
		return -1;
	}
	if (rb_is_red(rb) && ((rb->rb_left && rb_is_red(rb->rb_left)) ||
			      (rb->rb_right && rb_is_red(rb->rb_right)))) {
		snprintf(msg, sizeof(msg), "red node with red child at %#llx",
			 (unsigned long long)node->start);
		return -1;
	}
	lh = check_subtree(rb->rb_left, rb, &lmax);
	if (lh < 0)
		return -1;
	rh = check_subtree(rb->rb_right, rb, &rmax);
	if (rh < 0)
		return -1;
	if (lh != rh) {
		snprintf(msg, sizeof(msg), "black heights %d != %d at %#llx",
			 lh, rh, (unsigned long long)node->start);
		return -1;
	}
	m = node->size;
	if (lmax > m)
		m = lmax;
	if (rmax > m)
		m = rmax;
	if (node->subtree_max != m) {
		snprintf(msg, sizeof(msg),
			 "subtree_max %#llx != %#llx at %#llx",
			 (unsigned long long)node->subtree_max,
			 (unsigned long long)m,
			 (unsigned long long)node->start);
		return -1;
	}
	*max = m;
	return lh + rb_is_black(rb);
}

/* NULL when every invariant holds, else a description of the first break. */
const char *pool_check(const struct codeheap_pool *pool)
{
	const struct codeheap_pool_node *node, *prev = NULL;
	u64 count = 0, bytes = 0, max = 0, end;

	for (node = pool_lowest(pool); node;
	     node = codeheap_pool_next(node)) {
		if (!node->size) {
			snprintf(msg, sizeof(msg), "empty range at %#llx",
				 (unsigned long long)node->start);
			return msg;
		}
		if (__builtin_add_overflow(node->start, node->size, &end)) {
			snprintf(msg, sizeof(msg), "range wraps at %#llx",
				 (unsigned long long)node->start);
			return msg;
		}
		if (node->start < pool->base || end > pool->limit) {
			snprintf(msg, sizeof(msg), "range %#llx+%#llx out of pool",
				 (unsigned long long)node->start,
				 (unsigned long long)node->size);
			return msg;
		}
		if (prev && prev->start + prev->size >= node->start) {
			snprintf(msg, sizeof(msg),
				 "ranges %#llx+%#llx and %#llx not disjoint and apart",
				 (unsigned long long)prev->start,
				 (unsigned long long)prev->size,
				 (unsigned long long)node->start);
			return msg;
		}
		count++;
		bytes += node->size;
		if (node->size > max)
			max = node->size;
		prev = node;
	}
	if (count != codeheap_pool_count(pool)) {
		snprintf(msg, sizeof(msg), "count %llu, %llu ranges",
			 (unsigned long long)codeheap_pool_count(pool),
			 (unsigned long long)count);
		return msg;
	}
	if (bytes != codeheap_pool_free_bytes(pool)) {
		snprintf(msg, sizeof(msg), "free_bytes %llu, ranges hold %llu",
			 (unsigned long long)codeheap_pool_free_bytes(pool),
			 (unsigned long long)bytes);
		return msg;
	}
	if (max != codeheap_pool_largest(pool)) {
		snprintf(msg, sizeof(msg), "largest %llu, real %llu",
			 (unsigned long long)codeheap_pool_largest(pool),
			 (unsigned long long)max);
		return msg;
	}
	if (pool->root.rb_node && !rb_is_black(pool->root.rb_node)) {
		snprintf(msg, sizeof(msg), "red root");
		return msg;
	}
	if (check_subtree(pool->root.rb_node, NULL, &max) < 0)
		return msg;
	return NULL;
}

/* Is @node linked in @pool's tree? */
int pool_contains_node(const struct codeheap_pool *pool,
		       const struct codeheap_pool_node *node)
{
	const struct codeheap_pool_node *cur;

	for (cur = pool_lowest(pool); cur; cur = codeheap_pool_next(cur))
		if (cur == node)
			return 1;
	return 0;
}

/* The lowest free range: the module never walks the whole pool. */
const struct codeheap_pool_node *pool_lowest(const struct codeheap_pool *pool)
{
	return codeheap_pool_first_from(pool, 0);
}

/*
 * Is every byte of [start, start + size) free?  False for an empty or
 * wrapping range.  Only the tests ask; the range holding @start is the one
 * starting there or the one before the first starting above it.
 */
bool pool_range_free(const struct codeheap_pool *pool, u64 start, u64 size)
{
	const struct codeheap_pool_node *node = codeheap_pool_first_from(pool, start);
	struct rb_node *rb;
	u64 end;

	if (!size || __builtin_add_overflow(start, size, &end))
		return false;
	if (!node || node->start != start) {
		rb = node ? rb_prev(&node->rb) : rb_last(&pool->root);
		node = rb ? rb_entry(rb, struct codeheap_pool_node, rb) : NULL;
	}
	return node && node->start <= start && end - node->start <= node->size;
}
