/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codeheap: the free-region pool, a set of disjoint, coalesced free address
 * ranges with first-fit allocation by address (V8's DisjointAllocationPool)
 * in O(log n).
 *
 * This file and pool.c are pure logic: they build in the module and, on the
 * host, against the kernel's tools/include and tools/lib/rbtree.c.
 */
#ifndef _CODEHEAP_POOL_H
#define _CODEHEAP_POOL_H

#include <linux/rbtree.h>
#include <linux/types.h>

/**
 * struct codeheap_pool_node - one free range of a pool
 * @rb: link in the pool's tree, keyed by @start
 * @start: first byte of the free range
 * @size: length of the free range in bytes, never 0
 * @subtree_max: largest @size in the subtree rooted at this node
 *
 * The pool never allocates or frees nodes: the caller hands it spare nodes
 * and gets back the nodes the pool no longer needs (see the spare-node
 * contract in struct codeheap_pool).  While a node is in a pool, every field
 * belongs to the pool; the caller may read @start and @size (for example
 * while iterating) under its lock, and must change nothing.  A node the pool
 * hands back is unlinked and may be freed or reused as a spare at once.
 */
struct codeheap_pool_node {
	struct rb_node rb;
	u64 start;
	u64 size;
	u64 subtree_max;
};

/**
 * struct codeheap_pool - a set of disjoint, coalesced free ranges
 * @root: the free ranges, an rbtree keyed by start address, augmented with
 *        the largest free range of each subtree
 * @base: lowest address a free range may cover
 * @limit: one past the highest address a free range may cover
 * @nr_ranges: number of free ranges (nodes in @root)
 * @free_bytes: sum of the sizes of the free ranges
 *
 * Locking: the pool has no lock of its own.  The caller serialises every
 * call on one pool, readers included (the heap calls it under its mutex).
 * No function sleeps, allocates memory or takes a lock, so a pool may be
 * used in any context.
 *
 * Spare-node contract: an operation that may need one more node (a merge
 * that touches no free range, an allocation or removal from the middle of a
 * free range) takes @spare, a pointer to the caller's spare node pointer.
 * It uses the spare only when it needs a new node, and then sets *@spare to
 * NULL; otherwise *@spare is left alone.  If it needs a node and @spare is
 * NULL or *@spare is NULL, it fails with -ENOMEM and changes nothing.  An
 * operation that removes a range (coalescing both neighbours of a merge, an
 * allocation or removal of a whole free range) stores the node it unlinked
 * in *@freed, and NULL there otherwise; @freed must not be NULL.  One call
 * never both consumes a spare and frees a node.  So a caller that keeps one
 * spare node ready can always free a range without failing half-way, and
 * refills its spare (or reuses *@freed) after the call.
 *
 * Ranges never wrap: every range [start, start + size) satisfies
 * start + size <= U64_MAX, so the byte at U64_MAX is never free.
 */
struct codeheap_pool {
	struct rb_root root;
	u64 base;
	u64 limit;
	u64 nr_ranges;
	u64 free_bytes;
};

int codeheap_pool_init(struct codeheap_pool *pool, u64 base, u64 limit);

int codeheap_pool_merge(struct codeheap_pool *pool, u64 start, u64 size,
			u64 *merged_start, u64 *merged_size,
			struct codeheap_pool_node **spare,
			struct codeheap_pool_node **freed);

int codeheap_pool_alloc_in(struct codeheap_pool *pool, u64 size, u64 align,
			   u64 lo, u64 hi, u64 *addr,
			   struct codeheap_pool_node **spare,
			   struct codeheap_pool_node **freed);

int codeheap_pool_remove(struct codeheap_pool *pool, u64 start, u64 size,
			 struct codeheap_pool_node **spare,
			 struct codeheap_pool_node **freed);

u64 codeheap_pool_largest(const struct codeheap_pool *pool);

const struct codeheap_pool_node *
codeheap_pool_first_from(const struct codeheap_pool *pool, u64 addr);

const struct codeheap_pool_node *
codeheap_pool_next(const struct codeheap_pool_node *node);

struct codeheap_pool_node *codeheap_pool_pop(struct codeheap_pool *pool);

/**
 * codeheap_pool_alloc() - allocate anywhere, unaligned (V8's Allocate)
 * @pool: the pool
 * @size: bytes to allocate, not 0
 * @addr: where the address of the allocation is stored on success
 * @spare: the caller's spare node, see struct codeheap_pool
 * @freed: where a node the pool no longer needs is stored, not NULL
 *
 * Return: as codeheap_pool_alloc_in() with alignment 1 and the window
 * [0, U64_MAX).
 */
static inline int codeheap_pool_alloc(struct codeheap_pool *pool, u64 size,
				      u64 *addr,
				      struct codeheap_pool_node **spare,
				      struct codeheap_pool_node **freed)
{
	return codeheap_pool_alloc_in(pool, size, 1, 0, ~0ULL, addr, spare,
				      freed);
}

/**
 * codeheap_pool_free_bytes() - total size of the free ranges
 * @pool: the pool
 *
 * Return: the number of free bytes.
 */
static inline u64 codeheap_pool_free_bytes(const struct codeheap_pool *pool)
{
	return pool->free_bytes;
}

/**
 * codeheap_pool_count() - number of free ranges
 * @pool: the pool
 *
 * Return: the number of disjoint free ranges, which is also the number of
 * nodes the pool holds.
 */
static inline u64 codeheap_pool_count(const struct codeheap_pool *pool)
{
	return pool->nr_ranges;
}

#endif /* _CODEHEAP_POOL_H */
