// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libcodeheap: one function per ioctl of /dev/codeheap, and the few
 * conveniences a JIT wants.  See codeheap.h and Documentation/library.rst.
 *
 * Rules kept here: every function returns 0 (or a length) or -errno and
 * leaves errno as it found it; nothing prints or aborts; after
 * codeheap_open() the handle is read-only, so calls need no lock; only
 * codeheap_open() and the shadows allocate memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "codeheap.h"
#include "fallback.h"

#define CODEHEAP_EXPORT __attribute__((visibility("default")))

struct codeheap {
	int fd;				/* -1 for a fallback heap */
	int perf_fd;			/* -1 unless CODEHEAP_OPEN_PERF_MAP */
	struct codeheap_version info;	/* VERSION at open time */
	struct codeheap_fallback *fb;	/* CODEHEAP_OPEN_FALLBACK, no module */
};

static inline uint64_t u64(const void *p)
{
	return (uintptr_t)p;
}

/*
 * ioctl() as 0 or -errno, errno preserved: the device's, or the
 * fallback's user-space version of it (fallback.c).
 */
static int ch_ioctl(const struct codeheap *h, unsigned long cmd, void *arg)
{
	int saved = errno, ret = 0;

	if (h->fb)
		ret = codeheap_fallback_ioctl(h->fb, cmd, arg);
	else if (ioctl(h->fd, cmd, arg))
		ret = -errno;
	errno = saved;
	return ret;
}

static int version_of(const struct codeheap *h, struct codeheap_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	return ch_ioctl(h, CODEHEAP_IOC_VERSION, v);
}

CODEHEAP_EXPORT int codeheap_open(struct codeheap **hp, unsigned int flags)
{
	int saved = errno, ret;
	struct codeheap *h;
	char path[64];

	if (!hp || (flags & ~(CODEHEAP_OPEN_PERF_MAP | CODEHEAP_OPEN_FALLBACK)))
		return -EINVAL;
	*hp = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->perf_fd = -1;
	h->fd = open(CODEHEAP_DEVICE, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		ret = -errno;
		/* No module, or none for this process: only if asked for. */
		if (!(flags & CODEHEAP_OPEN_FALLBACK) ||
		    (ret != -ENOENT && ret != -ENODEV))
			goto fail;
		h->fb = codeheap_fallback_create();
		ret = -ENOMEM;
		if (!h->fb)
			goto fail;
	}
	ret = version_of(h, &h->info);
	if (ret)
		goto fail;
	if (flags & CODEHEAP_OPEN_PERF_MAP) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		h->perf_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				  0644);
		if (h->perf_fd < 0) {
			ret = -errno;
			goto fail;
		}
	}
	*hp = h;
	errno = saved;
	return 0;
fail:
	if (h->fd >= 0)
		close(h->fd);
	codeheap_fallback_destroy(h->fb);
	free(h);
	errno = saved;
	return ret;
}

CODEHEAP_EXPORT void codeheap_close(struct codeheap *h)
{
	int saved = errno;

	if (!h)
		return;
	if (h->perf_fd >= 0)
		close(h->perf_fd);
	if (h->fd >= 0)
		close(h->fd);
	codeheap_fallback_destroy(h->fb);
	free(h);
	errno = saved;
}

/* -- The process-wide heap ---------------------------------------------- */

static struct codeheap *default_heap;

/* In a child after fork(): the parent's heap is not the child's to change. */
static void default_forget(void)
{
	struct codeheap *h = __atomic_exchange_n(&default_heap, NULL,
						 __ATOMIC_ACQ_REL);

	codeheap_close(h);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_register(void)
{
	pthread_atfork(NULL, NULL, default_forget);
}

CODEHEAP_EXPORT int codeheap_default(struct codeheap **hp)
{
	struct codeheap *h = __atomic_load_n(&default_heap, __ATOMIC_ACQUIRE);
	struct codeheap *none = NULL;
	int ret;

	if (h) {
		*hp = h;
		return 0;
	}
	pthread_once(&default_once, default_register);
	ret = codeheap_open(&h, 0);
	if (ret)
		return ret;
	/* Two threads raced to open it: the first one's heap is the heap. */
	if (!__atomic_compare_exchange_n(&default_heap, &none, h, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		codeheap_close(h);
		h = none;
	}
	*hp = h;
	return 0;
}

/* -- Errors -------------------------------------------------------------- */

CODEHEAP_EXPORT const char *codeheap_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case ENOENT:
		return "no such allocation, table or slot; from codeheap_open(): "
		       "/dev/codeheap does not exist, load the module "
		       "(modprobe codeheap)";
	case EACCES:
		return "permission denied; from codeheap_open(): this user may "
		       "not open /dev/codeheap (see its group and mode, "
		       "Documentation/install.rst); from codeheap_protect(): "
		       "code is never writable";
	case EPERM:
		return "not allowed: the heap belongs to another process (one "
		       "that inherited it or received its descriptor), or the "
		       "allocation is sealed or a jump table";
	case ENODEV:
		return "codeheap does not serve this process (a 32-bit ARM task "
		       "on arm64; Documentation/arm64.rst)";
	case ENOTTY:
		return "not a code heap, or a module older than this library "
		       "(update the codeheap module)";
	case ENOMEM:
		return "out of memory, or a codeheap limit reached (the "
		       "module's max_* parameters, RLIMIT_MEMLOCK-like "
		       "per-user accounting; see codeheap_info())";
	case ENOSPC:
		return "no room for the allocation in the address window asked "
		       "for";
	case EINVAL:
		return "invalid argument (a size, alignment, flag or window)";
	case E2BIG:
		return "batch larger than the module's max_batch";
	case EBUSY:
		return "in use: the allocation is a jump table's default target, "
		       "or no table id is left";
	case EEXIST:
		return "the fixed address range asked for is taken";
	case EFAULT:
		return "a user pointer cannot be read or written";
	case EOVERFLOW:
		return "an address plus a length overflows";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

CODEHEAP_EXPORT int codeheap_fd(const struct codeheap *h)
{
	return h->fd;
}

CODEHEAP_EXPORT const struct codeheap_version *
codeheap_info(const struct codeheap *h)
{
	return &h->info;
}

CODEHEAP_EXPORT int codeheap_version(struct codeheap *h,
				     struct codeheap_version *v)
{
	return version_of(h, v);
}

/* -- Code memory --------------------------------------------------------- */

CODEHEAP_EXPORT int codeheap_alloc_in(struct codeheap *h, size_t len,
				      size_t align, const void *lo,
				      const void *hi, uint64_t tag,
				      void **addr)
{
	struct codeheap_alloc a = {
		.size = sizeof(a), .len = len, .align = align,
		.lo = u64(lo), .hi = u64(hi), .tag = tag,
	};
	int ret = ch_ioctl(h, CODEHEAP_IOC_ALLOC, &a);

	if (!ret)
		*addr = codeheap_ptr(a.addr);
	return ret;
}

CODEHEAP_EXPORT int codeheap_alloc(struct codeheap *h, size_t len,
				   uint64_t tag, void **addr)
{
	return codeheap_alloc_in(h, len, 0, NULL, NULL, tag, addr);
}

static int addr_cmd(struct codeheap *h, unsigned long cmd, const void *addr)
{
	struct codeheap_addr a = { .size = sizeof(a), .addr = u64(addr) };

	return ch_ioctl(h, cmd, &a);
}

CODEHEAP_EXPORT int codeheap_free(struct codeheap *h, void *addr)
{
	return addr_cmd(h, CODEHEAP_IOC_FREE, addr);
}

CODEHEAP_EXPORT int codeheap_seal(struct codeheap *h, void *addr)
{
	return addr_cmd(h, CODEHEAP_IOC_SEAL, addr);
}

CODEHEAP_EXPORT int codeheap_write_batch(struct codeheap *h,
					 const struct codeheap_write_entry *e,
					 unsigned int count)
{
	struct codeheap_write w = {
		.size = sizeof(w), .count = count, .entries = u64(e),
	};

	return ch_ioctl(h, CODEHEAP_IOC_WRITE, &w);
}

CODEHEAP_EXPORT int codeheap_write(struct codeheap *h, void *dst,
				   const void *src, size_t len)
{
	struct codeheap_write_entry e = codeheap_entry(dst, src, len);

	return codeheap_write_batch(h, &e, 1);
}

CODEHEAP_EXPORT int codeheap_alloc_write(struct codeheap *h, const void *code,
					 size_t len, uint64_t tag, void **addr)
{
	void *a;
	int ret;

	ret = codeheap_alloc(h, len, tag, &a);
	if (ret)
		return ret;
	ret = codeheap_write(h, a, code, len);
	if (ret) {
		codeheap_free(h, a);
		return ret;
	}
	*addr = a;
	return 0;
}

CODEHEAP_EXPORT ssize_t codeheap_emit_in(struct codeheap *h, void *buf,
					 size_t cap, size_t align,
					 const void *lo, const void *hi,
					 uint64_t tag, codeheap_gen_fn gen,
					 void *arg, void **addr)
{
	ssize_t n;
	void *a;
	int ret;

	if (!gen || !buf)
		return -EINVAL;
	ret = codeheap_alloc_in(h, cap, align, lo, hi, tag, &a);
	if (ret)
		return ret;
	n = gen(buf, cap, a, arg);
	if (n == 0 || n > (ssize_t)cap)
		n = -EINVAL;
	if (n > 0) {
		ret = codeheap_write(h, a, buf, n);
		if (ret)
			n = ret;
	}
	if (n < 0) {
		codeheap_free(h, a);
		return n;
	}
	*addr = a;
	return n;
}

CODEHEAP_EXPORT ssize_t codeheap_emit(struct codeheap *h, void *buf,
				      size_t cap, uint64_t tag,
				      codeheap_gen_fn gen, void *arg,
				      void **addr)
{
	return codeheap_emit_in(h, buf, cap, 0, NULL, NULL, tag, gen, arg,
				addr);
}

/* -- Shadows ------------------------------------------------------------- */

/* @mem and @exec congruent modulo this many bytes. */
#define CODEHEAP_SHADOW_CONGRUENCE 64

/* Private memory for a shadow of [@exec, @exec + @len), as code holds it. */
static int shadow_make(void *exec, size_t len, struct codeheap_shadow *s)
{
	uintptr_t mask = CODEHEAP_SHADOW_CONGRUENCE - 1, mem;
	void *base;

	if (len > SIZE_MAX - CODEHEAP_SHADOW_CONGRUENCE)
		return -ENOMEM;
	base = malloc(len + CODEHEAP_SHADOW_CONGRUENCE);
	if (!base)
		return -ENOMEM;
	mem = ((uintptr_t)base & ~mask) | ((uintptr_t)exec & mask);
	if (mem < (uintptr_t)base)
		mem += CODEHEAP_SHADOW_CONGRUENCE;
	s->mem = (void *)mem;
	s->exec = exec;
	s->len = len;
	s->offset = (ptrdiff_t)((uintptr_t)exec - mem);
	s->__base = base;
	memcpy(s->mem, exec, len);
	return 0;
}

CODEHEAP_EXPORT int codeheap_shadow_alloc(struct codeheap *h, size_t len,
					  size_t align, const void *lo,
					  const void *hi, uint64_t tag,
					  struct codeheap_shadow *s)
{
	int saved = errno, ret;
	void *exec;

	if (!len)
		return -EINVAL;
	ret = codeheap_alloc_in(h, len, align, lo, hi, tag, &exec);
	if (ret)
		return ret;
	ret = shadow_make(exec, len, s);
	if (ret)
		codeheap_free(h, exec);
	errno = saved;
	return ret;
}

CODEHEAP_EXPORT int codeheap_shadow_attach(struct codeheap *h, void *exec,
					   size_t len,
					   struct codeheap_shadow *s)
{
	struct codeheap_lookup l;
	int saved = errno, ret;

	if (!len)
		return -EINVAL;
	ret = codeheap_lookup(h, exec, &l);
	if (ret)
		return ret;
	if ((l.alloc_flags & CODEHEAP_LOOKUP_JUMP_TABLE) ||
	    len > l.start + l.len - u64(exec))
		return -ENOENT;
	ret = shadow_make(exec, len, s);
	errno = saved;
	return ret;
}

/* Spans copied per WRITE, from an array on the stack. */
#define CODEHEAP_SHADOW_BATCH 64

CODEHEAP_EXPORT int codeheap_shadow_publish(struct codeheap *h,
					    const struct codeheap_shadow *s,
					    const struct codeheap_span *spans,
					    unsigned int count)
{
	struct codeheap_write_entry e[CODEHEAP_SHADOW_BATCH];
	unsigned int i, n, batch = CODEHEAP_SHADOW_BATCH;
	char *mem = s->mem, *exec = s->exec;
	struct codeheap_span whole;
	int ret;

	/* All of it is one span. */
	if (!spans) {
		if (count)
			return -EINVAL;
		whole = (struct codeheap_span){ .off = 0, .len = s->len };
		spans = &whole;
		count = 1;
	}
	if (!count)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!spans[i].len || spans[i].off > s->len ||
		    spans[i].len > s->len - spans[i].off)
			return -EINVAL;
	if (h->info.max_batch && h->info.max_batch < batch)
		batch = h->info.max_batch;
	for (i = 0; i < count; i += n) {
		n = count - i < batch ? count - i : batch;
		for (unsigned int k = 0; k < n; k++)
			e[k] = codeheap_entry(exec + spans[i + k].off,
					      mem + spans[i + k].off,
					      spans[i + k].len);
		ret = codeheap_write_batch(h, e, n);
		if (ret)
			return ret;
	}
	return 0;
}

CODEHEAP_EXPORT void codeheap_shadow_destroy(struct codeheap_shadow *s)
{
	int saved = errno;

	free(s->__base);
	memset(s, 0, sizeof(*s));
	errno = saved;
}

CODEHEAP_EXPORT int codeheap_lookup(struct codeheap *h, const void *addr,
				    struct codeheap_lookup *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->addr = u64(addr);
	return ch_ioctl(h, CODEHEAP_IOC_LOOKUP, l);
}

CODEHEAP_EXPORT int codeheap_stats(struct codeheap *h,
				   struct codeheap_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ch_ioctl(h, CODEHEAP_IOC_STATS, st);
}

/* -- Address space ------------------------------------------------------- */

CODEHEAP_EXPORT int codeheap_reserve(struct codeheap *h, size_t len,
				     void *hint, const void *near,
				     size_t range, unsigned int flags,
				     void **addr)
{
	struct codeheap_reserve r = {
		.size = sizeof(r), .flags = flags, .len = len,
		.hint = u64(hint), .near = u64(near), .range = range,
	};
	int ret = ch_ioctl(h, CODEHEAP_IOC_RESERVE, &r);

	if (!ret)
		*addr = codeheap_ptr(r.addr);
	return ret;
}

CODEHEAP_EXPORT int codeheap_release(struct codeheap *h, void *addr)
{
	struct codeheap_release r = { .size = sizeof(r), .addr = u64(addr) };

	return ch_ioctl(h, CODEHEAP_IOC_RELEASE, &r);
}

static int range_cmd(struct codeheap *h, unsigned long cmd, void *addr,
		     size_t len, int prot)
{
	struct codeheap_range r = {
		.size = sizeof(r), .addr = u64(addr), .len = len,
		.prot = (uint32_t)prot,
	};

	return ch_ioctl(h, cmd, &r);
}

CODEHEAP_EXPORT int codeheap_commit(struct codeheap *h, void *addr,
				    size_t len)
{
	return range_cmd(h, CODEHEAP_IOC_COMMIT, addr, len, 0);
}

CODEHEAP_EXPORT int codeheap_decommit(struct codeheap *h, void *addr,
				      size_t len)
{
	return range_cmd(h, CODEHEAP_IOC_DECOMMIT, addr, len, 0);
}

CODEHEAP_EXPORT int codeheap_protect(struct codeheap *h, void *addr,
				     size_t len, int prot)
{
	return range_cmd(h, CODEHEAP_IOC_PROTECT, addr, len, prot);
}

/* -- Jump tables --------------------------------------------------------- */

CODEHEAP_EXPORT int codeheap_jt_create_in(struct codeheap *h,
					  unsigned int nr_slots,
					  const void *default_target,
					  const void *lo, const void *hi,
					  struct codeheap_jt *jt)
{
	struct codeheap_jt_create c = {
		.size = sizeof(c), .nr_slots = nr_slots,
		.default_target = u64(default_target),
		.lo = u64(lo), .hi = u64(hi),
	};
	int ret = ch_ioctl(h, CODEHEAP_IOC_JT_CREATE, &c);

	if (ret)
		return ret;
	jt->base = codeheap_ptr(c.base);
	jt->default_target = (void *)default_target;
	jt->id = c.id;
	jt->slot_size = c.slot_size;
	jt->nr_slots = nr_slots;
	return 0;
}

CODEHEAP_EXPORT int codeheap_jt_create(struct codeheap *h,
				       unsigned int nr_slots,
				       const void *default_target,
				       struct codeheap_jt *jt)
{
	return codeheap_jt_create_in(h, nr_slots, default_target, NULL, NULL,
				     jt);
}

CODEHEAP_EXPORT int
codeheap_jt_patch_batch(struct codeheap *h, const struct codeheap_jt *jt,
			const struct codeheap_jt_patch_entry *e,
			unsigned int count)
{
	struct codeheap_jt_patch p = {
		.size = sizeof(p), .id = jt->id, .count = count,
		.entries = u64(e),
	};

	return ch_ioctl(h, CODEHEAP_IOC_JT_PATCH, &p);
}

CODEHEAP_EXPORT int codeheap_jt_patch(struct codeheap *h,
				      const struct codeheap_jt *jt,
				      unsigned int slot, const void *target)
{
	struct codeheap_jt_patch_entry e = codeheap_jt_entry(slot, target);

	return codeheap_jt_patch_batch(h, jt, &e, 1);
}

CODEHEAP_EXPORT int codeheap_jt_query(struct codeheap *h,
				      const struct codeheap_jt *jt,
				      unsigned int slot, void **target)
{
	struct codeheap_jt_query q = {
		.size = sizeof(q), .id = jt->id, .slot = slot,
	};
	int ret = ch_ioctl(h, CODEHEAP_IOC_JT_QUERY, &q);

	if (!ret)
		*target = codeheap_ptr(q.target);
	return ret;
}

CODEHEAP_EXPORT int codeheap_jt_destroy(struct codeheap *h,
					const struct codeheap_jt *jt)
{
	struct codeheap_jt_destroy d = { .size = sizeof(d), .id = jt->id };

	return ch_ioctl(h, CODEHEAP_IOC_JT_DESTROY, &d);
}

/* -- Profilers ----------------------------------------------------------- */

#define CODEHEAP_PERF_NAME_MAX 200

CODEHEAP_EXPORT int codeheap_perf_name(struct codeheap *h, const void *addr,
				       size_t len, const char *name)
{
	char line[CODEHEAP_PERF_NAME_MAX + 48];
	int saved = errno, n, i, ret = 0;
	ssize_t w;

	if (h->perf_fd < 0)
		return 0;
	n = snprintf(line, sizeof(line), "%" PRIxPTR " %zx ",
		     (uintptr_t)addr, len);
	for (i = 0; name && name[i] && i < CODEHEAP_PERF_NAME_MAX; i++)
		line[n++] = (name[i] == '\n' || name[i] == '\r') ? ' ' : name[i];
	line[n++] = '\n';
	w = write(h->perf_fd, line, n);
	if (w < 0)
		ret = -errno;
	else if (w != n)
		ret = -EIO;
	errno = saved;
	return ret;
}
