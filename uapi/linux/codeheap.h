/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * codeheap: a kernel-managed code heap for user-space JIT compilers.
 *
 * This header is the only interface between user space and the codeheap
 * module.  It compiles in a plain user-space program with no kernel tree.
 */
#ifndef _UAPI_LINUX_CODEHEAP_H
#define _UAPI_LINUX_CODEHEAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * Every ioctl of /dev/codeheap takes one argument: a pointer to a struct
 * whose first field is ``__u32 size``, the number of bytes of the struct the
 * caller knows about.  The kernel reads the struct with
 * copy_struct_from_user() semantics, so that structs can grow at their end
 * without new command numbers:
 *
 * - a ``size`` smaller than the first published version of the struct is
 *   ``-EINVAL``;
 * - a ``size`` smaller than the kernel's struct is zero-extended (an older
 *   program on a newer kernel);
 * - a ``size`` larger than the kernel's struct is accepted only if every
 *   byte past the kernel's struct is zero, otherwise ``-E2BIG`` (a newer
 *   program on an older kernel asking for something it cannot have).
 *
 * Output fields are written back for at most ``size`` bytes.  Structs hold
 * only ``__u32`` and ``__aligned_u64`` fields with explicit padding, every
 * 64-bit field at a multiple of 8, so 32-bit and 64-bit processes share
 * one layout and no compat translation exists (on arm64 an AArch32 task
 * cannot use the device: its open is ``-ENODEV``, the heap's code being
 * A64).  User pointers are passed
 * as ``__aligned_u64``.  Every ``flags`` bit not defined here and every ``__reserved``
 * field that is not zero is ``-EINVAL``.  A command number the module does
 * not know is ``-ENOTTY``.
 *
 * A call that fails changes nothing, and writes nothing back into its
 * argument: a command with output fields fails with ``-EFAULT`` before it
 * does anything if the struct cannot be written (only another thread
 * changing the struct's mapping during the call can defeat that check; a
 * command that created something then undoes it).
 *
 * Errno meanings.  Besides the errnos its own entry lists, every command
 * can fail with ``EINVAL`` (@size below the struct's first version),
 * ``E2BIG`` (@size above the kernel's struct with a non-zero tail) and
 * ``EFAULT`` (the struct cannot be read, or, for a command with output
 * fields, written):
 *
 * - ``EINVAL``: malformed argument: size too small, unknown flag, non-zero
 *   reserved field, misaligned address.  An address beyond the user address
 *   space is ``EINVAL`` where a command creates something there (RESERVE's
 *   hint, JT_CREATE's default) and ``ENOENT`` where it looks an object up.
 * - ``E2BIG``: the struct is larger than the kernel's and its tail is not
 *   zero.
 * - ``EFAULT``: a user pointer (the argument itself or one inside it) could
 *   not be read or written.
 * - ``ENOENT``: no such allocation, jump table or slot.
 * - ``EBUSY``: the object is still in use.
 * - ``ENOMEM`` / ``ENOSPC``: a memory or address-space limit was reached.
 * - ``EACCES``: the requested protection includes write.
 * - ``EPERM``: the caller's mm does not own the heap, the object is sealed,
 *   or mmap() refused a new reservation (/dev mounted ``noexec``, a fixed
 *   hint below ``mmap_min_addr``, a security module).
 * - ``EOVERFLOW``: an address or size computation overflowed.
 * - ``ENOTTY``: unknown command.
 */

/**
 * DOC: Heaps and ownership
 *
 * Each open file description of /dev/codeheap is one heap, bound to the mm
 * (address space) of the process that opened it.  Commands that only read
 * (``VERSION``, ``LOOKUP``, ``STATS``, ``JT_QUERY``) work from any process
 * holding the fd; every
 * command that changes the heap fails with ``-EPERM`` when called from
 * another mm, for example a child after fork() or a process that received
 * the fd over a unix socket.  The heap is freed when the last reference to
 * the file goes away.
 */

#define CODEHEAP_TYPE 0xBC

enum {
	CODEHEAP_CMD_VERSION = 0x00,
	CODEHEAP_CMD_RESERVE = 0x01,
	CODEHEAP_CMD_RELEASE = 0x02,
	CODEHEAP_CMD_COMMIT = 0x03,
	CODEHEAP_CMD_DECOMMIT = 0x04,
	CODEHEAP_CMD_PROTECT = 0x05,
	CODEHEAP_CMD_SEAL = 0x06,
	CODEHEAP_CMD_ALLOC = 0x07,
	CODEHEAP_CMD_FREE = 0x08,
	CODEHEAP_CMD_LOOKUP = 0x09,
	CODEHEAP_CMD_WRITE = 0x0a,
	CODEHEAP_CMD_STATS = 0x0b,
	CODEHEAP_CMD_JT_CREATE = 0x0c,
	CODEHEAP_CMD_JT_PATCH = 0x0d,
	CODEHEAP_CMD_JT_QUERY = 0x0e,
	CODEHEAP_CMD_JT_DESTROY = 0x0f,
};

/**
 * enum codeheap_arch - instruction set of the heap's code
 * @CODEHEAP_ARCH_X86_64: x86-64; traps are ``int3`` (0xcc)
 * @CODEHEAP_ARCH_ARM64: AArch64; traps are ``brk #0``
 */
enum codeheap_arch {
	CODEHEAP_ARCH_X86_64 = 1,
	CODEHEAP_ARCH_ARM64 = 2,
};

#define CODEHEAP_API_VERSION 1

/**
 * struct codeheap_version - ioctl(CODEHEAP_IOC_VERSION)
 * @size: sizeof(struct codeheap_version)
 * @flags: must be 0
 * @api_version: output: %CODEHEAP_API_VERSION of the running module
 * @arch: output: one of &enum codeheap_arch
 * @features: output: bit mask of optional features (none defined yet)
 * @page_size: output: size of a heap page in bytes
 * @code_align: output: minimum alignment of every allocation in bytes
 *              (64 on x86-64, 32 on arm64)
 * @jt_near_slot_size: output: bytes of a near jump-table slot
 * @jt_far_slot_size: output: bytes of a far jump-table slot
 * @max_reservation_size: output: largest single reservation in bytes
 *                        (module parameter ``max_reservation_size``)
 * @max_heap_committed: output: most bytes one heap may have committed
 *                      (module parameter ``max_heap_committed``)
 * @max_total_committed: output: most bytes all heaps together may have
 *                       committed (module parameter ``max_total_committed``)
 * @max_batch: output: most entries one batched call may carry
 *             (module parameter ``max_batch``)
 * @__reserved: must be 0
 * @max_user_committed: output: most bytes the heaps of one user (the real
 *                      uid that opened them) may have committed together
 *                      (module parameter ``max_user_committed``; added
 *                      after the first version of this struct, 72 bytes)
 *
 * Describes the running module.  Usable from any process holding the fd.
 * The limits are the values in force at the time of the call; an
 * administrator may change them through /sys/module/codeheap/parameters.
 *
 * Errors: ``EFAULT`` the argument cannot be read or written; ``EINVAL``
 * @size smaller than this struct's first version, @flags or @__reserved
 * not zero; ``E2BIG`` @size larger than the kernel's struct with a
 * non-zero tail.
 */
struct codeheap_version {
	__u32 size;
	__u32 flags;
	__u32 api_version;
	__u32 arch;
	__aligned_u64 features;
	__u32 page_size;
	__u32 code_align;
	__u32 jt_near_slot_size;
	__u32 jt_far_slot_size;
	__aligned_u64 max_reservation_size;
	__aligned_u64 max_heap_committed;
	__aligned_u64 max_total_committed;
	__u32 max_batch;
	__u32 __reserved;
	__aligned_u64 max_user_committed;
};

#define CODEHEAP_IOC_VERSION _IO(CODEHEAP_TYPE, CODEHEAP_CMD_VERSION)

/**
 * DOC: Reservations, pages and allocations
 *
 * A *reservation* is a range of the owner's address space mapped
 * read+exec and ``MAP_SHARED`` from /dev/codeheap by
 * ``CODEHEAP_IOC_RESERVE``, never writable: ``mprotect()`` cannot add
 * write, and no second mapping of its pages can be made.  The only
 * ``mmap()`` of /dev/codeheap the device accepts is the one RESERVE makes.
 *
 * Each page of a reservation is *reserved* (no memory: any access raises
 * SIGSEGV), *committed* (memory filled with trap instructions until code is
 * written, mapped read+exec at once, so the first execution takes no page
 * fault) or committed but *inaccessible* (``PROTECT`` to none: SIGSEGV).
 *
 * An *allocation* is a range handed out by the heap's free-region pool by
 * ``CODEHEAP_IOC_ALLOC``, aligned to at least ``code_align``.  Code is
 * written only into live allocations, only through ``CODEHEAP_IOC_WRITE``,
 * which copies it through the kernel's own mapping of the pages.  Freed
 * allocations are refilled with traps, and pages no live allocation covers
 * any more are decommitted.
 *
 * All addresses and lengths of these commands are user virtual addresses
 * and byte counts of the caller's address space.
 */

/**
 * struct codeheap_reserve - ioctl(CODEHEAP_IOC_RESERVE)
 * @size: sizeof(struct codeheap_reserve)
 * @flags: 0 or %CODEHEAP_RESERVE_FIXED
 * @len: bytes to reserve, a non-zero multiple of the page size, at most
 *       the ``max_reservation_size`` parameter
 * @hint: 0, or the page-aligned address the reservation should start at.
 *        Without %CODEHEAP_RESERVE_FIXED it is only a preference: another
 *        address (inside the window, if one is given) is used when the hint
 *        range is taken
 * @near: with @range, the address the reservation must be close to
 * @range: 0 for no constraint; otherwise the whole reservation must lie
 *         within [@near - @range, @near + @range) (clamped to the user
 *         address space).  A JIT uses this to keep code within direct-call
 *         reach of its runtime (2 GiB on x86-64, 128 MiB on arm64)
 * @addr: output: the start of the reservation
 *
 * %CODEHEAP_RESERVE_FIXED: reserve exactly at @hint or fail, never
 * replacing an existing mapping.
 *
 * Errors: ``EPERM`` not the owner, or mmap() refused (see above);
 * ``EINVAL`` @len 0 or not page-aligned, @hint not page-aligned or @hint +
 * @len beyond the user address space, %CODEHEAP_RESERVE_FIXED without
 * @hint, unknown flag; ``EOVERFLOW`` @hint + @len or @near + @range
 * overflows; ``ENOMEM`` @len above ``max_reservation_size``, out of
 * memory, or without a window no free range of @len bytes (or RLIMIT_AS);
 * ``EEXIST`` %CODEHEAP_RESERVE_FIXED and the range is not free; ``ENOSPC``
 * no free range of @len bytes inside the window (or the hint range lies
 * outside it with %CODEHEAP_RESERVE_FIXED), or the heap used up its file
 * offsets (Documentation/design.rst, "Mapping model"); ``EACCES`` the fd
 * is not open for reading; ``EAGAIN`` mlockall(MCL_FUTURE) and the
 * reservation would exceed RLIMIT_MEMLOCK; ``EFAULT``.
 */
struct codeheap_reserve {
	__u32 size;
	__u32 flags;
	__aligned_u64 len;
	__aligned_u64 hint;
	__aligned_u64 near;
	__aligned_u64 range;
	__aligned_u64 addr;
};

/**
 * enum codeheap_reserve_flags - flags of struct codeheap_reserve
 * @CODEHEAP_RESERVE_FIXED: reserve exactly at the hint or fail
 */
enum codeheap_reserve_flags {
	CODEHEAP_RESERVE_FIXED = 1 << 0,
};

#define CODEHEAP_IOC_RESERVE _IO(CODEHEAP_TYPE, CODEHEAP_CMD_RESERVE)

/**
 * struct codeheap_release - ioctl(CODEHEAP_IOC_RELEASE)
 * @size: sizeof(struct codeheap_release)
 * @flags: must be 0
 * @addr: the start of a reservation, as RESERVE (or a growing ALLOC)
 *        returned it
 *
 * Unmaps the reservation and frees its pages.  munmap() of the whole
 * reservation by the owner (or a MAP_FIXED mapping over it, exec or exit)
 * ends it as well, and also frees what is still allocated in it: its
 * allocations are freed, slots that jump into them reset to their tables'
 * defaults, jump tables laid in it destroyed, and a table elsewhere whose
 * default lay in it gets 0 (trap) as its default.
 *
 * Errors: ``EPERM`` not the owner; ``EINVAL`` unknown flag; ``ENOENT`` no
 * reservation starts at @addr; ``EBUSY`` allocations still live in it;
 * ``ENOMEM`` munmap() failed, and the reservation is as it was; ``EFAULT``.
 */
struct codeheap_release {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
};

#define CODEHEAP_IOC_RELEASE _IO(CODEHEAP_TYPE, CODEHEAP_CMD_RELEASE)

/**
 * struct codeheap_range - ioctl(CODEHEAP_IOC_COMMIT / DECOMMIT / PROTECT)
 * @size: sizeof(struct codeheap_range)
 * @flags: must be 0
 * @addr: page-aligned start
 * @len: non-zero multiple of the page size; [@addr, @addr + @len) must lie
 *       inside one reservation
 * @prot: PROTECT only (0 for the others): 0 for none, or
 *        ``PROT_READ | PROT_EXEC``
 * @__reserved: must be 0
 *
 * COMMIT backs every reserved page of the range with memory charged to the
 * caller's memory cgroup, filled with traps and mapped read+exec; pages
 * already committed keep their contents and protection.  DECOMMIT frees the
 * range's committed pages and removes them from every mapping.  PROTECT
 * makes the range's pages inaccessible (none) or read+exec again.
 *
 * Errors: ``EPERM`` not the owner, or (DECOMMIT, PROTECT) the range
 * touches a sealed allocation; ``EINVAL`` @addr or @len not page-aligned,
 * @len 0, unknown flag, non-zero @__reserved, @prot not 0 or
 * ``PROT_READ | PROT_EXEC`` (or non-zero for COMMIT and DECOMMIT),
 * (PROTECT) a page of the range is not committed; ``EACCES`` (PROTECT)
 * @prot includes ``PROT_WRITE``; ``EOVERFLOW`` @addr + @len overflows;
 * ``ENOENT`` the range is not inside one reservation; ``EBUSY``
 * (DECOMMIT) a live allocation covers a page of the range; ``ENOMEM``
 * (COMMIT) a committed-bytes limit or out of memory; ``EFAULT``.
 */
struct codeheap_range {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 prot;
	__u32 __reserved;
};

#define CODEHEAP_IOC_COMMIT _IO(CODEHEAP_TYPE, CODEHEAP_CMD_COMMIT)
#define CODEHEAP_IOC_DECOMMIT _IO(CODEHEAP_TYPE, CODEHEAP_CMD_DECOMMIT)
#define CODEHEAP_IOC_PROTECT _IO(CODEHEAP_TYPE, CODEHEAP_CMD_PROTECT)

/**
 * struct codeheap_alloc - ioctl(CODEHEAP_IOC_ALLOC)
 * @size: sizeof(struct codeheap_alloc)
 * @flags: must be 0
 * @len: bytes to allocate, not 0; rounded up to ``code_align``
 * @align: 0, or a power of two; the allocation is aligned to the larger of
 *         @align and ``code_align``
 * @lo: with @hi, the window: the allocation must lie inside [@lo, @hi)
 *      (V8's AllocateInRegion); both 0 for anywhere
 * @hi: see @lo
 * @tag: any value, reported by LOOKUP (for example a function index)
 * @addr: output: the start of the allocation
 *
 * Takes the lowest-addressed free range that fits inside the window; when
 * none fits, reserves a new code space (V8's rule: the larger of the
 * request plus 64 KiB, 128 KiB and a quarter of what the heap has reserved,
 * at most ``max_reservation_size``), inside the window when one is given.
 * The pages the allocation covers are committed (trap-filled, read+exec);
 * a free range in a page PROTECTed to none is never used.  A call that
 * fails releases the code space it reserved.
 *
 * Errors: ``EPERM`` not the owner; ``EINVAL`` @len 0, @align not a power
 * of two, an empty window (@lo >= @hi, or @lo = ~0 with @hi 0), unknown
 * flag; ``EOVERFLOW`` rounding @len overflows; ``ENOMEM`` @len or @align
 * above ``max_reservation_size``, no free range fits and a new code space
 * would need more than it (@len + ``code_align``, plus @align beyond a
 * page), a committed-bytes limit, or out of memory; ``ENOSPC`` no room in
 * the window; when the heap grows, RESERVE's errors of mmap() (``EPERM``,
 * ``EACCES``, ``EAGAIN``, ``ENOMEM``); ``EFAULT``.
 */
struct codeheap_alloc {
	__u32 size;
	__u32 flags;
	__aligned_u64 len;
	__aligned_u64 align;
	__aligned_u64 lo;
	__aligned_u64 hi;
	__aligned_u64 tag;
	__aligned_u64 addr;
};

#define CODEHEAP_IOC_ALLOC _IO(CODEHEAP_TYPE, CODEHEAP_CMD_ALLOC)

/**
 * struct codeheap_addr - ioctl(CODEHEAP_IOC_FREE / SEAL)
 * @size: sizeof(struct codeheap_addr)
 * @flags: must be 0
 * @addr: the start of a live allocation
 *
 * FREE refills the allocation with traps, returns it to the pool and
 * decommits the pages no live allocation covers any more.  SEAL makes it
 * immutable: WRITE, FREE and PROTECT or DECOMMIT of its pages fail with
 * ``EPERM`` until the heap is gone.  Sealing twice is not an error.
 *
 * Errors: ``EPERM`` not the owner, or (FREE) the allocation is sealed or
 * is a jump table; ``EINVAL`` unknown flag; ``ENOENT`` no allocation
 * starts at @addr; ``EBUSY`` (FREE) the allocation holds the default
 * target of a live jump table; ``ENOMEM`` (FREE) no memory for the pool's
 * bookkeeping, and nothing was freed; ``EFAULT``.
 */
struct codeheap_addr {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
};

#define CODEHEAP_IOC_SEAL _IO(CODEHEAP_TYPE, CODEHEAP_CMD_SEAL)
#define CODEHEAP_IOC_FREE _IO(CODEHEAP_TYPE, CODEHEAP_CMD_FREE)

/**
 * struct codeheap_lookup - ioctl(CODEHEAP_IOC_LOOKUP)
 * @size: sizeof(struct codeheap_lookup)
 * @flags: must be 0
 * @addr: any address
 * @start: output: the start of the live allocation containing @addr
 * @len: output: its length (as rounded by ALLOC)
 * @tag: output: its tag
 * @alloc_flags: output: %CODEHEAP_LOOKUP_SEALED if sealed
 * @__reserved: must be 0
 *
 * For stack walkers and profilers.  Usable from any process holding the
 * fd.
 *
 * Errors: ``EINVAL`` unknown flag, non-zero @__reserved; ``ENOENT`` no live
 * allocation contains @addr; ``EFAULT``.
 */
struct codeheap_lookup {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 start;
	__aligned_u64 len;
	__aligned_u64 tag;
	__u32 alloc_flags;
	__u32 __reserved;
};

/**
 * enum codeheap_lookup_flags - &struct codeheap_lookup.alloc_flags
 * @CODEHEAP_LOOKUP_SEALED: the allocation is sealed
 * @CODEHEAP_LOOKUP_JUMP_TABLE: the allocation holds a jump table's slots
 *                             (also sealed: only the kernel writes it)
 */
enum codeheap_lookup_flags {
	CODEHEAP_LOOKUP_SEALED = 1 << 0,
	CODEHEAP_LOOKUP_JUMP_TABLE = 1 << 1,
};

#define CODEHEAP_IOC_LOOKUP _IO(CODEHEAP_TYPE, CODEHEAP_CMD_LOOKUP)

/**
 * struct codeheap_write_entry - one copy of CODEHEAP_IOC_WRITE
 * @dst: destination, inside one live, unsealed allocation
 * @src: user pointer to the code to copy
 * @len: bytes, not 0
 */
struct codeheap_write_entry {
	__aligned_u64 dst;
	__aligned_u64 src;
	__aligned_u64 len;
};

/**
 * struct codeheap_write - ioctl(CODEHEAP_IOC_WRITE)
 * @size: sizeof(struct codeheap_write)
 * @flags: must be 0
 * @count: number of entries, 1 to the ``max_batch`` parameter
 * @__reserved: must be 0
 * @entries: user pointer to an array of @count struct codeheap_write_entry
 *
 * Copies code into allocations through the kernel's mapping of the pages:
 * no writable user mapping of code exists at any time.  Every entry is
 * validated before any byte is copied.  If reading a source faults during
 * the copy, the entries before it stay written, the faulting entry's
 * destination is refilled with traps (never half-written) and the call
 * goes on from that entry, checking again, at most 8 times: it may then
 * succeed, or fail with ``EFAULT``, ``ENOENT`` or ``EPERM``
 * (Documentation/codeheap.rst, "WRITE and faults").  Instruction caches
 * are coherent when the call returns.
 *
 * Errors: ``EPERM`` not the owner, or a destination is in a sealed
 * allocation; ``EINVAL`` @count 0, unknown flag, non-zero @__reserved, an
 * entry with @len 0; ``E2BIG`` @count above ``max_batch``; ``EOVERFLOW``
 * @dst + @len or @src + @len overflows; ``ENOENT`` a destination is not
 * inside one live allocation; ``ENOMEM`` (@count above 1) no memory to
 * copy the entries in; ``EFAULT`` @entries or a source cannot be read.
 */
struct codeheap_write {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 __reserved;
	__aligned_u64 entries;
};

#define CODEHEAP_IOC_WRITE _IO(CODEHEAP_TYPE, CODEHEAP_CMD_WRITE)

/**
 * struct codeheap_stats - ioctl(CODEHEAP_IOC_STATS)
 * @size: sizeof(struct codeheap_stats)
 * @flags: must be 0
 * @reserved_bytes: output: bytes of all reservations
 * @committed_bytes: output: bytes backed by memory
 * @allocated_bytes: output: bytes in live allocations
 * @freed_bytes: output: bytes freed by FREE since the heap was created
 * @peak_allocated_bytes: output: highest @allocated_bytes so far
 * @peak_committed_bytes: output: highest @committed_bytes so far
 * @largest_free: output: the largest free range of the pool
 * @allocations: output: live allocations
 * @reservations: output: live reservations
 * @jump_tables: output: live jump tables
 * @__reserved: must be 0
 *
 * Usable from any process holding the fd.
 *
 * Errors: ``EINVAL`` unknown flag, non-zero @__reserved; ``EFAULT``.
 */
struct codeheap_stats {
	__u32 size;
	__u32 flags;
	__aligned_u64 reserved_bytes;
	__aligned_u64 committed_bytes;
	__aligned_u64 allocated_bytes;
	__aligned_u64 freed_bytes;
	__aligned_u64 peak_allocated_bytes;
	__aligned_u64 peak_committed_bytes;
	__aligned_u64 largest_free;
	__u32 allocations;
	__u32 reservations;
	__u32 jump_tables;
	__u32 __reserved;
};

#define CODEHEAP_IOC_STATS _IO(CODEHEAP_TYPE, CODEHEAP_CMD_STATS)

/**
 * DOC: Jump tables
 *
 * A jump table is an array of kernel-owned slots in the heap, each a jump
 * to a target the kernel has checked: the table's default (0 for a trap, or
 * any user address, for example a JIT's lazy-compile stub) or an address
 * inside a live allocation of the same heap.  A JIT calls functions through
 * slots so that lazy compilation and tier-up change one slot.  Slot *i* is
 * at ``base + i * slot_size``.
 *
 * x86-64 (V8's encodings): a near slot is 8 bytes, ``jmp rel32`` and
 * ``int3`` padding, replaced by one aligned 8-byte store; a target beyond
 * rel32 reach goes through the slot's far slot (``jmp [rip+2]``, 2-byte
 * nop, 8-byte target; patched by storing the target).  arm64: a near slot
 * is one ``b imm26`` (4-byte store), a far slot ``ldr x16, #8; br x16;
 * .quad target``.  A thread calling through a slot while it is patched
 * jumps to the old target or the new one, never elsewhere.
 *
 * When an allocation is freed, every slot that targets it is reset to its
 * table's default before the memory is refilled with traps, so a slot never
 * points into freed or reused memory.  An allocation that is a table's
 * default target cannot be freed while the table lives.  The table's own
 * allocation is sealed: WRITE, FREE, PROTECT and DECOMMIT of it fail
 * (``EPERM``);
 * SEAL of it succeeds and changes nothing, as for any sealed allocation.
 */

/* Most slots one jump table may have. */
#define CODEHEAP_JT_MAX_SLOTS 65536

/**
 * struct codeheap_jt_create - ioctl(CODEHEAP_IOC_JT_CREATE)
 * @size: sizeof(struct codeheap_jt_create)
 * @flags: must be 0
 * @nr_slots: number of slots, 1 to %CODEHEAP_JT_MAX_SLOTS
 * @__reserved: must be 0
 * @default_target: 0 (slots trap), or a user address every slot jumps to
 *                  until patched: inside a live allocation of this heap
 *                  (which FREE then refuses while the table lives; the end
 *                  of its reservation makes the trap the default), or in
 *                  an executable mapping of the caller's that is no code
 *                  heap (the runtime's own stub: checked at JT_CREATE
 *                  only)
 * @lo: with @hi, a window for the table's placement, as in
 *      struct codeheap_alloc (0 and 0 for anywhere)
 * @hi: see @lo
 * @base: output: address of slot 0
 * @id: output: the table's id, for the other JT commands
 * @slot_size: output: bytes between slots (``jt_near_slot_size``)
 *
 * A table created by a 32-bit (compat) system call runs 32-bit code: it is
 * placed below 4 GiB (the window is cut there), and its default and every
 * target JT_PATCH gives it must lie below 4 GiB too.
 *
 * Errors: ``EPERM`` not the owner; ``EINVAL`` unknown flag, non-zero
 * @__reserved, @nr_slots 0, an empty window (as for ALLOC),
 * @default_target beyond the user address space (4 GiB for a 32-bit
 * table), not 4-byte aligned on arm64, inside a jump table, inside a reservation of the heap but
 * outside any live allocation, in another heap's code, or outside every
 * executable mapping; ``E2BIG`` @nr_slots above
 * %CODEHEAP_JT_MAX_SLOTS; ``ENOMEM`` as for ALLOC; ``ENOSPC`` as for ALLOC,
 * or (a 32-bit table) a window wholly above 4 GiB; ``EBUSY`` no table id
 * left; when the heap grows, RESERVE's errors of mmap(); ``EFAULT``.
 */
struct codeheap_jt_create {
	__u32 size;
	__u32 flags;
	__u32 nr_slots;
	__u32 __reserved;
	__aligned_u64 default_target;
	__aligned_u64 lo;
	__aligned_u64 hi;
	__aligned_u64 base;
	__u32 id;
	__u32 slot_size;
};

#define CODEHEAP_IOC_JT_CREATE _IO(CODEHEAP_TYPE, CODEHEAP_CMD_JT_CREATE)

/**
 * struct codeheap_jt_patch_entry - one slot change of CODEHEAP_IOC_JT_PATCH
 * @slot: slot index
 * @__reserved: must be 0
 * @target: the table's default, or an address inside a live allocation of
 *          this heap (not a jump table), below 4 GiB for a table made by a
 *          32-bit caller
 */
struct codeheap_jt_patch_entry {
	__u32 slot;
	__u32 __reserved;
	__aligned_u64 target;
};

/**
 * struct codeheap_jt_patch - ioctl(CODEHEAP_IOC_JT_PATCH)
 * @size: sizeof(struct codeheap_jt_patch)
 * @flags: must be 0
 * @id: the table
 * @count: number of entries, 1 to the ``max_batch`` parameter
 * @entries: user pointer to an array of @count
 *           struct codeheap_jt_patch_entry
 *
 * Every entry is validated before any slot changes; then each slot changes
 * with one aligned store (after its far slot, when the target needs it).
 * Entries are applied in order, so a later entry for the same slot wins.
 *
 * Errors: ``EPERM`` not the owner; ``EINVAL`` unknown flag, @count 0,
 * non-zero @__reserved in an entry; ``E2BIG`` @count above ``max_batch``;
 * ``EINVAL`` a target other than the default that no branch can reach
 * (arm64: not 4-byte aligned; checked before any slot changes);
 * ``ENOENT`` no table @id, a slot out of range, or a target that is
 * neither the default nor inside a live allocation of this heap that is
 * no jump table (and below 4 GiB, for a 32-bit table); ``ENOMEM``
 * (@count above 1) no memory to copy the entries in; ``EFAULT``.
 */
struct codeheap_jt_patch {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 count;
	__aligned_u64 entries;
};

#define CODEHEAP_IOC_JT_PATCH _IO(CODEHEAP_TYPE, CODEHEAP_CMD_JT_PATCH)

/**
 * struct codeheap_jt_query - ioctl(CODEHEAP_IOC_JT_QUERY)
 * @size: sizeof(struct codeheap_jt_query)
 * @flags: must be 0
 * @id: the table
 * @slot: slot index
 * @target: output: the slot's target (0 for a trap)
 *
 * Usable from any process holding the fd.
 *
 * Errors: ``EINVAL`` unknown flag; ``ENOENT`` no table @id or @slot out of
 * range; ``EFAULT``.
 */
struct codeheap_jt_query {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 slot;
	__aligned_u64 target;
};

#define CODEHEAP_IOC_JT_QUERY _IO(CODEHEAP_TYPE, CODEHEAP_CMD_JT_QUERY)

/**
 * struct codeheap_jt_destroy - ioctl(CODEHEAP_IOC_JT_DESTROY)
 * @size: sizeof(struct codeheap_jt_destroy)
 * @flags: must be 0
 * @id: the table
 * @__reserved: must be 0
 *
 * Removes the table; its slots are refilled with traps and its memory goes
 * back to the pool.
 *
 * Errors: ``EPERM`` not the owner; ``EINVAL`` unknown flag, non-zero
 * @__reserved; ``ENOENT`` no table @id; ``ENOMEM`` no memory for the
 * pool's bookkeeping, and nothing was destroyed; ``EFAULT``.
 */
struct codeheap_jt_destroy {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
};

#define CODEHEAP_IOC_JT_DESTROY _IO(CODEHEAP_TYPE, CODEHEAP_CMD_JT_DESTROY)

#endif /* _UAPI_LINUX_CODEHEAP_H */
