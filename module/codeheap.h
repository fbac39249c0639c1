/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codeheap: internal interfaces shared by the module's files.
 */
#ifndef _CODEHEAP_H
#define _CODEHEAP_H

#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/types.h>

#include "compat.h"

/* Hard ceiling of the max_batch parameter: bounds one call's kernel work. */
#define CODEHEAP_BATCH_HARD_MAX 65536U

#if defined(CONFIG_X86_64)
#define CODEHEAP_ARCH			CODEHEAP_ARCH_X86_64
#define CODEHEAP_CODE_ALIGN		64U
#define CODEHEAP_JT_NEAR_SLOT_SIZE	8U
#define CODEHEAP_JT_FAR_SLOT_SIZE	16U
#define CODEHEAP_DEFAULT_MAX_RESERVATION	(1024UL << 20)
#elif defined(CONFIG_ARM64)
#define CODEHEAP_ARCH			CODEHEAP_ARCH_ARM64
#define CODEHEAP_CODE_ALIGN		32U
#define CODEHEAP_JT_NEAR_SLOT_SIZE	4U
#define CODEHEAP_JT_FAR_SLOT_SIZE	16U
#define CODEHEAP_DEFAULT_MAX_RESERVATION	(128UL << 20)
#else
#error "codeheap supports x86-64 and arm64 only"
#endif

/**
 * struct codeheap_limits - the module parameters in force
 * @max_reservation_size: largest single reservation, bytes
 * @max_heap_committed: most committed bytes per heap
 * @max_total_committed: most committed bytes over all heaps
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
	unsigned int max_batch;
};

void codeheap_limits_get(struct codeheap_limits *limits);

/**
 * struct codeheap_heap - one heap, the private data of one open file
 * @mm: the address space that owns the heap, pinned with mmgrab() for the
 *      heap's lifetime; set at open and never changed, so it is read without
 *      a lock
 * @lock: serialises every change to the heap; taken only in ioctl context
 */
struct codeheap_heap {
	struct mm_struct *mm;
	struct mutex lock;	/* protects the fields below */
};

struct codeheap_heap *codeheap_heap_create(void);
void codeheap_heap_destroy(struct codeheap_heap *heap);

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

#endif /* _CODEHEAP_H */
