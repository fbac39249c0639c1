// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: reservations (struct codeheap_space), each one mapping of the
 * heap's file.  RESERVE finds a gap and maps it with vm_mmap(); the
 * mapping's .mmap (mmap.c) links the space into the heap, and it enters
 * the pool once vm_mmap() returned.  RELEASE takes an empty reservation's
 * free range out of the pool and unmaps it.  A reservation's life ends
 * with its mapping (codeheap_space_end_locked() in heap.c).  See heap.h
 * for the lock order.
 */

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "heap.h"

/*
 * File offsets of reservations, in pages, are the heap's own (each heap has
 * its own inode and address_space, see mmap.c).  Every reservation takes a
 * fresh range, one page apart from the previous one, so no two reservations
 * of the heap ever share an offset, even after one ended while a fork
 * child still maps it, and no two mappings can be merged.  Running out
 * (after 2^51 pages reserved) makes only this heap's RESERVE fail.
 */
#define CODEHEAP_PGOFF_MAX	((ULONG_MAX >> PAGE_SHIFT) >> 1)

/* The lowest address a window search considers (above any mmap_min_addr). */
#define CODEHEAP_MIN_ADDR	SZ_1M

/* Times a window search retries when another thread took its gap. */
#define CODEHEAP_GAP_TRIES	8

/* rb_add() order: spaces by start address. */
static bool codeheap_space_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct codeheap_space, node)->start <
	       rb_entry(b, struct codeheap_space, node)->start;
}

/**
 * codeheap_space_link_locked() - add a freshly mapped reservation
 * @heap: the heap
 * @space: the reservation, with @start and @end set to its mapping
 *
 * Adds the reservation to the heap.  Its range goes to the pool only once
 * vm_mmap() returned (codeheap_space_create()): until then the mm may
 * still fail the mapping, and nothing may be allocated there.
 *
 * Context: @heap->lock held; called from the device's .mmap.
 */
void codeheap_space_link_locked(struct codeheap_heap *heap,
				struct codeheap_space *space)
{
	unsigned long len = space->end - space->start;

	lockdep_assert_held(&heap->lock);
	rb_add(&space->node, &heap->spaces, codeheap_space_less);

	space->linked = true;
	heap->reserved += len;
	heap->nr_spaces++;
	atomic_long_add(len, &codeheap_total_reserved);
}

/**
 * codeheap_space_pool_locked() - give an empty reservation's range to the pool
 * @heap: the heap
 * @space: the reservation, linked and empty
 * @node: the pool node for the range (the one taken out with it, or for a
 *        new reservation its own); set to NULL once the pool took it
 *
 * All of it less its last %CODEHEAP_CODE_ALIGN bytes: that fence keeps the
 * free ranges of two adjacent reservations from coalescing, so no
 * allocation ever straddles two mappings.  Being apart from every other
 * range, it takes the node.
 *
 * Context: @heap->lock held.
 */
static void codeheap_space_pool_locked(struct codeheap_heap *heap,
				       struct codeheap_space *space,
				       struct codeheap_pool_node **node)
{
	struct codeheap_pool_node *freed;

	lockdep_assert_held(&heap->lock);
	codeheap_pool_ok(codeheap_pool_merge(&heap->pool, space->start,
					     space->end - space->start -
					     CODEHEAP_CODE_ALIGN, NULL, NULL,
					     node, &freed));
	kfree(freed);
}

/* Take every free range of @space out of the pool. */
static void codeheap_space_unpool_locked(struct codeheap_heap *heap,
					 struct codeheap_space *space)
{
	const struct codeheap_pool_node *node, *next;

	lockdep_assert_held(&heap->lock);
	/* No free range reaches into a space from below: the fence. */
	for (node = codeheap_pool_first_from(&heap->pool, space->start);
	     node && node->start < space->end; node = next) {
		struct codeheap_pool_node *freed = NULL;

		next = codeheap_pool_next(node);
		/* A whole free range: the pool hands its node back. */
		codeheap_pool_ok(codeheap_pool_remove(&heap->pool, node->start,
						      node->size, NULL, &freed));
		kfree(freed);
	}
}

/**
 * codeheap_space_unlink_locked() - take an empty reservation out of the heap
 * @heap: the heap
 * @space: the reservation, linked or already ended; it holds no allocation
 *
 * Its free ranges leave the pool (unless RELEASE took them out already),
 * its pages are decommitted and it leaves the tree and the counts.  The
 * caller frees @space.  A second call does nothing.
 *
 * Context: @heap->lock held; may sleep (page locks, unmap_mapping_range()).
 */
void codeheap_space_unlink_locked(struct codeheap_heap *heap,
				  struct codeheap_space *space)
{
	unsigned long len = space->end - space->start;

	lockdep_assert_held(&heap->lock);
	if (!space->linked || WARN_ON_ONCE(space->nr_blocks))
		return;
	/* RELEASE took the free range out already. */
	if (!space->releasing)
		codeheap_space_unpool_locked(heap, space);
	codeheap_decommit_locked(heap, space->pgoff, len >> PAGE_SHIFT, false);
	rb_erase(&space->node, &heap->spaces);
	space->linked = false;
	heap->reserved -= len;
	heap->nr_spaces--;
	atomic_long_sub(len, &codeheap_total_reserved);
}

/* The lowest free gap of @len bytes in [lo, hi), preferring @hint. */
static unsigned long codeheap_find_gap(struct mm_struct *mm, unsigned long len,
				       unsigned long hint, unsigned long lo,
				       unsigned long hi)
{
	struct vm_area_struct *vma;
	unsigned long addr;

	mmap_read_lock(mm);
	if (hint && hint >= lo && hint <= hi && len <= hi - hint &&
	    !find_vma_intersection(mm, hint, hint + len)) {
		addr = hint;
		goto out_unlock;
	}
	addr = PAGE_ALIGN(max(lo, CODEHEAP_MIN_ADDR));
	while (addr && addr < hi && len <= hi - addr) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start - addr >= len)
			goto out_unlock;
		addr = vma->vm_end;
	}
	addr = -ENOSPC;
out_unlock:
	mmap_read_unlock(mm);
	return addr;
}

/**
 * codeheap_space_create() - map a new reservation
 * @heap: the heap, owned by the caller
 * @len: bytes, page aligned
 * @hint: the address to prefer, or 0
 * @lo: lowest address of the window
 * @hi: one past the highest address of the window
 * @fixed: exactly at @hint, or fail
 * @addr: set to its address on success
 * @id: if not NULL, set to its file offset on success, which names it
 *      uniquely (an address can be reused as soon as the owner unmaps it)
 *
 * Exactly at @hint (@fixed), or inside [@lo, @hi) preferring @hint, or
 * (a window covering all of user space) wherever the mm puts it,
 * preferring @hint.  The new reservation's range is in the pool on return.
 *
 * Context: @heap->space_lock held, no other heap lock (vm_mmap()).
 * Return: 0, -ENOMEM, -ENOSPC, or an error of vm_mmap().
 */
int codeheap_space_create(struct codeheap_heap *heap, unsigned long len,
			  unsigned long hint, unsigned long lo,
			  unsigned long hi, bool fixed,
			  unsigned long *addr, pgoff_t *id)
{
	const unsigned long prot = PROT_READ | PROT_EXEC;
	unsigned long pages = len >> PAGE_SHIFT, a = 0, gap;
	struct codeheap_pool_node *spare;
	struct codeheap_space *space;
	pgoff_t pgoff = heap->next_pgoff;
	bool linked;
	int tries;

	lockdep_assert_held(&heap->space_lock);

	if (pgoff > CODEHEAP_PGOFF_MAX - pages)
		return -ENOSPC;
	heap->next_pgoff = pgoff + pages + 1;

	space = kzalloc(sizeof(*space), CODEHEAP_GFP);
	if (!space)
		return -ENOMEM;
	space->pool_spare = kzalloc(sizeof(*space->pool_spare),
				    CODEHEAP_GFP);
	if (!space->pool_spare) {
		kfree(space);
		return -ENOMEM;
	}
	space->pgoff = pgoff;
	space->end = len;	/* .mmap checks the length against this */
	space->task = current;

	mutex_lock(&heap->lock);
	heap->reserving = space;
	codeheap_heap_unlock(heap);

	if (fixed) {
		a = vm_mmap(heap->file, hint, len, prot,
			    MAP_SHARED | MAP_FIXED_NOREPLACE,
			    (unsigned long)pgoff << PAGE_SHIFT);
	} else if (lo == 0 && hi >= TASK_SIZE) {
		a = vm_mmap(heap->file, hint, len, prot, MAP_SHARED,
			    (unsigned long)pgoff << PAGE_SHIFT);
	} else {
		for (tries = 0; tries < CODEHEAP_GAP_TRIES; tries++) {
			gap = codeheap_find_gap(heap->mm, len, hint, lo, hi);
			if (IS_ERR_VALUE(gap)) {
				a = gap;
				break;
			}
			a = vm_mmap(heap->file, gap, len, prot,
				    MAP_SHARED | MAP_FIXED_NOREPLACE,
				    (unsigned long)pgoff << PAGE_SHIFT);
			if (a != (unsigned long)-EEXIST)
				break;
		}
		if (a == (unsigned long)-EEXIST)
			a = -ENOSPC;
	}

	mutex_lock(&heap->lock);
	heap->reserving = NULL;
	space->task = NULL;
	/* The mm failed after .mmap accepted the mapping. */
	if (IS_ERR_VALUE(a))
		codeheap_space_unlink_locked(heap, space);
	else if (space->linked)
		codeheap_space_pool_locked(heap, space, &space->pool_spare);
	/*
	 * Not linked: the mapping failed, or another thread of the owner
	 * unmapped it already (its .close left @space to us).
	 */
	linked = space->linked;
	spare = space->pool_spare;	/* NULL once the pool took it */
	space->pool_spare = NULL;
	/* Linked, it is the heap's: the owner's munmap() may free it now. */
	codeheap_heap_unlock(heap);

	kfree(spare);
	if (!linked)
		kfree(space);
	if (IS_ERR_VALUE(a))
		return (long)a;
	*addr = a;
	if (id)
		*id = pgoff;
	return 0;
}

/**
 * codeheap_heap_reserve() - CODEHEAP_IOC_RESERVE
 * @heap: the heap, owned by the caller
 * @arg: the request; @arg->addr is set on success
 *
 * Return: 0 or a negative errno as documented in struct codeheap_reserve.
 */
int codeheap_heap_reserve(struct codeheap_heap *heap,
			  struct codeheap_reserve *arg)
{
	bool fixed = arg->flags & CODEHEAP_RESERVE_FIXED;
	unsigned long lo = 0, hi = TASK_SIZE, addr;
	struct codeheap_limits limits;
	int ret;

	if (arg->flags & ~CODEHEAP_RESERVE_FIXED)
		return -EINVAL;
	if (!arg->len || !PAGE_ALIGNED(arg->len) || !PAGE_ALIGNED(arg->hint) ||
	    (fixed && !arg->hint))
		return -EINVAL;
	if (arg->hint + arg->len < arg->hint)
		return -EOVERFLOW;
	if (arg->hint && arg->hint + arg->len > TASK_SIZE)
		return -EINVAL;
	codeheap_limits_get(&limits);
	if (arg->len > limits.max_reservation_size)
		return -ENOMEM;
	if (arg->range) {
		if (arg->near + arg->range < arg->near)
			return -EOVERFLOW;
		lo = arg->near > arg->range ? arg->near - arg->range : 0;
		hi = min_t(u64, arg->near + arg->range, TASK_SIZE);
		if (fixed && (arg->hint < lo || arg->hint + arg->len > hi))
			return -ENOSPC;
	}

	mutex_lock(&heap->space_lock);
	ret = codeheap_space_create(heap, arg->len, arg->hint, lo, hi, fixed,
				    &addr, NULL);
	mutex_unlock(&heap->space_lock);
	if (!ret)
		arg->addr = addr;
	return ret;
}

/**
 * codeheap_space_release() - release one reservation
 * @heap: the heap, owned by the caller
 * @addr: start of the reservation
 * @id: its file offset, or %CODEHEAP_ANY_SPACE
 *
 * RELEASE of the reservation starting at @addr, and only if its file
 * offset is @id: a rollback names the reservation it made, not whichever
 * lives at that address by now.
 *
 * Context: no heap lock held (vm_munmap() of current->mm).
 * Return: 0, -ENOENT, -EBUSY, or an error of vm_munmap().
 */
int codeheap_space_release(struct codeheap_heap *heap,
			   unsigned long addr, pgoff_t id)
{
	struct codeheap_pool_node *node = NULL;
	struct codeheap_space *space;
	int ret = 0;

	might_sleep();
	WARN_ON_ONCE(!codeheap_heap_owned(heap));
	mutex_lock(&heap->space_lock);
	mutex_lock(&heap->lock);
	space = codeheap_space_find(heap, addr);
	if (!space || space->start != addr ||
	    (id != CODEHEAP_ANY_SPACE && space->pgoff != id)) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (space->nr_blocks) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/* Empty, so its free space is one range: take it out. */
	ret = codeheap_pool_remove(&heap->pool, space->start,
				   space->end - space->start -
				   CODEHEAP_CODE_ALIGN, NULL, &node);
	if (!codeheap_pool_ok(ret) || ret) {
		ret = -EBUSY;
		goto out_unlock;
	}
	space->releasing = true;
	codeheap_heap_unlock(heap);

	ret = vm_munmap(space->start, space->end - space->start);

	mutex_lock(&heap->lock);
	if (ret && space->linked) {
		/* Still mapped: as it was. */
		space->releasing = false;
		codeheap_space_pool_locked(heap, space, &node);
		goto out_unlock;
	}
	/* Ended by .close, of our munmap or of the owner's own: empty. */
	codeheap_space_unlink_locked(heap, space);
	kfree(space);
	ret = 0;
out_unlock:
	codeheap_heap_unlock(heap);
	mutex_unlock(&heap->space_lock);
	kfree(node);
	return ret;
}

/**
 * codeheap_heap_release() - CODEHEAP_IOC_RELEASE
 * @heap: the heap, owned by the caller
 * @addr: start of the reservation
 *
 * Takes the empty reservation's free range out of the pool, so nothing is
 * allocated from it meanwhile, and unmaps it; the mapping's .close ends
 * the reservation (codeheap_space_end_locked()).
 *
 * Context: the owner, no heap lock held (vm_munmap() of current->mm).
 * Return: 0, -ENOENT, -EBUSY, or an error of vm_munmap().
 */
int codeheap_heap_release(struct codeheap_heap *heap, unsigned long addr)
{
	return codeheap_space_release(heap, addr, CODEHEAP_ANY_SPACE);
}
