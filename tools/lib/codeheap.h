/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libcodeheap: the user-space library of codeheap, a kernel-managed code
 * heap for JIT compilers.
 *
 * A JIT opens a heap, allocates code memory, writes code into it through
 * the kernel (the pages are never writable in user space) and calls it:
 *
 *	struct codeheap *h;
 *	void *fn;
 *
 *	if (codeheap_open(&h, 0))			// -ENOENT: module not loaded
 *		...
 *	codeheap_alloc_write(h, code, len, tag, &fn);	// allocate + copy in
 *	((int (*)(void))fn)();				// run it
 *	codeheap_free(h, fn);
 *	codeheap_close(h);
 *
 * Conventions of every function:
 *
 * - The return value is 0 (or a length, where stated) on success and a
 *   negative errno on failure; nothing is printed and nothing aborts.  The
 *   errno meanings of each command are documented in <linux/codeheap.h>.
 * - Code addresses are plain pointers (``void *``); the kernel structs in
 *   <linux/codeheap.h> carry them as __u64 (see codeheap_ptr()).
 * - Thread safety: after codeheap_open() returns, a handle is never
 *   modified by the library, so every function may be called on one handle
 *   from any number of threads at once (the kernel serialises the heap).
 *   Only codeheap_close() must not race with other calls on its handle.
 * - No function allocates memory except codeheap_open(), codeheap_default()
 *   and the shadow calls (codeheap_shadow_alloc(), codeheap_shadow_attach()).
 * - A handle belongs to the process that opened it: after fork() the child
 *   may only read (VERSION, LOOKUP, STATS, JT_QUERY); changes fail with
 *   -EPERM.
 *
 * Licence: LGPL-2.1 OR BSD-2-Clause, like liburing and libbpf, so that any
 * JIT may link it.  Reference: Documentation/library.rst.
 */
#ifndef _CODEHEAP_LIB_H
#define _CODEHEAP_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/codeheap.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, as in codeheap.pc and the symbol version. */
#define CODEHEAP_LIB_VERSION "0.2.0"

/* The device every heap is opened from. */
#define CODEHEAP_DEVICE "/dev/codeheap"

/* An open heap.  Opaque; one per codeheap_open(). */
struct codeheap;

/**
 * enum codeheap_open_flags - flags of codeheap_open()
 * @CODEHEAP_OPEN_PERF_MAP: append a line to /tmp/perf-<pid>.map for every
 *                          codeheap_perf_name() call, so that ``perf report``
 *                          names JIT code
 * @CODEHEAP_OPEN_FALLBACK: if the module is not there (-ENOENT) or serves
 *                          no such process (-ENODEV), open a heap of the
 *                          library's own instead: allocations, WRITE, SEAL,
 *                          LOOKUP and STATS in user space with mprotect()
 *                          flips (the pages are writable, never executable,
 *                          while a WRITE copies); the other commands fail
 *                          with -EOPNOTSUPP, codeheap_fd() returns -1
 *                          (Documentation/library.rst, "Without the
 *                          module")
 */
enum codeheap_open_flags {
	CODEHEAP_OPEN_PERF_MAP = 1 << 0,
	CODEHEAP_OPEN_FALLBACK = 1 << 1,
};

/**
 * codeheap_open() - open a new, empty heap
 * @hp: output: the handle
 * @flags: 0, %CODEHEAP_OPEN_PERF_MAP, %CODEHEAP_OPEN_FALLBACK
 *
 * Opens /dev/codeheap (close-on-exec) and reads its VERSION once, so that
 * codeheap_info() never fails.
 *
 * On failure *@hp is NULL, except for -EINVAL, which leaves it alone.
 *
 * Return: 0; -EINVAL unknown @flags or a NULL @hp; -ENOENT the device
 * does not exist (the module is not loaded); -EACCES or -EPERM the device
 * cannot be opened by this user; -ENOMEM; or the errno of the VERSION
 * command or of opening the perf map.
 */
int codeheap_open(struct codeheap **hp, unsigned int flags);

/**
 * codeheap_close() - close a heap's handle
 * @h: the handle, or NULL (nothing happens)
 *
 * Closes the heap's file (and the perf map) and frees @h.  The kernel
 * frees the heap's code, jump tables and reservations once no reference
 * to the file remains: another descriptor (a fork child's, a dup()) or a
 * mapped reservation, so code stays mapped and runnable until its
 * reservations are unmapped (munmap() of a whole reservation, exec or
 * exit).
 */
void codeheap_close(struct codeheap *h);

/**
 * codeheap_default() - the process-wide heap, opened on first use
 * @hp: output: the handle
 *
 * For libraries with many JIT instances in one process (regex engines,
 * one per pattern): they share one heap instead of opening one each.  The
 * first call opens it (codeheap_open() with no flags); later calls, from
 * any thread, return the same handle at the cost of one atomic load.  It
 * is never closed (do not pass it to codeheap_close()); a child process
 * gets a heap of its own on its first call after fork().
 *
 * Return: 0, or the errno of codeheap_open() (the next call tries again).
 */
int codeheap_default(struct codeheap **hp);

/**
 * codeheap_strerror() - what an error of the library means, and what to do
 * @err: an error the library returned (-errno), or errno itself
 *
 * The text names the usual cause of @err from codeheap's functions and,
 * where the user can act (the module is not loaded, the device is not
 * accessible), what to do.  For an errno codeheap never returns, the C
 * library's strerror() text.
 *
 * Return: a constant string; never NULL.
 */
const char *codeheap_strerror(int err);

/**
 * codeheap_fd() - the file descriptor of a heap
 * @h: the handle
 *
 * For debugging, passing the heap to another process, or raw ioctl()
 * calls of commands newer than the library (the device has no poll).
 * Do not close it; codeheap_close() does.
 *
 * Return: the descriptor, or -1 for a heap of %CODEHEAP_OPEN_FALLBACK.
 */
int codeheap_fd(const struct codeheap *h);

/**
 * codeheap_info() - what the module reported when the heap was opened
 * @h: the handle
 *
 * The page size, code alignment, jump-slot sizes and limits (max_batch
 * bounds codeheap_write_batch() and codeheap_jt_patch_batch()).
 *
 * Return: a pointer valid until codeheap_close().
 */
const struct codeheap_version *codeheap_info(const struct codeheap *h);

/**
 * codeheap_version() - ioctl(CODEHEAP_IOC_VERSION), now
 * @h: the handle
 * @v: output
 *
 * As codeheap_info(), but reads the limits in force at the time of the
 * call (an administrator may change them at run time).
 *
 * Return: 0 or -errno.
 */
int codeheap_version(struct codeheap *h, struct codeheap_version *v);

/* -- Code memory ------------------------------------------------------- */

/**
 * codeheap_alloc() - allocate code memory
 * @h: the handle
 * @len: bytes, not 0; rounded up to the code alignment
 * @tag: any value, returned by codeheap_lookup() (for example a function
 *       index)
 * @addr: output: the start, aligned to the code alignment
 *
 * The memory is committed, mapped read+exec and filled with traps.  The
 * heap grows by itself when no free range fits.
 *
 * Return: 0; -EINVAL @len 0; -ENOMEM a limit or out of memory; -ENOSPC
 * no address space; -EPERM not the owner.
 */
int codeheap_alloc(struct codeheap *h, size_t len, uint64_t tag, void **addr);

/**
 * codeheap_alloc_in() - allocate code memory inside a window
 * @h: the handle
 * @len: bytes, not 0
 * @align: 0, or a power of two; the allocation is aligned to the larger of
 *         @align and the code alignment
 * @lo: with @hi, the window [@lo, @hi) the allocation must lie in (for
 *      code that calls the runtime with rel32 calls); NULL and NULL for
 *      anywhere
 * @hi: see @lo
 * @tag: as for codeheap_alloc()
 * @addr: output: the start
 *
 * Return: as codeheap_alloc(), and -EINVAL @align not a power of two or
 * an empty window (@lo >= @hi, a NULL @hi meaning no upper bound).
 */
int codeheap_alloc_in(struct codeheap *h, size_t len, size_t align,
		      const void *lo, const void *hi, uint64_t tag,
		      void **addr);

/**
 * codeheap_free() - free an allocation
 * @h: the handle
 * @addr: its start
 *
 * Refills it with traps, first resetting every jump slot that targets it
 * to its table's default; pages no allocation covers any more are given
 * back.  The code must not be running on any thread (return addresses into
 * it included).
 *
 * Return: 0; -ENOENT no allocation starts at @addr; -EBUSY it is the
 * default target of a live jump table; -EPERM sealed, a jump table, or not
 * the owner.
 */
int codeheap_free(struct codeheap *h, void *addr);

/**
 * codeheap_write() - copy code into an allocation
 * @h: the handle
 * @dst: destination, inside one live, unsealed allocation
 * @src: the code
 * @len: bytes, not 0
 *
 * The copy goes through the kernel's mapping of the pages.  The code is
 * ready to execute (instruction caches coherent) on return.
 *
 * Return: 0; -ENOENT @dst..@dst+@len is not inside one allocation;
 * -EINVAL @len 0; -EFAULT @src unreadable; -EPERM sealed or not the owner.
 */
int codeheap_write(struct codeheap *h, void *dst, const void *src,
		   size_t len);

/**
 * codeheap_write_batch() - copy several pieces of code in one call
 * @h: the handle
 * @e: @count entries, each made with codeheap_entry()
 * @count: 1 to the module's max_batch in force (codeheap_info() reports
 *         it as it was at open; root may change it)
 *
 * Every entry is checked before any byte is copied.  The cheapest way to
 * publish many functions (one system call).
 *
 * Return: as codeheap_write(), and -E2BIG @count above max_batch, -EINVAL
 * @count 0.
 */
int codeheap_write_batch(struct codeheap *h,
			 const struct codeheap_write_entry *e,
			 unsigned int count);

/**
 * codeheap_alloc_write() - allocate and write position-independent code
 * @h: the handle
 * @code: the code, which must not depend on its own address
 * @len: bytes of @code, not 0
 * @tag: as for codeheap_alloc()
 * @addr: output: where the code is
 *
 * Return: 0, or the errno of codeheap_alloc() or codeheap_write(); on
 * failure the allocation is freed again (unless that FREE itself fails,
 * for want of memory or because another thread sealed the allocation
 * meanwhile: it then stays, trap-filled).
 */
int codeheap_alloc_write(struct codeheap *h, const void *code, size_t len,
			 uint64_t tag, void **addr);

/**
 * typedef codeheap_gen_fn - produce code for a known address
 * @buf: where to put the code
 * @cap: bytes available in @buf
 * @addr: the address the code will run at (for rel32 calls and jumps)
 * @arg: the argument given to codeheap_emit()
 *
 * Return: the number of bytes produced, 1 to @cap, or a negative errno to
 * give up.
 */
typedef ssize_t (*codeheap_gen_fn)(void *buf, size_t cap, void *addr,
				   void *arg);

/**
 * codeheap_emit() - allocate, generate code for the address, write it
 * @h: the handle
 * @buf: the caller's scratch buffer, @cap bytes
 * @cap: the most bytes the code can take; this much is allocated
 * @tag: as for codeheap_alloc()
 * @gen: called once with @buf, @cap and the allocation's address
 * @arg: passed to @gen
 * @addr: output: where the code is
 *
 * For code that depends on its address (rel32 calls to the runtime or to
 * jump slots).  Bytes of the allocation past what @gen produced stay
 * traps.  @gen runs with no lock held and may call the library.
 *
 * Return: the number of bytes written (> 0); -EINVAL a NULL @gen or @buf
 * (nothing allocated), or @gen returned 0 or more than @cap; what @gen
 * returned if negative; or -errno of codeheap_alloc() or of
 * codeheap_write().  On failure the allocation is freed again, as in
 * codeheap_alloc_write().
 */
ssize_t codeheap_emit(struct codeheap *h, void *buf, size_t cap,
		      uint64_t tag, codeheap_gen_fn gen, void *arg,
		      void **addr);

/**
 * codeheap_emit_in() - codeheap_emit() with the code placed in a window
 * @h: the handle
 * @buf: as for codeheap_emit()
 * @cap: as for codeheap_emit()
 * @align: as for codeheap_alloc_in()
 * @lo: as for codeheap_alloc_in()
 * @hi: as for codeheap_alloc_in()
 * @tag: as for codeheap_alloc()
 * @gen: as for codeheap_emit()
 * @arg: as for codeheap_emit()
 * @addr: output: where the code is
 *
 * For code that must lie near something: the runtime it calls with
 * ``call rel32``, or data it reaches with 32-bit PC-relative offsets.
 *
 * Return: as codeheap_emit(), and the errors of codeheap_alloc_in().
 */
ssize_t codeheap_emit_in(struct codeheap *h, void *buf, size_t cap,
			 size_t align, const void *lo, const void *hi,
			 uint64_t tag, codeheap_gen_fn gen, void *arg,
			 void **addr);

/* -- Shadows: write here, run there ------------------------------------ */

/**
 * struct codeheap_shadow - ordinary memory laid out like code
 * @mem: where the JIT writes: private read-write memory, never executable
 * @exec: where the code runs: the byte at @mem + i runs at @exec + i
 * @len: bytes of both
 * @offset: @exec - @mem, the *executable offset* of JITs that emit in place
 *          (sljit's SLJIT_EXEC_OFFSET, the pointer difference of tcc)
 * @__base: the library's own
 *
 * @mem and @exec are congruent modulo 64 bytes, so alignment the JIT
 * computes on @mem holds at @exec.  Made by codeheap_shadow_alloc() or
 * codeheap_shadow_attach(); ended by codeheap_shadow_destroy().  A shadow
 * is plain data owned by the caller, used by one thread at a time.
 */
struct codeheap_shadow {
	void *mem;
	void *exec;
	size_t len;
	ptrdiff_t offset;
	void *__base;
};

/**
 * struct codeheap_span - a range of a shadow to publish
 * @off: its start, in bytes from the start of the shadow
 * @len: bytes, not 0
 */
struct codeheap_span {
	size_t off;
	size_t len;
};

/**
 * codeheap_shadow_alloc() - allocate code and a shadow of it
 * @h: the handle
 * @len: bytes, not 0
 * @align: as for codeheap_alloc_in()
 * @lo: as for codeheap_alloc_in()
 * @hi: as for codeheap_alloc_in()
 * @tag: as for codeheap_alloc()
 * @s: output
 *
 * Allocates @len bytes of code (codeheap_alloc_in()) and a shadow holding
 * what they hold (traps).  The JIT writes its code into @s->mem, computing
 * addresses against @s->exec, and codeheap_shadow_publish() copies it in.
 * The code outlives the shadow: codeheap_free(@h, @s->exec) frees it.
 *
 * Return: 0; -EINVAL @len 0; -ENOMEM no memory for the shadow; or the
 * errno of codeheap_alloc_in() (nothing is allocated on failure).
 */
int codeheap_shadow_alloc(struct codeheap *h, size_t len, size_t align,
			  const void *lo, const void *hi, uint64_t tag,
			  struct codeheap_shadow *s);

/**
 * codeheap_shadow_attach() - a shadow of code that exists
 * @h: the handle
 * @exec: start of the range, inside one live allocation of @h
 * @len: bytes, not 0, inside the same allocation
 * @s: output
 *
 * For code published before (to patch it: change the shadow, publish the
 * changed bytes) and for a JIT that carves one large allocation itself.
 * The shadow starts as a copy of the code; the range must not be
 * PROTECTed to none.
 *
 * Return: 0; -EINVAL @len 0; -ENOENT the range is not inside one live
 * allocation of @h; -ENOMEM.
 */
int codeheap_shadow_attach(struct codeheap *h, void *exec, size_t len,
			   struct codeheap_shadow *s);

/**
 * codeheap_shadow_publish() - copy a shadow's changes into the code
 * @h: the handle the shadow's code belongs to
 * @s: the shadow
 * @spans: @count ranges of the shadow to copy, or NULL for all of it
 * @count: entries of @spans; 0 with a NULL @spans
 *
 * One WRITE for up to 64 spans, all checked before any byte is copied;
 * more spans take one WRITE per 64 (if one fails, the ones before stay
 * published).  The code is ready to execute on return.  A thread running
 * the bytes being published meanwhile may execute a mix of old and new
 * bytes: publish only code no thread is in, or switch to new code through
 * a jump table (Documentation/writing-a-jit.rst, "Patching live code").
 *
 * Return: 0; -EINVAL a span empty or outside the shadow, or @count and
 * @spans disagree; or the errno of codeheap_write_batch().
 */
int codeheap_shadow_publish(struct codeheap *h,
			    const struct codeheap_shadow *s,
			    const struct codeheap_span *spans,
			    unsigned int count);

/**
 * codeheap_shadow_destroy() - free a shadow's memory
 * @s: the shadow, zeroed on return
 *
 * The code stays as it is.  Harmless on a zeroed shadow.
 */
void codeheap_shadow_destroy(struct codeheap_shadow *s);

/**
 * codeheap_seal() - make an allocation immutable
 * @h: the handle
 * @addr: its start
 *
 * No more WRITE, FREE, PROTECT or DECOMMIT of it (-EPERM); it ends only
 * with its reservation (munmap() of all of it, exec or exit).
 *
 * Return: 0; -ENOENT no allocation starts at @addr; -EPERM not the owner.
 */
int codeheap_seal(struct codeheap *h, void *addr);

/**
 * codeheap_lookup() - the allocation containing an address
 * @h: the handle
 * @addr: any address, for example a return address found on the stack
 * @l: output: @l->start, @l->len, @l->tag and @l->alloc_flags
 *     (%CODEHEAP_LOOKUP_SEALED, %CODEHEAP_LOOKUP_JUMP_TABLE)
 *
 * For stack walkers and profilers.  Never touches @addr, so it is safe on
 * any value.  Async-signal-safe.
 *
 * Return: 0; -ENOENT @addr is not in a live allocation of this heap.
 */
int codeheap_lookup(struct codeheap *h, const void *addr,
		    struct codeheap_lookup *l);

/**
 * codeheap_stats() - ioctl(CODEHEAP_IOC_STATS): the heap's counters
 * @h: the handle
 * @st: output
 *
 * Return: 0 or -errno.
 */
int codeheap_stats(struct codeheap *h, struct codeheap_stats *st);

/* -- Address space, for JITs that manage their own layout ---------------- */

/**
 * codeheap_reserve() - reserve a code space
 * @h: the handle
 * @len: bytes, a multiple of the page size, at most max_reservation_size
 * @hint: NULL, or the page-aligned address wanted (a preference, or exact
 *        with %CODEHEAP_RESERVE_FIXED)
 * @near: with @range, the address the whole space must lie within @range
 *        bytes of (0 @range: no constraint)
 * @range: see @near
 * @flags: 0 or %CODEHEAP_RESERVE_FIXED
 * @addr: output: the start
 *
 * Pages start reserved (no memory); codeheap_commit() backs them.
 * Allocations use reservations automatically: most JITs never call this.
 *
 * Return: 0; -EINVAL, -EOVERFLOW bad arguments; -ENOMEM above
 * max_reservation_size; -EEXIST fixed range taken; -ENOSPC no room in the
 * window; -EPERM not the owner.
 */
int codeheap_reserve(struct codeheap *h, size_t len, void *hint,
		     const void *near, size_t range, unsigned int flags,
		     void **addr);

/**
 * codeheap_release() - drop a reservation
 * @h: the handle
 * @addr: its start
 *
 * Return: 0; -ENOENT no reservation starts at @addr; -EBUSY allocations
 * live in it; -EPERM not the owner.
 */
int codeheap_release(struct codeheap *h, void *addr);

/**
 * codeheap_commit() - back reserved pages with trap-filled memory
 * @h: the handle
 * @addr: page-aligned start, inside one reservation
 * @len: a non-zero multiple of the page size
 *
 * Return: 0; -EINVAL alignment; -ENOENT not inside one reservation;
 * -ENOMEM a committed-bytes limit; -EPERM not the owner.
 */
int codeheap_commit(struct codeheap *h, void *addr, size_t len);

/**
 * codeheap_decommit() - give committed pages back
 * @h: the handle
 * @addr: page-aligned start, inside one reservation
 * @len: a non-zero multiple of the page size
 *
 * Return: as codeheap_commit(), and -EBUSY a live allocation covers a
 * page, -EPERM a sealed allocation does.
 */
int codeheap_decommit(struct codeheap *h, void *addr, size_t len);

/**
 * codeheap_protect() - make committed pages inaccessible or read+exec
 * @h: the handle
 * @addr: page-aligned start, inside one reservation
 * @len: a non-zero multiple of the page size
 * @prot: ``PROT_NONE`` or ``PROT_READ | PROT_EXEC``
 *
 * Return: 0; -EACCES @prot includes ``PROT_WRITE``; -EINVAL other @prot,
 * alignment, a page not committed; -ENOENT not inside one reservation;
 * -EPERM a sealed allocation, or not the owner.
 */
int codeheap_protect(struct codeheap *h, void *addr, size_t len, int prot);

/* -- Jump tables ------------------------------------------------------- */

/**
 * struct codeheap_jt - a jump table, as codeheap_jt_create() made it
 * @base: address of slot 0
 * @default_target: the default given to codeheap_jt_create() (NULL: slots
 *                  trap); the kernel makes the trap the default instead
 *                  once that allocation's reservation ends, which this
 *                  copy does not see
 * @id: the kernel's id of the table
 * @slot_size: bytes between slots
 * @nr_slots: number of slots
 *
 * Plain data owned by the caller; copying it is fine.
 */
struct codeheap_jt {
	void *base;
	void *default_target;
	uint32_t id;
	uint32_t slot_size;
	uint32_t nr_slots;
};

/**
 * codeheap_jt_create() - create a jump table
 * @h: the handle
 * @nr_slots: 1 to %CODEHEAP_JT_MAX_SLOTS
 * @default_target: NULL (slots trap); an address inside a live allocation
 *                  of this heap that is not a jump table (which then
 *                  cannot be freed while the table lives); or an address
 *                  in an executable mapping that is no code heap, for
 *                  example a lazy-compile stub in the JIT's own binary
 * @jt: output
 *
 * Return: 0; -EINVAL @nr_slots 0 or a @default_target that is none of
 * these; -E2BIG @nr_slots too large; -ENOMEM, -ENOSPC as codeheap_alloc();
 * -EBUSY no table id left; when the heap grows, the errors of mmap();
 * -EPERM not the owner.  Table ids of destroyed tables are given out
 * again: a &struct codeheap_jt must not be used after its table is
 * destroyed.
 */
int codeheap_jt_create(struct codeheap *h, unsigned int nr_slots,
		       const void *default_target, struct codeheap_jt *jt);

/**
 * codeheap_jt_create_in() - create a jump table inside a window
 * @h: the handle
 * @nr_slots: as for codeheap_jt_create()
 * @default_target: as for codeheap_jt_create()
 * @lo: with @hi, the window [@lo, @hi) for the slots (NULL, NULL: anywhere)
 * @hi: see @lo
 * @jt: output
 *
 * Return: as codeheap_jt_create(), and -EINVAL for an empty window
 * (@lo >= @hi, a NULL @hi meaning no upper bound).
 */
int codeheap_jt_create_in(struct codeheap *h, unsigned int nr_slots,
			  const void *default_target, const void *lo,
			  const void *hi, struct codeheap_jt *jt);

/**
 * codeheap_jt_slot() - the address of a slot, to call through
 * @jt: the table
 * @slot: slot index
 *
 * Return: the slot's address, or NULL if @slot is out of range.
 */
static inline void *codeheap_jt_slot(const struct codeheap_jt *jt,
				     unsigned int slot)
{
	if (slot >= jt->nr_slots)
		return NULL;
	return (char *)jt->base + (size_t)slot * jt->slot_size;
}

/**
 * codeheap_jt_patch() - point one slot at a new target
 * @h: the handle
 * @jt: the table
 * @slot: slot index
 * @target: the table's default, or an address inside a live allocation of
 *          this heap (usually a function's entry)
 *
 * The slot's jump changes with one atomic store (a far target's address
 * is stored in its far slot first): a thread calling through the slot
 * meanwhile reaches the old target or the new one.
 *
 * Return: 0; -ENOENT no such table or slot, or a target that is neither
 * the default nor inside a live allocation; -EPERM not the owner.
 */
int codeheap_jt_patch(struct codeheap *h, const struct codeheap_jt *jt,
		      unsigned int slot, const void *target);

/**
 * codeheap_jt_patch_batch() - patch several slots in one call
 * @h: the handle
 * @jt: the table
 * @e: @count entries, each made with codeheap_jt_entry(); later entries
 *     for the same slot win
 * @count: 1 to the module's max_batch in force (codeheap_info() reports
 *         it as it was at open; root may change it)
 *
 * Every entry is checked before any slot changes.
 *
 * Return: as codeheap_jt_patch(), and -E2BIG @count above max_batch,
 * -EINVAL @count 0.
 */
int codeheap_jt_patch_batch(struct codeheap *h, const struct codeheap_jt *jt,
			    const struct codeheap_jt_patch_entry *e,
			    unsigned int count);

/**
 * codeheap_jt_query() - where a slot jumps now
 * @h: the handle
 * @jt: the table
 * @slot: slot index
 * @target: output: the target (NULL for a trap)
 *
 * Return: 0; -ENOENT no such table or slot.
 */
int codeheap_jt_query(struct codeheap *h, const struct codeheap_jt *jt,
		      unsigned int slot, void **target);

/**
 * codeheap_jt_destroy() - remove a jump table
 * @h: the handle
 * @jt: the table; its slots become traps and must no longer be called
 *
 * Return: 0; -ENOENT no such table; -EPERM not the owner; -ENOMEM no
 * memory for the pool's bookkeeping (nothing was destroyed).
 */
int codeheap_jt_destroy(struct codeheap *h, const struct codeheap_jt *jt);

/* -- Profilers ---------------------------------------------------------- */

/**
 * codeheap_perf_name() - name code for ``perf report``
 * @h: the handle
 * @addr: start of the code
 * @len: its length in bytes
 * @name: its name (truncated to 200 bytes; newlines become spaces)
 *
 * With %CODEHEAP_OPEN_PERF_MAP, appends ``"<addr> <len> <name>"`` (hex) to
 * /tmp/perf-<pid>.map with one write(), so concurrent calls never
 * interleave.  Without it, does nothing.  perf reads the file after the
 * run; entries are never removed, so name code again when an address is
 * reused.
 *
 * Return: 0, or -errno of the write.
 */
int codeheap_perf_name(struct codeheap *h, const void *addr, size_t len,
		       const char *name);

/* -- Small helpers ------------------------------------------------------ */

/**
 * codeheap_entry() - one entry of codeheap_write_batch()
 * @dst: destination in an allocation
 * @src: the code
 * @len: bytes
 *
 * Return: the entry.
 */
static inline struct codeheap_write_entry
codeheap_entry(void *dst, const void *src, size_t len)
{
	struct codeheap_write_entry e = {
		.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
	};

	return e;
}

/**
 * codeheap_jt_entry() - one entry of codeheap_jt_patch_batch()
 * @slot: slot index
 * @target: as for codeheap_jt_patch()
 *
 * Return: the entry.
 */
static inline struct codeheap_jt_patch_entry
codeheap_jt_entry(unsigned int slot, const void *target)
{
	struct codeheap_jt_patch_entry e = {
		.slot = slot, .target = (uintptr_t)target,
	};

	return e;
}

/**
 * codeheap_ptr() - a __u64 address of <linux/codeheap.h> as a pointer
 * @addr: for example &struct codeheap_lookup.start
 *
 * Return: the pointer.
 */
static inline void *codeheap_ptr(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

#ifdef __cplusplus
}
#endif

#endif /* _CODEHEAP_LIB_H */
