/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libcodeheap's fallback backend (fallback.c), private to the library.
 */
#ifndef _CODEHEAP_FALLBACK_H
#define _CODEHEAP_FALLBACK_H

#include <linux/codeheap.h>

struct codeheap_fallback;

/* A heap of the fallback, empty; NULL without memory. */
struct codeheap_fallback *codeheap_fallback_create(void);
/* Unmap everything it holds and free it; NULL is fine. */
void codeheap_fallback_destroy(struct codeheap_fallback *fb);
/* VERSION as the fallback answers it. */
void codeheap_fallback_version(struct codeheap_version *v);
/* One command, as ioctl() on the device would run it: 0 or -errno. */
int codeheap_fallback_ioctl(struct codeheap_fallback *fb, unsigned long cmd,
			    void *arg);

#endif
