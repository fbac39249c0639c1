// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the page store and the commands on page ranges.
 *
 * Committed pages live in heap->pages by file offset (page index); the
 * fault handler (mmap.c) reads them under RCU.  Committing charges the
 * heap, its user and the global counter and fills the pages with traps;
 * decommitting revokes their mappings and frees them.  COMMIT, DECOMMIT
 * and PROTECT work on page ranges of one reservation.  See heap.h for the
 * lock order.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "heap.h"

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

/**
 * codeheap_decommit_locked() - decommit a range of page indexes
 * @heap: the heap
 * @first: the first page index (file offset in pages)
 * @nr: number of page indexes, committed or not
 *
 * Erases the committed ones from @heap->pages, revokes their mappings and
 * frees them, uncharging what they were charged.
 *
 * Context: @heap->lock held; may sleep (page locks, unmap_mapping_range()).
 */
void codeheap_decommit_locked(struct codeheap_heap *heap, pgoff_t first,
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

/**
 * codeheap_commit_locked() - commit the pages of a range of a reservation
 * @heap: the heap
 * @space: the reservation
 * @start: first address, page aligned
 * @end: one past the last address, page aligned
 * @map: the caller holds mmap_lock: map the new pages at once
 * @added: set to the number of pages that were new
 *
 * Backs every page of [@start, @end) that has no memory yet with a
 * trap-filled page, all or nothing, charged to the heap, its user and the
 * global limit.
 *
 * Context: @heap->lock held.
 * Return: 0 or -ENOMEM (nothing changed).
 */
int codeheap_commit_locked(struct codeheap_heap *heap,
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

	/* Each new page goes in at once, in index order: see erase_pages. */
	for (i = 0; i < nr; i++) {
		void *kaddr;

		if (xa_load(&heap->pages, first + i))
			continue;
		page = alloc_page(CODEHEAP_GFP);
		if (!page)
			goto erase_pages;
		kaddr = kmap_local_page(page);
		codeheap_trap_fill(kaddr, PAGE_SIZE);
		codeheap_icache_clean(heap, kaddr, PAGE_SIZE);
		kunmap_local(kaddr);
		list_add_tail(&page->lru, &pages);
		if (xa_insert(&heap->pages, first + i, page, CODEHEAP_GFP))
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
	/*
	 * The pages on @pages went in at increasing indexes below @i (the
	 * last one, whose insert may have failed, perhaps not): find each
	 * by walking the range again.  The fault handler may have mapped
	 * them meanwhile: revoke that.
	 */
	nr = i;
	i = 0;
	list_for_each_entry(page, &pages, lru) {
		while (i < nr && xa_load(&heap->pages, first + i) != page)
			i++;
		if (i < nr)
			xa_erase(&heap->pages, first + i++);
	}
	codeheap_revoke_pages(heap, first, nr, &pages);
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		put_page(page);
	}
	codeheap_uncharge_locked(heap, missing << PAGE_SHIFT);
	return -ENOMEM;
}

/**
 * codeheap_fill_locked() - fill a range of a reservation with traps
 * @heap: the heap
 * @space: the reservation
 * @addr: first address
 * @len: bytes
 * @first: if not NULL, the page holding @addr (a block's cached page), so
 *         that page needs no xarray walk
 *
 * Pages of the range that are not committed are left alone.
 *
 * Context: @heap->lock held.
 */
void codeheap_fill_locked(struct codeheap_heap *heap,
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
			codeheap_icache_clean(heap, kaddr + off, chunk);
			kunmap_local(kaddr);
		}
		addr += chunk;
	}
}

/* ---------------------------------------------------------------------- */
/* COMMIT, DECOMMIT, PROTECT                                              */
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
	codeheap_heap_unlock(heap);
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
	codeheap_heap_unlock(heap);
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
	codeheap_heap_unlock(heap);
	mmap_read_unlock(heap->mm);
	return ret;
}

/**
 * codeheap_pages_destroy() - free every page of a heap that is going away
 * @heap: the heap; nothing maps its pages any more (see
 *        codeheap_heap_destroy())
 *
 * Uncharges what they were charged, without revoking anything.
 */
void codeheap_pages_destroy(struct codeheap_heap *heap)
{
	struct page *page;
	unsigned long idx;

	xa_for_each(&heap->pages, idx, page)
		put_page(page);
	xa_destroy(&heap->pages);
	codeheap_user_uncharge(heap->user, heap->committed);
	atomic_long_sub(heap->committed, &codeheap_total_committed);
}
