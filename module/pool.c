// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the free-region pool.
 *
 * The free ranges live in an rbtree keyed by start address.  Each node also
 * holds the largest range size of its subtree (RB_DECLARE_CALLBACKS_MAX), so
 * "the lowest-addressed range of at least S bytes starting at or above K" is
 * one root-to-leaf walk plus one descent: O(log n).  First fit with a window
 * and an alignment builds on that query; see codeheap_pool_alloc_in().
 *
 * Pure logic: no allocation, no locking, no kernel-only header beyond what
 * the kernel's tools/include provides, so the host tests and the fuzzer
 * build this very file.
 */

#include <linux/errno.h>
#include <linux/overflow.h>
#include <linux/rbtree_augmented.h>
#include <linux/types.h>

#include "pool.h"

#define pool_node_of(ptr) rb_entry(ptr, struct codeheap_pool_node, rb)

static inline u64 pool_node_size(const struct codeheap_pool_node *node)
{
	return node->size;
}

static inline u64 pool_node_end(const struct codeheap_pool_node *node)
{
	return node->start + node->size;
}

RB_DECLARE_CALLBACKS_MAX(static, pool_augment, struct codeheap_pool_node, rb,
			 u64, subtree_max, pool_node_size)

/* Largest range size under @rb, 0 for an empty subtree. */
static inline u64 pool_subtree_max(const struct rb_node *rb)
{
	return rb ? pool_node_of(rb)->subtree_max : 0;
}

/*
 * The free range with the greatest start <= @addr, or NULL; and, if @next
 * is not NULL, the one after it (the lowest start > @addr) in the same walk.
 */
static struct codeheap_pool_node *pool_find_le(const struct codeheap_pool *pool,
					       u64 addr,
					       struct codeheap_pool_node **next)
{
	struct rb_node *rb = pool->root.rb_node;
	struct codeheap_pool_node *best = NULL, *after = NULL;

	while (rb) {
		struct codeheap_pool_node *node = pool_node_of(rb);

		if (node->start <= addr) {
			best = node;
			rb = rb->rb_right;
		} else {
			after = node;
			rb = rb->rb_left;
		}
	}
	if (next)
		*next = after;
	return best;
}

/*
 * The lowest-addressed range of at least @size bytes in the subtree @rb,
 * whose subtree_max must be >= @size.
 */
static struct codeheap_pool_node *pool_leftmost_fit(struct rb_node *rb,
						    u64 size)
{
	for (;;) {
		struct codeheap_pool_node *node = pool_node_of(rb);

		if (pool_subtree_max(rb->rb_left) >= size) {
			rb = rb->rb_left;
			continue;
		}
		if (node->size >= size)
			return node;
		rb = rb->rb_right;
	}
}

/*
 * The lowest-addressed range of at least @size bytes whose start is >= @key,
 * or NULL: O(log n).
 *
 * Along the search path for @key, every node where the walk turns left
 * (start >= key) comes, with its right subtree, after everything below it
 * on the left; so the answer lies at the deepest such node that is itself
 * big enough or has a big enough right subtree.
 */
static struct codeheap_pool_node *pool_next_fit(const struct codeheap_pool *pool,
						u64 key, u64 size)
{
	struct rb_node *rb = pool->root.rb_node;
	struct codeheap_pool_node *turn = NULL;

	while (rb) {
		struct codeheap_pool_node *node = pool_node_of(rb);

		if (node->subtree_max < size)
			break;
		if (node->start >= key) {
			if (node->size >= size ||
			    pool_subtree_max(rb->rb_right) >= size)
				turn = node;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	if (!turn || turn->size >= size)
		return turn;
	return pool_leftmost_fit(turn->rb.rb_right, size);
}

/*
 * The lowest address in @node's range, inside [@lo, @hi) and aligned to
 * @align, that starts @size free bytes also inside [@lo, @hi).
 */
static bool pool_try_fit(const struct codeheap_pool_node *node, u64 size,
			 u64 align, u64 lo, u64 hi, u64 *addr)
{
	u64 mask = align - 1;
	u64 start = node->start > lo ? node->start : lo;
	u64 end = pool_node_end(node) < hi ? pool_node_end(node) : hi;

	if (start > ~0ULL - mask)
		return false;
	start = (start + mask) & ~mask;
	if (start >= end || end - start < size)
		return false;
	*addr = start;
	return true;
}

static void pool_insert(struct codeheap_pool *pool,
			struct codeheap_pool_node *node)
{
	struct rb_node **link = &pool->root.rb_node, *parent = NULL;

	node->subtree_max = node->size;
	while (*link) {
		struct codeheap_pool_node *cur;

		parent = *link;
		cur = pool_node_of(parent);
		if (cur->subtree_max < node->size)
			cur->subtree_max = node->size;
		if (node->start < cur->start)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&node->rb, parent, link);
	rb_insert_augmented(&node->rb, &pool->root, &pool_augment);
	pool->nr_ranges++;
}

static void pool_erase(struct codeheap_pool *pool,
		       struct codeheap_pool_node *node)
{
	rb_erase_augmented(&node->rb, &pool->root, &pool_augment);
	RB_CLEAR_NODE(&node->rb);
	pool->nr_ranges--;
}

/*
 * @node's range shrank in place (its order among ranges is unchanged):
 * recompute the maxima above it, up to the first that does not change.
 */
static void pool_shrunk(struct codeheap_pool_node *node)
{
	pool_augment_propagate(&node->rb, NULL);
}

/*
 * @node's range grew in place: raise the maxima above it, up to the first
 * that is already as large (one compare per level, no recomputation).
 */
static void pool_grown(struct codeheap_pool_node *node)
{
	struct rb_node *rb = &node->rb;
	u64 size = node->size;

	while (rb) {
		struct codeheap_pool_node *cur = pool_node_of(rb);

		if (cur->subtree_max >= size)
			break;
		cur->subtree_max = size;
		rb = rb_parent(rb);
	}
}

static struct codeheap_pool_node *
pool_take_spare(struct codeheap_pool_node **spare)
{
	struct codeheap_pool_node *node;

	if (!spare || !*spare)
		return NULL;
	node = *spare;
	*spare = NULL;
	return node;
}

/* Take [@start, @start + @size), which lies inside @node, out of the pool. */
static int pool_carve(struct codeheap_pool *pool,
		      struct codeheap_pool_node *node, u64 start, u64 size,
		      struct codeheap_pool_node **spare,
		      struct codeheap_pool_node **freed)
{
	u64 end = start + size, node_end = pool_node_end(node);
	struct codeheap_pool_node *tail;

	if (start == node->start && end == node_end) {
		pool_erase(pool, node);
		*freed = node;
	} else if (start == node->start) {
		node->start = end;
		node->size -= size;
		pool_shrunk(node);
	} else if (end == node_end) {
		node->size -= size;
		pool_shrunk(node);
	} else {
		tail = pool_take_spare(spare);
		if (!tail)
			return -ENOMEM;
		node->size = start - node->start;
		pool_shrunk(node);
		tail->start = end;
		tail->size = node_end - end;
		pool_insert(pool, tail);
	}
	pool->free_bytes -= size;
	return 0;
}

/**
 * codeheap_pool_init() - initialise an empty pool
 * @pool: the pool
 * @base: lowest address a free range may cover
 * @limit: one past the highest address a free range may cover
 *
 * Return: 0, or -EINVAL when @base >= @limit (the pool is then left empty,
 * with an empty address range, so that every merge fails).
 */
int codeheap_pool_init(struct codeheap_pool *pool, u64 base, u64 limit)
{
	pool->root = RB_ROOT;
	pool->nr_ranges = 0;
	pool->free_bytes = 0;
	if (base >= limit) {
		pool->base = 0;
		pool->limit = 0;
		return -EINVAL;
	}
	pool->base = base;
	pool->limit = limit;
	return 0;
}

/**
 * codeheap_pool_merge() - give a range back, coalescing it with neighbours
 * @pool: the pool
 * @start: first byte of the range
 * @size: length of the range
 * @merged_start: if not NULL, where the start of the free range that now
 *                holds [@start, @start + @size) is stored on success
 * @merged_size: if not NULL, where that free range's size is stored
 * @spare: the caller's spare node, consumed only when the range touches no
 *         free range (see struct codeheap_pool)
 * @freed: where the node released by coalescing with both neighbours is
 *         stored, NULL otherwise; must not be NULL
 *
 * V8's DisjointAllocationPool::Merge.  O(log n).
 *
 * Return: 0 on success; -EINVAL when @size is 0, the range leaves
 * [base, limit) of the pool or overlaps a free range (a double free);
 * -EOVERFLOW when @start + @size wraps; -ENOMEM when a node is needed and
 * no spare was given.  On error nothing changed.
 */
int codeheap_pool_merge(struct codeheap_pool *pool, u64 start, u64 size,
			u64 *merged_start, u64 *merged_size,
			struct codeheap_pool_node **spare,
			struct codeheap_pool_node **freed)
{
	struct codeheap_pool_node *prev, *next, *below, *above, *node;
	u64 end;

	*freed = NULL;
	if (!size)
		return -EINVAL;
	if (check_add_overflow(start, size, &end))
		return -EOVERFLOW;
	if (start < pool->base || end > pool->limit)
		return -EINVAL;

	/* The last range starting below @end is the only one that can overlap. */
	prev = pool_find_le(pool, end - 1, &next);
	if (prev && pool_node_end(prev) > start)
		return -EINVAL;
	below = prev && pool_node_end(prev) == start ? prev : NULL;
	above = next && next->start == end ? next : NULL;

	if (below && above) {
		pool_erase(pool, above);
		below->size += size + above->size;
		pool_grown(below);
		*freed = above;
		node = below;
	} else if (below) {
		below->size += size;
		pool_grown(below);
		node = below;
	} else if (above) {
		above->start = start;
		above->size += size;
		pool_grown(above);
		node = above;
	} else {
		node = pool_take_spare(spare);
		if (!node)
			return -ENOMEM;
		node->start = start;
		node->size = size;
		pool_insert(pool, node);
	}
	pool->free_bytes += size;
	if (merged_start)
		*merged_start = node->start;
	if (merged_size)
		*merged_size = node->size;
	return 0;
}

/**
 * codeheap_pool_alloc_in() - first fit by address inside a window
 * @pool: the pool
 * @size: bytes to allocate, not 0
 * @align: alignment of the returned address, a power of two
 * @lo: lowest address the allocation may cover
 * @hi: one past the highest address the allocation may cover
 * @addr: where the address of the allocation is stored on success
 * @spare: the caller's spare node, consumed only when the allocation splits
 *         a free range in the middle (see struct codeheap_pool)
 * @freed: where the node of a free range the allocation used up entirely
 *         is stored, NULL otherwise; must not be NULL
 *
 * V8's DisjointAllocationPool::AllocateInRegion, with an alignment: returns
 * the lowest address A with A % @align == 0, @lo <= A, A + @size <= @hi and
 * [A, A + @size) free, and takes that range out of the pool.
 *
 * Cost: O(log n) to check the free range that straddles @lo, then one
 * O(log n) query per free range of at least @size bytes that starts inside
 * the window, in address order, until one fits.  A range of @size bytes or
 * more that starts inside the window always fits, except when aligning its
 * start leaves too little room (possible only when @align exceeds the
 * alignment of range bounds) or when it straddles @hi (the last one).  So
 * the cost is O(log n) when every range bound is a multiple of @align, and
 * O((m + 1) log n) otherwise, m being the number of such near misses.
 *
 * Return: 0 on success; -EINVAL when @size is 0, @align is not a power of
 * two or @lo >= @hi; -ENOSPC when nothing fits; -ENOMEM when the first fit
 * needs a node and no spare was given (no other fit is tried).  On error
 * nothing changed.
 */
int codeheap_pool_alloc_in(struct codeheap_pool *pool, u64 size, u64 align,
			   u64 lo, u64 hi, u64 *addr,
			   struct codeheap_pool_node **spare,
			   struct codeheap_pool_node **freed)
{
	struct codeheap_pool_node *node;
	u64 key, start;

	*freed = NULL;
	if (!size || !align || (align & (align - 1)) || lo >= hi)
		return -EINVAL;
	if (size > hi - lo)
		return -ENOSPC;

	/* The range straddling @lo, if any, has the lowest addresses. */
	if (lo > pool->base) {
		node = pool_find_le(pool, lo, NULL);
		if (node && node->start < lo &&
		    pool_try_fit(node, size, align, lo, hi, &start))
			goto found;
	}

	for (key = lo; (node = pool_next_fit(pool, key, size)) &&
	     node->start < hi; key = node->start + 1) {
		if (pool_try_fit(node, size, align, lo, hi, &start))
			goto found;
	}
	return -ENOSPC;

found:
	*addr = start;
	return pool_carve(pool, node, start, size, spare, freed);
}

/**
 * codeheap_pool_remove() - take a given range, which must be free
 * @pool: the pool
 * @start: first byte of the range
 * @size: length of the range
 * @spare: the caller's spare node, consumed only when the range lies in the
 *         middle of a free range (see struct codeheap_pool)
 * @freed: where the node of a free range the removal used up entirely is
 *         stored, NULL otherwise; must not be NULL
 *
 * For example to take back a whole reservation, or to place an allocation
 * at a fixed address.  O(log n).
 *
 * Return: 0 on success; -EINVAL when @size is 0 or any byte of the range
 * is not free; -EOVERFLOW when @start + @size wraps; -ENOMEM when a node is
 * needed and no spare was given.  On error nothing changed.
 */
int codeheap_pool_remove(struct codeheap_pool *pool, u64 start, u64 size,
			 struct codeheap_pool_node **spare,
			 struct codeheap_pool_node **freed)
{
	struct codeheap_pool_node *node;
	u64 end;

	*freed = NULL;
	if (!size)
		return -EINVAL;
	if (check_add_overflow(start, size, &end))
		return -EOVERFLOW;
	node = pool_find_le(pool, start, NULL);
	if (!node || pool_node_end(node) < end)
		return -EINVAL;
	return pool_carve(pool, node, start, size, spare, freed);
}

/**
 * codeheap_pool_largest() - size of the largest free range
 * @pool: the pool
 *
 * O(1).
 *
 * Return: the size in bytes of the largest free range, 0 if none.
 */
u64 codeheap_pool_largest(const struct codeheap_pool *pool)
{
	return pool_subtree_max(pool->root.rb_node);
}

/**
 * codeheap_pool_first_from() - the lowest free range at or above an address
 * @pool: the pool
 * @addr: any address
 *
 * Starts a walk with codeheap_pool_next() at @addr, in O(log n): the range
 * starting at @addr, or the first one starting above it.  A range that
 * starts below @addr and reaches past it is not returned.  The pool must
 * not change during a walk, which costs O(n) in all; from 0 it visits
 * every free range by address.
 *
 * Return: the node, or NULL if no free range starts at or above @addr.
 */
const struct codeheap_pool_node *
codeheap_pool_first_from(const struct codeheap_pool *pool, u64 addr)
{
	struct codeheap_pool_node *next;
	struct codeheap_pool_node *node = pool_find_le(pool, addr, &next);

	return node && node->start == addr ? node : next;
}

/**
 * codeheap_pool_next() - the next free range by address
 * @node: a node in a pool
 *
 * Return: the node of the free range after @node, NULL if none.
 */
const struct codeheap_pool_node *
codeheap_pool_next(const struct codeheap_pool_node *node)
{
	struct rb_node *rb = rb_next(&node->rb);

	return rb ? pool_node_of(rb) : NULL;
}

/**
 * codeheap_pool_pop() - take the lowest free range out, with its node
 * @pool: the pool
 *
 * For tearing a pool down: pop nodes and free them until NULL.  O(log n).
 *
 * Return: the unlinked node of the lowest free range, now the caller's;
 * NULL when the pool is empty.
 */
struct codeheap_pool_node *codeheap_pool_pop(struct codeheap_pool *pool)
{
	struct rb_node *rb = rb_first(&pool->root);
	struct codeheap_pool_node *node;

	if (!rb)
		return NULL;
	node = pool_node_of(rb);
	pool_erase(pool, node);
	pool->free_bytes -= node->size;
	return node;
}
