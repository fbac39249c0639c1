/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, and nothing else.
 *
 * codeheap builds against every kernel Debian ships: 6.1 (bookworm), 6.12
 * (bookworm-security and trixie) and the 7.x of trixie-backports and sid.  Every
 * difference between them lives in this file as a shim named after the newer
 * interface, each commented with the kernel version that changed it, so that
 * the rest of the module is written against one API.  When support for the
 * oldest kernel is dropped, its shims are deleted here and nowhere else.
 */
#ifndef _CODEHEAP_COMPAT_H
#define _CODEHEAP_COMPAT_H

#include <linux/mm.h>
#include <linux/uio.h>

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

/*
 * 6.6 added copy_folio_from_iter_atomic(), a wrapper of
 * copy_page_from_iter_atomic() ("iov_iter: Add
 * copy_folio_from_iter_atomic()", the iomap large-folio series); 7.x
 * removed the page variant.
 */
#ifndef CODEHEAP_HAVE_COPY_FOLIO_FROM_ITER_ATOMIC
static inline size_t copy_folio_from_iter_atomic(struct folio *folio,
						 size_t offset, size_t bytes,
						 struct iov_iter *i)
{
	return copy_page_from_iter_atomic(&folio->page, offset, bytes, i);
}
#endif

#endif /* _CODEHEAP_COMPAT_H */
