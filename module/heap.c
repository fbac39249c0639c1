// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the heap, one per open file description of /dev/codeheap.
 *
 * A heap holds reservations (struct codeheap_space, space.c, each one
 * mapping of the device), the committed pages backing them (heap->pages,
 * pages.c), the live allocations (struct codeheap_block, block.c) and the
 * pool of free ranges that allocations come from.  This file creates and
 * destroys heaps, answers STATS and ends reservations with everything in
 * them.  See heap.h for the lock order.
 */

#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "heap.h"

/* The id of the last heap made (codeheap_heap_id()). */
static atomic64_t codeheap_last_id = ATOMIC64_INIT(0);

/* Free every block of an ending space, resetting the slots that target it. */
static void codeheap_space_free_blocks_locked(struct codeheap_heap *heap,
					      struct codeheap_space *space)
{
	struct codeheap_block *block = codeheap_block_after(heap, space->start);
	struct codeheap_block *next;

	lockdep_assert_held(&heap->lock);
	for (; block && block->start < space->end; block = next) {
		next = rb_entry_safe(rb_next(&block->node),
				     struct codeheap_block, node);
		codeheap_jt_unref_block_locked(heap, block);
		codeheap_block_unlink_locked(heap, block);
		codeheap_block_put_locked(heap, block);
		cond_resched();
	}
}

/**
 * codeheap_space_end_locked() - a reservation's life ends with its mapping
 * @heap: the heap
 * @space: the reservation, linked or already ended
 *
 * Called when the owner's mapping of the reservation is gone: RELEASE
 * unmapped it, or the owner unmapped it itself (munmap(), a MAP_FIXED
 * mapping over it), exec'd or exited.  Everything in it ends with it, as
 * if each were freed: the jump tables laid in it are destroyed, the slots
 * of other tables that jump into it are reset to their defaults (a table
 * whose default lies in it gets the trap as its default), its allocations
 * are freed, its free ranges leave the pool, its pages are decommitted and
 * it leaves the heap.  So no address of a reservation that is gone is ever
 * owned by anything (Documentation/design.rst, "A reservation's life").
 * The caller frees @space.  Cannot fail; a second call does nothing.
 *
 * Context: @heap->lock held; may sleep (page locks, unmap_mapping_range()).
 * From the mapping's .close, with the owner's mmap_lock held.
 */
void codeheap_space_end_locked(struct codeheap_heap *heap,
			       struct codeheap_space *space)
{
	lockdep_assert_held(&heap->lock);
	if (!space->linked)
		return;
	/* Tables and defaults live in blocks: an empty space has none. */
	if (space->nr_blocks) {
		codeheap_jt_space_end_locked(heap, space);
		codeheap_space_free_blocks_locked(heap, space);
	}
	codeheap_space_unlink_locked(heap, space);
}

/**
 * codeheap_heap_stats() - CODEHEAP_IOC_STATS
 * @heap: the heap
 * @arg: its output fields are set
 */
void codeheap_heap_stats(struct codeheap_heap *heap,
			 struct codeheap_stats *arg)
{
	mutex_lock(&heap->lock);
	arg->reserved_bytes = heap->reserved;
	arg->committed_bytes = heap->committed;
	arg->allocated_bytes = heap->allocated;
	arg->freed_bytes = heap->freed;
	arg->peak_allocated_bytes = heap->peak_allocated;
	arg->peak_committed_bytes = heap->peak_committed;
	arg->largest_free = codeheap_pool_largest(&heap->pool);
	arg->allocations = heap->nr_blocks;
	arg->reservations = heap->nr_spaces;
	arg->jump_tables = heap->nr_jts;
	codeheap_heap_unlock(heap);
}

/**
 * codeheap_heap_create() - create an empty heap owned by the current mm
 * @file: the /dev/codeheap file being opened
 *
 * The heap pins the owner's mm_struct (not its address space) with
 * mmgrab(), so that the ownership check stays valid for the heap's
 * lifetime even after the owner exits; it never keeps the address space
 * itself alive.
 *
 * Return: the new heap, or an ERR_PTR(): -ENOMEM when out of memory,
 * -EPERM for a caller without an address space (a kernel thread).
 */
struct codeheap_heap *codeheap_heap_create(struct file *file)
{
	struct codeheap_heap *heap;
	int ret = -ENOMEM;

	if (!current->mm)
		return ERR_PTR(-EPERM);

	heap = kzalloc(sizeof(*heap), CODEHEAP_GFP);
	if (!heap)
		return ERR_PTR(-ENOMEM);
	heap->user = codeheap_user_get();
	if (!heap->user)
		goto free_heap;
	heap->file = file;
	ret = codeheap_mapping_create(heap);
	if (ret)
		goto put_user;

	mutex_init(&heap->space_lock);
	mutex_init(&heap->lock);
	heap->spaces = RB_ROOT;
	heap->blocks = RB_ROOT;
	codeheap_pool_init(&heap->pool, 0, ~0ULL);
	xa_init(&heap->pages);
	INIT_LIST_HEAD(&heap->kept);
	xa_init_flags(&heap->jts, XA_FLAGS_ALLOC1);
	heap->mm = current->mm;
	mmgrab(heap->mm);
	atomic_inc(&codeheap_nr_heaps);
	heap->id = atomic64_inc_return(&codeheap_last_id);
	codeheap_debugfs_add(heap);
	return heap;

put_user:
	codeheap_user_put(heap->user);
free_heap:
	kfree(heap);
	return ERR_PTR(ret);
}

/**
 * codeheap_heap_destroy() - free a heap and everything it holds
 * @heap: the heap; no other reference to it may remain
 *
 * Called from the file's release: the last fd is closed and the last
 * mapping (each holds a file reference) is gone, so no page is mapped and
 * nothing can run a command on @heap concurrently.
 */
void codeheap_heap_destroy(struct codeheap_heap *heap)
{
	struct codeheap_block *block, *btmp;
	struct codeheap_space *space, *stmp;
	struct codeheap_pool_node *node;

	/* First: no debugfs reader may see the heap from here on. */
	codeheap_debugfs_remove(heap);
	codeheap_jt_destroy_all(heap);
	codeheap_pages_destroy(heap);
	codeheap_mapping_destroy(heap);
	codeheap_user_put(heap->user);
	atomic_long_sub(heap->reserved, &codeheap_total_reserved);

	rbtree_postorder_for_each_entry_safe(block, btmp, &heap->blocks, node)
		kfree(block);
	while (heap->nr_cached)
		kfree(heap->block_cache[--heap->nr_cached]);
	rbtree_postorder_for_each_entry_safe(space, stmp, &heap->spaces, node)
		kfree(space);
	while ((node = codeheap_pool_pop(&heap->pool)))
		kfree(node);
	kfree(heap->spare);
	kvfree(heap->batch);

	atomic_dec(&codeheap_nr_heaps);
	mmdrop(heap->mm);
	mutex_destroy(&heap->lock);
	mutex_destroy(&heap->space_lock);
	kfree(heap);
}
