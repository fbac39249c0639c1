// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sljit's executable allocator backed by libcodeheap (see
 * sljitConfigPre.h beside this file and Documentation/clients.rst).
 *
 * sljit_generate_code() asks for memory (SLJIT_MALLOC_EXEC), asks for its
 * executable offset (SLJIT_EXEC_OFFSET), writes the code at the address it
 * got and computes every address as that address plus the offset, then
 * says the code is done (SLJIT_UPDATE_WX_FLAGS(code, end, 1), with
 * executable addresses).  Here the memory is a libcodeheap shadow of a
 * fresh allocation in the process-wide default heap: the code is written
 * into ordinary memory, published with one WRITE when done, and the
 * shadow dropped.  sljit_free_code() then frees the allocation.
 *
 * The three calls of one generation run on one thread with no other
 * generation between them, so the shadow in flight is kept per thread.
 * sljit_set_jump_addr() and sljit_set_const(), which store into published
 * code directly, are not supported (PCRE2 calls neither); a JIT that
 * patches keeps its shadow and publishes the patched bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <codeheap.h>

#include "sljitConfigPre.h"

/* The generation in flight on this thread: its shadow, if any. */
static __thread struct codeheap_shadow inflight;

/*
 * For pcre2_bench: when codeheap_sljit_timing is set, the clock time spent
 * in the allocator's calls (under QEMU -icount: instructions), allocation
 * and publication in one sum and the free in the other.
 */
int codeheap_sljit_timing;
uint64_t codeheap_sljit_alloc_ns, codeheap_sljit_free_ns;

static uint64_t now(void)
{
	struct timespec ts;

	if (!codeheap_sljit_timing)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Tag of sljit's allocations, for LOOKUP and the perf map: "sljit". */
#define CODEHEAP_SLJIT_TAG 0x74696a6c73ULL

static void drop_inflight(struct codeheap *h, int free_code)
{
	if (!inflight.mem)
		return;
	if (free_code)
		codeheap_free(h, inflight.exec);
	codeheap_shadow_destroy(&inflight);
}

void *codeheap_sljit_malloc_exec(size_t size, void *exec_allocator_data)
{
	uint64_t t0 = now();
	struct codeheap *h;
	int ret;

	(void)exec_allocator_data;
	if (codeheap_default(&h))
		return NULL;
	/* A generation that never finished (none does in sljit today). */
	drop_inflight(h, 1);
	ret = codeheap_shadow_alloc(h, size, 0, NULL, NULL, CODEHEAP_SLJIT_TAG,
				    &inflight);
	if (t0)
		codeheap_sljit_alloc_ns += now() - t0;
	return ret ? NULL : inflight.mem;
}

long codeheap_sljit_exec_offset(void *ptr)
{
	if (!inflight.mem || ptr != inflight.mem)
		abort();	/* not the memory just handed out */
	return (long)inflight.offset;
}

void codeheap_sljit_update_wx_flags(void *from, void *to, int enable_exec)
{
	struct codeheap_span span;
	struct codeheap *h;
	uint64_t t0;

	if (!enable_exec || !from)
		return;
	t0 = now();
	if (codeheap_default(&h) || !inflight.mem)
		abort();
	span.off = (uintptr_t)from - (uintptr_t)inflight.exec;
	span.len = (uintptr_t)to - (uintptr_t)from;
	if (span.off || span.len > inflight.len)
		abort();	/* not the code of the generation in flight */
	/* sljit cannot fail here: without its code the caller would crash. */
	if (span.len && codeheap_shadow_publish(h, &inflight, &span, 1))
		abort();
	codeheap_shadow_destroy(&inflight);
	if (t0)
		codeheap_sljit_alloc_ns += now() - t0;
}

void codeheap_sljit_free_exec(void *ptr, void *exec_allocator_data)
{
	uint64_t t0 = now();
	struct codeheap *h;

	(void)exec_allocator_data;
	if (codeheap_default(&h))
		return;
	if (inflight.mem && (ptr == inflight.mem || ptr == inflight.exec))
		drop_inflight(h, 1);
	else
		codeheap_free(h, ptr);
	if (t0)
		codeheap_sljit_free_ns += now() - t0;
}
