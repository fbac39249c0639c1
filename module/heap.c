// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the heap, one per open file description of /dev/codeheap.
 */

#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "codeheap.h"

/**
 * codeheap_heap_create() - create an empty heap owned by the current mm
 *
 * The heap pins the owner's mm_struct (not its address space) with
 * mmgrab(), so that the ownership check stays valid for the heap's
 * lifetime even after the owner exits; it never keeps the address space
 * itself alive.
 *
 * Return: the new heap, or an ERR_PTR(): -ENOMEM when out of memory,
 * -EPERM for a caller without an address space (a kernel thread).
 */
struct codeheap_heap *codeheap_heap_create(void)
{
	struct codeheap_heap *heap;

	if (!current->mm)
		return ERR_PTR(-EPERM);

	heap = kzalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap)
		return ERR_PTR(-ENOMEM);

	mutex_init(&heap->lock);
	heap->mm = current->mm;
	mmgrab(heap->mm);
	return heap;
}

/**
 * codeheap_heap_destroy() - free a heap and everything it holds
 * @heap: the heap; no other reference to it may remain
 *
 * Called from the file's release, when the last reference to the file is
 * gone, so nothing can run a command on @heap concurrently.
 */
void codeheap_heap_destroy(struct codeheap_heap *heap)
{
	mmdrop(heap->mm);
	mutex_destroy(&heap->lock);
	kfree(heap);
}
