// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libcodeheap's fallback: the commands of the code heap in user space,
 * with mprotect() flips, for a machine without the module
 * (CODEHEAP_OPEN_FALLBACK; Documentation/library.rst, "Without the
 * module").  Each allocation is a mapping of its own, trap-filled, mapped
 * read+exec; WRITE makes the pages it writes read+write (never writable
 * and executable at once), copies, and maps them read+exec again.  It
 * answers the ioctls the library issues, with the uapi's errors, so every
 * library function has one path: ch_ioctl() in codeheap.c hands a
 * fallback heap's commands here instead of to the kernel.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codeheap.h"
#include "fallback.h"

#if defined(__x86_64__) || defined(__i386__)
#define FB_ARCH		CODEHEAP_ARCH_X86_64
#define FB_ALIGN	64
static const unsigned char fb_trap[] = { 0xcc };		/* int3 */
#elif defined(__aarch64__)
#define FB_ARCH		CODEHEAP_ARCH_ARM64
#define FB_ALIGN	64
static const unsigned char fb_trap[] = { 0x00, 0x00, 0x20, 0xd4 };	/* brk #0 */
#else
#error "libcodeheap: no fallback for this architecture"
#endif

/* Entries one WRITE takes, as the module's default max_batch. */
#define FB_MAX_BATCH 1024

struct fb_block {
	uintptr_t start;	/* what ALLOC returned */
	size_t len;		/* rounded up to FB_ALIGN */
	void *map;		/* the mapping, page-aligned */
	size_t map_len;
	uint64_t tag;
	int sealed;
};

/**
 * struct codeheap_fallback - a heap without the module
 * @lock: protects everything below
 * @blocks: the live allocations, sorted by start
 * @nr: entries of @blocks
 * @cap: room in @blocks
 * @allocated: bytes of the live allocations
 * @mapped: bytes of their mappings (STATS: reserved and committed alike)
 * @freed: bytes freed so far
 * @peak_allocated: the highest @allocated so far
 * @peak_mapped: the highest @mapped so far
 */
struct codeheap_fallback {
	pthread_mutex_t lock;
	struct fb_block *blocks;
	size_t nr, cap;
	uint64_t allocated, mapped, freed, peak_allocated, peak_mapped;
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void codeheap_fallback_version(struct codeheap_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	v->api_version = CODEHEAP_API_VERSION;
	v->arch = FB_ARCH;
	v->page_size = page_size();
	v->code_align = FB_ALIGN;
	v->max_batch = FB_MAX_BATCH;
}

struct codeheap_fallback *codeheap_fallback_create(void)
{
	struct codeheap_fallback *fb = calloc(1, sizeof(*fb));

	if (fb)
		pthread_mutex_init(&fb->lock, NULL);
	return fb;
}

void codeheap_fallback_destroy(struct codeheap_fallback *fb)
{
	if (!fb)
		return;
	for (size_t i = 0; i < fb->nr; i++)
		munmap(fb->blocks[i].map, fb->blocks[i].map_len);
	free(fb->blocks);
	pthread_mutex_destroy(&fb->lock);
	free(fb);
}

/* The index of the first block starting above @addr. */
static size_t fb_upper(const struct codeheap_fallback *fb, uintptr_t addr)
{
	size_t lo = 0, hi = fb->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fb->blocks[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The block containing [@addr, @addr + @len), or NULL. */
static struct fb_block *fb_find(struct codeheap_fallback *fb, uint64_t addr,
				uint64_t len)
{
	size_t i = fb_upper(fb, addr);
	struct fb_block *b;

	if (!i || addr > UINTPTR_MAX)
		return NULL;
	b = &fb->blocks[i - 1];
	if (addr - b->start >= b->len || len > b->len - (addr - b->start))
		return NULL;
	return b;
}

static void fb_fill_traps(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = fb_trap[i % sizeof(fb_trap)];
}

/* A mapping of @len at an @align multiple inside [@lo, @hi), or NULL. */
static void *fb_map(size_t len, uint64_t align, uint64_t lo, uint64_t hi,
		    void **map, size_t *map_len)
{
	size_t pg = page_size(), slack = align > pg ? align - pg : 0;
	uintptr_t start, want;
	unsigned char *p;

	if (len > SIZE_MAX - pg - slack)
		return NULL;
	*map_len = ((len + pg - 1) & ~(pg - 1)) + slack;
	want = (uintptr_t)((lo + align - 1) & ~(align - 1));
	p = mmap(lo ? (void *)want : NULL, *map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (start < lo || start + len < start || start + len > hi) {
		munmap(p, *map_len);
		return NULL;
	}
	*map = p;
	return (void *)start;
}

static int fb_alloc(struct codeheap_fallback *fb, struct codeheap_alloc *a)
{
	uint64_t align = a->align ? a->align : FB_ALIGN;
	uint64_t hi = a->hi ? a->hi : UINT64_MAX;
	struct fb_block b = { .tag = a->tag };
	struct fb_block *grown;
	size_t i;
	int ret;

	if (a->flags || !a->len || (align & (align - 1)) || a->lo >= hi)
		return -EINVAL;
	if (a->len > SIZE_MAX / 2 || align > SIZE_MAX / 2)
		return -ENOMEM;
	if (align < FB_ALIGN)
		align = FB_ALIGN;
	b.len = (a->len + FB_ALIGN - 1) & ~(uint64_t)(FB_ALIGN - 1);
	b.start = (uintptr_t)fb_map(b.len, align, a->lo, hi, &b.map, &b.map_len);
	if (!b.start)
		return a->lo || a->hi ? -ENOSPC : -ENOMEM;
	fb_fill_traps(b.map, b.map_len);
	if (mprotect(b.map, b.map_len, PROT_READ | PROT_EXEC)) {
		ret = -errno;	/* EACCES under PR_SET_MDWE */
		goto unmap;
	}
	ret = -ENOMEM;
	if (fb->nr == fb->cap) {
		grown = realloc(fb->blocks, (fb->cap * 2 + 16) * sizeof(*grown));
		if (!grown)
			goto unmap;
		fb->blocks = grown;
		fb->cap = fb->cap * 2 + 16;
	}
	i = fb_upper(fb, b.start);
	memmove(&fb->blocks[i + 1], &fb->blocks[i],
		(fb->nr - i) * sizeof(*fb->blocks));
	fb->blocks[i] = b;
	fb->nr++;
	fb->allocated += b.len;
	fb->mapped += b.map_len;
	if (fb->allocated > fb->peak_allocated)
		fb->peak_allocated = fb->allocated;
	if (fb->mapped > fb->peak_mapped)
		fb->peak_mapped = fb->mapped;
	a->addr = b.start;
	return 0;

unmap:
	munmap(b.map, b.map_len);
	return ret;
}

/* FREE's and SEAL's argument: the block starting at @a->addr. */
static int fb_block_at(struct codeheap_fallback *fb,
		       const struct codeheap_addr *a, struct fb_block **bp)
{
	if (a->flags)
		return -EINVAL;
	*bp = fb_find(fb, a->addr, 1);
	if (!*bp || (*bp)->start != a->addr)
		return -ENOENT;
	return 0;
}

static int fb_free(struct codeheap_fallback *fb, const struct codeheap_addr *a)
{
	struct fb_block *b;
	int ret = fb_block_at(fb, a, &b);

	if (ret)
		return ret;
	if (b->sealed)
		return -EPERM;
	munmap(b->map, b->map_len);
	fb->allocated -= b->len;
	fb->mapped -= b->map_len;
	fb->freed += b->len;
	memmove(b, b + 1, (fb->nr - (b - fb->blocks) - 1) * sizeof(*b));
	fb->nr--;
	return 0;
}

static int fb_seal(struct codeheap_fallback *fb, const struct codeheap_addr *a)
{
	struct fb_block *b;
	int ret = fb_block_at(fb, a, &b);

	if (!ret)
		b->sealed = 1;
	return ret;
}

/*
 * WRITE: every entry checked first, then each copied through a flip of
 * its pages to read+write and back.  A source that cannot be read faults
 * in the caller (SIGSEGV), as any memcpy() would: the kernel's EFAULT has
 * no equivalent here.
 */
static int fb_write(struct codeheap_fallback *fb,
		    const struct codeheap_write *w)
{
	const struct codeheap_write_entry *e = (const void *)(uintptr_t)w->entries;
	uintptr_t pg = page_size();
	uint32_t i;

	if (w->flags || w->__reserved || !w->count)
		return -EINVAL;
	if (w->count > FB_MAX_BATCH)
		return -E2BIG;
	for (i = 0; i < w->count; i++) {
		struct fb_block *b;

		if (!e[i].len)
			return -EINVAL;
		if (e[i].dst + e[i].len < e[i].dst ||
		    e[i].src + e[i].len < e[i].src)
			return -EOVERFLOW;
		b = fb_find(fb, e[i].dst, e[i].len);
		if (!b)
			return -ENOENT;
		if (b->sealed)
			return -EPERM;
	}
	for (i = 0; i < w->count; i++) {
		uintptr_t s = (uintptr_t)e[i].dst & ~(pg - 1);
		uintptr_t end = ((uintptr_t)e[i].dst + e[i].len + pg - 1) & ~(pg - 1);

		if (mprotect((void *)s, end - s, PROT_READ | PROT_WRITE))
			return -errno;
		memcpy((void *)(uintptr_t)e[i].dst,
		       (const void *)(uintptr_t)e[i].src, e[i].len);
		if (mprotect((void *)s, end - s, PROT_READ | PROT_EXEC))
			return -errno;
		__builtin___clear_cache((char *)(uintptr_t)e[i].dst,
					(char *)(uintptr_t)(e[i].dst + e[i].len));
	}
	return 0;
}

static int fb_lookup(struct codeheap_fallback *fb, struct codeheap_lookup *l)
{
	struct fb_block *b;

	if (l->flags || l->__reserved)
		return -EINVAL;
	b = fb_find(fb, l->addr, 1);
	if (!b)
		return -ENOENT;
	l->start = b->start;
	l->len = b->len;
	l->tag = b->tag;
	l->alloc_flags = b->sealed ? CODEHEAP_LOOKUP_SEALED : 0;
	return 0;
}

/* Each allocation is a mapping of its own: reserved and committed alike. */
static int fb_stats(struct codeheap_fallback *fb, struct codeheap_stats *st)
{
	if (st->flags || st->__reserved)
		return -EINVAL;
	st->reserved_bytes = fb->mapped;
	st->committed_bytes = fb->mapped;
	st->allocated_bytes = fb->allocated;
	st->freed_bytes = fb->freed;
	st->peak_allocated_bytes = fb->peak_allocated;
	st->peak_committed_bytes = fb->peak_mapped;
	st->largest_free = 0;
	st->allocations = fb->nr;
	st->reservations = fb->nr;
	st->jump_tables = 0;
	return 0;
}

int codeheap_fallback_ioctl(struct codeheap_fallback *fb, unsigned long cmd,
			    void *arg)
{
	int ret;

	if (cmd == CODEHEAP_IOC_VERSION) {
		codeheap_fallback_version(arg);
		return 0;
	}
	pthread_mutex_lock(&fb->lock);
	switch (cmd) {
	case CODEHEAP_IOC_ALLOC:
		ret = fb_alloc(fb, arg);
		break;
	case CODEHEAP_IOC_FREE:
		ret = fb_free(fb, arg);
		break;
	case CODEHEAP_IOC_SEAL:
		ret = fb_seal(fb, arg);
		break;
	case CODEHEAP_IOC_WRITE:
		ret = fb_write(fb, arg);
		break;
	case CODEHEAP_IOC_LOOKUP:
		ret = fb_lookup(fb, arg);
		break;
	case CODEHEAP_IOC_STATS:
		ret = fb_stats(fb, arg);
		break;
	default:
		/* Reservations, pages and jump tables need the module. */
		ret = -EOPNOTSUPP;
		break;
	}
	pthread_mutex_unlock(&fb->lock);
	return ret;
}
