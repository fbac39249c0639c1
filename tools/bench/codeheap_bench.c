// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap_bench: codeheap against the W^X schemes a JIT would use instead.
 *
 *   codeheap_bench run [--label L] [--rows R,...]
 *                                        in the guest: measure, print raw
 *                                        rows (all, or those named: baseline,
 *                                        publish, batch, first_exec,
 *                                        jump_slots, threads, alloc_free)
 *   codeheap_bench report KERNEL ICOUNT WALL
 *                                        on the host: the Markdown table
 *   codeheap_bench loop [--fill N] [--rows]
 *                                        in the guest, for
 *                                        tools/bench/profile: each profiled
 *                                        command over and over
 *
 * "run" prints one line per measurement, "R <key> <median> <min> <samples>",
 * in nanoseconds per operation.  Under QEMU -icount shift=0 with one vCPU
 * the guest clock advances one nanosecond per guest instruction, so the
 * figures are guest instructions (user and kernel together); without icount
 * they are wall-clock nanoseconds under emulation.  Every figure is the
 * median over its samples of (timed interval - clock overhead) / operations
 * per sample, after a warm-up; min is printed beside it.
 *
 * "report" reads the raw output of one icount run and one wall-clock run of
 * the same kernel and prints the table with each SPEC section 8 target and
 * whether it is met (judged on instruction counts, except the thread-scaling
 * row, which needs several vCPUs and is wall clock only).
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/codeheap.h>

#define PAGE		4096UL
#define MAX_SAMPLES	1024
#define BATCH		64

/*
 * The architecture's code: a return, the trap codeheap fills with, and
 * what a JIT must do after storing code before it runs it.  On x86-64
 * nothing (instruction fetch snoops stores); on arm64 the D-cache clean
 * and I-cache invalidation of the bytes (__builtin___clear_cache(), as
 * every arm64 JIT does), which the alternatives below pay and codeheap
 * does in the kernel.
 */
#if defined(__x86_64__)
static const uint8_t RET[] = { 0xc3 };				/* ret */
static const uint8_t TRAP[] = { 0xcc };				/* int3 */
#define cpu_relax()	asm volatile("pause")
#elif defined(__aarch64__)
static const uint8_t RET[] = { 0xc0, 0x03, 0x5f, 0xd6 };	/* ret */
static const uint8_t TRAP[] = { 0x00, 0x00, 0x20, 0xd4 };	/* brk #0 */
#define cpu_relax()	asm volatile("yield")
#else
#error "codeheap_bench: no code for this architecture"
#endif

static inline void sync_code(const void *p, size_t len)
{
#if defined(__aarch64__)
	__builtin___clear_cache((char *)p, (char *)p + len);
#else
	asm volatile("" : : "r"(p), "r"(len) : "memory");
#endif
}

/* Fill @len bytes with traps, a return at every multiple of @step. */
static void fill_code(uint8_t *p, size_t len, size_t step)
{
	for (size_t i = 0; i < len; i += sizeof(TRAP))
		memcpy(p + i, step && i % step == 0 ? RET : TRAP,
		       sizeof(TRAP));
}

static int chfd = -1;		/* /dev/codeheap */
static int nullfd = -1;		/* /dev/null */
static uint64_t clock_ovh;	/* one empty timed interval */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "codeheap_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno));
	exit(1);
}

static inline uint64_t now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A set of samples, each the cost of @per operations. */
struct samples {
	uint64_t v[MAX_SAMPLES];
	int n;
	int per;
};

static void s_init(struct samples *s, int per)
{
	s->n = 0;
	s->per = per;
}

static void s_add(struct samples *s, uint64_t t0, uint64_t t1)
{
	uint64_t d = t1 - t0;

	d = d > clock_ovh ? d - clock_ovh : 0;
	if (s->n < MAX_SAMPLES)
		s->v[s->n++] = d;
}

static void emit_v(const char *key, double median, double min, int n)
{
	printf("R %s %.1f %.1f %d\n", key, median, min, n);
	fflush(stdout);
}

static void emit(const char *key, struct samples *s)
{
	qsort(s->v, s->n, sizeof(s->v[0]), cmp_u64);
	emit_v(key, (double)s->v[s->n / 2] / s->per, (double)s->v[0] / s->per,
	       s->n);
}

/*
 * Time @body @n times after @warm untimed runs; each sample covers @per
 * operations.  @body may use the loop index _i.
 */
#define MEASURE(key, warm, n, per, body) do {				\
	struct samples *_s = &smp;					\
	uint64_t _t0, _t1;						\
	int _i;								\
	s_init(_s, per);						\
	for (_i = -(warm); _i < (n); _i++) {				\
		_t0 = now();						\
		body;							\
		_t1 = now();						\
		if (_i >= 0)						\
			s_add(_s, _t0, _t1);				\
	}								\
	emit(key, _s);							\
} while (0)

static struct samples smp;

/* ---------------------------------------------------------------- codeheap */

static int ch_ioctl(unsigned long cmd, void *arg)
{
	return ioctl(chfd, cmd, arg);
}

static uint64_t ch_reserve(uint64_t len)
{
	struct codeheap_reserve r = { .size = sizeof(r), .len = len };

	if (ch_ioctl(CODEHEAP_IOC_RESERVE, &r))
		die("RESERVE %llu", (unsigned long long)len);
	return r.addr;
}

static uint64_t ch_alloc(uint64_t len, uint64_t align)
{
	struct codeheap_alloc a = { .size = sizeof(a), .len = len,
				    .align = align };

	if (ch_ioctl(CODEHEAP_IOC_ALLOC, &a))
		die("ALLOC %llu", (unsigned long long)len);
	return a.addr;
}

static void ch_free(uint64_t addr)
{
	struct codeheap_addr f = { .size = sizeof(f), .addr = addr };

	if (ch_ioctl(CODEHEAP_IOC_FREE, &f))
		die("FREE");
}

static void ch_write(uint64_t dst, const void *src, uint64_t len)
{
	struct codeheap_write_entry e = {
		.dst = dst, .src = (uintptr_t)src, .len = len,
	};
	struct codeheap_write w = {
		.size = sizeof(w), .count = 1, .entries = (uintptr_t)&e,
	};

	if (ch_ioctl(CODEHEAP_IOC_WRITE, &w))
		die("WRITE");
}

static void ch_write_batch(struct codeheap_write_entry *e, unsigned int n)
{
	struct codeheap_write w = {
		.size = sizeof(w), .count = n, .entries = (uintptr_t)e,
	};

	if (ch_ioctl(CODEHEAP_IOC_WRITE, &w))
		die("WRITE batch");
}

static void ch_stats(struct codeheap_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ch_ioctl(CODEHEAP_IOC_STATS, st))
		die("STATS");
}

/* ---------------------------------------------------- the alternatives */

/* An anonymous mapping, touched so that no measurement takes its faults. */
static uint8_t *anon(size_t len, int prot)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu", len);
	fill_code(p, len, 0);
	if (prot != (PROT_READ | PROT_WRITE) && mprotect(p, len, prot))
		die("mprotect");
	return p;
}

/* A memfd mapped twice: a writable alias and an executable view. */
struct dual {
	int fd;
	uint8_t *rw;
	uint8_t *rx;
	size_t len;
};

static void dual_map(struct dual *d, size_t len, bool populate)
{
	int pop = populate ? MAP_POPULATE : 0;

	d->len = len;
	d->fd = memfd_create("jit", MFD_CLOEXEC);
	if (d->fd < 0 || ftruncate(d->fd, len))
		die("memfd");
	d->rw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | pop,
		     d->fd, 0);
	d->rx = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED | pop,
		     d->fd, 0);
	if (d->rw == MAP_FAILED || d->rx == MAP_FAILED)
		die("mmap memfd");
	if (populate) {
		fill_code(d->rw, len, 0);
		for (size_t i = 0; i < len; i += PAGE)
			*(volatile uint8_t *)(d->rx + i);
	}
}

static void dual_unmap(struct dual *d)
{
	munmap(d->rw, d->len);
	munmap(d->rx, d->len);
	close(d->fd);
}

/* The flip a W^X JIT without codeheap does around each publish. */
static inline void flip_copy(uint8_t *dst, const void *src, size_t len)
{
	uint8_t *pg = (uint8_t *)((uintptr_t)dst & ~(PAGE - 1));
	size_t plen = (((uintptr_t)dst + len + PAGE - 1) & ~(PAGE - 1)) -
		      (uintptr_t)pg;

	if (mprotect(pg, plen, PROT_READ | PROT_WRITE))
		die("mprotect RW");
	memcpy(dst, src, len);
	sync_code(dst, len);
	if (mprotect(pg, plen, PROT_READ | PROT_EXEC))
		die("mprotect RX");
}

static inline void compiler_barrier(const void *p)
{
	asm volatile("" : : "r"(p) : "memory");
}

/* ----------------------------------------------------------- quiescence */

/*
 * Debian kernels run their crypto self-tests in a kernel thread after boot;
 * under emulation that takes tens of seconds and would steal the CPU from
 * the measurements.  Wait until no such thread is left.
 */
static void quiesce(void)
{
	uint64_t t0 = now();
	char path[64], comm[64];
	bool busy;

	do {
		busy = false;
		for (int pid = 2; pid < 400 && !busy; pid++) {
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/comm", pid);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    !strncmp(comm, "cryptomgr", 9))
				busy = true;
			fclose(f);
		}
		if (busy)
			usleep(200000);
	} while (busy && now() - t0 < 120ULL * 1000000000ULL);
	printf("N quiesce waited %.1f s for the crypto self-tests%s\n",
	       (now() - t0) / 1e9, busy ? " (gave up)" : "");
}

/* ------------------------------------------------------------- the rows */

static uint8_t src_buf[BATCH * 256 + 16384] __attribute__((aligned(64)));

static void row_baseline(void)
{
	struct codeheap_version v = { .size = sizeof(v) };
	struct codeheap_stats st;
	int i;

	/* The clock itself: back-to-back reads. */
	clock_ovh = 0;
	MEASURE("clock", 100, 501, 1, (void)0);
	clock_ovh = smp.v[smp.n / 2];

	MEASURE("null_ioctl", 50, 501, 1,
		ioctl(nullfd, _IO(CODEHEAP_TYPE, 0x7f), 0));
	MEASURE("getppid", 50, 501, 1, syscall(SYS_getppid));
	MEASURE("ch_enotty", 50, 501, 1,
		ioctl(chfd, _IO(CODEHEAP_TYPE, 0x7f), 0));
	MEASURE("ch_version", 50, 501, 1, ch_ioctl(CODEHEAP_IOC_VERSION, &v));
	MEASURE("ch_stats", 50, 501, 1, ch_stats(&st));
	for (i = 0; i < 2; i++)	/* the user-space memcpy, for reference */
		MEASURE("memcpy256", 50, 501, 1,
			(memcpy(src_buf + 16384, src_buf, 256),
			 compiler_barrier(src_buf)));
}

static void row_publish(size_t sz)
{
	int per_page = sz < PAGE ? PAGE / sz : 1, n = 101, k;
	struct codeheap_write_entry e;
	struct codeheap_write w;
	uint64_t fn, *fns;
	struct dual d;
	uint8_t *p;
	char key[64];

	/* WRITE alone into an existing, committed allocation. */
	fn = ch_alloc(sz, 0);
	e = (struct codeheap_write_entry){ fn, (uintptr_t)src_buf, sz };
	w = (struct codeheap_write){ .size = sizeof(w), .count = 1,
				     .entries = (uintptr_t)&e };
	snprintf(key, sizeof(key), "pub%zu.write", sz);
	MEASURE(key, 20, n, 1, ch_ioctl(CODEHEAP_IOC_WRITE, &w));
	ch_free(fn);

	/*
	 * ALLOC+WRITE of fresh functions, one after the other, as a JIT
	 * publishing new code: a sample is one page's worth of functions, so
	 * it includes the page commits they cause.
	 */
	fns = calloc((size_t)(n + 4) * per_page, sizeof(*fns));
	k = 0;
	snprintf(key, sizeof(key), "pub%zu.allocwrite", sz);
	MEASURE(key, 4, n, per_page,
		for (int j = 0; j < per_page; j++) {
			fns[k] = ch_alloc(sz, 0);
			ch_write(fns[k++], src_buf, sz);
		});
	while (k)
		ch_free(fns[--k]);
	free(fns);

	/* mprotect RW -> memcpy -> RX of the pages of one function in a
	 * 4 MiB code region (the VMA splits and merges back each time). */
	p = anon(4 << 20, PROT_READ | PROT_EXEC);
	snprintf(key, sizeof(key), "pub%zu.mprotect", sz);
	MEASURE(key, 20, n, 1, flip_copy(p + (1 << 20), src_buf, sz));
	munmap(p, 4 << 20);

	/* memfd double mapping: memcpy into the RW alias; pwrite. */
	dual_map(&d, 4 << 20, true);
	snprintf(key, sizeof(key), "pub%zu.memfd", sz);
	MEASURE(key, 20, n, 1,
		(memcpy(d.rw + (1 << 20), src_buf, sz),
		 sync_code(d.rx + (1 << 20), sz)));
	snprintf(key, sizeof(key), "pub%zu.pwrite", sz);
	MEASURE(key, 20, n, 1,
		if (pwrite(d.fd, src_buf, sz, 1 << 20) != (ssize_t)sz)
			die("pwrite");
		sync_code(d.rx + (1 << 20), sz));
	dual_unmap(&d);

	/* RWX memory: memcpy. */
	p = anon(4 << 20, PROT_READ | PROT_WRITE | PROT_EXEC);
	snprintf(key, sizeof(key), "pub%zu.rwx", sz);
	MEASURE(key, 20, n, 1,
		(memcpy(p + (1 << 20), src_buf, sz),
		 sync_code(p + (1 << 20), sz)));
	munmap(p, 4 << 20);
}

static void row_batch(void)
{
	struct codeheap_write_entry e[BATCH];
	uint64_t base;
	struct dual d;
	uint8_t *p;
	int i;

	base = ch_alloc(BATCH * 256, PAGE);
	for (i = 0; i < BATCH; i++)
		e[i] = (struct codeheap_write_entry){
			base + i * 256, (uintptr_t)(src_buf + i * 256), 256 };
	MEASURE("batch.write", 10, 101, BATCH, ch_write_batch(e, BATCH));
	/* The same 64 functions as 64 single WRITE calls. */
	MEASURE("batch.write1", 10, 101, BATCH,
		for (i = 0; i < BATCH; i++) ch_write_batch(&e[i], 1));
	/* The same, each function from a buffer apart from the others. */
	for (i = 0; i < BATCH; i++)
		e[i].src = (uintptr_t)(src_buf + (i * 7 % BATCH) * 256);
	MEASURE("batch.scatter", 10, 101, BATCH, ch_write_batch(e, BATCH));
	for (i = 0; i < BATCH; i++)
		e[i].src = (uintptr_t)(src_buf + i * 256);

	/* For the profile: the per-entry cost without most of the copy. */
	for (i = 0; i < BATCH; i++)
		e[i].len = 64;
	MEASURE("prof.batch64x64", 10, 101, BATCH, ch_write_batch(e, BATCH));
	MEASURE("prof.write64", 20, 101, 1, ch_write_batch(e, 1));
	e[0].len = 1024;
	MEASURE("prof.write1024", 20, 101, 1, ch_write_batch(e, 1));
	{
		struct codeheap_lookup l = { .size = sizeof(l),
					     .addr = base + 100 };

		MEASURE("prof.lookup", 20, 101, 1,
			ch_ioctl(CODEHEAP_IOC_LOOKUP, &l));
	}
	ch_free(base);

	dual_map(&d, 1 << 20, true);
	MEASURE("batch.memfd", 10, 101, BATCH,
		for (i = 0; i < BATCH; i++) {
			memcpy(d.rw + 65536 + i * 256, src_buf + i * 256, 256);
			sync_code(d.rx + 65536 + i * 256, 256);
		});
	dual_unmap(&d);

	p = anon(1 << 20, PROT_READ | PROT_WRITE | PROT_EXEC);
	MEASURE("batch.rwx", 10, 101, BATCH,
		for (i = 0; i < BATCH; i++) {
			memcpy(p + 65536 + i * 256, src_buf + i * 256, 256);
			sync_code(p + 65536 + i * 256, 256);
		});
	munmap(p, 1 << 20);

	/* One flip of the 4 pages around all 64 copies. */
	p = anon(4 << 20, PROT_READ | PROT_EXEC);
	MEASURE("batch.mprotect", 10, 101, BATCH,
		flip_copy(p + (1 << 20), src_buf, BATCH * 256));
	munmap(p, 4 << 20);
}

/*
 * ALLOC+FREE of a 256-byte function with N live allocations.  The heap is
 * filled with 64-byte allocations of which every other one is freed again,
 * so the block tree holds N allocations and the pool N free holes that the
 * 256-byte request does not fit (it must not scan them).
 */
static void row_alloc_free(void)
{
	static const struct { long n; const char *name; } steps[] = {
		{ 1000, "1k" }, { 100000, "100k" }, { 1000000, "1m" },
	};
	uint64_t *chunk = malloc(2 * 4096 * sizeof(*chunk));
	struct codeheap_stats st0, st1;
	long live = 0;
	char key[64];
	uint64_t a = 0;
	void *m;

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		uint64_t t0 = now();

		while (live < steps[s].n) {
			long c = steps[s].n - live;

			if (c > 4096)
				c = 4096;
			for (long i = 0; i < 2 * c; i++)
				chunk[i] = ch_alloc(64, 0);
			for (long i = 1; i < 2 * c; i += 2)
				ch_free(chunk[i]);
			live += c;
		}
		ch_stats(&st0);
		printf("N fill %s: %u live allocations, %llu KiB committed, "
		       "filled in %.1f ms (clock units)\n", steps[s].name,
		       st0.allocations,
		       (unsigned long long)st0.committed_bytes >> 10,
		       (now() - t0) / 1e6);
		snprintf(key, sizeof(key), "af.%s", steps[s].name);
		MEASURE(key, 20, 201, 1, (a = ch_alloc(256, 0), ch_free(a)));
		/* The two halves apart, each timed alone. */
		for (int half = 0; half < 2; half++) {
			snprintf(key, sizeof(key), "af.%s.%s", steps[s].name,
				 half ? "free" : "alloc");
			s_init(&smp, 1);
			for (int i = -20; i < 201; i++) {
				uint64_t t0, t1;

				if (half) {
					a = ch_alloc(256, 0);
					t0 = now();
					ch_free(a);
					t1 = now();
				} else {
					t0 = now();
					a = ch_alloc(256, 0);
					t1 = now();
					ch_free(a);
				}
				if (i >= 0)
					s_add(&smp, t0, t1);
			}
			emit(key, &smp);
		}
		ch_stats(&st1);
		printf("N af.%s: committed %llu -> %llu KiB\n", steps[s].name,
		       (unsigned long long)st0.committed_bytes >> 10,
		       (unsigned long long)st1.committed_bytes >> 10);
	}
	free(chunk);

	/* A user-space allocator, for reference. */
	MEASURE("af.malloc", 20, 201, 1,
		(m = malloc(256), compiler_barrier(m), free(m)));
}

/* Page faults of the first call into freshly written pages. */
static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

#define FAULT_PAGES 16

static void call_pages(uint8_t *base, const char *key)
{
	long f0, f1;
	int i;

	f0 = minflt();
	for (i = 0; i < FAULT_PAGES; i++)
		((void (*)(void))(base + i * PAGE))();
	f1 = minflt();
	emit_v(key, (double)(f1 - f0) / FAULT_PAGES,
	       (double)(f1 - f0) / FAULT_PAGES, FAULT_PAGES);
}

static void row_first_exec(void)
{
	uint64_t fn[FAULT_PAGES], base;
	struct dual d;
	uint8_t *p;
	int i;

	for (i = 0; i < FAULT_PAGES; i++) {
		fn[i] = ch_alloc(PAGE, PAGE);
		ch_write(fn[i], RET, sizeof(RET));
		if (i && fn[i] != fn[0] + i * PAGE)
			die("allocations not contiguous");
	}
	base = fn[0];
	call_pages((uint8_t *)(uintptr_t)base, "fault.codeheap");
	for (i = 0; i < FAULT_PAGES; i++)
		ch_free(fn[i]);

	dual_map(&d, FAULT_PAGES * PAGE, false);
	for (i = 0; i < FAULT_PAGES; i++) {
		memcpy(d.rw + i * PAGE, RET, sizeof(RET));
		sync_code(d.rx + i * PAGE, sizeof(RET));
	}
	call_pages(d.rx, "fault.memfd");
	dual_unmap(&d);

	p = mmap(NULL, FAULT_PAGES * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < FAULT_PAGES; i++) {
		memcpy(p + i * PAGE, RET, sizeof(RET));
		sync_code(p + i * PAGE, sizeof(RET));
	}
	call_pages(p, "fault.rwx");
	munmap(p, FAULT_PAGES * PAGE);

	p = mmap(NULL, FAULT_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < FAULT_PAGES; i++) {
		memcpy(p + i * PAGE, RET, sizeof(RET));
		sync_code(p + i * PAGE, sizeof(RET));
	}
	mprotect(p, FAULT_PAGES * PAGE, PROT_READ | PROT_EXEC);
	call_pages(p, "fault.mprotect");
	munmap(p, FAULT_PAGES * PAGE);
}

/* ----------------------------------------------------------- jump slots */

#ifdef CODEHEAP_IOC_JT_PATCH
static void row_jump_slots(void)
{
	struct codeheap_jt_create c = { .size = sizeof(c), .nr_slots = 256 };
	struct codeheap_jt_patch_entry pe[BATCH], pe2[BATCH];
	struct codeheap_jt_patch pt;
	uint64_t t1, t2;
	struct dual d;
	uint8_t *p;
	int i;

	if (ch_ioctl(CODEHEAP_IOC_JT_CREATE, &c)) {
		printf("N jt: JT_CREATE failed (errno %d): row left out\n",
		       errno);
		return;
	}
	t1 = ch_alloc(256, 0);
	t2 = ch_alloc(256, 0);
	ch_write(t1, RET, sizeof(RET));
	ch_write(t2, RET, sizeof(RET));
	for (i = 0; i < BATCH; i++) {
		pe[i] = (struct codeheap_jt_patch_entry){ .slot = i,
							  .target = t1 };
		pe2[i] = (struct codeheap_jt_patch_entry){ .slot = i,
							   .target = t2 };
	}
	pt = (struct codeheap_jt_patch){ .size = sizeof(pt), .id = c.id,
					 .count = 1 };
	/* Alternate targets, so every patch changes the slot. */
	MEASURE("jt.one", 20, 201, 1,
		pt.entries = (uintptr_t)(_i & 1 ? pe : pe2);
		if (ch_ioctl(CODEHEAP_IOC_JT_PATCH, &pt)) die("JT_PATCH"));
	pt.count = BATCH;
	MEASURE("jt.batch", 10, 101, BATCH,
		pt.entries = (uintptr_t)(_i & 1 ? pe : pe2);
		if (ch_ioctl(CODEHEAP_IOC_JT_PATCH, &pt)) die("JT_PATCH"));

	/* The alternatives store an 8-byte slot word. */
	p = anon(4 << 20, PROT_READ | PROT_EXEC);
	MEASURE("jt.mprotect", 20, 201, 1,
		flip_copy(p + (1 << 20) + 64, &t1, 8));
	munmap(p, 4 << 20);
	p = anon(1 << 20, PROT_READ | PROT_WRITE | PROT_EXEC);
	MEASURE("jt.rwx", 20, 201, 16,
		for (i = 0; i < 16; i++) {
			__atomic_store_n((uint64_t *)(p + 65536 + i * 8),
					 _i ^ t1, __ATOMIC_RELAXED);
			sync_code(p + 65536 + i * 8, 8);
		});
	munmap(p, 1 << 20);
	dual_map(&d, 1 << 20, true);
	MEASURE("jt.memfd", 20, 201, 16,
		for (i = 0; i < 16; i++) {
			__atomic_store_n((uint64_t *)(d.rw + 65536 + i * 8),
					 _i ^ t1, __ATOMIC_RELAXED);
			sync_code(d.rx + 65536 + i * 8, 8);
		});
	dual_unmap(&d);
	{
		struct codeheap_jt_destroy dd = { .size = sizeof(dd),
						  .id = c.id };

		if (ch_ioctl(CODEHEAP_IOC_JT_DESTROY, &dd))
			die("JT_DESTROY");
	}
	ch_free(t1);
	ch_free(t2);
}
#else
static void row_jump_slots(void)
{
	printf("N jt: built against a uapi without JT_PATCH: row left out\n");
}
#endif

/* ---------------------------------------------------- threads spinning */

static volatile int spin_stop;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *spinner(void *arg)
{
	pin((int)(intptr_t)arg);
	while (!spin_stop)
		cpu_relax();
	return NULL;
}

/* TLB shootdown IPIs received so far, all CPUs (x86 /proc/interrupts). */
static double tlb_shootdowns(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096], *q, *end;
	double sum = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		q = line + strspn(line, " ");
		if (strncmp(q, "TLB:", 4))
			continue;
		sum = 0;
		for (q += 4;; q = end) {
			double v = strtod(q, &end);

			if (end == q)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

/* MEASURE, then the TLB shootdowns per operation it caused, as key.tlb. */
#define MEASURE_TLB(key, warm, n, body) do {				\
	double _b = tlb_shootdowns(), _d;				\
	MEASURE(key, warm, n, 1, body);					\
	_d = (tlb_shootdowns() - _b) / ((warm) + (n));			\
	printf("R %s.tlb %.3f %.3f %d\n", key, _d, _d, (warm) + (n));	\
} while (0)

static void row_threads(void)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	static const int counts[] = { 0, 1, 3 };
	pthread_t th[3];
	uint64_t fn;
	uint8_t *p;
	char key[64];

	if (ncpu < 4) {
		printf("N threads: %d vCPU(s), row needs 4: left out\n", ncpu);
		return;
	}
	pin(0);
	fn = ch_alloc(256, 0);
	p = anon(4 << 20, PROT_READ | PROT_EXEC);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		int n = counts[c];

		spin_stop = 0;
		for (int i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, spinner,
					   (void *)(intptr_t)(i + 1)))
				die("pthread_create");
		usleep(20000);
		snprintf(key, sizeof(key), "thr%d.null_ioctl", n);
		MEASURE_TLB(key, 50, 301,
			    ioctl(nullfd, _IO(CODEHEAP_TYPE, 0x7f), 0));
		snprintf(key, sizeof(key), "thr%d.write", n);
		MEASURE_TLB(key, 50, 301, ch_write(fn, src_buf, 256));
		snprintf(key, sizeof(key), "thr%d.mprotect", n);
		MEASURE_TLB(key, 50, 301,
			    flip_copy(p + (1 << 20), src_buf, 256));
		spin_stop = 1;
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	munmap(p, 4 << 20);
	ch_free(fn);
}

static int cmd_run(int argc, char **argv)
{
	const char *label = "run", *rows = NULL;
	struct codeheap_version v = { .size = sizeof(v) };
	size_t i;

	for (i = 1; i + 1 < (size_t)argc; i += 2) {
		if (!strcmp(argv[i], "--label"))
			label = argv[i + 1];
		else if (!strcmp(argv[i], "--rows"))
			rows = argv[i + 1];
		else
			die("unknown option %s", argv[i]);
	}
	nullfd = open("/dev/null", O_RDWR);
	chfd = open("/dev/codeheap", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || chfd < 0)
		die("open");
	if (ch_ioctl(CODEHEAP_IOC_VERSION, &v))
		die("VERSION");
	fill_code(src_buf, sizeof(src_buf), 64);

	printf("N label %s, %ld vCPU(s), API %u, max_batch %u\n", label,
	       sysconf(_SC_NPROCESSORS_ONLN), v.api_version, v.max_batch);
	quiesce();
	/* Room for everything but the fill of row_alloc_free. */
	ch_reserve(64 << 20);

#define ROW(name, call) do {					\
	if (!rows || strstr(rows, name))				\
		call;							\
} while (0)
	ROW("baseline", row_baseline());
	ROW("publish", row_publish(256));
	ROW("publish", row_publish(4096));
	ROW("publish", row_publish(16384));
	ROW("batch", row_batch());
	ROW("first_exec", row_first_exec());
	ROW("jump_slots", row_jump_slots());
	ROW("threads", row_threads());
	ROW("alloc_free", row_alloc_free());
#undef ROW
	printf("N done\n");
	return 0;
}

/* --------------------------------------------------------------- report */

#define MAX_KEYS 256

struct raw {
	int n;
	char key[MAX_KEYS][48];
	double med[MAX_KEYS];
	char notes[4096];
};

static void raw_read(struct raw *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], key[48];
	double med, min;
	int n;

	memset(r, 0, sizeof(*r));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "R %47s %lf %lf %d", key, &med, &min, &n) == 4 &&
		    r->n < MAX_KEYS) {
			strcpy(r->key[r->n], key);
			r->med[r->n++] = med;
		} else if (!strncmp(line, "N ", 2) &&
			   strlen(r->notes) + strlen(line) + 4 <
			   sizeof(r->notes)) {
			strcat(r->notes, "- ");
			strcat(r->notes, line + 2);
		}
	}
	fclose(f);
}

/* NaN when missing. */
static double get(const struct raw *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->key[i], key))
			return r->med[i];
	return __builtin_nan("");
}

static struct raw ic, wc, ec;

static const char *num(char *buf, double v)
{
	if (v != v)
		return "n/a";
	if (v >= 100)
		snprintf(buf, 32, "%.0f", v);
	else
		snprintf(buf, 32, "%.1f", v);
	return buf;
}

static const char *ratio(char *buf, double a, double b)
{
	if (a != a || b != b || b == 0)
		return "n/a";
	snprintf(buf, 32, a / b >= 10 ? "%.0fx" : "%.2fx", a / b);
	return buf;
}

/* One method of one row: instructions, x null ioctl, x best alt, wall. */
static void line(const char *row, const char *method, const char *key,
		 double best_alt, const char *target, const char *met)
{
	char b1[32], b2[32], b3[32], b4[32];
	double i = get(&ic, key), w = get(&wc, key);

	printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", row, method,
	       num(b1, i), ratio(b2, i, get(&ic, "null_ioctl")),
	       best_alt == best_alt ? ratio(b3, i, best_alt) : "",
	       num(b4, w), target, met);
}

static const char *yesno(double v, int ok)
{
	return v != v ? "n/a" : ok ? "**met**" : "**missed**";
}

/* The cheapest of the alternatives named by @keys (instructions). */
static double best(const char *const *keys)
{
	double b = __builtin_nan("");

	for (; *keys; keys++) {
		double v = get(&ic, *keys);

		if (v == v && (b != b || v < b))
			b = v;
	}
	return b;
}

static void report_publish(size_t sz)
{
	char row[32], k[8][48], tgt[160];
	const char *alts[5];
	double w, flip, null = get(&ic, "null_ioctl"), b;
	const char *met = "";
	static const char *const m[] = { "write", "allocwrite", "mprotect",
					 "memfd", "pwrite", "rwx" };

	for (int i = 0; i < 6; i++)
		snprintf(k[i], sizeof(k[i]), "pub%zu.%s", sz, m[i]);
	for (int i = 0; i < 4; i++)
		alts[i] = k[2 + i];
	alts[4] = NULL;
	b = best(alts);
	snprintf(row, sizeof(row), "publish %zu B", sz);
	w = get(&ic, k[0]);
	flip = get(&ic, k[2]);
	tgt[0] = 0;
	if (sz == 256) {
		snprintf(tgt, sizeof(tgt),
			 "<= 1.5x null ioctl and >= 15x cheaper than the flip "
			 "(%.2fx, %.1fx cheaper)", w / null, flip / w);
		met = yesno(w, w <= 1.5 * null && flip >= 15 * w);
	}
	line(row, "codeheap WRITE (existing allocation)", k[0], b, tgt, met);
	line(row, "codeheap ALLOC+WRITE (fresh, incl. page commit)", k[1], b,
	     "", "");
	line(row, "mprotect RW, memcpy, mprotect RX", k[2], b, "", "");
	line(row, "memcpy into memfd RW alias", k[3], b, "", "");
	line(row, "pwrite to the memfd", k[4], b, "", "");
	line(row, "memcpy into RWX memory", k[5], b, "", "");
}

/*
 * The same rows counted with the CPU's ERMS/FSRM on: icount then counts
 * every byte a "rep movsb" moves as one instruction, in the kernel's
 * copies and in glibc's large ones alike.
 */
static void report_erms(void)
{
	static const char *const key[] = {
		"null_ioctl", "pub256.write", "pub256.memfd", "pub4096.write",
		"pub4096.memfd", "pub16384.write", "pub16384.memfd",
		"batch.write", "jt.one", "jt.batch", "af.1k" };
	char b1[32], b2[32], b3[32], b4[32];
	double n = get(&ic, "null_ioctl"), ne = get(&ec, "null_ioctl");

	printf("\n| same build, icount with ERMS/FSRM on (`-cpu max`), for "
	       "information | instructions | x null | with ERMS | x null |\n"
	       "|---|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(key) / sizeof(key[0]); i++) {
		double v = get(&ic, key[i]), e = get(&ec, key[i]);

		printf("| %s | %s | %s | %s | %s |\n", key[i], num(b1, v),
		       ratio(b2, v, n), num(b3, e), ratio(b4, e, ne));
	}
}

/*
 * PCRE2's JIT end to end (tools/clients/pcre2/pcre2_bench.c, one binary per
 * executable allocator): JIT compile + first match per pattern, and the
 * free, with each pattern's code freed before the next and with the last
 * 16 kept alive.
 */
static void report_pcre2(void)
{
	static const char *const alloc[] = { "codeheap", "stock", "sealloc" };
	static const char *const mode[] = { "", "live16." };
	static const char *const modename[] = {
		"each freed before the next", "the last 16 kept alive" };
	static const char *const cls[] = { "all", "small", "medium", "large",
					   "free" };
	char b[8][32], k[48], alt[2][48];
	const char *const alts[] = { alt[0], alt[1], NULL };

	if (get(&ic, "pcre2.codeheap.all") != get(&ic, "pcre2.codeheap.all"))
		return;
	printf("| PCRE2 JIT compile + first match, per pattern (instructions) "
	       "| codeheap | stock sljit (RWX pages) | sljit dual map "
	       "(--enable-jit-sealloc) | codeheap vs cheapest | codeheap's "
	       "allocation + publication | its share | target | met |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---|---|\n");
	for (int m = 0; m < 2; m++) {
		for (int c = 0; c < 5; c++) {
			double v[3], cheap, pub, r;

			for (int a = 0; a < 3; a++) {
				snprintf(k, sizeof(k), "pcre2.%s.%s%s", alloc[a],
					 mode[m], cls[c]);
				v[a] = get(&ic, k);
				if (a)
					strcpy(alt[a - 1], k);
			}
			if (v[0] != v[0])
				continue;
			snprintf(k, sizeof(k), "pcre2.codeheap.%spub.%s",
				 mode[m], cls[c]);
			pub = get(&ic, k);
			cheap = best(alts);
			r = v[0] / cheap;
			printf("| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			       modename[m], c == 4 ? "the free" : cls[c],
			       num(b[0], v[0]), num(b[1], v[1]),
			       num(b[2], v[2]), ratio(b[3], v[0], cheap),
			       num(b[4], pub), c == 4 || pub != pub ? "" :
			       (snprintf(b[5], 32, "%.0f%%", 100 * pub / v[0]),
				b[5]),
			       c ? "" : "<= 1.10x the cheapest",
			       c ? "" : yesno(r, r <= 1.10));
		}
	}
	printf("\n");
}

static int cmd_report(int argc, char **argv)
{
	double null, v, v2, b, m;
	char t[200], b1[32], b2[32], b3[32];
	const char *alts[6];

	if (argc < 5) {
		fprintf(stderr,
			"usage: codeheap_bench report KERNEL ICOUNT.raw WALL.raw "
			"[ERMS.raw]\n");
		return 2;
	}
	raw_read(&ic, argv[3]);
	raw_read(&wc, argv[4]);
	if (argc > 5)
		raw_read(&ec, argv[5]);
	if (!ic.n)
		die("no measurements in %s", argv[3]);
	null = get(&ic, "null_ioctl");

	printf("# codeheap benchmark: %s\n\n", argv[2]);
	printf("Guest instructions per operation (user and kernel), QEMU "
	       "`-icount shift=0`, one vCPU, `-cpu max,-erms,-fsrm` (icount "
	       "counts each step of a rep string instruction: the last "
	       "table shows the same rows with ERMS on): the primary metric, "
	       "identical from run to run.  Wall clock (ns, QEMU TCG without icount, "
	       "4 vCPUs) beside it, for information.  Each figure is the "
	       "median over its samples, after a warm-up, less the cost of "
	       "reading the clock.  \"x null\" is the ratio to a null ioctl "
	       "(`/dev/null`, `-ENOTTY`); \"x best alt\" the ratio to the "
	       "cheapest alternative measured in the same row.  Targets: "
	       "SPEC section 8, judged on instructions.\n\n");

	printf("| row | method | instructions | x null | x best alt | wall ns "
	       "| target | met |\n");
	printf("|---|---|---:|---:|---:|---:|---|---|\n");
	line("baseline", "null ioctl (/dev/null, -ENOTTY)", "null_ioctl",
	     __builtin_nan(""), "", "");
	line("baseline", "getppid()", "getppid", __builtin_nan(""), "", "");
	line("baseline", "codeheap unknown ioctl (-ENOTTY)", "ch_enotty",
	     __builtin_nan(""), "", "");
	line("baseline", "codeheap VERSION", "ch_version", __builtin_nan(""),
	     "", "");
	line("baseline", "codeheap STATS", "ch_stats", __builtin_nan(""), "",
	     "");
	line("baseline", "user memcpy of 256 B", "memcpy256", __builtin_nan(""),
	     "", "");

	report_publish(256);
	report_publish(4096);
	report_publish(16384);

	alts[0] = "batch.memfd"; alts[1] = "batch.rwx";
	alts[2] = "batch.mprotect"; alts[3] = NULL;
	b = best(alts);
	v = get(&ic, "batch.write");
	m = get(&ic, "batch.memfd");
	snprintf(t, sizeof(t), "<= 2x a memcpy into the alias (%.2fx)", v / m);
	line("batch 64 x 256 B, per function", "codeheap WRITE, one call",
	     "batch.write", b, t, yesno(v, v <= 2 * m));
	line("batch 64 x 256 B, per function",
	     "codeheap WRITE, one call, sources apart (not one buffer)",
	     "batch.scatter", b, "", "");
	line("batch 64 x 256 B, per function", "codeheap WRITE, 64 calls",
	     "batch.write1", b, "", "");
	line("batch 64 x 256 B, per function", "memcpy into memfd RW alias",
	     "batch.memfd", b, "", "");
	line("batch 64 x 256 B, per function", "memcpy into RWX memory",
	     "batch.rwx", b, "", "");
	line("batch 64 x 256 B, per function",
	     "one mprotect flip of the 4 pages around 64 memcpy",
	     "batch.mprotect", b, "", "");

	if (get(&ic, "jt.one") == get(&ic, "jt.one")) {
		alts[0] = "jt.mprotect"; alts[1] = "jt.rwx";
		alts[2] = "jt.memfd"; alts[3] = NULL;
		b = best(alts);
		v = get(&ic, "jt.one");
		snprintf(t, sizeof(t), "<= 1.5x null ioctl (%.2fx)", v / null);
		line("jump slot", "codeheap JT_PATCH, one slot", "jt.one", b,
		     t, yesno(v, v <= 1.5 * null));
		v = get(&ic, "jt.batch");
		snprintf(t, sizeof(t), "<= 100 instructions per slot (%.0f)", v);
		line("jump slot", "codeheap JT_PATCH, batch of 64, per slot",
		     "jt.batch", b, t, yesno(v, v <= 100));
		line("jump slot", "mprotect flip around an 8-byte store",
		     "jt.mprotect", b, "", "");
		line("jump slot", "8-byte store into an RWX slot", "jt.rwx", b,
		     "", "");
		line("jump slot", "8-byte store through a memfd RW alias",
		     "jt.memfd", b, "", "");
	} else {
		printf("| jump slot | (not measured: the module has no JT_PATCH) "
		       "| | | | | <= 1.5x null / <= 100 per slot | n/a |\n");
	}

	v = get(&ic, "af.1k");
	v2 = get(&ic, "af.1m");
	b = get(&ic, "af.malloc");
	{
		/* SPEC 8 judges ALLOC and FREE each, the pair only for growth. */
		double a = get(&ic, "af.1k.alloc"), f = get(&ic, "af.1k.free");

		snprintf(t, sizeof(t),
			 "ALLOC and FREE each <= 1.5x null ioctl at 1k "
			 "(%.2fx, %.2fx)", a / null, f / null);
		line("ALLOC+FREE 256 B", "1,000 live allocations", "af.1k", b,
		     t, yesno(a + f, a <= 1.5 * null && f <= 1.5 * null));
	}
	line("ALLOC+FREE 256 B", "100,000 live allocations", "af.100k", b, "",
	     "");
	snprintf(t, sizeof(t), "<= 1.5x growth from 1k to 1M (%.2fx)", v2 / v);
	line("ALLOC+FREE 256 B", "1,000,000 live allocations", "af.1m", b, t,
	     yesno(v2, v2 <= 1.5 * v));
	line("ALLOC+FREE 256 B", "glibc malloc+free (user-space allocator)",
	     "af.malloc", __builtin_nan(""), "", "");

	printf("\nALLOC and FREE apart (instructions): ");
	for (int i = 0; i < 3; i++) {
		static const char *const s[] = { "1k", "100k", "1m" };
		char ka[32], kf[32];

		snprintf(ka, sizeof(ka), "af.%s.alloc", s[i]);
		snprintf(kf, sizeof(kf), "af.%s.free", s[i]);
		printf("%s%s ALLOC %s, FREE %s", i ? "; " : "", s[i],
		       num(b1, get(&ic, ka)), num(b2, get(&ic, kf)));
	}
	printf(".\n\n");

	printf("Profile (instructions): WRITE of one entry of 64 B %s, "
	       "256 B %s, 1024 B %s; WRITE of 64 entries of 64 B, per entry "
	       "%s; LOOKUP %s.\n\n", num(b1, get(&ic, "prof.write64")),
	       num(b2, get(&ic, "pub256.write")),
	       num(b3, get(&ic, "prof.write1024")),
	       num(t, get(&ic, "prof.batch64x64")),
	       num(t + 64, get(&ic, "prof.lookup")));

	printf("| first execution of freshly written pages | minor faults per "
	       "page (icount run) | target | met |\n|---|---:|---|---|\n");
	v = get(&ic, "fault.codeheap");
	printf("| codeheap ALLOC+WRITE, then call | %s | no page fault per page "
	       "| %s |\n", num(b1, v), yesno(v, v == 0));
	printf("| memfd: write the RW alias, call the RX view | %s | | |\n",
	       num(b1, get(&ic, "fault.memfd")));
	printf("| RWX: write, call | %s | | |\n",
	       num(b1, get(&ic, "fault.rwx")));
	printf("| mprotect: write RW, flip to RX, call | %s | | |\n\n",
	       num(b1, get(&ic, "fault.mprotect")));

	report_pcre2();

	/*
	 * Four vCPUs share the host's cores, so spinning threads slow every
	 * guest instruction down, a null ioctl's too.  What a TLB shootdown
	 * adds is the growth beyond the null ioctl's: that is judged.
	 */
	printf("| publish 256 B with N other threads spinning (wall ns, 4 "
	       "vCPUs) | N=0 | N=1 | N=3 | N=3 vs N=0 | vs the null ioctl's "
	       "growth | TLB shootdowns per op, N=3 | target | met |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---|---|\n");
	{
		double gnull = get(&wc, "thr3.null_ioctl") /
			       get(&wc, "thr0.null_ioctl");

		static const char *const what[] = { "null_ioctl", "write",
						    "mprotect" };
		static const char *const label[] = {
			"null ioctl", "codeheap WRITE",
			"mprotect RW, memcpy, mprotect RX" };

		for (int i = 0; i < 3; i++) {
			char k0[48], k1[48], k3[48];
			double z0, z3, g, tlb;

			snprintf(k0, sizeof(k0), "thr0.%s", what[i]);
			snprintf(k1, sizeof(k1), "thr1.%s", what[i]);
			snprintf(k3, sizeof(k3), "thr3.%s", what[i]);
			z0 = get(&wc, k0);
			z3 = get(&wc, k3);
			g = z3 / z0;
			snprintf(k3 + strlen(k3), sizeof(k3) - strlen(k3),
				 ".tlb");
			tlb = get(&wc, k3);
			snprintf(t + 128, 32, "%.2f", tlb);
			printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			       label[i], num(b1, z0), num(b2, get(&wc, k1)),
			       num(b3, z3), ratio(t, g, 1),
			       ratio(t + 64, g / gnull, 1),
			       tlb == tlb ? t + 128 : "n/a",
			       i == 1 ? "flat in N: no TLB shootdown (the "
					"time columns are emulated, for "
					"information)" : "",
			       i == 1 ? yesno(tlb, tlb == 0) : "");
		}
	}
	if (ec.n)
		report_erms();
	printf("\nNotes from the icount run:\n\n%s\nNotes from the wall-clock "
	       "run:\n\n%s", ic.notes, wc.notes);
	return 0;
}

/*
 * For tools/bench/profile: tell the console the run is ready, then make
 * each profiled command over and over until the VM is stopped, each call
 * an op of its own that the profile attributes by its command number and
 * arguments.  What each is: as in the benchmark's rows (the second of two
 * identical WRITEs finds what the first remembered).
 */
static int cmd_loop(int argc, char **argv)
{
	long fill = 0;
	bool rows = false;
	struct codeheap_write_entry e[BATCH];
	struct codeheap_jt_create c = { .size = sizeof(c), .nr_slots = 256 };
	struct codeheap_jt_patch_entry pe[2][BATCH];
	struct codeheap_jt_patch pt;
	FILE *con = fopen("/dev/console", "w");
	uint64_t fn, base, a, t[2];
	unsigned long round;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fill") && i + 1 < argc)
			fill = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rows"))
			rows = true;
		else
			die("unknown option %s", argv[i]);
	}
	nullfd = open("/dev/null", O_RDWR);
	chfd = open("/dev/codeheap", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || chfd < 0 || !con)
		die("open");
	ch_reserve(4 << 20);
	fn = ch_alloc(256, 0);
	base = ch_alloc(BATCH * 256, PAGE);
	t[0] = ch_alloc(256, 0);
	t[1] = ch_alloc(256, 0);
	for (i = 0; i < BATCH; i++)
		e[i] = (struct codeheap_write_entry){
			base + i * 256, (uintptr_t)(src_buf + i * 256), 256 };
	if (ch_ioctl(CODEHEAP_IOC_JT_CREATE, &c))
		die("JT_CREATE");
	for (i = 0; i < BATCH; i++) {
		pe[0][i] = (struct codeheap_jt_patch_entry){ .slot = i,
							     .target = t[0] };
		pe[1][i] = (struct codeheap_jt_patch_entry){ .slot = i,
							     .target = t[1] };
	}
	pt = (struct codeheap_jt_patch){ .size = sizeof(pt), .id = c.id };
	if (rows) {
		/* The heap as the benchmark leaves it before row_alloc_free(). */
		fill_code(src_buf, sizeof(src_buf), 64);
		ch_reserve(64 << 20);
		row_baseline();
		row_publish(256);
		row_publish(4096);
		row_publish(16384);
		row_batch();
		row_first_exec();
		row_jump_slots();
	}
	/* The heap of row_alloc_free(): @fill live allocations, as many holes. */
	if (fill) {
		uint64_t *chunk = malloc(2 * fill * sizeof(*chunk));

		if (!chunk)
			die("malloc");
		for (long k = 0; k < 2 * fill; k++)
			chunk[k] = ch_alloc(64, 0);
		for (long k = 1; k < 2 * fill; k += 2)
			ch_free(chunk[k]);
		free(chunk);
	}
	fprintf(con, "@@profile-ready\n");
	fflush(con);
	for (round = 0; ; round++) {
		ch_write(fn, src_buf, 256);
		ch_write(fn, src_buf, 256);
		ch_write_batch(e, BATCH);
		a = ch_alloc(256, 0);
		ch_free(a);
		pt.entries = (uintptr_t)pe[round & 1];
		pt.count = 1;
		ch_ioctl(CODEHEAP_IOC_JT_PATCH, &pt);
		pt.count = BATCH;
		ch_ioctl(CODEHEAP_IOC_JT_PATCH, &pt);
		ioctl(nullfd, _IO(CODEHEAP_TYPE, 0x7f), 0);
		ioctl(chfd, _IO(CODEHEAP_TYPE, 0x7f), 0);
		{
			struct codeheap_version v = { .size = sizeof(v) };

			ch_ioctl(CODEHEAP_IOC_VERSION, &v);
		}
		/* A block alone on its page: ALLOC commits, FREE decommits. */
		a = ch_alloc(PAGE, PAGE);
		ch_free(a);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "loop"))
		return cmd_loop(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return cmd_report(argc, argv);
	fprintf(stderr, "usage: codeheap_bench run [--label L] [--rows R,...]\n"
		"       codeheap_bench report KERNEL ICOUNT.raw WALL.raw\n");
	return 2;
}
