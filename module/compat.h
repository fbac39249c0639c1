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

#include <linux/version.h>

/* No difference between the supported kernels matters to the module yet. */

#endif /* _CODEHEAP_COMPAT_H */
