/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, and nothing else.
 *
 * codeheap builds against Debian's 6.1 (bookworm) and 6.12
 * (bookworm-security) kernels and the newest kernel Debian ships next.  Every
 * difference between them lives in this file as a shim named after the newer
 * interface, each commented with the kernel version that changed it, so that
 * the rest of the module is written against one API.  When support for the
 * oldest kernel is dropped, its shims are deleted here and nowhere else.
 */
#ifndef _CODEHEAP_COMPAT_H
#define _CODEHEAP_COMPAT_H

#include <linux/mm.h>

/*
 * Features are probed in Kbuild (as openzfs's configure does) rather than
 * compared with LINUX_VERSION_CODE, which Debian's backports would defeat.
 */

/*
 * 6.3 made vm_flags read-only and added vm_flags_set()/vm_flags_clear(),
 * which also take the per-VMA lock; before that drivers changed the field.
 */
#ifndef CODEHEAP_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#endif /* _CODEHEAP_COMPAT_H */
