// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the page store and the commands on page ranges.
 *
 * Committed pages live in heap->pages by file offset (page index); the
 * fault handler (mmap.c) reads them under RCU.  Committing charges the
 * heap, its user and the global counter and fills the pages with traps;
 * decommitting revokes their mappings and frees them, or keeps a few that
 * hold only traps for the next commits (heap->kept).  COMMIT, DECOMMIT
 * and PROTECT work on page ranges of one reservation.  See heap.h for the
 * lock order.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "heap.h"

/*
 * Charges @bytes more committed to the heap, of which @kept come from
 * heap->kept: those are charged to the user and the global count already.
 */
static int codeheap_charge_locked(struct codeheap_heap *heap,
				  unsigned long bytes, unsigned long kept)
{
	unsigned long more = bytes - kept;
	struct codeheap_limits limits;

	lockdep_assert_held(&heap->lock);
	codeheap_limits_get(&limits);
	if (heap->committed + bytes > limits.max_heap_committed)
		return -ENOMEM;
	if (more &&
	    codeheap_user_charge(heap->user, more, limits.max_user_committed))
		return -ENOMEM;
	if (more && atomic_long_add_return(more, &codeheap_total_committed) >
		    limits.max_total_committed) {
		atomic_long_sub(more, &codeheap_total_committed);
		codeheap_user_uncharge(heap->user, more);
		return -ENOMEM;
	}
	heap->committed += bytes;
	return 0;
}

/* Uncharges @bytes of pages given back to the page allocator. */
static void codeheap_uncharge(struct codeheap_heap *heap, unsigned long bytes)
{
	if (!bytes)
		return;
	codeheap_user_uncharge(heap->user, bytes);
	atomic_long_sub(bytes, &codeheap_total_committed);
}

/*
 * A page for a commit, trap-filled: a kept one, or a new one.  The
 * caller charged it (codeheap_charge_locked()).
 */
static struct page *codeheap_page_take_locked(struct codeheap_heap *heap)
{
	struct page *page;
	void *kaddr;

	lockdep_assert_held(&heap->lock);
	page = list_first_entry_or_null(&heap->kept, struct page, lru);
	if (page) {
		list_del(&page->lru);
		heap->nr_kept--;
		return page;
	}
	page = alloc_page(CODEHEAP_GFP);
	if (!page)
		return NULL;
	kaddr = kmap_local_page(page);
	codeheap_trap_fill(kaddr, PAGE_SIZE);
	codeheap_icache_clean(heap, kaddr, PAGE_SIZE);
	kunmap_local(kaddr);
	return page;
}

/*
 * Gives back a page that left heap->pages and every mapping, off any list:
 * onto heap->kept if it holds only traps (@traps), there is room below
 * @max, and nothing else holds it (a GUP pin, a fault that found it
 * before it left; either may outlive this call), else to the page
 * allocator.  Return: true if it was kept (its charge stays).
 */
static bool codeheap_page_give_locked(struct codeheap_heap *heap,
				      struct page *page, bool traps,
				      unsigned int max)
{
	lockdep_assert_held(&heap->lock);
	if (traps && heap->nr_kept < max && page_count(page) == 1) {
		list_add(&page->lru, &heap->kept);
		heap->nr_kept++;
		return true;
	}
	put_page(page);
	return false;
}

/**
 * codeheap_decommit_locked() - decommit a range of page indexes
 * @heap: the heap
 * @first: the first page index (file offset in pages)
 * @nr: number of page indexes, committed or not
 * @traps: the committed ones hold only traps, so they may be kept
 *
 * Erases the committed ones from @heap->pages, revokes their mappings and
 * gives them back: up to %CODEHEAP_KEPT_PAGES of them onto @heap->kept
 * when @traps, the others to the page allocator, uncharging what they
 * were charged.
 *
 * Context: @heap->lock held; may sleep (page locks, unmap_mapping_range()).
 */
void codeheap_decommit_locked(struct codeheap_heap *heap, pgoff_t first,
			      unsigned long nr, bool traps)
{
	unsigned long idx, n = 0, freed = 0;
	struct page *page, *tmp;
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
		if (!codeheap_page_give_locked(heap, page, traps,
					       CODEHEAP_KEPT_PAGES))
			freed++;
		cond_resched();
	}
	heap->committed -= n << PAGE_SHIFT;
	codeheap_uncharge(heap, freed << PAGE_SHIFT);
}

/**
 * codeheap_commit_locked() - commit the pages of a range of a reservation
 * @heap: the heap
 * @space: the reservation
 * @start: first address, page aligned
 * @end: one past the last address, page aligned
 * @map: the caller holds mmap_lock: map the new pages at once
 * @added: set to the number of pages that were new
 * @page0: if not NULL, set to the page at @start on success
 *
 * Backs every page of [@start, @end) that has no memory yet with a
 * trap-filled page, kept ones first, all or nothing, charged to the heap,
 * its user and the global limit.
 *
 * Context: @heap->lock held.
 * Return: 0 or -ENOMEM (nothing changed).
 */
int codeheap_commit_locked(struct codeheap_heap *heap,
			   struct codeheap_space *space,
			   unsigned long start, unsigned long end,
			   bool map, unsigned long *added, struct page **page0)
{
	pgoff_t first = codeheap_pgoff(space, start);
	unsigned long nr = (end - start) >> PAGE_SHIFT, i, missing = 0;
	unsigned int was_kept = heap->nr_kept, reuse;
	struct page *page, *tmp, *first_page = NULL;
	LIST_HEAD(pages);
	int ret;

	lockdep_assert_held(&heap->lock);
	for (i = 0; i < nr; i++) {
		page = xa_load(&heap->pages, first + i);
		if (!i)
			first_page = page;
		if (!page)
			missing++;
	}
	*added = missing;
	if (!missing)
		goto out;

	reuse = min_t(unsigned long, missing, was_kept);
	ret = codeheap_charge_locked(heap, missing << PAGE_SHIFT,
				     (unsigned long)reuse << PAGE_SHIFT);
	if (ret)
		return ret;

	/* Each new page goes in at once, in index order: see erase_pages. */
	for (i = 0; i < nr; i++) {
		/* With every page missing, there is nothing to look up. */
		if (missing < nr && xa_load(&heap->pages, first + i))
			continue;
		page = codeheap_page_take_locked(heap);
		if (!page)
			goto erase_pages;
		list_add_tail(&page->lru, &pages);
		if (xa_insert(&heap->pages, first + i, page, CODEHEAP_GFP))
			goto erase_pages;
		if (!i)
			first_page = page;
	}
	list_for_each_entry_safe(page, tmp, &pages, lru)
		list_del(&page->lru);
	/* Only now: a commit that fails leaves the peak as it was. */
	heap->peak_committed = max(heap->peak_committed, heap->committed);
	if (map)
		codeheap_map_pages(heap, space, start, end);
out:
	if (page0)
		*page0 = first_page;
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
	/*
	 * As many pages as were taken off @heap->kept go back (every page
	 * here holds only traps), so that the kept count, and with it the
	 * charges, end as they began; the others are freed.
	 */
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		codeheap_page_give_locked(heap, page, true, was_kept);
	}
	heap->committed -= missing << PAGE_SHIFT;
	/* Charged: the new pages; kept pages not given back are freed. */
	codeheap_uncharge(heap, (missing - reuse + was_kept - heap->nr_kept) <<
				PAGE_SHIFT);
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

/* Frees kept pages down to @max; returns how many, still charged. */
static unsigned long codeheap_kept_free(struct codeheap_heap *heap,
					unsigned int max)
{
	struct page *page;
	unsigned long n = 0;

	while (heap->nr_kept > max) {
		page = list_first_entry(&heap->kept, struct page, lru);
		list_del(&page->lru);
		heap->nr_kept--;
		put_page(page);
		n++;
	}
	return n;
}

/**
 * codeheap_kept_trim_locked() - free kept pages down to a count
 * @heap: the heap
 * @max: how many to keep at most
 *
 * For a failed command whose undo (a FREE) kept pages the command had not
 * found kept: freeing them leaves the charges as the command found them.
 *
 * Context: @heap->lock held.
 */
void codeheap_kept_trim_locked(struct codeheap_heap *heap, unsigned int max)
{
	lockdep_assert_held(&heap->lock);
	codeheap_uncharge(heap, codeheap_kept_free(heap, max) << PAGE_SHIFT);
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
					     true, &added, NULL);
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
						 len >> PAGE_SHIFT, true);
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
 * Frees the committed pages and the kept ones, uncharging what they were
 * charged, without revoking anything.
 */
void codeheap_pages_destroy(struct codeheap_heap *heap)
{
	struct page *page;
	unsigned long idx;

	xa_for_each(&heap->pages, idx, page)
		put_page(page);
	xa_destroy(&heap->pages);
	codeheap_uncharge(heap, heap->committed +
			  (codeheap_kept_free(heap, 0) << PAGE_SHIFT));
}
