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
 * only ``__u32`` and ``__u64`` fields with explicit padding; every
 * ``__u64`` is naturally aligned, so 32-bit and 64-bit processes share one
 * layout and no compat translation exists.  User pointers are passed as
 * ``__u64``.  Every ``flags`` bit not defined here and every ``__reserved``
 * field that is not zero is ``-EINVAL``.  A command number the module does
 * not know is ``-ENOTTY``.
 *
 * A call that fails changes nothing.
 *
 * Errno meanings, common to all commands (each command lists the ones it
 * can return):
 *
 * - ``EINVAL``: malformed argument: size too small, unknown flag, non-zero
 *   reserved field, misaligned or non-canonical address.
 * - ``E2BIG``: the struct is larger than the kernel's and its tail is not
 *   zero.
 * - ``EFAULT``: a user pointer (the argument itself or one inside it) could
 *   not be read or written.
 * - ``ENOENT``: no such allocation, jump table or slot.
 * - ``EBUSY``: the object is still in use.
 * - ``ENOMEM`` / ``ENOSPC``: a memory or address-space limit was reached.
 * - ``EACCES``: the requested protection includes write.
 * - ``EPERM``: the caller's mm does not own the heap, or the object is
 *   sealed.
 * - ``EOVERFLOW``: an address or size computation overflowed.
 * - ``ENOTTY``: unknown command.
 */

/**
 * DOC: Heaps and ownership
 *
 * Each open file description of /dev/codeheap is one heap, bound to the mm
 * (address space) of the process that opened it.  Commands that only read
 * (``CODEHEAP_IOC_VERSION``) work from any process holding the fd; every
 * command that changes the heap fails with ``-EPERM`` when called from
 * another mm, for example a child after fork() or a process that received
 * the fd over a unix socket.  The heap is freed when the last reference to
 * the file goes away.
 */

#define CODEHEAP_TYPE 0xBC

enum {
	CODEHEAP_CMD_VERSION = 0x00,
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
	__u64 features;
	__u32 page_size;
	__u32 code_align;
	__u32 jt_near_slot_size;
	__u32 jt_far_slot_size;
	__u64 max_reservation_size;
	__u64 max_heap_committed;
	__u64 max_total_committed;
	__u32 max_batch;
	__u32 __reserved;
};

#define CODEHEAP_IOC_VERSION _IO(CODEHEAP_TYPE, CODEHEAP_CMD_VERSION)

#endif /* _UAPI_LINUX_CODEHEAP_H */
