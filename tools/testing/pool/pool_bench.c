// SPDX-License-Identifier: GPL-2.0
/*
 * Host micro-benchmark of codeheap's pool against a linear-scan baseline.
 *
 *   pool_bench pool|linear NRANGES OPS
 *   pool_bench meta        prints sizeof the node and of the pool
 *
 * Builds NRANGES free ranges: NRANGES - 1 holes of 64 bytes (a fragmented
 * heap) and one big range above them all.  One operation is a first-fit
 * allocation of 128 bytes aligned to 64 (only the big range fits) and the
 * free of it again (a merge that coalesces it back).  Prints nanoseconds
 * per operation.  Under valgrind --tool=callgrind --collect-atstart=no
 * --instr-atstart=no, only the operations are counted, so the instruction
 * total divided by OPS is instructions per operation.
 *
 * The baseline is V8's DisjointAllocationPool algorithm: the same ranges in
 * a plain (not augmented) rbtree, like V8's std::set, with a merge by tree
 * search and an allocation by a linear scan from the lowest range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/errno.h>
#include <linux/rbtree.h>
#include <valgrind/callgrind.h>

#include "pool.h"

#define HOLE	64
#define STRIDE	256
#define REQ	128
#define ALIGN	64
#define BIG	(1ULL << 20)

/* ---- the baseline, V8's algorithm ---- */

struct lin_node {
	struct rb_node rb;
	u64 start, size;
};

struct lin_pool {
	struct rb_root root;
};

#define lin_of(p) rb_entry(p, struct lin_node, rb)

static void lin_insert(struct lin_pool *p, struct lin_node *n)
{
	struct rb_node **link = &p->root.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		link = n->start < lin_of(parent)->start ?
		       &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&n->rb, parent, link);
	rb_insert_color(&n->rb, &p->root);
}

/* V8's Merge: find the neighbours by search, coalesce. */
static int lin_merge(struct lin_pool *p, u64 start, u64 size)
{
	struct rb_node *rb = p->root.rb_node;
	struct lin_node *below = NULL, *above = NULL, *n;
	u64 end = start + size;

	while (rb) {
		n = lin_of(rb);
		if (n->start < end) {
			below = n;
			rb = rb->rb_right;
		} else {
			above = n;
			rb = rb->rb_left;
		}
	}
	if (below && below->start + below->size > start)
		return -EINVAL;
	if (below && below->start + below->size != start)
		below = NULL;
	if (above && above->start != end)
		above = NULL;
	if (below && above) {
		below->size += size + above->size;
		rb_erase(&above->rb, &p->root);
		free(above);
	} else if (below) {
		below->size += size;
	} else if (above) {
		above->start = start;
		above->size += size;
	} else {
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->start = start;
		n->size = size;
		lin_insert(p, n);
	}
	return 0;
}

/* V8's AllocateInRegion: scan from the lowest range for the first fit. */
static int lin_alloc(struct lin_pool *p, u64 size, u64 align, u64 *addr)
{
	struct rb_node *rb;
	struct lin_node *n, *tail;
	u64 a, end;

	for (rb = rb_first(&p->root); rb; rb = rb_next(rb)) {
		n = lin_of(rb);
		a = (n->start + align - 1) & ~(align - 1);
		end = n->start + n->size;
		if (a < n->start || a >= end || end - a < size)
			continue;
		if (a == n->start && a + size == end) {
			rb_erase(&n->rb, &p->root);
			free(n);
		} else if (a == n->start) {
			n->start += size;
			n->size -= size;
		} else if (a + size == end) {
			n->size -= size;
		} else {
			tail = malloc(sizeof(*tail));
			if (!tail)
				return -ENOMEM;
			tail->start = a + size;
			tail->size = end - a - size;
			n->size = a - n->start;
			lin_insert(p, tail);
		}
		*addr = a;
		return 0;
	}
	return -ENOSPC;
}

/* ---- driver ---- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "pool_bench: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	struct codeheap_pool_node *nodes, *spare, *freed;
	struct codeheap_pool pool;
	struct lin_pool lin = { RB_ROOT };
	unsigned long n, ops, i;
	int linear;
	double t;
	u64 addr, top;

	if (argc == 2 && !strcmp(argv[1], "meta")) {
		printf("%zu %zu\n", sizeof(struct codeheap_pool_node),
		       sizeof(struct codeheap_pool));
		return 0;
	}
	if (argc != 4)
		die("usage: pool_bench pool|linear NRANGES OPS | pool_bench meta");
	linear = !strcmp(argv[1], "linear");
	n = strtoul(argv[2], NULL, 0);
	ops = strtoul(argv[3], NULL, 0);
	if (!n || !ops)
		die("NRANGES and OPS must be > 0");
	top = (u64)(n - 1) * STRIDE;

	if (codeheap_pool_init(&pool, 0, 1ULL << 62))
		die("init");
	nodes = calloc(n, sizeof(*nodes));
	if (!nodes)
		die("out of memory");
	for (i = 0; i < n; i++) {
		u64 size = i == n - 1 ? BIG : HOLE;

		if (linear) {
			if (lin_merge(&lin, i * STRIDE, size))
				die("baseline merge");
			continue;
		}
		spare = &nodes[i];
		if (codeheap_pool_merge(&pool, i * STRIDE, size, NULL, NULL,
					&spare, &freed) || spare)
			die("merge");
	}

	t = now_ns();
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_TOGGLE_COLLECT;
	for (i = 0; i < ops; i++) {
		if (linear) {
			if (lin_alloc(&lin, REQ, ALIGN, &addr) || addr != top ||
			    lin_merge(&lin, addr, REQ))
				die("baseline op");
			continue;
		}
		if (codeheap_pool_alloc_in(&pool, REQ, ALIGN, 0, ~0ULL, &addr,
					   NULL, &freed) || addr != top ||
		    codeheap_pool_merge(&pool, addr, REQ, NULL, NULL, NULL,
					&freed))
			die("op");
	}
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_STOP_INSTRUMENTATION;
	t = now_ns() - t;

	printf("%s %lu %lu %.1f\n", argv[1], n, ops, t / ops);
	if (!linear && (codeheap_pool_count(&pool) != n ||
			codeheap_pool_largest(&pool) != BIG))
		die("pool state");
	free(nodes);
	return 0;
}
