/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapfuzz: a model-checked ioctl fuzzer for /dev/codeheap.
 *
 * Shared declarations of heapfuzz.c (the single-threaded model run),
 * threads.c (the shared-heap multi-threaded run) and util.c (PRNG, TAP,
 * ring log, signal probes, /proc/self/maps).
 */
#ifndef _HEAPFUZZ_H
#define _HEAPFUZZ_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/codeheap.h>

typedef __u64 u64;
typedef __u32 u32;
typedef __u8 u8;
typedef __s64 s64;

#define PAGE		4096ULL
#define CODE_ALIGN	64ULL
#define SPACE_OVERHEAD	(64ULL << 10)
#define TRAP		0xcc
#define STUB_VALUE	0x5157u

#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DN(x, a)	((x) & ~((u64)(a) - 1))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define U64(p)		((u64)(uintptr_t)(p))
#define PTR(x)		((void *)(uintptr_t)(x))

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64, every choice of a run comes from its seed.        */

struct rng {
	u64 s;
};

static inline u64 rnd(struct rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline u64 rnd_below(struct rng *r, u64 n)
{
	return n ? rnd(r) % n : 0;
}

/* true with probability pct percent */
static inline bool chance(struct rng *r, unsigned int pct)
{
	return rnd_below(r, 100) < pct;
}

/* ------------------------------------------------------------------ */
/* util.c                                                              */

extern u64 task_size;		/* TASK_SIZE of this process */
extern struct codeheap_version ver;
extern int verbose;
extern u64 cur_seed;

/* Ring log of the last ops, per thread. */
#define RING_LEN 20
void ring_add(u64 opno, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ring_dump(void);
extern __thread u64 cur_op;
extern __thread char cur_desc[512];

/* Report a divergence (the current op from the ring) and _exit(1). */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
					       noreturn));

/*
 * Signal probes: run an access and report the signal it raised (0 for
 * none).  Handlers are installed once with SA_NODEFER, so sigsetjmp()
 * need not save the mask (no syscall per probe).
 */
extern __thread sigjmp_buf probe_jmp;
extern __thread volatile int probe_armed;
extern __thread volatile int probe_sig;
void probe_init(void);

#define PROBE(stmt) ({						\
	probe_sig = 0;						\
	if (!sigsetjmp(probe_jmp, 0)) {				\
		probe_armed = 1;				\
		stmt;						\
	}							\
	probe_armed = 0;					\
	(int)probe_sig;						\
})

int probe_read(u64 addr, u8 *out);
int probe_write(u64 addr);
int probe_call(u64 addr, u32 *ret);
/* memcmp of [addr, addr + len) with @want under a probe; 0, sig, or -1 */
int probe_cmp(u64 addr, const u8 *want, u64 len, u64 *bad);

int stub_fn(void);

/* codeheap mappings of this process, from /proc/self/maps */
struct vma {
	u64 start, end;
	char perms[5];
};
int maps_codeheap(struct vma *v, int max);
bool maps_range_free(u64 start, u64 len);
bool maps_exec_code(u64 addr);

int ch_ioctl(int fd, unsigned long cmd, void *arg);
const char *errname(int e);

/* threads.c */
int run_threads(u64 seed, u64 ops, u64 seconds, int nthreads,
		volatile u64 *opcount);

/* heapfuzz.c */
int run_model(u64 seed, u64 ops, u64 seconds, int nheaps,
	      volatile u64 *opcount);

#endif /* _HEAPFUZZ_H */
