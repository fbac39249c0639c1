// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: jump tables (V8's jump table and far jump table, kernel-owned).
 *
 * A table is one sealed block of the heap: nr_slots near slots, then, at
 * the next far-slot boundary, nr_slots far slots, far slot i serving near
 * slot i when its target is beyond near reach.  Only the kernel writes it,
 * through its own mapping of the pages, and only with targets it checked:
 * the table's default, or an address inside a live user allocation of the
 * same heap.  Each slot is on its target block's jt_refs list, so FREE
 * resets exactly the slots that jump into the freed block, without a scan.
 *
 * Patch protocol (Documentation/jumptable-encoding.rst): a far slot's code
 * word is written once, before any near slot leads to it; afterwards only
 * its target word changes.  The near slot changes last, with one aligned
 * store.  A thread calling through the slot meanwhile reaches the old
 * target or the new one.
 */

#include <linux/compat.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "heap.h"
#include "trace.h"

/**
 * struct codeheap_jt_slot - kernel state of one jump-table slot
 * @link: link in the target block's &codeheap_block.jt_refs, when @block
 * @jt: the table
 * @block: the allocation the slot jumps into, or NULL for the default
 * @target: the slot's target (0: trap)
 * @far_ready: the slot's far slot holds its jump code; from then on only
 *             its target word is ever stored
 * @far_live: the near slot leads to the far slot (its target is beyond near
 *            reach); otherwise a far slot that is @far_ready points back at
 *            its own near slot (Documentation/jumptable-encoding.rst)
 */
struct codeheap_jt_slot {
	struct hlist_node link;
	struct codeheap_jt *jt;
	struct codeheap_block *block;
	u64 target;
	bool far_ready;
	bool far_live;
};

/**
 * struct codeheap_jt - a jump table
 * @id: its id in &codeheap_heap.jts
 * @nr_slots: number of slots
 * @default_target: what a slot jumps to until patched (0: trap)
 * @default_block: the allocation holding @default_target, or NULL
 * @block: the sealed allocation holding the near slots, then the far slots
 * @near_base: address of near slot 0
 * @far_base: address of far slot 0
 * @ia32: created by a 32-bit (compat) caller: its code runs in 32-bit mode,
 *        where every target is in jmp rel32 reach and far slots must not be
 *        used (x86-64 only)
 * @page0: page number (address >> PAGE_SHIFT) of the block's first byte
 * @kaddrs: the kernel addresses (direct map: x86-64 and arm64 have no
 *          highmem) of the block's pages, from @page0 on: stable, since a
 *          sealed block's pages are never decommitted, so a patch finds
 *          where to store without an xarray walk or a page_address()
 * @slots: per-slot state
 *
 * Protected by &codeheap_heap.lock.
 */
struct codeheap_jt {
	u32 id;
	u32 nr_slots;
	u64 default_target;
	struct codeheap_block *default_block;
	struct codeheap_block *block;
	unsigned long near_base;
	unsigned long far_base;
	bool ia32;
	unsigned long page0;
	void **kaddrs;
	struct codeheap_jt_slot slots[];
};

/* The route type of the architecture the module is built for. */
#if defined(CONFIG_X86_64)
#define codeheap_route codeheap_x86_64_route
#else
#define codeheap_route codeheap_arm64_route
#endif

static unsigned long codeheap_jt_near(const struct codeheap_jt *jt, u32 i)
{
	return jt->near_base + (unsigned long)i * CODEHEAP_JT_NEAR_SLOT_SIZE;
}

static unsigned long codeheap_jt_far(const struct codeheap_jt *jt, u32 i)
{
	return jt->far_base + (unsigned long)i * CODEHEAP_JT_FAR_SLOT_SIZE;
}

/**
 * struct codeheap_jt_view - the fields of a table that a slot store reads
 * @jt: the table
 * @slots: @jt's slots
 * @kaddrs: @jt's kaddrs
 * @page0: @jt's page0
 * @near_base: @jt's near_base
 * @ia32: @jt's ia32
 *
 * Copied into a local once per command: every store into a slot's state
 * could alias the table (the kernel builds with -fno-strict-aliasing), so
 * the compiler would reload the table's fields for each slot of a batch;
 * a local whose address never leaves the command stays in registers.
 */
struct codeheap_jt_view {
	struct codeheap_jt *jt;
	struct codeheap_jt_slot *slots;
	void **kaddrs;
	unsigned long page0;
	unsigned long near_base;
	bool ia32;
};

static __always_inline struct codeheap_jt_view
codeheap_jt_view(struct codeheap_jt *jt)
{
	return (struct codeheap_jt_view) {
		.jt = jt,
		.slots = jt->slots,
		.kaddrs = jt->kaddrs,
		.page0 = jt->page0,
		.near_base = jt->near_base,
		.ia32 = IS_ENABLED(CONFIG_X86_64) && jt->ia32,
	};
}

/* The kernel address of byte @addr of a table's block. */
static __always_inline void *codeheap_jt_kaddr(const struct codeheap_jt_view *v,
					       unsigned long addr)
{
	return v->kaddrs[(addr >> PAGE_SHIFT) - v->page0] +
	       offset_in_page(addr);
}

/* Bytes of a table's block: near slots, padding, far slots. */
static unsigned long codeheap_jt_len(u32 nr_slots)
{
	unsigned long near = ALIGN((unsigned long)nr_slots *
				   CODEHEAP_JT_NEAR_SLOT_SIZE,
				   CODEHEAP_JT_FAR_SLOT_SIZE);

	return ALIGN(near + (unsigned long)nr_slots * CODEHEAP_JT_FAR_SLOT_SIZE,
		     CODEHEAP_CODE_ALIGN);
}

/* Pages of a table of @nr_slots, wherever its block starts. */
static unsigned long codeheap_jt_nr_pages(u32 nr_slots)
{
	return codeheap_jt_len(nr_slots) / PAGE_SIZE + 2;
}

/*
 * One aligned store of @size (4 or 8) bytes into the table's code, through
 * the kernel's mapping of its page, single-copy atomic: a thread executing
 * the word sees the old or the new value.  Then the instruction cache is
 * cleaned (every CPU synchronised when the command drops the lock: heap.h).
 * The table's pages stay committed while it lives.
 */
static __always_inline void codeheap_jt_poke(struct codeheap_heap *heap,
					     const struct codeheap_jt_view *v,
					     unsigned long addr, u64 val,
					     unsigned int size)
{
	void *kaddr = codeheap_jt_kaddr(v, addr);

	if (size == 8)
		WRITE_ONCE(*(u64 *)kaddr, val);
	else
		WRITE_ONCE(*(u32 *)kaddr, lower_32_bits(val));
	codeheap_icache_clean(heap, kaddr, size);
}

/* The rest of codeheap_jt_store_locked(): 32-bit tables and far slots. */
static noinline void codeheap_jt_store_slow_locked(struct codeheap_heap *heap,
						   struct codeheap_jt *jt,
						   u32 i, u64 target)
{
	unsigned long near = codeheap_jt_near(jt, i);
	unsigned long far = codeheap_jt_far(jt, i);
	struct codeheap_jt_slot *slot = &jt->slots[i];
	struct codeheap_jt_view view = codeheap_jt_view(jt);
	const struct codeheap_jt_view *v = &view;
	struct codeheap_route route;
	u64 __maybe_unused insn;

	lockdep_assert_held(&heap->lock);
#if defined(CONFIG_X86_64)
	if (jt->ia32) {
		if (!WARN_ON_ONCE(codeheap_x86_64_near_encode_ia32(near, target,
								   &insn)))
			codeheap_jt_poke(heap, v, near, insn, 8);
		return;
	}
#endif
	if (!target) {
		codeheap_jt_poke(heap, v, near, CODEHEAP_JT_NEAR_TRAP,
				 CODEHEAP_JT_NEAR_SLOT_SIZE);
		goto idle;
	}
	/* The far slot is in the same block, always within near reach. */
	if (WARN_ON_ONCE(codeheap_arch_route(near, far, target, &route)))
		return;
	if (route.via_far) {
		codeheap_jt_poke(heap, v, far + 8, route.far.target, 8);
		if (!slot->far_ready) {
			codeheap_jt_poke(heap, v, far, route.far.code, 8);
			slot->far_ready = true;
			/*
			 * The far slot's code changes from traps to ldr; br,
			 * which no CPU may still fetch stale once the near
			 * slot jumps there (arm64: not one of the
			 * instructions that may be modified while they run).
			 */
			codeheap_icache_sync(heap);
		}
	}
	codeheap_jt_poke(heap, v, near, route.near, CODEHEAP_JT_NEAR_SLOT_SIZE);
	slot->far_live = route.via_far;
	if (route.via_far)
		return;
idle:
	/*
	 * Routing protocol, step 4: the near word first, then the idle far
	 * slot back at its own near slot, so it keeps no old target.
	 */
	if (slot->far_ready) {
		codeheap_jt_poke(heap, v, far + 8, near, 8);
		slot->far_live = false;
	}
}

/*
 * Make slot @i of @v's table jump to @target (0: trap) in the code: the
 * one slot store.  Inline: JT_PATCH runs it for every slot of a batch,
 * and most targets are in near reach of a 64-bit table's slot, one inline
 * encode and one store; the rest is out of line.
 */
static __always_inline void
codeheap_jt_store_locked(struct codeheap_heap *heap,
			 const struct codeheap_jt_view *v, u32 i, u64 target)
{
	unsigned long near = v->near_base +
			     (unsigned long)i * CODEHEAP_JT_NEAR_SLOT_SIZE;
	u64 __maybe_unused insn;

	lockdep_assert_held(&heap->lock);
	/* A slot whose far slot is in use goes the slow way: it is idled. */
	if (unlikely(v->slots[i].far_live))
		goto slow;
	if (!target) {
		codeheap_jt_poke(heap, v, near, CODEHEAP_JT_NEAR_TRAP,
				 CODEHEAP_JT_NEAR_SLOT_SIZE);
		return;
	}
#if defined(CONFIG_X86_64)
	if (!v->ia32 && !codeheap_x86_64_near_encode(near, target, &insn)) {
		codeheap_jt_poke(heap, v, near, insn, CODEHEAP_JT_NEAR_SLOT_SIZE);
		return;
	}
#endif
slow:
	/* The table, not @v: @v's address never leaves its command. */
	codeheap_jt_store_slow_locked(heap, v->jt, i, target);
}

/* Put @slot on the reverse index of @block (NULL: the default's). */
static __always_inline void codeheap_jt_link(struct codeheap_jt_slot *slot,
					     struct codeheap_block *block)
{
	struct codeheap_block *old = slot->block;

	if (old == block)
		return;
	slot->block = block;
	if (!block) {
		hlist_del_init(&slot->link);
	} else {
		/* Linked iff it had a block: move it, no re-init. */
		if (old)
			__hlist_del(&slot->link);
		hlist_add_head(&slot->link, &block->jt_refs);
	}
}

/*
 * Point slot @i of @v's table at @target, inside @block (NULL: the
 * default): its state, then its code.
 */
static __always_inline void
codeheap_jt_set_locked(struct codeheap_heap *heap,
		       const struct codeheap_jt_view *v, u32 i, u64 target,
		       struct codeheap_block *block)
{
	struct codeheap_jt_slot *slot = &v->slots[i];

	lockdep_assert_held(&heap->lock);
	codeheap_jt_link(slot, block);
	slot->target = target;
	codeheap_jt_store_locked(heap, v, i, target);
}

/**
 * codeheap_jt_prepare_locked() - check a new table's default, give it an id
 * @heap: the heap
 * @jt: the table, with @nr_slots and @default_target set
 *
 * Context: @heap->lock held, before the table's block is committed.
 * Return: 0, -EINVAL (the default lies in a jump table, or in a
 * reservation outside any allocation) or -ENOMEM.
 */
int codeheap_jt_prepare_locked(struct codeheap_heap *heap,
			       struct codeheap_jt *jt)
{
	struct codeheap_block *block = NULL;

	lockdep_assert_held(&heap->lock);
	if (jt->default_target) {
		block = codeheap_block_containing(heap, jt->default_target);
		/*
		 * Inside the heap, only a live allocation may be the default
		 * (FREE refuses it while it is one; the end of its reservation
		 * turns the default into the trap); free heap memory is handed
		 * to the next ALLOC, whose code the slots would reach.
		 */
		if (block ? !!block->jt :
		    !!codeheap_space_find(heap, jt->default_target))
			return -EINVAL;
	}
	jt->default_block = block;
	return xa_alloc(&heap->jts, &jt->id, jt, xa_limit_31b,
			CODEHEAP_GFP);
}

/**
 * codeheap_jt_unprepare_locked() - undo codeheap_jt_prepare_locked()
 * @heap: the heap
 * @jt: the table
 *
 * Context: @heap->lock held.
 */
void codeheap_jt_unprepare_locked(struct codeheap_heap *heap,
				  struct codeheap_jt *jt)
{
	lockdep_assert_held(&heap->lock);
	xa_erase(&heap->jts, jt->id);
	if (heap->jt_hint == jt)
		heap->jt_hint = NULL;
}

/* Table @id, or NULL: the last one looked up is found without the xarray. */
static struct codeheap_jt *codeheap_jt_find_locked(struct codeheap_heap *heap,
						   u32 id)
{
	struct codeheap_jt *jt = heap->jt_hint;

	lockdep_assert_held(&heap->lock);
	if (!jt || jt->id != id) {
		jt = xa_load(&heap->jts, id);
		if (jt)
			heap->jt_hint = jt;
	}
	return jt;
}

/**
 * codeheap_jt_attach_locked() - lay a prepared table into its block
 * @heap: the heap
 * @jt: the table, prepared
 * @block: its freshly allocated, committed block
 *
 * Seals the block, fills the far slots with traps (the block already is)
 * and points every near slot at the default.
 *
 * Context: @heap->lock held.
 */
void codeheap_jt_attach_locked(struct codeheap_heap *heap,
			       struct codeheap_jt *jt,
			       struct codeheap_block *block)
{
	struct codeheap_space *space = block->space;
	struct codeheap_jt_view v;
	unsigned long addr, n = 0;
	u32 i;

	lockdep_assert_held(&heap->lock);
	block->jt = jt;
	block->sealed = true;
	jt->block = block;
	jt->page0 = block->start >> PAGE_SHIFT;
	for (addr = round_down(block->start, PAGE_SIZE);
	     addr < block->start + block->len; addr += PAGE_SIZE)
		jt->kaddrs[n++] = page_address(xa_load(&heap->pages,
						       codeheap_pgoff(space,
								      addr)));
	jt->near_base = block->start;
	jt->far_base = block->start +
		ALIGN((unsigned long)jt->nr_slots * CODEHEAP_JT_NEAR_SLOT_SIZE,
		      CODEHEAP_JT_FAR_SLOT_SIZE);
	if (jt->default_block)
		jt->default_block->jt_defaults++;
	heap->nr_jts++;

	v = codeheap_jt_view(jt);
	for (i = 0; i < jt->nr_slots; i++) {
		INIT_HLIST_NODE(&jt->slots[i].link);
		jt->slots[i].jt = jt;
		jt->slots[i].target = jt->default_target;
		if (jt->default_target)
			codeheap_jt_store_locked(heap, &v, i,
						 jt->default_target);
	}
}

/**
 * codeheap_heap_jt_create() - CODEHEAP_IOC_JT_CREATE
 * @heap: the heap, owned by the caller
 * @arg: the request; its output fields are set on success
 * @undo: see codeheap_block_alloc()
 *
 * Return: 0 or a negative errno as documented in struct codeheap_jt_create.
 */
int codeheap_heap_jt_create(struct codeheap_heap *heap,
			    struct codeheap_jt_create *arg,
			    struct codeheap_undo *undo)
{
	u64 hi = codeheap_window_end(arg->lo, arg->hi), limit = TASK_SIZE;
	bool ia32 = IS_ENABLED(CONFIG_X86_64) && in_compat_syscall();
	struct codeheap_jt *jt;
	u64 addr;
	int ret;

	/*
	 * A 32-bit caller's table runs 32-bit code (any process may make
	 * one, through int $0x80): it lies below 4 GiB, and so do its
	 * default and targets, which jmp rel32 then always reaches.
	 */
	if (ia32)
		limit = min_t(u64, limit, 1ULL << 32);
	if (arg->flags || arg->__reserved || !arg->nr_slots || !hi ||
	    arg->default_target >= limit ||
	    arg->default_target % CODEHEAP_ARCH_TARGET_ALIGN)
		return -EINVAL;
	if (arg->nr_slots > CODEHEAP_JT_MAX_SLOTS)
		return -E2BIG;
	if (arg->default_target &&
	    !codeheap_default_ok(heap, arg->default_target))
		return -EINVAL;
	if (ia32) {
		if (arg->lo >= limit)
			return -ENOSPC;
		hi = min(hi, limit);
	}

	jt = kvzalloc(struct_size(jt, slots, arg->nr_slots) +
		      codeheap_jt_nr_pages(arg->nr_slots) * sizeof(*jt->kaddrs),
		      CODEHEAP_GFP);
	if (!jt)
		return -ENOMEM;
	jt->kaddrs = (void **)&jt->slots[arg->nr_slots];
	jt->ia32 = ia32;
	jt->nr_slots = arg->nr_slots;
	jt->default_target = arg->default_target;

	ret = codeheap_block_alloc(heap, codeheap_jt_len(arg->nr_slots),
				   CODEHEAP_CODE_ALIGN, arg->lo, hi, 0, jt,
				   &addr, undo);
	if (ret) {
		kvfree(jt);
		return ret;
	}
	arg->base = addr;
	arg->id = jt->id;
	arg->slot_size = CODEHEAP_JT_NEAR_SLOT_SIZE;
	return 0;
}

/*
 * The block a slot may target with @target, or an error pointer: -EINVAL
 * for a target no branch of the architecture can reach (arm64: not 4-byte
 * aligned), found here, before any slot changes; -ENOENT for one in no
 * live allocation.
 */
static struct codeheap_block *
codeheap_jt_target_locked(struct codeheap_heap *heap, struct codeheap_jt *jt,
			  u64 target)
{
	struct codeheap_block *block;

	lockdep_assert_held(&heap->lock);
	if (target == jt->default_target)
		return NULL;
	if (target % CODEHEAP_ARCH_TARGET_ALIGN)
		return ERR_PTR(-EINVAL);
	block = target <= ULONG_MAX ?
		codeheap_block_containing(heap, target) : NULL;
	/* A 32-bit table reaches below 4 GiB only (see JT_CREATE). */
	if (!block || block->jt || (jt->ia32 && target >> 32))
		return ERR_PTR(-ENOENT);
	return block;
}

/* JT_PATCH: validate every entry, then apply them in order. */
static __always_inline int
codeheap_jt_patch(struct codeheap_heap *heap, u32 id,
		  const struct codeheap_jt_patch_entry *entries,
		  struct codeheap_block **blocks, u32 count)
{
	struct codeheap_jt_view v __uninitialized;
	struct codeheap_block *last = NULL;
	u64 lstart = 0, llen = 0, def;
	struct codeheap_jt *jt;
	u32 nr_slots, i;
	int ret = 0;

	mutex_lock(&heap->lock);
	jt = codeheap_jt_find_locked(heap, id);
	if (!jt) {
		ret = -ENOENT;
		goto out_unlock;
	}
	/* In locals: the stores to blocks[] would make the compiler reload. */
	nr_slots = jt->nr_slots;
	def = jt->default_target;
	for (i = 0; i < count; i++) {
		const struct codeheap_jt_patch_entry *pe = &entries[i];
		u64 target = pe->target;

		if (pe->__reserved) {
			ret = -EINVAL;
			goto out_unlock;
		}
		if (pe->slot >= nr_slots) {
			ret = -ENOENT;
			goto out_unlock;
		}
		/* Batches often aim several slots into one function. */
		if (target == def) {
			blocks[i] = NULL;
		} else if (target - lstart < llen) {
			blocks[i] = last;
		} else {
			last = codeheap_jt_target_locked(heap, jt, target);
			if (IS_ERR(last)) {
				ret = PTR_ERR(last);
				goto out_unlock;
			}
			lstart = last->start;
			llen = last->len;
			blocks[i] = last;
		}
	}
	v = codeheap_jt_view(jt);
	for (i = 0; i < count; i++)
		codeheap_jt_set_locked(heap, &v, entries[i].slot,
				       entries[i].target, blocks[i]);
out_unlock:
	codeheap_heap_unlock(heap);
	return ret;
}

/**
 * codeheap_jt_id() - a jump table's id, for debugfs
 * @jt: the table
 *
 * Return: the id JT_CREATE gave it.
 */
u32 codeheap_jt_id(const struct codeheap_jt *jt)
{
	return jt->id;
}

/**
 * codeheap_heap_jt_patch() - CODEHEAP_IOC_JT_PATCH
 * @heap: the heap, owned by the caller
 * @id: the table
 * @entries: the entries, in kernel memory
 * @scratch: %CODEHEAP_JT_PATCH_SCRATCH bytes of room per entry of a
 *           batch (one entry keeps its block pointer in a local)
 * @count: number of entries, at least 1
 *
 * Validates every entry, then applies them in order.  One entry, what a
 * JIT does most (retarget a call), runs the same code inlined with @count
 * the constant 1, its loops folded and its block pointer in a register.
 *
 * Return: 0, -EINVAL (non-zero reserved field, or a target no branch can
 * reach) or -ENOENT.
 */
int codeheap_heap_jt_patch(struct codeheap_heap *heap, u32 id,
			   const struct codeheap_jt_patch_entry *entries,
			   void *scratch, u32 count)
{
	struct codeheap_block *one;
	int ret;

	BUILD_BUG_ON(sizeof(one) > CODEHEAP_JT_PATCH_SCRATCH);
	if (count == 1)
		ret = codeheap_jt_patch(heap, id, entries, &one, 1);
	else
		ret = codeheap_jt_patch(heap, id, entries, scratch, count);
	trace_codeheap_jt_patch(heap, id, count, ret);
	return ret;
}

/*
 * Where a call through slot @i goes, read from the table's code: the near
 * slot, and its far slot when the near slot leads there.  Only the kernel
 * writes the table, so this is always the slot's recorded target; if it
 * ever were not, the code is what counts.
 */
static u64 codeheap_jt_decode_locked(struct codeheap_heap *heap,
				     struct codeheap_jt *jt, u32 i)
{
	unsigned long near = codeheap_jt_near(jt, i), far = codeheap_jt_far(jt, i);
	struct codeheap_jt_view v = codeheap_jt_view(jt);
	const u64 *fk = codeheap_jt_kaddr(&v, far);
	struct codeheap_far_slot fs = {
		.code = READ_ONCE(fk[0]),
		.target = READ_ONCE(fk[1]),
	};
	u64 target;

	lockdep_assert_held(&heap->lock);
#if defined(CONFIG_X86_64)
	if (codeheap_arch_resolve(near, READ_ONCE(*(u64 *)codeheap_jt_kaddr(&v, near)),
				  far, &fs, &target))
		target = ~0ULL;
	/* 32-bit code wraps at 4 GiB (codeheap_x86_64_near_encode_ia32()). */
	if (jt->ia32)
		target = lower_32_bits(target);
#else
	if (codeheap_arch_resolve(near, READ_ONCE(*(u32 *)codeheap_jt_kaddr(&v, near)),
				  far, &fs, &target))
		target = ~0ULL;
#endif
	WARN_ON_ONCE(target != jt->slots[i].target);
	return target;
}

/**
 * codeheap_heap_jt_query() - CODEHEAP_IOC_JT_QUERY
 * @heap: the heap
 * @arg: the request; @arg->target is set on success
 *
 * Reports the target decoded from the slot's code, so what user space sees
 * is what a call through the slot does.
 *
 * Return: 0 or -ENOENT.
 */
int codeheap_heap_jt_query(struct codeheap_heap *heap,
			   struct codeheap_jt_query *arg)
{
	struct codeheap_jt *jt;
	int ret = 0;

	mutex_lock(&heap->lock);
	jt = codeheap_jt_find_locked(heap, arg->id);
	if (!jt || arg->slot >= jt->nr_slots)
		ret = -ENOENT;
	else
		arg->target = codeheap_jt_decode_locked(heap, jt, arg->slot);
	codeheap_heap_unlock(heap);
	return ret;
}

/* Take a table out of the heap's bookkeeping; its block stays. */
static void codeheap_jt_unlink_locked(struct codeheap_heap *heap,
				      struct codeheap_jt *jt)
{
	u32 i;

	lockdep_assert_held(&heap->lock);
	codeheap_jt_unprepare_locked(heap, jt);
	for (i = 0; i < jt->nr_slots; i++)
		if (jt->slots[i].block)
			hlist_del_init(&jt->slots[i].link);
	if (jt->default_block)
		jt->default_block->jt_defaults--;
	heap->nr_jts--;
}

/**
 * codeheap_heap_jt_destroy() - CODEHEAP_IOC_JT_DESTROY
 * @heap: the heap, owned by the caller
 * @id: the table
 *
 * Return: 0, -ENOENT or -ENOMEM (no pool node could be kept ready).
 */
int codeheap_heap_jt_destroy(struct codeheap_heap *heap, u32 id)
{
	struct codeheap_jt *jt;
	int ret;

	ret = codeheap_lock_spare(heap);
	if (ret)
		return ret;
	jt = codeheap_jt_find_locked(heap, id);
	if (jt) {
		codeheap_jt_unlink_locked(heap, jt);
		codeheap_block_free_locked(heap, jt->block);
	} else {
		ret = -ENOENT;
	}
	codeheap_heap_unlock(heap);
	kvfree(jt);
	return ret;
}

/**
 * codeheap_jt_unref_block_locked() - reset the slots that jump into a block
 * @heap: the heap
 * @block: a block about to be freed
 *
 * Every slot on @block's reverse index goes back to its table's default
 * before the block's memory is refilled with traps (uapi/linux/codeheap.h,
 * "Jump tables").
 *
 * Context: @heap->lock held.
 */
void codeheap_jt_unref_block_locked(struct codeheap_heap *heap,
				    struct codeheap_block *block)
{
	struct codeheap_jt_slot *slot;
	struct codeheap_jt_view v;
	struct hlist_node *tmp;

	lockdep_assert_held(&heap->lock);
	hlist_for_each_entry_safe(slot, tmp, &block->jt_refs, link) {
		v = codeheap_jt_view(slot->jt);
		codeheap_jt_set_locked(heap, &v, slot - v.slots,
				       v.jt->default_target, NULL);
	}
}

/**
 * codeheap_jt_space_end_locked() - a reservation ends: its tables go with it
 * @heap: the heap
 * @space: the reservation, about to have its blocks freed
 *
 * Destroys the tables laid in @space, and gives every other table whose
 * default is an allocation in @space the trap as its default, storing the
 * trap into its slots at the default.  The caller then resets the slots
 * that target @space's blocks (codeheap_jt_unref_block_locked()), so no
 * slot is left pointing into it (uapi/linux/codeheap.h, "Jump tables").
 *
 * Context: @heap->lock held.
 */
void codeheap_jt_space_end_locked(struct codeheap_heap *heap,
				  struct codeheap_space *space)
{
	struct codeheap_jt_view v;
	struct codeheap_jt *jt;
	unsigned long id;
	u32 i;

	lockdep_assert_held(&heap->lock);
	xa_for_each(&heap->jts, id, jt) {
		if (jt->block->space == space) {
			codeheap_jt_unlink_locked(heap, jt);
			jt->block->jt = NULL;
			kvfree(jt);
			continue;
		}
		/*
		 * Only a default that is an allocation here: a default outside
		 * the heap is the caller's own code, whatever is mapped there
		 * later (a failed ALLOC's rollback must not change it).
		 */
		if (!jt->default_block || jt->default_block->space != space)
			continue;
		jt->default_block->jt_defaults--;
		jt->default_block = NULL;
		jt->default_target = 0;
		v = codeheap_jt_view(jt);
		for (i = 0; i < jt->nr_slots; i++)
			if (!jt->slots[i].block)
				codeheap_jt_set_locked(heap, &v, i, 0, NULL);
		cond_resched();
	}
}

/**
 * codeheap_jt_destroy_all() - free every table's state at heap teardown
 * @heap: the heap, with no other reference left
 *
 * The blocks themselves are freed with the heap's other blocks.
 */
void codeheap_jt_destroy_all(struct codeheap_heap *heap)
{
	struct codeheap_jt *jt;
	unsigned long id;

	xa_for_each(&heap->jts, id, jt)
		kvfree(jt);
	xa_destroy(&heap->jts);
}
