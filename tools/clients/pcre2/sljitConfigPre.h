/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sljit's executable allocator replaced by codeheap: PCRE2 is built with
 * -DSLJIT_HAVE_CONFIG_PRE=1 and this directory on the include path, so
 * that sljit includes this file before its own configuration, which
 * lists these macros.  No file of PCRE2 is changed.  See
 * Documentation/clients.rst, "The port".
 */
#ifndef CODEHEAP_SLJIT_CONFIG_PRE_H
#define CODEHEAP_SLJIT_CONFIG_PRE_H

#include <stddef.h>

/* No built-in allocator: the application defines the three macros below. */
#define SLJIT_EXECUTABLE_ALLOCATOR 0
/*
 * With SLJIT_EXECUTABLE_ALLOCATOR 0 this only makes sljit add
 * SLJIT_EXEC_OFFSET() to every address it computes (its
 * SLJIT_ADD_EXEC_OFFSET): code is written into a shadow and runs in the
 * heap.
 */
#define SLJIT_PROT_EXECUTABLE_ALLOCATOR 1

void *codeheap_sljit_malloc_exec(size_t size, void *exec_allocator_data);
void codeheap_sljit_free_exec(void *ptr, void *exec_allocator_data);
long codeheap_sljit_exec_offset(void *ptr);
void codeheap_sljit_update_wx_flags(void *from, void *to, int enable_exec);

#define SLJIT_MALLOC_EXEC(size, exec_allocator_data) \
	codeheap_sljit_malloc_exec((size), (exec_allocator_data))
#define SLJIT_FREE_EXEC(ptr, exec_allocator_data) \
	codeheap_sljit_free_exec((ptr), (exec_allocator_data))
#define SLJIT_EXEC_OFFSET(ptr) codeheap_sljit_exec_offset(ptr)
#define SLJIT_UPDATE_WX_FLAGS(from, to, enable_exec) \
	codeheap_sljit_update_wx_flags((from), (to), (enable_exec))

#endif
