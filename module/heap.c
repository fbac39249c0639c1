// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the heap, one per open file description of /dev/codeheap.
 *
 * A heap holds reservations (struct codeheap_space, each one mapping of
 * the device), the committed pages backing them (heap->pages), the live
 * allocations (struct codeheap_block) and the pool of free ranges that
 * allocations come from.  See codeheap.h for the lock order.
 */

#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <asm/cacheflush.h>

#include "codeheap.h"

/*
 * File offsets of reservations, in pages.  Every reservation takes a fresh
 * range, one page apart from the previous one, so no two reservations of
 * any heap ever share an offset (unmap_mapping_range() works on the
 * device's one address_space) and no two mappings can be merged.
 */
static atomic64_t codeheap_next_pgoff = ATOMIC64_INIT(0);
#define CODEHEAP_PGOFF_MAX	((ULONG_MAX >> PAGE_SHIFT) >> 1)

/* The lowest address a window search considers (above any mmap_min_addr). */
#define CODEHEAP_MIN_ADDR	SZ_1M

/* Times a window search retries when another thread took its gap. */
#define CODEHEAP_GAP_TRIES	8

/* Times WRITE re-faults a source that was paged out while it held the lock. */
#define CODEHEAP_WRITE_TRIES	8

static bool codeheap_pool_ok(int ret)
{
	/* The pool refuses only impossible requests: a heap bug. */
	return !WARN_ON_ONCE(ret && ret != -ENOSPC && ret != -ENOMEM);
}

/* ---------------------------------------------------------------------- */
/* Lookups                                                                */
/* ---------------------------------------------------------------------- */

/**
 * codeheap_space_find() - the reservation containing an address
 * @heap: the heap
 * @addr: any address
 *
 * Context: @heap->lock held.
 * Return: the linked reservation with start <= @addr < end, or NULL.
 */
struct codeheap_space *codeheap_space_find(struct codeheap_heap *heap,
					   unsigned long addr)
{
	struct rb_node *node = heap->spaces.rb_node;

	lockdep_assert_held(&heap->lock);
	while (node) {
		struct codeheap_space *space =
			rb_entry(node, struct codeheap_space, node);

		if (addr < space->start)
			node = node->rb_left;
		else if (addr >= space->end)
			node = node->rb_right;
		else
			return space;
	}
	return NULL;
}

/* The lowest block that ends after @addr, or NULL. */
static struct codeheap_block *codeheap_block_after(struct codeheap_heap *heap,
						   unsigned long addr)
{
	struct rb_node *node = heap->blocks.rb_node;
	struct codeheap_block *found = NULL;

	while (node) {
		struct codeheap_block *block =
			rb_entry(node, struct codeheap_block, node);

		if (block->start + block->len > addr) {
			found = block;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

/**
 * codeheap_block_containing() - the allocation containing an address
 * @heap: the heap
 * @addr: any address
 *
 * Context: @heap->lock held.
 * Return: the live block with start <= @addr < start + len, or NULL.
 */
struct codeheap_block *codeheap_block_containing(struct codeheap_heap *heap,
						 unsigned long addr)
{
	struct codeheap_block *block = codeheap_block_after(heap, addr);

	return block && block->start <= addr ? block : NULL;
}

/* rb_add() order: spaces by start address. */
static bool codeheap_space_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct codeheap_space, node)->start <
	       rb_entry(b, struct codeheap_space, node)->start;
}

/* ---------------------------------------------------------------------- */
/* Pages                                                                  */
/* ---------------------------------------------------------------------- */

static int codeheap_charge_locked(struct codeheap_heap *heap,
				  unsigned long bytes)
{
	struct codeheap_limits limits;

	lockdep_assert_held(&heap->lock);
	codeheap_limits_get(&limits);
	if (heap->committed + bytes > limits.max_heap_committed)
		return -ENOMEM;
	if (codeheap_user_charge(heap->user, bytes, limits.max_user_committed))
		return -ENOMEM;
	if (atomic_long_add_return(bytes, &codeheap_total_committed) >
	    limits.max_total_committed) {
		atomic_long_sub(bytes, &codeheap_total_committed);
		codeheap_user_uncharge(heap->user, bytes);
		return -ENOMEM;
	}
	heap->committed += bytes;
	return 0;
}

static void codeheap_uncharge_locked(struct codeheap_heap *heap,
				     unsigned long bytes)
{
	lockdep_assert_held(&heap->lock);
	heap->committed -= bytes;
	codeheap_user_uncharge(heap->user, bytes);
	atomic_long_sub(bytes, &codeheap_total_committed);
}

/* Erase [first, first + nr) from heap->pages, revoke and free its pages. */
static void codeheap_decommit_locked(struct codeheap_heap *heap, pgoff_t first,
				     unsigned long nr)
{
	struct page *page, *tmp;
	unsigned long idx, n = 0;
	LIST_HEAD(pages);

	lockdep_assert_held(&heap->lock);
	heap->wr_page = NULL;
	xa_for_each_range(&heap->pages, idx, page, first, first + nr - 1) {
		if (heap->nr_none &&
		    xa_get_mark(&heap->pages, idx, CODEHEAP_MARK_NONE))
			heap->nr_none--;
		xa_erase(&heap->pages, idx);
		list_add_tail(&page->lru, &pages);
		n++;
	}
	if (!n)
		return;
	codeheap_revoke_pages(heap, first, nr, &pages);
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		put_page(page);
		cond_resched();
	}
	codeheap_uncharge_locked(heap, n << PAGE_SHIFT);
}

/*
 * Back every page of [start, end) of @space that has no memory yet with a
 * trap-filled page, all or nothing.  With @map (the caller holds mmap_lock)
 * the new pages are mapped at once.  *@added tells how many were new.
 */
static int codeheap_commit_locked(struct codeheap_heap *heap,
				  struct codeheap_space *space,
				  unsigned long start, unsigned long end,
				  bool map, unsigned long *added)
{
	pgoff_t first = codeheap_pgoff(space, start);
	unsigned long nr = (end - start) >> PAGE_SHIFT, i, missing = 0;
	struct page *page, *tmp;
	LIST_HEAD(pages);
	int ret;

	lockdep_assert_held(&heap->lock);
	for (i = 0; i < nr; i++)
		if (!xa_load(&heap->pages, first + i))
			missing++;
	*added = missing;
	if (!missing)
		return 0;

	ret = codeheap_charge_locked(heap, missing << PAGE_SHIFT);
	if (ret)
		return ret;

	for (i = 0; i < nr; i++) {
		void *kaddr;

		if (xa_load(&heap->pages, first + i))
			continue;
		page = alloc_page(CODEHEAP_GFP);
		if (!page) {
			ret = -ENOMEM;
			goto free_pages;
		}
		page->index = first + i;
		kaddr = kmap_local_page(page);
		codeheap_trap_fill(kaddr, PAGE_SIZE);
		flush_icache_range((unsigned long)kaddr,
				   (unsigned long)kaddr + PAGE_SIZE);
		kunmap_local(kaddr);
		list_add_tail(&page->lru, &pages);
	}

	list_for_each_entry(page, &pages, lru) {
		ret = xa_insert(&heap->pages, page->index, page,
				CODEHEAP_GFP);
		if (ret)
			goto erase_pages;
	}
	list_for_each_entry_safe(page, tmp, &pages, lru)
		list_del(&page->lru);
	/* Only now: a commit that fails leaves the peak as it was. */
	heap->peak_committed = max(heap->peak_committed, heap->committed);
	if (map)
		codeheap_map_pages(heap, space, start, end);
	return 0;

erase_pages:
	/* The fault handler may have mapped what we inserted: revoke it. */
	list_for_each_entry_continue_reverse(page, &pages, lru)
		xa_erase(&heap->pages, page->index);
	codeheap_revoke_pages(heap, first, nr, &pages);
	ret = -ENOMEM;
free_pages:
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		put_page(page);
	}
	codeheap_uncharge_locked(heap, missing << PAGE_SHIFT);
	return ret;
}

/*
 * Fill [addr, addr + len) of committed pages of @space with traps; @first,
 * if not NULL, is the page holding @addr (a block's cached page), so that
 * page needs no xarray walk.
 */
static void codeheap_fill_locked(struct codeheap_heap *heap,
				 struct codeheap_space *space,
				 unsigned long addr, unsigned long len,
				 struct page *first)
{
	unsigned long end = addr + len;

	lockdep_assert_held(&heap->lock);
	while (addr < end) {
		unsigned long off = offset_in_page(addr);
		unsigned long chunk = min(end - addr, PAGE_SIZE - off);
		struct page *page = first;
		void *kaddr;

		if (!page)
			page = xa_load(&heap->pages,
				       codeheap_pgoff(space, addr));
		first = NULL;
		if (page) {
			kaddr = kmap_local_page(page);
			codeheap_trap_fill(kaddr + off, chunk);
			flush_icache_range((unsigned long)kaddr + off,
					   (unsigned long)kaddr + off + chunk);
			kunmap_local(kaddr);
		}
		addr += chunk;
	}
}

/* A block struct for ALLOC: a cached one, or a new one (uninitialised). */
static struct codeheap_block *codeheap_block_get_locked(struct codeheap_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	if (heap->nr_cached)
		return heap->block_cache[--heap->nr_cached];
	return kmalloc(sizeof(struct codeheap_block), CODEHEAP_GFP);
}

/* Give a block struct back: into the cache, or to the slab allocator. */
static void codeheap_block_put_locked(struct codeheap_heap *heap,
				      struct codeheap_block *block)
{
	lockdep_assert_held(&heap->lock);
	if (heap->nr_cached < CODEHEAP_BLOCK_CACHE)
		heap->block_cache[heap->nr_cached++] = block;
	else
		kfree(block);
}

/* ---------------------------------------------------------------------- */
/* Reservations                                                           */
/* ---------------------------------------------------------------------- */

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

/*
 * Give an empty reservation's range to the pool, with @node (the one taken
 * out with it, or for a new one its own), less its last
 * %CODEHEAP_CODE_ALIGN bytes: that fence keeps the free ranges of two
 * adjacent reservations from coalescing, so no allocation ever straddles
 * two mappings.  Being apart from every other range, it takes the node.
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

/* Take a block out of the heap's tree and counts, as freed. */
static void codeheap_block_unlink_locked(struct codeheap_heap *heap,
					 struct codeheap_block *block)
{
	lockdep_assert_held(&heap->lock);
	rb_erase(&block->node, &heap->blocks);
	if (heap->wr_block == block)
		heap->wr_block = NULL;
	block->space->nr_blocks--;
	heap->nr_blocks--;
	heap->allocated -= block->len;
	heap->freed += block->len;
}

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
	unsigned long len = space->end - space->start;

	lockdep_assert_held(&heap->lock);
	if (!space->linked)
		return;
	/* Tables and defaults live in blocks: an empty space has none. */
	if (space->nr_blocks) {
		codeheap_jt_space_end_locked(heap, space);
		codeheap_space_free_blocks_locked(heap, space);
	}
	/* RELEASE took the free range out already. */
	if (!space->releasing)
		codeheap_space_unpool_locked(heap, space);
	codeheap_decommit_locked(heap, space->pgoff, len >> PAGE_SHIFT);
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

/*
 * Map a new reservation of @len bytes: exactly at @hint (@fixed), or inside
 * [lo, hi) preferring @hint, or (a window covering all of user space)
 * wherever the mm puts it, preferring @hint.  *@addr is set to its
 * address and, if @id is not NULL, *@id to its file offset, which names
 * it uniquely (an address can be reused as soon as the owner unmaps it).
 */
static int codeheap_space_create(struct codeheap_heap *heap, unsigned long len,
				 unsigned long hint, unsigned long lo,
				 unsigned long hi, bool fixed,
				 unsigned long *addr, pgoff_t *id)
{
	const unsigned long prot = PROT_READ | PROT_EXEC;
	unsigned long pages = len >> PAGE_SHIFT, a = 0, gap;
	struct codeheap_pool_node *spare;
	struct codeheap_space *space;
	bool linked;
	int tries;
	s64 pgoff;

	lockdep_assert_held(&heap->space_lock);

	pgoff = atomic64_fetch_add(pages + 1, &codeheap_next_pgoff);
	if (pgoff < 0 || pgoff > CODEHEAP_PGOFF_MAX - pages)
		return -ENOSPC;

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
	mutex_unlock(&heap->lock);

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
		codeheap_space_end_locked(heap, space);
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
	mutex_unlock(&heap->lock);

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

/* Any reservation starting at the address, for codeheap_space_release(). */
#define CODEHEAP_ANY_SPACE	((pgoff_t)-1)

/*
 * RELEASE of the reservation starting at @addr, and only if its file
 * offset is @id (or any, for %CODEHEAP_ANY_SPACE): a rollback names the
 * reservation it made, not whichever lives at that address by now.
 */
static int codeheap_space_release(struct codeheap_heap *heap,
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
	mutex_unlock(&heap->lock);

	ret = vm_munmap(space->start, space->end - space->start);

	mutex_lock(&heap->lock);
	if (ret && space->linked) {
		/* Still mapped: as it was. */
		space->releasing = false;
		codeheap_space_pool_locked(heap, space, &node);
		goto out_unlock;
	}
	/* Ended by .close, of our munmap or of the owner's own. */
	codeheap_space_end_locked(heap, space);
	kfree(space);
	ret = 0;
out_unlock:
	mutex_unlock(&heap->lock);
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

/* ---------------------------------------------------------------------- */
/* Page ranges: COMMIT, DECOMMIT, PROTECT                                  */
/* ---------------------------------------------------------------------- */

/* The live reservation holding all of [addr, addr + len), or NULL. */
static struct codeheap_space *codeheap_range_space(struct codeheap_heap *heap,
						   unsigned long addr,
						   unsigned long len)
{
	struct codeheap_space *space = codeheap_space_find(heap, addr);

	if (!space || len > space->end - addr)
		return NULL;
	return space;
}

/* -EPERM if a sealed block touches [start, end), -EBUSY if any block does. */
static int codeheap_range_blocks(struct codeheap_heap *heap,
				 unsigned long start, unsigned long end)
{
	struct codeheap_block *block = codeheap_block_after(heap, start);
	int ret = 0;

	for (; block && block->start < end;
	     block = rb_entry_safe(rb_next(&block->node),
				   struct codeheap_block, node)) {
		if (block->sealed)
			return -EPERM;
		ret = -EBUSY;
	}
	return ret;
}

/**
 * codeheap_heap_commit() - CODEHEAP_IOC_COMMIT
 * @heap: the heap, owned by the caller
 * @addr: page-aligned start, validated by the caller
 * @len: page-aligned length, validated by the caller
 *
 * Return: 0, -ENOENT, or -ENOMEM.
 */
int codeheap_heap_commit(struct codeheap_heap *heap, unsigned long addr,
			 unsigned long len)
{
	struct codeheap_space *space;
	unsigned long added;
	int ret = -ENOENT;

	mmap_read_lock(heap->mm);
	mutex_lock(&heap->lock);
	space = codeheap_range_space(heap, addr, len);
	if (space)
		ret = codeheap_commit_locked(heap, space, addr, addr + len,
					     true, &added);
	mutex_unlock(&heap->lock);
	mmap_read_unlock(heap->mm);
	return ret;
}

/**
 * codeheap_heap_decommit() - CODEHEAP_IOC_DECOMMIT
 * @heap: the heap, owned by the caller
 * @addr: page-aligned start, validated by the caller
 * @len: page-aligned length, validated by the caller
 *
 * Return: 0, -ENOENT, -EPERM (sealed allocation) or -EBUSY (allocation).
 */
int codeheap_heap_decommit(struct codeheap_heap *heap, unsigned long addr,
			   unsigned long len)
{
	struct codeheap_space *space;
	int ret = -ENOENT;

	mutex_lock(&heap->lock);
	space = codeheap_range_space(heap, addr, len);
	if (space) {
		ret = codeheap_range_blocks(heap, addr, addr + len);
		if (!ret)
			codeheap_decommit_locked(heap,
						 codeheap_pgoff(space, addr),
						 len >> PAGE_SHIFT);
	}
	mutex_unlock(&heap->lock);
	return ret;
}

/**
 * codeheap_heap_protect() - CODEHEAP_IOC_PROTECT
 * @heap: the heap, owned by the caller
 * @addr: page-aligned start, validated by the caller
 * @len: page-aligned length, validated by the caller
 * @accessible: true for read+exec, false for none
 *
 * Return: 0, -ENOENT, -EPERM (sealed allocation) or -EINVAL (a page of
 * the range is not committed).
 */
int codeheap_heap_protect(struct codeheap_heap *heap, unsigned long addr,
			  unsigned long len, bool accessible)
{
	unsigned long nr = len >> PAGE_SHIFT, idx, n = 0;
	struct codeheap_space *space;
	struct page *page, *tmp;
	LIST_HEAD(pages);
	pgoff_t first;
	int ret;

	mmap_read_lock(heap->mm);
	mutex_lock(&heap->lock);
	space = codeheap_range_space(heap, addr, len);
	if (!space) {
		ret = -ENOENT;
		goto out_unlock;
	}
	ret = codeheap_range_blocks(heap, addr, addr + len);
	if (ret == -EPERM)
		goto out_unlock;
	ret = 0;

	first = codeheap_pgoff(space, addr);
	xa_for_each_range(&heap->pages, idx, page, first, first + nr - 1)
		n++;
	if (n != nr) {
		ret = -EINVAL;
		goto out_unlock;
	}

	if (accessible) {
		xa_for_each_range(&heap->pages, idx, page, first, first + nr - 1) {
			if (!xa_get_mark(&heap->pages, idx, CODEHEAP_MARK_NONE))
				continue;
			xa_clear_mark(&heap->pages, idx, CODEHEAP_MARK_NONE);
			heap->nr_none--;
		}
		codeheap_map_pages(heap, space, addr, addr + len);
		goto out_unlock;
	}

	xa_for_each_range(&heap->pages, idx, page, first, first + nr - 1) {
		if (!xa_get_mark(&heap->pages, idx, CODEHEAP_MARK_NONE))
			heap->nr_none++;
		xa_set_mark(&heap->pages, idx, CODEHEAP_MARK_NONE);
		list_add_tail(&page->lru, &pages);
	}
	codeheap_revoke_pages(heap, first, nr, &pages);
	list_for_each_entry_safe(page, tmp, &pages, lru)
		list_del(&page->lru);
out_unlock:
	mutex_unlock(&heap->lock);
	mmap_read_unlock(heap->mm);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Allocations                                                            */
/* ---------------------------------------------------------------------- */

/**
 * codeheap_lock_spare() - take the heap lock with a spare pool node ready
 * @heap: the heap
 *
 * Takes @heap->lock with @heap->spare holding a pool node, so that one
 * pool operation cannot fail for want of a node.  The node is allocated
 * with the lock dropped; another thread may use the spare meanwhile, hence
 * the loop.
 *
 * Return: 0 with @heap->lock held, or -ENOMEM without it.
 */
int codeheap_lock_spare(struct codeheap_heap *heap)
{
	struct codeheap_pool_node *node = NULL;

	mutex_lock(&heap->lock);
	if (likely(heap->spare))
		return 0;
	while (!heap->spare) {
		if (node) {
			heap->spare = node;
			return 0;
		}
		mutex_unlock(&heap->lock);
		node = kzalloc(sizeof(*node), CODEHEAP_GFP);
		if (!node)
			return -ENOMEM;
		mutex_lock(&heap->lock);
	}
	kfree(node);
	return 0;
}

/* Keep a node the pool gave back as the spare, or free it. */
static void codeheap_spare_keep(struct codeheap_heap *heap,
				struct codeheap_pool_node *freed)
{
	lockdep_assert_held(&heap->lock);
	if (!heap->spare)
		heap->spare = freed;
	else
		kfree(freed);
}

/*
 * V8's ReservationSize(): the larger of the request plus the per-space
 * overhead, twice the overhead and a quarter of what is reserved, at most
 * the per-space maximum.
 */
static int codeheap_grow(struct codeheap_heap *heap, unsigned long len,
			 unsigned long align, u64 lo, u64 hi, unsigned long *addr,
			 pgoff_t *id)
{
	struct codeheap_limits limits;
	unsigned long size, need, wlo = 0, whi = TASK_SIZE;
	int ret;

	codeheap_limits_get(&limits);
	need = len + CODEHEAP_CODE_ALIGN;
	if (align > PAGE_SIZE)
		need += align - PAGE_SIZE;
	need = PAGE_ALIGN(need);
	/* Only sizes the new space: a racing RESERVE may make it stale. */
	size = data_race(heap->reserved) / 4;
	size = max3(PAGE_ALIGN(len + CODEHEAP_SPACE_OVERHEAD),
		    2 * CODEHEAP_SPACE_OVERHEAD, PAGE_ALIGN(size));
	size = max(size, need);
	size = min(size, limits.max_reservation_size);
	if (size < need)
		return -ENOMEM;

	if (lo || hi < TASK_SIZE) {
		if (lo > TASK_SIZE - PAGE_SIZE)
			return -ENOSPC;
		wlo = PAGE_ALIGN(lo);
		whi = min_t(u64, hi, TASK_SIZE) & PAGE_MASK;
		if (whi <= wlo || whi - wlo < need)
			return -ENOSPC;
		size = min(size, whi - wlo);
	}

	mutex_lock(&heap->space_lock);
	ret = codeheap_space_create(heap, size, 0, wlo, whi, false, addr, id);
	mutex_unlock(&heap->space_lock);
	return ret;
}

/*
 * Link @block (@start set) into the tree by start address.  Its neighbours
 * come for free on the way down: the last node the descent went right of
 * is the block before it (@prev), the last it went left of the one after
 * (@next).
 */
static void codeheap_block_insert_locked(struct codeheap_heap *heap,
					 struct codeheap_block *block,
					 struct codeheap_block **prev,
					 struct codeheap_block **next)
{
	struct rb_node **link = &heap->blocks.rb_node, *parent = NULL;
	struct codeheap_block *b;

	lockdep_assert_held(&heap->lock);
	*prev = NULL;
	*next = NULL;
	while (*link) {
		parent = *link;
		b = rb_entry(parent, struct codeheap_block, node);
		if (block->start < b->start) {
			*next = b;
			link = &parent->rb_left;
		} else {
			*prev = b;
			link = &parent->rb_right;
		}
	}
	rb_link_node(&block->node, parent, link);
	rb_insert_color(&block->node, &heap->blocks);
}

/*
 * Commit the pages [@pstart, @pend) of a new block and set @block->page.
 * A live block's
 * pages are committed, so a block inside one page that a neighbour starts
 * in (most allocations: functions follow each other in a page) needs no
 * commit and takes the neighbour's page, without an xarray walk.
 */
static int codeheap_block_commit_locked(struct codeheap_heap *heap,
					struct codeheap_space *space,
					struct codeheap_block *block,
					struct codeheap_block *prev,
					struct codeheap_block *next,
					unsigned long pstart, unsigned long pend,
					unsigned long *added)
{
	int ret;

	lockdep_assert_held(&heap->lock);
	*added = 0;
	block->page = NULL;
	if (prev && round_down(prev->start, PAGE_SIZE) == pstart)
		block->page = prev->page;
	else if (next && round_down(next->start, PAGE_SIZE) == pstart)
		block->page = next->page;
	if (block->page && pend - pstart == PAGE_SIZE)
		return 0;
	ret = codeheap_commit_locked(heap, space, pstart, pend, false, added);
	if (!ret && !block->page)
		block->page = xa_load(&heap->pages,
				      codeheap_pgoff(space, pstart));
	return ret;
}

/*
 * The pool's first fit for a block that touches no page PROTECTed to none:
 * ALLOC never hands out inaccessible memory.  A fit that touches one goes
 * back to the pool, and the search goes on past that page (the fit was the
 * lowest, so nothing below the page fits).
 */
static int codeheap_place_locked(struct codeheap_heap *heap, unsigned long len,
				 u64 align, u64 lo, u64 hi, u64 *start,
				 struct codeheap_pool_node **freed)
{
	struct codeheap_pool_node *again;
	struct codeheap_space *space;
	unsigned long idx;
	int ret;

	lockdep_assert_held(&heap->lock);
	for (;;) {
		ret = codeheap_pool_alloc_in(&heap->pool, len, align, lo, hi,
					     start, &heap->spare, freed);
		codeheap_pool_ok(ret);
		if (ret || likely(!heap->nr_none))
			return ret;
		space = codeheap_space_find(heap, *start);
		idx = codeheap_pgoff(space, *start);
		if (!xa_find(&heap->pages, &idx,
			     codeheap_pgoff(space, *start + len - 1),
			     CODEHEAP_MARK_NONE))
			return 0;
		/* Back: the pool needs at most the node it freed. */
		codeheap_pool_ok(codeheap_pool_merge(&heap->pool, *start, len,
						     NULL, NULL, freed, &again));
		if (again)
			codeheap_spare_keep(heap, again);
		if (*freed)
			codeheap_spare_keep(heap, *freed);
		*freed = NULL;
		lo = space->start + ((idx + 1 - space->pgoff) << PAGE_SHIFT);
		if (lo >= hi)
			return -ENOSPC;
	}
}

/*
 * Release the reservations a failed or undone call grew, newest first,
 * each only if it is still the very one (by file offset) and still empty.
 */
static void codeheap_release_grown(struct codeheap_heap *heap,
				   const struct codeheap_undo *undo)
{
	unsigned int i;

	for (i = undo->nr_grown; i--; )
		codeheap_space_release(heap, undo->grown[i],
				       undo->grown_id[i]);
}

/**
 * codeheap_block_alloc() - allocate a block, growing the heap if needed
 * @heap: the heap, owned by the caller
 * @len: bytes, a non-zero multiple of %CODEHEAP_CODE_ALIGN
 * @align: a power of two, at least %CODEHEAP_CODE_ALIGN
 * @lo: lowest address of the window
 * @hi: one past the highest address of the window
 * @tag: the user's tag
 * @jt: a jump table to place in the block (which is then sealed and
 *      kernel-owned), or NULL for a user allocation
 * @addr: where the block's address is stored on success
 * @undo: filled on success with what to take back should the caller fail
 *        after all (codeheap_heap_undo())
 *
 * A call that fails changes nothing: it releases the reservations it grew.
 *
 * Return: 0, -ENOMEM, -ENOSPC, or an error of codeheap_jt_prepare_locked().
 */
int codeheap_block_alloc(struct codeheap_heap *heap, unsigned long len,
			 u64 align, u64 lo, u64 hi, u64 tag,
			 struct codeheap_jt *jt, u64 *addr,
			 struct codeheap_undo *undo)
{
	struct codeheap_block *block = NULL, *prev, *next;
	struct codeheap_pool_node *freed = NULL, *again;
	unsigned long pstart, pend, added = 0;
	struct codeheap_space *space;
	int ret, tries;
	u64 start;

	if (lo >= hi)
		return -EINVAL;
	undo->nr_grown = 0;
	for (tries = 0; ; tries++) {
		ret = codeheap_lock_spare(heap);
		if (ret)
			goto out_free;
		ret = codeheap_place_locked(heap, len, align, lo, hi, &start,
					    &freed);
		if (!ret)
			break;
		mutex_unlock(&heap->lock);
		if (ret != -ENOSPC || tries == ARRAY_SIZE(undo->grown))
			goto out_free;
		ret = codeheap_grow(heap, len, align, lo, hi,
				    &undo->grown[undo->nr_grown],
				    &undo->grown_id[undo->nr_grown]);
		if (ret)
			goto out_free;
		undo->nr_grown++;
	}
	undo->len = len;
	undo->peak_allocated = heap->peak_allocated;
	undo->peak_committed = heap->peak_committed;

	/*
	 * Pages are mapped below, with mmap_lock, and only when this
	 * allocation committed new ones: most allocations land in pages
	 * that are already committed and mapped.
	 */
	pstart = round_down(start, PAGE_SIZE);
	pend = PAGE_ALIGN(start + len);
	block = codeheap_block_get_locked(heap);
	ret = block ? 0 : -ENOMEM;
	if (!ret && jt)
		ret = codeheap_jt_prepare_locked(heap, jt);
	space = codeheap_space_find(heap, start);
	if (!ret) {
		block->start = start;
		block->len = len;
		codeheap_block_insert_locked(heap, block, &prev, &next);
		ret = codeheap_block_commit_locked(heap, space, block, prev,
						   next, pstart, pend, &added);
		if (ret) {
			rb_erase(&block->node, &heap->blocks);
			if (jt)
				codeheap_jt_unprepare_locked(heap, jt);
		}
	}
	if (ret) {
		/* Give the range back: the pool needs at most the node it freed. */
		codeheap_pool_ok(codeheap_pool_merge(&heap->pool, start, len,
						     NULL, NULL, &freed, &again));
		if (again)
			codeheap_spare_keep(heap, again);
		goto out_unlock;
	}

	block->tag = tag;
	block->space = space;
	block->sealed = false;
	block->jt = NULL;
	INIT_HLIST_HEAD(&block->jt_refs);
	block->jt_defaults = 0;
	space->nr_blocks++;
	heap->nr_blocks++;
	heap->allocated += len;
	heap->peak_allocated = max(heap->peak_allocated, heap->allocated);
	if (jt)
		codeheap_jt_attach_locked(heap, jt, block);
	*addr = start;
	block = NULL;
out_unlock:
	if (freed)
		codeheap_spare_keep(heap, freed);
	freed = NULL;
	if (block)
		codeheap_block_put_locked(heap, block);
	mutex_unlock(&heap->lock);
	if (added && !ret) {
		/* Whoever owns the range by now, mapping its pages is right. */
		mmap_read_lock(heap->mm);
		mutex_lock(&heap->lock);
		space = codeheap_space_find(heap, pstart);
		if (space && space->end >= pend)
			codeheap_map_pages(heap, space, pstart, pend);
		mutex_unlock(&heap->lock);
		mmap_read_unlock(heap->mm);
	}
	if (ret)
		goto release_grown;
	return 0;

out_free:
	kfree(freed);
release_grown:
	/*
	 * A failed call changes nothing: give back what it grew, unless
	 * another thread allocated from it meanwhile (-EBUSY).
	 */
	codeheap_release_grown(heap, undo);
	return ret;
}

/**
 * codeheap_heap_undo() - take back the rest of an ALLOC or JT_CREATE
 * @heap: the heap
 * @undo: what codeheap_block_alloc() recorded
 *
 * For a command that succeeded in the heap but could not write its answer:
 * once the caller freed the block (FREE, JT_DESTROY), this takes back what
 * the free counted and the peaks the call raised, and releases the
 * reservations the call grew (unless another thread allocated from them
 * meanwhile), so the failed command changed nothing.
 */
void codeheap_heap_undo(struct codeheap_heap *heap,
			const struct codeheap_undo *undo)
{
	mutex_lock(&heap->lock);
	heap->freed -= undo->len;
	heap->peak_allocated = max(undo->peak_allocated, heap->allocated);
	heap->peak_committed = max(undo->peak_committed, heap->committed);
	mutex_unlock(&heap->lock);
	codeheap_release_grown(heap, undo);
}

/**
 * codeheap_heap_alloc() - CODEHEAP_IOC_ALLOC
 * @heap: the heap, owned by the caller
 * @arg: the request; @arg->addr is set on success
 * @undo: see codeheap_block_alloc()
 *
 * Return: 0 or a negative errno as documented in struct codeheap_alloc.
 */
int codeheap_heap_alloc(struct codeheap_heap *heap, struct codeheap_alloc *arg,
			struct codeheap_undo *undo)
{
	u64 align = arg->align ? arg->align : 1;
	u64 hi = codeheap_window_end(arg->lo, arg->hi);
	struct codeheap_limits limits;
	unsigned long len;

	if (arg->flags || !arg->len || !is_power_of_2(align) || !hi)
		return -EINVAL;
	if (arg->len > ULONG_MAX - CODEHEAP_CODE_ALIGN)
		return -EOVERFLOW;
	len = ALIGN(arg->len, CODEHEAP_CODE_ALIGN);
	align = max_t(u64, align, CODEHEAP_CODE_ALIGN);
	codeheap_limits_get(&limits);
	if (len > limits.max_reservation_size ||
	    align > limits.max_reservation_size)
		return -ENOMEM;
	return codeheap_block_alloc(heap, len, align, arg->lo, hi, arg->tag,
				    NULL, &arg->addr, undo);
}

/**
 * codeheap_block_free_locked() - free a block
 * @heap: the heap
 * @block: a live block no jump slot targets any more
 *
 * Refills the block with traps, returns it to the pool and decommits the
 * pages no live block covers any more (V8's FreeCode rule).  Cannot fail.
 *
 * Context: @heap->lock held with @heap->spare ready (codeheap_lock_spare()).
 */
void codeheap_block_free_locked(struct codeheap_heap *heap,
				struct codeheap_block *block)
{
	struct codeheap_space *space = block->space;
	struct codeheap_pool_node *freed = NULL;
	unsigned long pstart, pend, hi;
	u64 mstart, msize;
	int ret;

	lockdep_assert_held(&heap->lock);
	codeheap_fill_locked(heap, space, block->start, block->len,
			     block->page);

	pstart = round_down(block->start, PAGE_SIZE);
	pend = PAGE_ALIGN(block->start + block->len);
	ret = codeheap_pool_merge(&heap->pool, block->start, block->len,
				  &mstart, &msize, &heap->spare, &freed);
	if (codeheap_pool_ok(ret) && !ret) {
		/*
		 * V8's FreeCode rule: the pages that lie in the free range the
		 * block merged into (the space's fence counting as free) are
		 * covered by no live block any more.
		 */
		hi = mstart + msize;
		if (hi == space->end - CODEHEAP_CODE_ALIGN)
			hi = space->end;
		pstart = max(pstart, PAGE_ALIGN(mstart));
		pend = min(pend, round_down(hi, PAGE_SIZE));
	} else {
		pend = pstart;	/* not in the pool: keep its pages */
	}
	if (freed)
		codeheap_spare_keep(heap, freed);
	codeheap_block_unlink_locked(heap, block);
	if (pstart < pend)
		codeheap_decommit_locked(heap, codeheap_pgoff(space, pstart),
					 (pend - pstart) >> PAGE_SHIFT);
	codeheap_block_put_locked(heap, block);
}

/**
 * codeheap_heap_free() - CODEHEAP_IOC_FREE
 * @heap: the heap, owned by the caller
 * @addr: start of the allocation
 *
 * Resets the jump slots that target the allocation to their tables'
 * defaults, then frees it (codeheap_block_free_locked()).
 *
 * Return: 0, -ENOENT, -EPERM (sealed or a jump table), -EBUSY (a table's
 * default target) or -ENOMEM (no pool node could be kept ready; nothing
 * changed).
 */
int codeheap_heap_free(struct codeheap_heap *heap, unsigned long addr)
{
	struct codeheap_block *block;
	int ret;

	ret = codeheap_lock_spare(heap);
	if (ret)
		return ret;
	block = codeheap_block_containing(heap, addr);
	if (!block || block->start != addr)
		ret = -ENOENT;
	else if (block->sealed)
		ret = -EPERM;
	else if (block->jt_defaults)
		ret = -EBUSY;
	if (!ret) {
		codeheap_jt_unref_block_locked(heap, block);
		codeheap_block_free_locked(heap, block);
	}
	mutex_unlock(&heap->lock);
	return ret;
}

/**
 * codeheap_heap_seal() - CODEHEAP_IOC_SEAL
 * @heap: the heap, owned by the caller
 * @addr: start of the allocation
 *
 * Return: 0 or -ENOENT.
 */
int codeheap_heap_seal(struct codeheap_heap *heap, unsigned long addr)
{
	struct codeheap_block *block;
	int ret = 0;

	mutex_lock(&heap->lock);
	block = codeheap_block_containing(heap, addr);
	if (block && block->start == addr)
		block->sealed = true;
	else
		ret = -ENOENT;
	mutex_unlock(&heap->lock);
	return ret;
}

/**
 * codeheap_heap_lookup() - CODEHEAP_IOC_LOOKUP
 * @heap: the heap
 * @arg: the request; its output fields are set on success
 *
 * Return: 0 or -ENOENT.
 */
int codeheap_heap_lookup(struct codeheap_heap *heap,
			 struct codeheap_lookup *arg)
{
	struct codeheap_block *block;
	int ret = 0;

	mutex_lock(&heap->lock);
	block = arg->addr <= ULONG_MAX ?
		codeheap_block_containing(heap, arg->addr) : NULL;
	if (block) {
		arg->start = block->start;
		arg->len = block->len;
		arg->tag = block->tag;
		arg->alloc_flags = block->sealed ? CODEHEAP_LOOKUP_SEALED : 0;
		if (block->jt)
			arg->alloc_flags |= CODEHEAP_LOOKUP_JUMP_TABLE;
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&heap->lock);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* WRITE                                                                  */
/* ---------------------------------------------------------------------- */

/* Source segments gathered into one copy: 256 bytes of stack. */
#define CODEHEAP_WRITE_SEGS	16

/* Index of the last entry of run @r of @nr; @count entries in all. */
static __always_inline unsigned int
codeheap_run_last(const struct codeheap_write_run *runs, unsigned int r,
		  unsigned int nr, unsigned int count)
{
	return (r + 1 < nr ? runs[r + 1].first : count) - 1;
}

/*
 * Note entry @i in the runs: it starts a run unless its destination
 * follows the entry before (@dst_follows), and, if it does, it starts a
 * source segment unless its source follows too (@src_follows).
 *
 * Return: the number of runs after it.
 */
static __always_inline unsigned int
codeheap_run_add(struct codeheap_write_run *runs, unsigned int nr,
		 unsigned int i, bool dst_follows, bool src_follows)
{
	if (dst_follows && src_follows)
		return nr;
	if (dst_follows && runs[nr - 1].segs < CODEHEAP_WRITE_SEGS) {
		runs[nr - 1].segs++;
		return nr;
	}
	runs[nr].first = i;
	runs[nr].segs = 1;
	return nr + 1;
}

/*
 * Check every entry's arguments, in entry order, and cut the entries into
 * runs: entries whose destinations follow each other (the pieces of a
 * function, or functions in consecutive allocations: the usual JIT batch),
 * with at most %CODEHEAP_WRITE_SEGS separate source segments each.  This
 * is the only pass over every entry; the later ones go by run.
 *
 * Return: the number of runs, or -EINVAL, -EOVERFLOW or -ENOENT for the
 * first entry that is wrong.
 */
static int codeheap_write_scan_exact(const struct codeheap_write_entry *e,
				     unsigned int count,
				     struct codeheap_write_run *runs);

static __always_inline int
codeheap_write_scan_one(const struct codeheap_write_entry *e,
			unsigned int count, struct codeheap_write_run *runs,
			bool exact)
{
	const struct codeheap_write_entry *p = e, *end = e + count;
	/* No run ends at limit + 1: the first entry starts a run. */
	u64 limit = TASK_SIZE, dend = limit + 1, send = 0, sstart, len;
	unsigned int nr = 0;

	while (p < end) {
		u64 dst = p->dst, src = p->src;

		len = p->len;
		if (!len)
			return -EINVAL;
		if (dst + len < dst || src + len < src)
			return -EOVERFLOW;
		if (dst + len > limit)
			return -ENOENT;
		nr = codeheap_run_add(runs, nr, p - e, dst == dend,
				      src == send);
		dend = dst + len;
		send = src + len;
		p++;

		/*
		 * The usual entry continues the run, destination and source,
		 * with 0 < len < limit.  Whether the run stays below limit and
		 * its sources do not wrap is checked once, after it: the
		 * lengths add up to less than 2^63 (at most 2^16 entries,
		 * each shorter than 2^47), so a wrap shows as an end below the
		 * start.  If either fails, some entry of the run is wrong:
		 * codeheap_write_scan_exact() finds the first.
		 */
		if (exact)
			continue;
		sstart = send - len;
		for (; p < end; p++) {
			len = p->len;
			if (p->dst != dend || p->src != send || len - 1 >= limit)
				break;
			dend += len;
			send += len;
		}
		if (dend > limit || send < sstart)
			return codeheap_write_scan_exact(e, count, runs);
	}
	return nr;
}

/* Entry by entry, every check on every entry: the first wrong one's error. */
static noinline int
codeheap_write_scan_exact(const struct codeheap_write_entry *e,
			  unsigned int count, struct codeheap_write_run *runs)
{
	return codeheap_write_scan_one(e, count, runs, true);
}

static __always_inline int
codeheap_write_scan(const struct codeheap_write_entry *e,
		    unsigned int count, struct codeheap_write_run *runs)
{
	return codeheap_write_scan_one(e, count, runs, false);
}

/*
 * Fault every source in, without any heap lock, so that a source that
 * cannot be read fails the call before anything changed.  A run with one
 * source is one range; ranges that overlap or touch are faulted in once
 * (a JIT usually emits a batch from one buffer).
 */
static int codeheap_write_fault_in(const struct codeheap_write_entry *e,
				   const struct codeheap_write_run *runs,
				   unsigned int nr, unsigned int count)
{
	/* An empty range at the first source, which the first segment joins. */
	u64 start = e[0].src, end = start, from, to;
	unsigned int r, i, last;

	if (nr == 1 && runs[0].segs == 1) {
		/* One function, or a batch from one buffer: one range. */
		end = e[count - 1].src + e[count - 1].len;
		goto last;
	}
	for (r = 0; r < nr; r++) {
		last = codeheap_run_last(runs, r, nr, count);
		for (i = runs[r].first; i <= last; i++) {
			from = e[i].src;
			to = from + e[i].len;
			if (runs[r].segs == 1) {
				to = e[last].src + e[last].len;
				i = last;
			}
			if (from >= start && from <= end) {
				end = max(end, to);
				continue;
			}
			if (fault_in_readable(u64_to_user_ptr(start),
					      end - start))
				return -EFAULT;
			start = from;
			end = to;
		}
	}
last:
	if (fault_in_readable(u64_to_user_ptr(start), end - start))
		return -EFAULT;
	return 0;
}

/*
 * The live allocation containing @addr, tried first in @block (the one
 * found last, or NULL) and the block after it: consecutive entries and
 * runs usually go to the same or the next allocation.
 */
static __always_inline struct codeheap_block *
codeheap_write_block_locked(struct codeheap_heap *heap,
			    struct codeheap_block *block, u64 addr)
{
	struct codeheap_block *next;

	lockdep_assert_held(&heap->lock);
	if (block && addr >= block->start) {
		if (addr < block->start + block->len)
			return block;
		next = rb_entry_safe(rb_next(&block->node),
				     struct codeheap_block, node);
		if (next && next->start <= addr &&
		    addr < next->start + next->len)
			return next;
	}
	return codeheap_block_containing(heap, addr);
}

/*
 * Check every run against the live allocations, in entry order, and note
 * each run's reservation for the copy.  A run inside one allocation (a
 * function written in pieces, or a batch into one region; most often the
 * allocation of the WRITE before) is checked once, a run across
 * allocations entry by entry.  A run never spans two reservations: each
 * keeps its last bytes out of the pool, so no allocation ends where the
 * next reservation begins.
 */
static int codeheap_write_validate_locked(struct codeheap_heap *heap,
					  const struct codeheap_write_entry *e,
					  struct codeheap_write_run *runs,
					  unsigned int nr, unsigned int count)
{
	struct codeheap_block *block = heap->wr_block;
	unsigned int r, i, last;

	lockdep_assert_held(&heap->lock);
	for (r = 0; r < nr; r++) {
		i = runs[r].first;
		last = codeheap_run_last(runs, r, nr, count);
		block = codeheap_write_block_locked(heap, block, e[i].dst);
		if (block &&
		    e[last].dst + e[last].len <= block->start + block->len)
			i = last;
		for (;;) {
			if (!block || e[i].len > block->start + block->len -
						 e[i].dst)
				return -ENOENT;
			if (block->sealed)
				return -EPERM;
			if (i++ == last)
				break;
			block = codeheap_write_block_locked(heap, block,
							    e[i].dst);
		}
		runs[r].space = block->space;
	}
	heap->wr_block = block;
	return 0;
}

/*
 * A copy into @e faulted: fill its destination, widened to whole 4-byte
 * words (an arm64 instruction), with traps, so it is never left
 * half-written.  @page, if not NULL, is the page holding @e->dst.
 */
static void codeheap_write_trap_locked(struct codeheap_heap *heap,
				       struct codeheap_space *space,
				       const struct codeheap_write_entry *e,
				       struct page *page)
{
	unsigned long from = round_down(e->dst, 4);

	codeheap_fill_locked(heap, space, from, ALIGN(e->dst + e->len, 4) - from,
			     page);
}

/*
 * Copy the @len bytes at @src, or of @iter when @src is NULL, into the
 * @len bytes of @space from @e[0].dst on, as the page cache copies a
 * write(): one copy per destination page, with page faults disabled (we
 * hold heap->lock, and a fault would take mmap_lock), and no
 * hardened-usercopy object check, the destination being part of a page we
 * own, bounded by the page.  One source (@src, access_ok() checked by the
 * caller) is copied with raw_copy_from_user(), as copyin() does, without
 * an iov_iter's per-page bookkeeping; several go through @iter.  Pages
 * after the first are found by stepping the xarray cursor, not by walking
 * the tree again.  If a source faults, the entry of @e holding the first
 * byte not copied is trap-filled (never left half-written).
 *
 * Return: how many entries of @e were copied before the one that faulted,
 * or -1 when all @len bytes were copied.
 */
static __always_inline int
codeheap_write_iter_locked(struct codeheap_heap *heap,
			   struct codeheap_space *space,
			   const struct codeheap_write_entry *e,
			   unsigned long len, const void __user *src,
			   struct iov_iter *iter)
{
	unsigned long dst = e[0].dst, copied, done;
	pgoff_t pgoff = codeheap_pgoff(space, dst);
	XA_STATE(xas, &heap->pages, pgoff);
	struct page *page = NULL;
	void *kaddr;
	int n;

	lockdep_assert_held(&heap->lock);
	if (heap->wr_page && heap->wr_pgoff == pgoff) {
		page = heap->wr_page;
		/* The cursor was never walked: its first step loads this. */
		xas_set(&xas, pgoff + 1);
	}
	for (;;) {
		unsigned long off = offset_in_page(dst);
		unsigned long chunk = min(len, PAGE_SIZE - off);

		if (!page) {
			rcu_read_lock();
			page = xas_next(&xas);
			rcu_read_unlock();
		}
		kaddr = kmap_local_page(page);
		if (src) {
			pagefault_disable();
			copied = chunk - raw_copy_from_user(kaddr + off, src,
							    chunk);
			pagefault_enable();
			src += chunk;
		} else {
			copied = copy_page_from_iter_atomic(page, off, chunk,
							    iter);
		}
		flush_icache_range((unsigned long)kaddr + off,
				   (unsigned long)kaddr + off + copied);
		kunmap_local(kaddr);
		if (copied != chunk)
			goto fault;
		len -= chunk;
		if (!len)
			break;
		dst += chunk;
		page = NULL;
	}
	heap->wr_page = page;
	heap->wr_pgoff = codeheap_pgoff(space, dst);
	return -1;

fault:
	done = dst + copied - e[0].dst;
	for (n = 0; done >= e[n].len; n++)
		done -= e[n].len;
	codeheap_write_trap_locked(heap, space, &e[n], NULL);
	return n;
}

/*
 * Copy the @n entries of run @run, from @e on, with one iov_iter over
 * their sources: a user buffer when they follow each other, else one
 * iovec per source segment.
 *
 * Return: as codeheap_write_iter_locked().
 */
static __always_inline int
codeheap_write_run_locked(struct codeheap_heap *heap,
			  const struct codeheap_write_entry *e,
			  const struct codeheap_write_run *run, unsigned int n)
{
	unsigned long len = e[n - 1].dst + e[n - 1].len - e[0].dst;
	const void __user *src = u64_to_user_ptr(e[0].src);
	struct iov_iter iter;

	if (run->segs == 1) {
		/* One source: a plain copy, no iov_iter. */
		if (!access_ok(src, len))
			return 0;
		return codeheap_write_iter_locked(heap, run->space, e, len,
						  src, NULL);
	} else {
		struct iovec iov[CODEHEAP_WRITE_SEGS];
		unsigned int i, s = 0;

		iov[0].iov_base = u64_to_user_ptr(e[0].src);
		iov[0].iov_len = e[0].len;
		for (i = 1; i < n; i++) {
			if (e[i].src != e[i - 1].src + e[i - 1].len) {
				iov[++s].iov_base = u64_to_user_ptr(e[i].src);
				iov[s].iov_len = 0;
			}
			iov[s].iov_len += e[i].len;
		}
		iov_iter_init(&iter, ITER_SOURCE, iov, run->segs, len);
		return codeheap_write_iter_locked(heap, run->space, e, len,
						  NULL, &iter);
	}
}

/**
 * codeheap_heap_write() - CODEHEAP_IOC_WRITE
 * @heap: the heap, owned by the caller
 * @e: the entries, in kernel memory
 * @runs: scratch room for @count runs
 * @count: number of entries, at least 1
 *
 * Every entry is checked, every source faulted in and every
 * destination validated before any byte is copied.  Should a source be
 * paged out again before the copy, the entry's destination is trap-filled,
 * and the entries from it on are faulted in, validated and copied again
 * (the heap may have changed meanwhile); a source that then cannot be read
 * fails the call with -EFAULT, earlier entries written.
 *
 * Return: 0, -EINVAL, -EOVERFLOW, -ENOENT, -EPERM or -EFAULT.
 */
int codeheap_heap_write(struct codeheap_heap *heap,
			const struct codeheap_write_entry *e,
			struct codeheap_write_run *runs, unsigned int count)
{
	unsigned int tries = 0, r, first, last;
	int nr, ret, n;

	nr = codeheap_write_scan(e, count, runs);
	if (nr < 0)
		return nr;
	for (;;) {
		ret = codeheap_write_fault_in(e, runs, nr, count);
		if (ret)
			return ret;

		mutex_lock(&heap->lock);
		ret = codeheap_write_validate_locked(heap, e, runs, nr, count);
		for (r = 0; !ret && r < nr; r++) {
			first = runs[r].first;
			last = codeheap_run_last(runs, r, nr, count);
			n = codeheap_write_run_locked(heap, &e[first], &runs[r],
						      last - first + 1);
			if (n >= 0) {
				/* Again from the entry that faulted. */
				e += first + n;
				count -= first + n;
				ret = -EAGAIN;
			}
		}
		mutex_unlock(&heap->lock);
		if (ret != -EAGAIN)
			return ret;
		if (++tries > CODEHEAP_WRITE_TRIES)
			return -EFAULT;
		nr = codeheap_write_scan(e, count, runs);
	}
}

/* Fault a source of at most a page in: its first and last byte. */
static __always_inline int codeheap_write_probe(const char __user *src,
						unsigned long len)
{
	char c;

	if (!user_read_access_begin(src, len))
		return -EFAULT;
	unsafe_get_user(c, src, efault);
	unsafe_get_user(c, src + len - 1, efault);
	user_read_access_end();
	return 0;

efault:
	user_read_access_end();
	return -EFAULT;
}

/* One entry as a run: out of line, to keep its frame off the usual path. */
static noinline int
codeheap_write1_run_locked(struct codeheap_heap *heap,
			   struct codeheap_space *space,
			   const struct codeheap_write_entry *e,
			   const void __user *src)
{
	lockdep_assert_held(&heap->lock);
	return codeheap_write_iter_locked(heap, space, e, e->len, src,
					  NULL) < 0 ? 0 : -EAGAIN;
}

/*
 * Copy one validated entry of at most a page, into @block.  Into the
 * block's first page or the page the last WRITE copied into (a JIT writes
 * function after function into the same page) with one plain copy, found
 * without an xarray walk; elsewhere as a run.
 *
 * Return: 0, or -EAGAIN when the source faulted (the destination is then
 * trap-filled).
 */
static __always_inline int
codeheap_write1_locked(struct codeheap_heap *heap, struct codeheap_block *block,
		       const struct codeheap_write_entry *e,
		       const void __user *src)
{
	unsigned long off = offset_in_page(e->dst);
	struct codeheap_space *space = block->space;
	struct page *page;
	void *kaddr;

	lockdep_assert_held(&heap->lock);
	if (off + e->len > PAGE_SIZE)
		return codeheap_write1_run_locked(heap, space, e, src);
	if (round_down(e->dst, PAGE_SIZE) == round_down(block->start, PAGE_SIZE))
		page = block->page;
	else if (heap->wr_page &&
		 heap->wr_pgoff == codeheap_pgoff(space, e->dst))
		page = heap->wr_page;
	else
		return codeheap_write1_run_locked(heap, space, e, src);

	kaddr = kmap_local_page(page) + off;
	pagefault_disable();
	if (unlikely(raw_copy_from_user(kaddr, src, e->len))) {
		pagefault_enable();
		kunmap_local(kaddr);
		codeheap_write_trap_locked(heap, space, e, page);
		return -EAGAIN;
	}
	pagefault_enable();
	flush_icache_range((unsigned long)kaddr, (unsigned long)kaddr + e->len);
	kunmap_local(kaddr);
	return 0;
}

/**
 * codeheap_heap_write1() - CODEHEAP_IOC_WRITE of one entry
 * @heap: the heap, owned by the caller
 * @e: the entry, in kernel memory
 * @run: scratch room for one run
 *
 * What a JIT does most: publish one function.  The same checks, in the
 * same order, as codeheap_heap_write() makes of one entry, without its
 * batch machinery: a source of at most a page is faulted in by touching
 * its first and last byte, the destination is checked against the
 * allocation the last WRITE went to (or found in the tree) and copied into
 * in one pass.  Anything else (a longer source, or a source paged out
 * again before the copy) goes through codeheap_heap_write().
 *
 * Return: as codeheap_heap_write().
 */
int codeheap_heap_write1(struct codeheap_heap *heap,
			 const struct codeheap_write_entry *e,
			 struct codeheap_write_run *run)
{
	const void __user *src = u64_to_user_ptr(e->src);
	u64 dst = e->dst, len = e->len;
	struct codeheap_block *block;
	int ret;

	if (!len)
		return -EINVAL;
	if (dst + len < dst || e->src + len < e->src)
		return -EOVERFLOW;
	if (dst + len > TASK_SIZE)
		return -ENOENT;
	if (len > PAGE_SIZE)
		return codeheap_heap_write(heap, e, run, 1);
	if (codeheap_write_probe(src, len))
		return -EFAULT;

	mutex_lock(&heap->lock);
	block = codeheap_write_block_locked(heap, heap->wr_block, dst);
	if (!block || len > block->start + block->len - dst) {
		ret = -ENOENT;
	} else if (block->sealed) {
		ret = -EPERM;
	} else {
		heap->wr_block = block;
		ret = codeheap_write1_locked(heap, block, e, src);
	}
	mutex_unlock(&heap->lock);
	if (ret == -EAGAIN)	/* paged out again meanwhile: retry, slowly */
		return codeheap_heap_write(heap, e, run, 1);
	return ret;
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
	mutex_unlock(&heap->lock);
}

/* ---------------------------------------------------------------------- */
/* Lifetime                                                               */
/* ---------------------------------------------------------------------- */

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

	if (!current->mm)
		return ERR_PTR(-EPERM);

	heap = kzalloc(sizeof(*heap), CODEHEAP_GFP);
	if (!heap)
		return ERR_PTR(-ENOMEM);
	heap->user = codeheap_user_get();
	if (!heap->user) {
		kfree(heap);
		return ERR_PTR(-ENOMEM);
	}

	mutex_init(&heap->space_lock);
	mutex_init(&heap->lock);
	heap->spaces = RB_ROOT;
	heap->blocks = RB_ROOT;
	codeheap_pool_init(&heap->pool, 0, ~0ULL);
	xa_init(&heap->pages);
	xa_init_flags(&heap->jts, XA_FLAGS_ALLOC1);
	heap->file = file;
	heap->mm = current->mm;
	mmgrab(heap->mm);
	atomic_inc(&codeheap_nr_heaps);
	return heap;
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
	struct page *page;
	unsigned long idx;

	codeheap_jt_destroy_all(heap);
	xa_for_each(&heap->pages, idx, page)
		put_page(page);
	xa_destroy(&heap->pages);
	codeheap_user_uncharge(heap->user, heap->committed);
	codeheap_user_put(heap->user);
	atomic_long_sub(heap->committed, &codeheap_total_committed);
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
