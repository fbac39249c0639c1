// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: WRITE, the only way bytes reach code.  Every entry is checked
 * against the heap before any byte moves; the sources are copied into the
 * committed pages through the kernel's direct map, a run of entries with
 * one page-fault-free copy, and the instruction cache is synchronised.
 * See heap.h for the lock order and Documentation/codeheap.rst ("WRITE
 * and faults") for what a fault in a source leaves behind.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "heap.h"

/* Times WRITE re-faults a source that was paged out while it held the lock. */
#define CODEHEAP_WRITE_TRIES	8

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

	lockdep_assert_held(&heap->lock);
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
			copied = copy_folio_from_iter_atomic(page_folio(page),
							     off, chunk, iter);
		}
		codeheap_icache_clean(heap, kaddr + off, copied);
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

	lockdep_assert_held(&heap->lock);
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
		codeheap_heap_unlock(heap);
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
	codeheap_icache_clean(heap, kaddr, e->len);
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
	codeheap_heap_unlock(heap);
	if (ret == -EAGAIN)	/* paged out again meanwhile: retry, slowly */
		return codeheap_heap_write(heap, e, run, 1);
	return ret;
}
