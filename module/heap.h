/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codeheap: the heap's structs and the interfaces of the module's parts.
 *
 * Parts, and what each calls (Documentation/design.rst, "Parts"):
 *
 *   main.c       the device, its file operations, sysfs -> ioctl.c, mmap.c,
 *                                                         heap.c
 *   ioctl.c      the op table, copy-in and copy-out     -> the commands
 *   mmap.c       .mmap, .fault, .close; map, revoke     -> space.c, heap.c
 *   heap.c       heap lifetime, STATS, a space's end    -> jumptable.c,
 *                                                         block.c, space.c
 *   jumptable.c  JT_CREATE, JT_PATCH, JT_QUERY, ...     -> block.c, arch/
 *   write.c      WRITE                                  -> pages.c
 *   block.c      ALLOC, FREE, SEAL, LOOKUP, growth      -> space.c, pages.c
 *   space.c      RESERVE, RELEASE                       -> pages.c
 *   pages.c      the page store; COMMIT, DECOMMIT,      -> mmap.c (map,
 *                PROTECT                                   revoke)
 *   debugfs.c    the debugfs view                       -> heap.c, block.c
 *   account.c    limits, global and per-user counters
 *   pool.c, arch/: pure.  The tree lookups below are inline and used by
 *   every part.
 *
 * Lock order, outermost first:
 *
 *   codeheap_debugfs_lock (debugfs.c: the list of heaps "heaps" reads)
 *   heap->space_lock  (RESERVE, RELEASE, growth: held across vm_mmap()
 *                      and vm_munmap(), which take mmap_lock)
 *   mmap_lock         (taken for read by commands that map pages; the mm
 *                      takes it around .mmap, .close and .fault; ALLOC
 *                      trylocks it under heap->lock, falling back to
 *                      dropping heap->lock first)
 *   heap->lock        (every field of the heap not stated otherwise)
 *   page lock         (decommit and revoke wait for in-flight faults)
 *   i_mmap_rwsem      (unmap_mapping_range())
 *
 * The fault path takes neither heap lock: it finds pages in heap->pages
 * under RCU and synchronises with revocation through the page lock.
 * Nothing copies from or to user memory under heap->lock with page faults
 * enabled, since a fault takes mmap_lock.
 */
#ifndef _CODEHEAP_HEAP_H
#define _CODEHEAP_HEAP_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <linux/codeheap.h>

#include <asm/cacheflush.h>

struct seq_file;
#if defined(CONFIG_ARM64)
#include <asm/cache.h>
#include <asm/cpufeature.h>

/* CTR_EL0.L1Ip of a VIPT I-cache (0b10, generated/asm/sysreg-defs.h). */
#define CODEHEAP_CTR_L1IP_VIPT	2
#endif

#include "arch/encode.h"
#include "compat.h"
#include "pool.h"

/*
 * Every allocation on behalf of user space: charged to the caller's memory
 * cgroup, and never a reason to OOM-kill anyone.  __GFP_RETRY_MAYFAIL makes
 * a charge over the cgroup's memory.max, or a machine out of memory, fail
 * with ENOMEM after reclaim instead of invoking the OOM killer (see
 * try_charge_memcg() in mm/memcontrol.c and the gfp.h documentation).
 */
#define CODEHEAP_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* Hard ceiling of the max_batch parameter: bounds one call's kernel work. */
#define CODEHEAP_BATCH_HARD_MAX 65536U

#if defined(CONFIG_X86_64)
#define CODEHEAP_ARCH			CODEHEAP_ARCH_X86_64
#define CODEHEAP_JT_NEAR_TRAP		CODEHEAP_X86_64_NEAR_TRAP
#define CODEHEAP_DEFAULT_MAX_RESERVATION	(1024UL << 20)
#elif defined(CONFIG_ARM64)
#define CODEHEAP_ARCH			CODEHEAP_ARCH_ARM64
#define CODEHEAP_JT_NEAR_TRAP		CODEHEAP_ARM64_BRK
#define CODEHEAP_DEFAULT_MAX_RESERVATION	(128UL << 20)
#else
#error "codeheap supports x86-64 and arm64 only"
#endif

/* Both have every page in the direct map: page_address() never fails. */
#ifdef CONFIG_HIGHMEM
#error "codeheap assumes no highmem"
#endif

/* One source of truth for the slot layout: the encoders. */
#define CODEHEAP_CODE_ALIGN		CODEHEAP_ARCH_CODE_ALIGN
#define CODEHEAP_JT_NEAR_SLOT_SIZE	CODEHEAP_ARCH_NEAR_SLOT_SIZE
#define CODEHEAP_JT_FAR_SLOT_SIZE	CODEHEAP_ARCH_FAR_SLOT_SIZE

/*
 * Per code space overhead in V8's ReservationSize(): room kept for the
 * space's far jump table.  A grown space is at least twice this.
 */
#define CODEHEAP_SPACE_OVERHEAD		(64UL << 10)

/* Freed block structs a heap keeps for reuse. */
#define CODEHEAP_BLOCK_CACHE		16
/* Decommitted pages a heap keeps for its next commits (heap->kept). */
#define CODEHEAP_KEPT_PAGES		16

/* xarray mark of a committed page that PROTECT made inaccessible. */
#define CODEHEAP_MARK_NONE		XA_MARK_0

/**
 * struct codeheap_limits - the module parameters in force
 * @max_reservation_size: largest single reservation, bytes
 * @max_heap_committed: most committed bytes per heap
 * @max_total_committed: most committed bytes over all heaps
 * @max_user_committed: most committed bytes over the heaps of one user
 * @max_batch: most entries per batched call
 *
 * A snapshot taken with codeheap_limits_get(): each field is read once, so a
 * command sees one consistent value even while an administrator writes the
 * parameter.
 */
struct codeheap_limits {
	unsigned long max_reservation_size;
	unsigned long max_heap_committed;
	unsigned long max_total_committed;
	unsigned long max_user_committed;
	unsigned int max_batch;
};

/**
 * struct codeheap_space - a reservation (V8's code space)
 * @node: link in &codeheap_heap.spaces, keyed by @start
 * @start: first address
 * @end: one past the last address
 * @pgoff: file offset, in pages, of @start: never used twice in the heap,
 *         so unmap_mapping_range() on the heap's mapping touches this
 *         space alone
 * @task: while RESERVE maps it, the task doing so (the only one whose
 *        mmap() of the device is accepted); NULL afterwards
 * @nr_blocks: live allocations inside
 * @linked: .mmap accepted the mapping and linked the space into the heap;
 *          false again once it ended (codeheap_space_end_locked()), when
 *          whoever holds the struct frees it
 * @releasing: RELEASE took its free range out of the pool and is unmapping it
 * @pool_spare: the pool node that adds the new space to the pool
 *
 * All fields but @pgoff are protected by &codeheap_heap.lock once RESERVE
 * published the space in &codeheap_heap.reserving; from the moment it is
 * @linked, the owner's munmap() may end and free it, so nobody but the
 * holder of the lock touches it.
 */
struct codeheap_space {
	struct rb_node node;
	unsigned long start;
	unsigned long end;
	pgoff_t pgoff;
	struct task_struct *task;
	unsigned long nr_blocks;
	bool linked;
	bool releasing;
	struct codeheap_pool_node *pool_spare;
};

struct codeheap_jt;
struct codeheap_user;

/**
 * struct codeheap_undo - what a successful ALLOC or JT_CREATE changed
 * @len: bytes of the block it allocated
 * @peak_allocated: the heap's peak of allocated bytes before it
 * @peak_committed: the heap's peak of committed bytes before it
 * @grown: the reservations it made to find room, by address
 * @grown_id: and by file offset, which no other reservation ever has
 * @nr_grown: entries of @grown
 * @nr_kept: &codeheap_heap.nr_kept before the call
 *
 * Filled by codeheap_block_alloc(), so that a command whose answer cannot
 * be written can take everything back (codeheap_heap_undo()).
 */
struct codeheap_undo {
	unsigned long len;
	unsigned long peak_allocated;
	unsigned long peak_committed;
	unsigned long grown[2];
	pgoff_t grown_id[2];
	unsigned int nr_grown;
	unsigned int nr_kept;
};

/**
 * struct codeheap_block - an allocation
 * @node: link in &codeheap_heap.blocks, keyed by @start
 * @start: first address, aligned to at least %CODEHEAP_CODE_ALIGN
 * @len: length in bytes, a multiple of %CODEHEAP_CODE_ALIGN
 * @tag: the user's tag
 * @space: the reservation it lies in
 * @page: the committed page holding @start: a live block's pages are never
 *        decommitted, so WRITE and FREE reach it without an xarray walk
 * @sealed: SEAL made it immutable (jump tables are born sealed)
 * @jt: the jump table whose slots this block holds, or NULL
 * @jt_refs: slots (struct codeheap_jt_slot.link) that jump into this
 *           block: the reverse index FREE uses to reset them.  An hlist:
 *           retargeting a slot unlinks and links it in a few stores
 * @jt_defaults: live jump tables whose default target lies in this block
 *
 * Protected by &codeheap_heap.lock.
 */
struct codeheap_block {
	struct rb_node node;
	unsigned long start;
	unsigned long len;
	u64 tag;
	struct codeheap_space *space;
	struct page *page;
	bool sealed;
	struct codeheap_jt *jt;
	struct hlist_head jt_refs;
	unsigned int jt_defaults;
};

/**
 * struct codeheap_batch - room for the entries of a batch command
 * @size: bytes of @data
 * @data: the entries copied in, then the command's scratch room
 */
struct codeheap_batch {
	size_t size;
	u64 data[];
};

/*
 * Scratch room WRITE needs per entry, after the entries (write.c's
 * struct codeheap_write_run), and JT_PATCH (a block pointer).
 */
#define CODEHEAP_WRITE_SCRATCH		16
#define CODEHEAP_JT_PATCH_SCRATCH	sizeof(void *)

/**
 * struct codeheap_heap - one heap, the private data of one open file
 * @mm: the address space that owns the heap, pinned with mmgrab() for the
 *      heap's lifetime; set at open and never changed, so it is read without
 *      a lock
 * @user: the account of the user that opened the heap, charged with its
 *        committed bytes; set at open and never changed
 * @file: the open /dev/codeheap file the heap belongs to; every
 *        reservation maps it, so the heap lives until the last mapping and
 *        the last fd are gone
 * @inode: the heap's own inode (mmap.c), whose address_space is @file's
 *         f_mapping: every mapping of the heap, the owner's and those of
 *         fork children, is in its i_mmap, and the heap's file offsets are
 *         its own; set at open and never changed
 * @batch: a batch buffer kept between batch commands, or NULL; taken and
 *         given back with xchg() (no lock), so concurrent callers each get
 *         their own buffer
 * @space_lock: serialises RESERVE, RELEASE and growth (see the lock order
 *              at the top of this file)
 * @next_pgoff: the file offset, in pages, the next reservation gets;
 *              protected by @space_lock
 * @lock: protects every field below
 * @reserving: the space RESERVE is mapping right now, or NULL
 * @spaces: reservations, by start address
 * @blocks: live allocations, by start address
 * @pool: free ranges of the reservations that can still be allocated from
 * @spare: a pool node kept ready so that FREE can never fail half-way
 * @pages: committed pages by file offset (page index).  Written under
 *         @lock; the fault path reads it under RCU.  %CODEHEAP_MARK_NONE
 *         marks inaccessible pages
 * @reserved: bytes of live reservations
 * @committed: bytes of committed pages
 * @allocated: bytes of live allocations
 * @freed: bytes freed by FREE so far
 * @peak_allocated: highest @allocated
 * @peak_committed: highest @committed
 * @nr_spaces: live reservations
 * @nr_blocks: live allocations
 * @jts: jump tables by id
 * @nr_jts: live jump tables
 * @nr_none: committed pages PROTECTed to none (%CODEHEAP_MARK_NONE), which
 *           ALLOC steps over
 * @wr_block: the allocation the last WRITE went to, tried first by the
 *            next one (a JIT writes one function in several pieces, or
 *            functions one after another); NULL once that block is freed
 * @wr_page: the page the last WRITE copied into, found without an xarray
 *           walk when the next copy goes to the same page; NULL once any
 *           page leaves @pages
 * @wr_addr: the user address of @wr_page; a page leaves the heap only
 *           through codeheap_decommit_locked(), which forgets @wr_page,
 *           so no other page is ever found at that address
 * @jt_hint: the jump table looked up last (JT_PATCH, JT_QUERY), found
 *           without an xarray walk by the next lookup; NULL once that
 *           table is gone
 * @block_cache: freed block structs kept for the next ALLOCs (a JIT frees
 *               and allocates code all the time), so that neither goes to
 *               the slab allocator
 * @nr_cached: entries of @block_cache in use
 * @kept: pages decommitted whole that hold only traps (FREE, DECOMMIT),
 *        kept for the next commits, which then need neither the page
 *        allocator nor a fill; linked through page->lru, no mapping or
 *        reference to them left (Documentation/design.rst, "Kept pages")
 * @nr_kept: pages on @kept, at most %CODEHEAP_KEPT_PAGES; still charged
 *           to the user and the global count, not to @committed
 * @icache_dirty: code was stored through the kernel's mapping since @lock
 *                was taken: codeheap_heap_unlock() synchronises every CPU's
 *                instruction fetch once (arm64; never set on x86-64)
 * @id: the heap's id (codeheap_heap_id()); set at open and never changed
 * @debugfs_node: link in the list of live heaps debugfs shows, protected by
 *                that list's lock (debugfs.c)
 * @debugfs_dir: the heap's directory in debugfs, or an error pointer
 * @owner_pid: the thread group that opened the heap, for debugfs; set at
 *             open and never changed
 * @owner_comm: its command name at open, for debugfs; never changed
 */
struct codeheap_heap {
	struct mm_struct *mm;
	struct codeheap_user *user;
	struct file *file;
	struct inode *inode;
	struct codeheap_batch *batch;
	struct mutex space_lock;	/* outside mmap_lock */
	pgoff_t next_pgoff;
	struct mutex lock;		/* inside mmap_lock */
	struct codeheap_space *reserving;
	struct rb_root spaces;
	struct rb_root blocks;
	struct codeheap_pool pool;
	struct codeheap_pool_node *spare;
	struct xarray pages;
	unsigned long reserved;
	unsigned long committed;
	unsigned long allocated;
	u64 freed;
	unsigned long peak_allocated;
	unsigned long peak_committed;
	unsigned int nr_spaces;
	unsigned int nr_blocks;
	struct xarray jts;
	unsigned int nr_jts;
	unsigned long nr_none;
	struct codeheap_block *wr_block;
	struct page *wr_page;
	unsigned long wr_addr;
	struct codeheap_jt *jt_hint;
	struct codeheap_block *block_cache[CODEHEAP_BLOCK_CACHE];
	unsigned int nr_cached;
	struct list_head kept;
	unsigned int nr_kept;
	bool icache_dirty;
	u64 id;
	struct list_head debugfs_node;
	struct dentry *debugfs_dir;
	struct pid *owner_pid;
	char owner_comm[TASK_COMM_LEN];
};

/*
 * Instruction caches (Documentation/arm64.rst, "Instruction caches").
 * Code is stored through the kernel's mapping of a heap page and run
 * through the owner's.  On arm64, flush_icache_range() would clean the
 * D-cache and invalidate the I-cache of the bytes to the point of
 * unification, then IPI every CPU (kick_all_cpus_sync()) so that none
 * runs stale instructions; done per page chunk or per slot, a batch
 * would interrupt every CPU once per store.  Here each store cleans its
 * bytes at once and the IPI is sent once, when the command drops the heap
 * lock.  x86's caches are coherent: both are nothing there.
 */

/**
 * codeheap_icache_clean() - make stored code visible to instruction fetch
 * @heap: the heap whose page holds the code
 * @kaddr: the kernel's address of the first byte stored
 * @len: bytes stored
 *
 * Context: @heap->lock held; codeheap_heap_unlock() completes it.
 */
static inline void codeheap_icache_clean(struct codeheap_heap *heap,
					 void *kaddr, size_t len)
{
	lockdep_assert_held(&heap->lock);
#if defined(CONFIG_ARM64)
	caches_clean_inval_pou((unsigned long)kaddr,
			       (unsigned long)kaddr + len);
	heap->icache_dirty = true;
#else
	flush_icache_range((unsigned long)kaddr, (unsigned long)kaddr + len);
#endif
}

/**
 * codeheap_icache_sync() - every CPU's instruction fetch sees stored code
 * @heap: the heap
 *
 * For the rare store that must be seen before the next one is made (a far
 * slot's code before the near slot that jumps to it); every other store
 * waits for codeheap_heap_unlock().
 *
 * Context: @heap->lock held.
 */
static inline void codeheap_icache_sync(struct codeheap_heap *heap)
{
	lockdep_assert_held(&heap->lock);
#if defined(CONFIG_ARM64)
	if (heap->icache_dirty) {
		heap->icache_dirty = false;
		/*
		 * A VIPT I-cache may hold the code's lines under the owner's
		 * address, which an invalidation by the kernel's address
		 * misses: invalidate all of it (sync_icache_aliases() in
		 * arch/arm64/mm/flush.c; the kernel assumes VIPT aliases).
		 */
		if (CTR_L1IP(read_sanitised_ftr_reg(SYS_CTR_EL0)) ==
		    CODEHEAP_CTR_L1IP_VIPT)
			icache_inval_all_pou();
		kick_all_cpus_sync();
	}
#endif
}

/**
 * codeheap_heap_unlock() - drop @heap->lock, code stored under it visible
 * @heap: the heap
 *
 * Every command that took @heap->lock drops it here, so code it stored is
 * seen by every CPU's instruction fetch before it returns.
 */
static inline void codeheap_heap_unlock(struct codeheap_heap *heap)
{
	codeheap_icache_sync(heap);
	mutex_unlock(&heap->lock);
}

/**
 * codeheap_pgoff() - file offset (page index) of an address of a space
 * @space: the reservation
 * @addr: an address inside it
 *
 * Return: the key of the address's page in &codeheap_heap.pages.
 */
static inline pgoff_t codeheap_pgoff(const struct codeheap_space *space,
				     unsigned long addr)
{
	return space->pgoff + ((addr - space->start) >> PAGE_SHIFT);
}

/* The trees: every part looks things up. */

/**
 * codeheap_space_find() - the reservation containing an address
 * @heap: the heap
 * @addr: any address
 *
 * Context: @heap->lock held.
 * Return: the linked reservation with start <= @addr < end, or NULL.
 */
static inline struct codeheap_space *
codeheap_space_find(struct codeheap_heap *heap, unsigned long addr)
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
static inline struct codeheap_block *
codeheap_block_after(struct codeheap_heap *heap, unsigned long addr)
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
static inline struct codeheap_block *
codeheap_block_containing(struct codeheap_heap *heap, unsigned long addr)
{
	struct codeheap_block *block = codeheap_block_after(heap, addr);

	return block && block->start <= addr ? block : NULL;
}

/**
 * codeheap_pool_ok() - check the result of a pool operation
 * @ret: what the pool returned
 *
 * The pool refuses only impossible requests (a heap bug): anything but
 * success, -ENOSPC and -ENOMEM warns.
 *
 * Return: false when @ret is such a refusal.
 */
static inline bool codeheap_pool_ok(int ret)
{
	return !WARN_ON_ONCE(ret && ret != -ENOSPC && ret != -ENOMEM);
}

/**
 * codeheap_heap_owned() - may the current task change @heap?
 * @heap: the heap
 *
 * Return: true when the caller runs in the mm that opened the heap.
 */
static inline bool codeheap_heap_owned(const struct codeheap_heap *heap)
{
	return current->mm == heap->mm;
}

/**
 * codeheap_heap_id() - the heap's id in traces, fdinfo and debugfs
 * @heap: the heap
 *
 * Return: the id codeheap_heap_create() gave the heap: a count of the
 * heaps made since the module loaded, so never the id of another heap.
 */
static inline u64 codeheap_heap_id(const struct codeheap_heap *heap)
{
	return heap->id;
}

/**
 * codeheap_window_end() - the end of ALLOC's and JT_CREATE's window
 * @lo: lowest address the allocation may cover
 * @hi: one past the highest, or 0 for no bound
 *
 * Return: the window's end, or 0 when the window is empty (-EINVAL).
 */
static inline u64 codeheap_window_end(u64 lo, u64 hi)
{
	hi = hi ? hi : ~0ULL;
	return lo < hi ? hi : 0;
}

/* heap.c */
struct codeheap_heap *codeheap_heap_create(struct file *file);
void codeheap_heap_destroy(struct codeheap_heap *heap);
void codeheap_heap_stats(struct codeheap_heap *heap,
			 struct codeheap_stats *arg);
void codeheap_space_end_locked(struct codeheap_heap *heap,
			       struct codeheap_space *space);

/* debugfs.c */
void codeheap_debugfs_add(struct codeheap_heap *heap);
void codeheap_debugfs_remove(struct codeheap_heap *heap);
void codeheap_debugfs_init(void);
void codeheap_debugfs_exit(void);

/* space.c */
/* Any reservation starting at the address, for codeheap_space_release(). */
#define CODEHEAP_ANY_SPACE	((pgoff_t)-1)
int codeheap_heap_reserve(struct codeheap_heap *heap,
			  struct codeheap_reserve *arg);
int codeheap_heap_release(struct codeheap_heap *heap, unsigned long addr);
int codeheap_space_create(struct codeheap_heap *heap, unsigned long len,
			  unsigned long hint, unsigned long lo,
			  unsigned long hi, bool fixed,
			  unsigned long *addr, pgoff_t *id);
int codeheap_space_release(struct codeheap_heap *heap, unsigned long addr,
			   pgoff_t id);
void codeheap_space_link_locked(struct codeheap_heap *heap,
				struct codeheap_space *space);
void codeheap_space_unlink_locked(struct codeheap_heap *heap,
				  struct codeheap_space *space);

/* pages.c */
int codeheap_commit_locked(struct codeheap_heap *heap,
			   struct codeheap_space *space, unsigned long start,
			   unsigned long end, bool map, unsigned long *added,
			   struct page **page0);
void codeheap_decommit_locked(struct codeheap_heap *heap, pgoff_t first,
			      unsigned long nr, bool traps);
void codeheap_fill_locked(struct codeheap_heap *heap,
			  struct codeheap_space *space, unsigned long addr,
			  unsigned long len, struct page *first);
void codeheap_kept_trim_locked(struct codeheap_heap *heap, unsigned int max);
void codeheap_pages_destroy(struct codeheap_heap *heap);
int codeheap_heap_commit(struct codeheap_heap *heap, unsigned long addr,
			 unsigned long len);
int codeheap_heap_decommit(struct codeheap_heap *heap, unsigned long addr,
			   unsigned long len);
int codeheap_heap_protect(struct codeheap_heap *heap, unsigned long addr,
			  unsigned long len, bool accessible);

/* block.c */
int codeheap_heap_alloc(struct codeheap_heap *heap,
			struct codeheap_alloc *arg, struct codeheap_undo *undo);
void codeheap_heap_undo(struct codeheap_heap *heap,
			const struct codeheap_undo *undo);
int codeheap_heap_free(struct codeheap_heap *heap, unsigned long addr);
int codeheap_heap_seal(struct codeheap_heap *heap, unsigned long addr);
int codeheap_heap_lookup(struct codeheap_heap *heap,
			 struct codeheap_lookup *arg);
void codeheap_heap_show_blocks(struct codeheap_heap *heap, struct seq_file *m);
int codeheap_lock_spare(struct codeheap_heap *heap);
int codeheap_block_alloc(struct codeheap_heap *heap, unsigned long len,
			 u64 align, u64 lo, u64 hi, u64 tag,
			 struct codeheap_jt *jt, u64 *addr,
			 struct codeheap_undo *undo);
void codeheap_block_free_locked(struct codeheap_heap *heap,
				struct codeheap_block *block);
void codeheap_block_unlink_locked(struct codeheap_heap *heap,
				  struct codeheap_block *block);
void codeheap_block_put_locked(struct codeheap_heap *heap,
			       struct codeheap_block *block);

/* write.c */
int codeheap_heap_write(struct codeheap_heap *heap,
			const struct codeheap_write_entry *e, void *scratch,
			unsigned int count);

/* ioctl.c */
long codeheap_fops_ioctl(struct file *filp, unsigned int cmd,
			 unsigned long arg);

/* jumptable.c */
int codeheap_heap_jt_create(struct codeheap_heap *heap,
			    struct codeheap_jt_create *arg,
			    struct codeheap_undo *undo);
int codeheap_heap_jt_patch(struct codeheap_heap *heap, u32 id,
			   const struct codeheap_jt_patch_entry *entries,
			   void *scratch, u32 count);
int codeheap_heap_jt_query(struct codeheap_heap *heap,
			   struct codeheap_jt_query *arg);
int codeheap_heap_jt_destroy(struct codeheap_heap *heap, u32 id);
int codeheap_jt_prepare_locked(struct codeheap_heap *heap,
			       struct codeheap_jt *jt);
void codeheap_jt_unprepare_locked(struct codeheap_heap *heap,
				  struct codeheap_jt *jt);
void codeheap_jt_attach_locked(struct codeheap_heap *heap,
			       struct codeheap_jt *jt,
			       struct codeheap_block *block);
void codeheap_jt_unref_block_locked(struct codeheap_heap *heap,
				    struct codeheap_block *block);
void codeheap_jt_space_end_locked(struct codeheap_heap *heap,
				  struct codeheap_space *space);
void codeheap_jt_destroy_all(struct codeheap_heap *heap);
u32 codeheap_jt_id(const struct codeheap_jt *jt);

/* account.c: the limits, the global counters and per-user charges */
void codeheap_limits_get(struct codeheap_limits *limits);
/* The max_batch parameter, read with READ_ONCE() by the batch commands. */
extern unsigned int codeheap_max_batch;
extern atomic_long_t codeheap_total_committed;
extern atomic_long_t codeheap_total_reserved;
extern atomic_t codeheap_nr_heaps;
struct codeheap_user *codeheap_user_get(void);
void codeheap_user_put(struct codeheap_user *user);
int codeheap_user_charge(struct codeheap_user *user, unsigned long bytes,
			 unsigned long limit);
void codeheap_user_uncharge(struct codeheap_user *user, unsigned long bytes);

/* mmap.c */
int codeheap_mapping_init(void);
void codeheap_mapping_exit(void);
int codeheap_mapping_create(struct codeheap_heap *heap);
void codeheap_mapping_destroy(struct codeheap_heap *heap);
int codeheap_fops_mmap(struct file *file, struct vm_area_struct *vma);
bool codeheap_default_ok(struct codeheap_heap *heap, unsigned long addr);
void codeheap_map_pages(struct codeheap_heap *heap,
			struct codeheap_space *space, unsigned long start,
			unsigned long end);
void codeheap_revoke_pages(struct codeheap_heap *heap, pgoff_t first,
			   unsigned long nr, struct list_head *pages);
void codeheap_trap_fill(void *dst, size_t len);

#endif /* _CODEHEAP_HEAP_H */
