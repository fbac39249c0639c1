// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: allocations (struct codeheap_block): ALLOC, FREE, SEAL and
 * LOOKUP.  ALLOC takes the pool's first fit, growing the heap by a new
 * reservation when nothing fits (V8's WasmCodeAllocator), and commits the
 * pages its block needs; FREE refills the block with traps, gives it back
 * to the pool and decommits the pages no live block covers any more.
 * Jump tables (jumptable.c) live in blocks this file allocates.  See
 * heap.h for the lock order.
 */

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "heap.h"

/* A block struct for ALLOC: a cached one, or a new one (uninitialised). */
static struct codeheap_block *codeheap_block_get_locked(struct codeheap_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	if (heap->nr_cached)
		return heap->block_cache[--heap->nr_cached];
	return kmalloc(sizeof(struct codeheap_block), CODEHEAP_GFP);
}

/**
 * codeheap_block_put_locked() - give a block struct back
 * @heap: the heap
 * @block: a struct no tree or table refers to any more
 *
 * Into the heap's cache for the next ALLOC, or to the slab allocator.
 *
 * Context: @heap->lock held.
 */
void codeheap_block_put_locked(struct codeheap_heap *heap,
			       struct codeheap_block *block)
{
	lockdep_assert_held(&heap->lock);
	if (heap->nr_cached < CODEHEAP_BLOCK_CACHE)
		heap->block_cache[heap->nr_cached++] = block;
	else
		kfree(block);
}

/**
 * codeheap_block_unlink_locked() - take a block out of the heap
 * @heap: the heap
 * @block: a live block
 *
 * Out of the tree and the counts, counted as freed.  Its pages and its
 * range in the pool are the caller's business.
 *
 * Context: @heap->lock held.
 */
void codeheap_block_unlink_locked(struct codeheap_heap *heap,
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
		codeheap_heap_unlock(heap);
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
	ret = codeheap_commit_locked(heap, space, pstart, pend, false, added,
				     block->page ? NULL : &block->page);
	/*
	 * New pages are mapped with mmap_lock, which ranks outside the heap
	 * lock: taken without waiting, here (a trylock adds no lock order),
	 * or else by the caller once the heap lock is dropped (*@added).
	 */
	if (!ret && *added && mmap_read_trylock(heap->mm)) {
		codeheap_map_pages(heap, space, pstart, pend);
		mmap_read_unlock(heap->mm);
		*added = 0;
	}
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
		codeheap_heap_unlock(heap);
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
	undo->nr_kept = heap->nr_kept;

	/*
	 * Pages are mapped with mmap_lock, and only when this allocation
	 * committed new ones (most land in pages that are committed and
	 * mapped already): at once if mmap_lock is free, else below.
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
	codeheap_heap_unlock(heap);
	if (added && !ret) {
		/* Whoever owns the range by now, mapping its pages is right. */
		mmap_read_lock(heap->mm);
		mutex_lock(&heap->lock);
		space = codeheap_space_find(heap, pstart);
		if (space && space->end >= pend)
			codeheap_map_pages(heap, space, pstart, pend);
		codeheap_heap_unlock(heap);
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
 * the free counted, the peaks the call raised and the pages the free kept,
 * and releases the reservations the call grew (unless another thread
 * allocated from them meanwhile), so the failed command changed nothing.
 */
void codeheap_heap_undo(struct codeheap_heap *heap,
			const struct codeheap_undo *undo)
{
	mutex_lock(&heap->lock);
	heap->freed -= undo->len;
	heap->peak_allocated = max(undo->peak_allocated, heap->allocated);
	heap->peak_committed = max(undo->peak_committed, heap->committed);
	codeheap_kept_trim_locked(heap, undo->nr_kept);
	codeheap_heap_unlock(heap);
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
					 (pend - pstart) >> PAGE_SHIFT, true);
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
	codeheap_heap_unlock(heap);
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
	codeheap_heap_unlock(heap);
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
	codeheap_heap_unlock(heap);
	return ret;
}

/**
 * codeheap_heap_show_blocks() - list the allocations, for debugfs
 * @heap: the heap
 * @m: where to print one line per allocation, lowest address first: its
 *     start, length, tag, whether it is sealed, and the id of the jump
 *     table it holds (0 for none)
 *
 * Holds @heap->lock for the whole list, so that it is one state of the
 * heap; the heap's commands wait meanwhile (debugfs is root's, for
 * debugging).
 */
void codeheap_heap_show_blocks(struct codeheap_heap *heap, struct seq_file *m)
{
	struct codeheap_block *block;
	struct rb_node *rb;

	mutex_lock(&heap->lock);
	for (rb = rb_first(&heap->blocks); rb; rb = rb_next(rb)) {
		/* Full: seq_read() calls again with a bigger buffer. */
		if (seq_has_overflowed(m))
			break;
		block = rb_entry(rb, struct codeheap_block, node);
		seq_printf(m, "0x%lx %lu 0x%llx %d %u\n", block->start,
			   block->len, block->tag, block->sealed,
			   block->jt ? codeheap_jt_id(block->jt) : 0);
	}
	codeheap_heap_unlock(heap);
}
