/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side checks of a codeheap pool's internal invariants.
 */
#ifndef _POOL_CHECK_H
#define _POOL_CHECK_H

#include "pool.h"

const char *pool_check(const struct codeheap_pool *pool);
const struct codeheap_pool_node *pool_lowest(const struct codeheap_pool *pool);
bool pool_range_free(const struct codeheap_pool *pool, u64 start, u64 size);
int pool_contains_node(const struct codeheap_pool *pool,
		       const struct codeheap_pool_node *node);

#endif /* _POOL_CHECK_H */
