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
#include "trace.h"

/* Times WRITE re-faults a source that was paged out while it held the lock. */
#define CODEHEAP_WRITE_TRIES	8

/* Source segments gathered into one copy: 256 bytes of stack. */
#define CODEHEAP_WRITE_SEGS	16

/**
 * struct codeheap_write_run - entries of a WRITE copied as one
 * @first: index of the run's first entry; the run ends where the next
 *         run begins
 * @segs: separate source segments of the run (1: one contiguous source)
 * @block: the allocation holding the run's last byte, set under the heap
 *         lock by the validation: its reservation is the run's, and its
 *         first page is found in it without an xarray walk
 */
struct codeheap_write_run {
	unsigned int first;
	unsigned int segs;
	struct codeheap_block *block;
};

/*
 * Run @r's first entry, and its source segments.  One entry (@count 1) is
 * one run of one segment, known without reading @runs, which the calls in
 * between would make the compiler reload.
 */
static __always_inline unsigned int
codeheap_run_first(const struct codeheap_write_run *runs, unsigned int r,
		   unsigned int count)
{
	return count == 1 ? 0 : runs[r].first;
}

static __always_inline unsigned int
codeheap_run_segs(const struct codeheap_write_run *runs, unsigned int r,
		  unsigned int count)
{
	return count == 1 ? 1 : runs[r].segs;
}

/* Index of the last entry of run @r of @nr; @count entries in all. */
static __always_inline unsigned int
codeheap_run_last(const struct codeheap_write_run *runs, unsigned int r,
		  unsigned int nr, unsigned int count)
{
	return (r + 1 < nr ? runs[r + 1].first : count) - 1;
}

/*
 * Note entry @i in the runs: it starts a run if it is the first (@nr 0)
 * or its destination does not follow the entry before (@dst_follows), and
 * otherwise a source segment unless its source follows too
 * (@src_follows).
 *
 * Return: the number of runs after it.
 */
static __always_inline unsigned int
codeheap_run_add(struct codeheap_write_run *runs, unsigned int nr,
		 unsigned int i, bool dst_follows, bool src_follows)
{
	if (nr && dst_follows && src_follows)
		return nr;
	if (nr && dst_follows && runs[nr - 1].segs < CODEHEAP_WRITE_SEGS) {
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
				     unsigned int count);

static __always_inline int
codeheap_write_scan_one(const struct codeheap_write_entry *e,
			unsigned int count, struct codeheap_write_run *runs,
			bool exact)
{
	u64 limit = TASK_SIZE, dend = 0, send = 0, sstart, len;
	unsigned int i = 0, nr = 0;
	int ret;

	while (i < count) {
		u64 dst = e[i].dst, src = e[i].src;

		len = e[i].len;
		if (!len)
			return -EINVAL;
		if (dst + len < dst || src + len < src)
			return -EOVERFLOW;
		if (dst + len > limit)
			return -ENOENT;
		/* Only the error matters to the exact scan. */
		if (!exact)
			nr = codeheap_run_add(runs, nr, i, dst == dend,
					      src == send);
		dend = dst + len;
		send = src + len;
		i++;

		/*
		 * The usual entry continues the run, destination and source,
		 * with 0 < len < limit.  Whether the run stays below limit and
		 * its sources do not wrap is checked once, after it: the
		 * lengths add up to less than 2^63 (at most 2^16 entries,
		 * each shorter than 2^47), so a wrap shows as an end below the
		 * start.  If either fails, some entry of the run is wrong:
		 * codeheap_write_scan_exact() finds the first.
		 */
		if (exact || i == count)
			continue;
		sstart = send - len;
		for (; i < count; i++) {
			len = e[i].len;
			if (e[i].dst != dend || e[i].src != send ||
			    len - 1 >= limit)
				break;
			dend += len;
			send += len;
		}
		if (dend > limit || send < sstart) {
			ret = codeheap_write_scan_exact(e, count);
			return WARN_ON_ONCE(ret >= 0) ? -EINVAL : ret;
		}
	}
	return nr;
}

/* Entry by entry, every check on every entry: the first wrong one's error. */
static noinline int
codeheap_write_scan_exact(const struct codeheap_write_entry *e,
			  unsigned int count)
{
	return codeheap_write_scan_one(e, count, NULL, true);
}

static __always_inline int
codeheap_write_scan(const struct codeheap_write_entry *e,
		    unsigned int count, struct codeheap_write_run *runs)
{
	return codeheap_write_scan_one(e, count, runs, false);
}

/*
 * Fault in a range of at most a page (so two pages at most): its first
 * and last byte, in one user-access section.
 */
static __always_inline int codeheap_write_probe(u64 start, u64 len)
{
	const char __user *src = u64_to_user_ptr(start);
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

/* Fault in the user range [@start, @end), after checking it is one. */
static int codeheap_write_fault_range(u64 start, u64 end)
{
	const char __user *from = u64_to_user_ptr(start);

	if (!access_ok(from, end - start) ||
	    fault_in_readable(from, end - start))
		return -EFAULT;
	return 0;
}

/*
 * Fault every source in, without any heap lock, so that a source that
 * cannot be read fails the call before anything changed.  A run with one
 * source is one range; ranges that overlap or touch are faulted in once
 * (a JIT usually emits a batch from one buffer).  One range of at most a
 * page, the usual function, is probed at both ends.  Every range is
 * checked with access_ok() here: the copy of a run from one source
 * (codeheap_write_run_locked()) relies on it.
 */
static __always_inline int
codeheap_write_fault_in(const struct codeheap_write_entry *e,
			const struct codeheap_write_run *runs,
			unsigned int nr, unsigned int count)
{
	/* An empty range at the first source, which the first segment joins. */
	u64 start = e[0].src, end = start, from, to;
	unsigned int r, i, last;

	if (nr == 1 && codeheap_run_segs(runs, 0, count) == 1) {
		/* One function, or a batch from one buffer: one range. */
		end = e[count - 1].src + e[count - 1].len;
		if (end - start <= PAGE_SIZE)
			return codeheap_write_probe(start, end - start);
		goto last;
	}
	for (r = 0; r < nr; r++) {
		last = codeheap_run_last(runs, r, nr, count);
		for (i = codeheap_run_first(runs, r, count); i <= last; i++) {
			from = e[i].src;
			to = from + e[i].len;
			if (codeheap_run_segs(runs, r, count) == 1) {
				to = e[last].src + e[last].len;
				i = last;
			}
			if (from >= start && from <= end) {
				end = max(end, to);
				continue;
			}
			if (codeheap_write_fault_range(start, end))
				return -EFAULT;
			start = from;
			end = to;
		}
	}
last:
	return codeheap_write_fault_range(start, end);
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
static __always_inline int
codeheap_write_validate_locked(struct codeheap_heap *heap,
			       const struct codeheap_write_entry *e,
			       struct codeheap_write_run *runs,
			       unsigned int nr, unsigned int count)
{
	struct codeheap_block *block = heap->wr_block;
	unsigned int r, i, last;

	lockdep_assert_held(&heap->lock);
	for (r = 0; r < nr; r++) {
		i = codeheap_run_first(runs, r, count);
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
		runs[r].block = block;
	}
	heap->wr_block = block;
	return 0;
}

/*
 * A copy into @e faulted: fill its destination, widened to whole 4-byte
 * words (an arm64 instruction), with traps, so it is never left
 * half-written.
 */
static void codeheap_write_trap_locked(struct codeheap_heap *heap,
				       struct codeheap_space *space,
				       const struct codeheap_write_entry *e)
{
	unsigned long from = round_down(e->dst, 4);

	lockdep_assert_held(&heap->lock);
	codeheap_fill_locked(heap, space, from, ALIGN(e->dst + e->len, 4) - from,
			     NULL);
}

/*
 * The page of @block's reservation holding @dst, if the heap knows it
 * without an xarray walk: the block's first page (a function is usually
 * written into its own allocation's first page), or the page the last
 * WRITE copied into (a JIT writes function after function into a page).
 */
static __always_inline struct page *
codeheap_write_hint_locked(struct codeheap_heap *heap,
			   const struct codeheap_block *block,
			   unsigned long dst)
{
	lockdep_assert_held(&heap->lock);
	if (round_down(dst, PAGE_SIZE) == round_down(block->start, PAGE_SIZE))
		return block->page;
	if (heap->wr_page && heap->wr_addr == round_down(dst, PAGE_SIZE))
		return heap->wr_page;
	return NULL;
}

/*
 * A copy from @e on faulted at destination @dst: fill the entry holding
 * @dst with traps (never left half-written).
 *
 * Return: how many entries of @e were copied before it.
 */
static noinline int
codeheap_write_fault_locked(struct codeheap_heap *heap,
			    struct codeheap_space *space,
			    const struct codeheap_write_entry *e,
			    unsigned long dst)
{
	unsigned long done = dst - e[0].dst;
	int n;

	lockdep_assert_held(&heap->lock);
	for (n = 0; done >= e[n].len; n++)
		done -= e[n].len;
	codeheap_write_trap_locked(heap, space, &e[n]);
	return n;
}

/*
 * Copy @chunk bytes from @src, or from @iter when it is not NULL, to
 * offset @off of @page, as the page cache copies a write(): with page
 * faults disabled (we hold heap->lock, and a fault would take mmap_lock),
 * and no hardened-usercopy object check, the destination being part of a
 * page we own, bounded by the page.  One source (@src, access_ok()
 * checked by the caller) is copied with raw_copy_from_user(), as copyin()
 * does, without an iov_iter's per-page bookkeeping.
 *
 * Return: the bytes copied, short if a source faulted.
 */
static __always_inline unsigned long
codeheap_write_chunk_locked(struct codeheap_heap *heap, struct page *page,
			    unsigned long off, unsigned long chunk,
			    const void __user *src, struct iov_iter *iter)
{
	void *kaddr = kmap_local_page(page);
	unsigned long copied;

	lockdep_assert_held(&heap->lock);
	if (!iter) {
		pagefault_disable();
		copied = chunk - raw_copy_from_user(kaddr + off, src, chunk);
		pagefault_enable();
	} else {
		copied = copy_folio_from_iter_atomic(page_folio(page), off,
						     chunk, iter);
	}
	codeheap_icache_clean(heap, kaddr + off, copied);
	kunmap_local(kaddr);
	return copied;
}

/*
 * Copy the @len bytes from @src, or of @iter, into @block's reservation
 * from @e[0].dst on, page by page; @page, if not NULL, is the first page.
 * Pages are looked up in the page store, and the last one noted for the
 * next WRITE.
 *
 * Return: as codeheap_write_iter_locked().
 */
static noinline int
codeheap_write_pages_locked(struct codeheap_heap *heap,
			    const struct codeheap_block *block,
			    const struct codeheap_write_entry *e,
			    unsigned long len, const void __user *src,
			    struct iov_iter *iter, struct page *page)
{
	struct codeheap_space *space = block->space;
	unsigned long dst = e[0].dst, copied;

	lockdep_assert_held(&heap->lock);
	for (;;) {
		unsigned long off = offset_in_page(dst);
		unsigned long chunk = min(len, PAGE_SIZE - off);

		if (!page)
			page = xa_load(&heap->pages,
				       codeheap_pgoff(space, dst));
		copied = codeheap_write_chunk_locked(heap, page, off, chunk,
						     src, iter);
		if (unlikely(copied != chunk))
			return codeheap_write_fault_locked(heap, space, e,
							   dst + copied);
		len -= chunk;
		if (!len)
			break;
		dst += chunk;
		if (!iter)
			src += chunk;
		page = NULL;
	}
	heap->wr_page = page;
	heap->wr_addr = round_down(dst, PAGE_SIZE);
	return -1;
}

/*
 * Copy the @len bytes at @src, or of @iter when it is not NULL, into the
 * @len bytes of @block's reservation from @e[0].dst on.  The usual copy,
 * a function into one page the heap knows without an xarray walk
 * (codeheap_write_hint_locked()), is one chunk; any other goes page by
 * page.  If a source faults, the entry of @e holding the first byte not
 * copied is trap-filled.
 *
 * Return: how many entries of @e were copied before the one that faulted,
 * or -1 when all @len bytes were copied.
 */
static __always_inline int
codeheap_write_iter_locked(struct codeheap_heap *heap,
			   const struct codeheap_block *block,
			   const struct codeheap_write_entry *e,
			   unsigned long len, const void __user *src,
			   struct iov_iter *iter)
{
	unsigned long dst = e[0].dst, off = offset_in_page(dst), copied;
	struct page *page;

	lockdep_assert_held(&heap->lock);
	page = codeheap_write_hint_locked(heap, block, dst);
	if (!page || off + len > PAGE_SIZE)
		return codeheap_write_pages_locked(heap, block, e, len, src,
						   iter, page);
	copied = codeheap_write_chunk_locked(heap, page, off, len, src, iter);
	if (unlikely(copied != len))
		return codeheap_write_fault_locked(heap, block->space, e,
						   dst + copied);
	return -1;
}

/*
 * Copy the @n entries from @e on of a run into @block's reservation,
 * whose sources are @segs separate segments: one iovec per segment, one
 * iov_iter over them.  Out of line, to keep the iovecs' stack off the
 * usual path.
 *
 * Return: as codeheap_write_iter_locked().
 */
static noinline int
codeheap_write_iov_run_locked(struct codeheap_heap *heap,
			      const struct codeheap_write_entry *e,
			      unsigned int segs,
			      const struct codeheap_block *block,
			      unsigned int n, unsigned long len)
{
	struct iovec iov[CODEHEAP_WRITE_SEGS];
	unsigned int i, s = 0;
	struct iov_iter iter;

	lockdep_assert_held(&heap->lock);
	iov[0].iov_base = u64_to_user_ptr(e[0].src);
	iov[0].iov_len = e[0].len;
	for (i = 1; i < n; i++) {
		if (e[i].src != e[i - 1].src + e[i - 1].len) {
			iov[++s].iov_base = u64_to_user_ptr(e[i].src);
			iov[s].iov_len = 0;
		}
		iov[s].iov_len += e[i].len;
	}
	iov_iter_init(&iter, ITER_SOURCE, iov, segs, len);
	return codeheap_write_iter_locked(heap, block, e, len, NULL, &iter);
}

/*
 * Copy the @n entries from @e on of a run of @segs source segments into
 * @block's reservation: a plain copy from one source when they follow
 * each other, else through an iov_iter.
 *
 * Return: as codeheap_write_iter_locked().
 */
static __always_inline int
codeheap_write_run_locked(struct codeheap_heap *heap,
			  const struct codeheap_write_entry *e,
			  unsigned int segs, const struct codeheap_block *block,
			  unsigned int n)
{
	unsigned long len = e[n - 1].dst + e[n - 1].len - e[0].dst;
	const void __user *src = u64_to_user_ptr(e[0].src);

	lockdep_assert_held(&heap->lock);
	if (segs != 1)
		return codeheap_write_iov_run_locked(heap, e, segs, block, n,
						     len);
	/*
	 * One source: a plain copy, no iov_iter.  The source passed
	 * access_ok() in this try's codeheap_write_fault_in(), from the same
	 * entries.
	 */
	return codeheap_write_iter_locked(heap, block, e, len, src, NULL);
}

/*
 * One try at the @count entries of @e: check them, fault their sources
 * in, take the heap lock, validate their destinations and copy.
 *
 * Return: 0 or the call's error, or -EAGAIN when a source was paged out
 * again before its copy: its destination is then trap-filled, and *@done
 * is the number of entries copied before it.
 */
static __always_inline int codeheap_write_try(struct codeheap_heap *heap,
					      const struct codeheap_write_entry *e,
					      struct codeheap_write_run *runs,
					      unsigned int count,
					      unsigned int *done)
{
	unsigned int r, first, last;
	int nr, ret, n;

	nr = codeheap_write_scan(e, count, runs);
	if (nr < 0)
		return nr;
	ret = codeheap_write_fault_in(e, runs, nr, count);
	if (ret)
		return ret;

	mutex_lock(&heap->lock);
	ret = codeheap_write_validate_locked(heap, e, runs, nr, count);
	for (r = 0; !ret && r < nr; r++) {
		first = codeheap_run_first(runs, r, count);
		last = codeheap_run_last(runs, r, nr, count);
		n = codeheap_write_run_locked(heap, &e[first],
					      codeheap_run_segs(runs, r, count),
					      runs[r].block, last - first + 1);
		if (n >= 0) {
			*done = first + n;
			ret = -EAGAIN;
		}
	}
	codeheap_heap_unlock(heap);
	return ret;
}

/*
 * Try, and again from the entry that faulted (the heap may have changed
 * meanwhile), at most %CODEHEAP_WRITE_TRIES times after @tries.  @runs is
 * the batch's scratch, or NULL for the retries of a single entry, which
 * has none: its run is then a local here, so that the first try's stays
 * out of memory in codeheap_heap_write().
 */
static noinline int codeheap_write_tries(struct codeheap_heap *heap,
					 const struct codeheap_write_entry *e,
					 struct codeheap_write_run *runs,
					 unsigned int count, unsigned int tries)
{
	struct codeheap_write_run one;
	unsigned int done;
	int ret;

	if (!runs)
		runs = &one;
	for (;;) {
		ret = codeheap_write_try(heap, e, runs, count, &done);
		if (ret != -EAGAIN)
			return ret;
		if (++tries > CODEHEAP_WRITE_TRIES)
			return -EFAULT;
		e += done;
		count -= done;
	}
}

/*
 * The WRITE event, out of line: inlined, the tracepoint's call sequence
 * makes codeheap_heap_write() realign its stack (a frame pointer and two
 * more saved registers on every WRITE, the event disabled or not).  The
 * bytes are summed here, before the event reserves its record.
 */
static noinline void codeheap_write_trace(struct codeheap_heap *heap,
					  const struct codeheap_write_entry *e,
					  unsigned int count, int ret)
{
	u64 bytes = 0;
	unsigned int i;

	for (i = 0; i < count; i++)
		bytes += e[i].len;
	trace_codeheap_write(heap, count, bytes, ret);
}

/**
 * codeheap_heap_write() - CODEHEAP_IOC_WRITE
 * @heap: the heap, owned by the caller
 * @e: the entries, in kernel memory
 * @scratch: %CODEHEAP_WRITE_SCRATCH bytes of room per entry of a batch
 *           (one entry keeps its run in a local)
 * @count: number of entries, at least 1
 *
 * Every entry is checked, every source faulted in and every
 * destination validated before any byte is copied.  Should a source be
 * paged out again before the copy, the entry's destination is trap-filled,
 * and the entries from it on are faulted in, validated and copied again
 * (the heap may have changed meanwhile); a source that then cannot be read
 * fails the call with -EFAULT, earlier entries written.
 *
 * One entry, what a JIT does most (publish a function), runs the same
 * try, inlined with @count the constant 1, so that its loops over entries
 * and runs fold away.
 *
 * Return: 0, -EINVAL, -EOVERFLOW, -ENOENT, -EPERM or -EFAULT.
 */
int codeheap_heap_write(struct codeheap_heap *heap,
			const struct codeheap_write_entry *e, void *scratch,
			unsigned int count)
{
	struct codeheap_write_run *runs = scratch, one;
	unsigned int done;
	int ret;

	BUILD_BUG_ON(sizeof(*runs) > CODEHEAP_WRITE_SCRATCH);
	if (count != 1) {
		ret = codeheap_write_tries(heap, e, runs, count, 0);
	} else {
		/*
		 * Its one run in a local, which the compiler keeps out of
		 * memory (no stack canary, no zeroing) as long as its address
		 * goes nowhere: its retries have their own.
		 */
		ret = codeheap_write_try(heap, e, &one, 1, &done);
		if (ret == -EAGAIN)
			ret = codeheap_write_tries(heap, e + done, NULL,
						   1 - done, 1);
	}
	if (trace_codeheap_write_enabled())
		codeheap_write_trace(heap, e, count, ret);
	return ret;
}
