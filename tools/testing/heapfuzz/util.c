// SPDX-License-Identifier: GPL-2.0
/*
 * heapfuzz: PRNG-independent helpers: ring log, failure report, signal
 * probes, /proc/self/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "heapfuzz.h"

u64 task_size;
struct codeheap_version ver;
int verbose;
u64 cur_seed;

__thread u64 cur_op;
__thread char cur_desc[512];
static __thread char ring[RING_LEN][512];
static __thread u64 ring_no[RING_LEN];
static __thread unsigned int ring_pos;

__thread sigjmp_buf probe_jmp;
__thread volatile int probe_armed;
__thread volatile int probe_sig;

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

void ring_add(u64 opno, const char *fmt, ...)
{
	va_list ap;

	cur_op = opno;
	va_start(ap, fmt);
	vsnprintf(cur_desc, sizeof(cur_desc), fmt, ap);
	va_end(ap);
	memcpy(ring[ring_pos % RING_LEN], cur_desc, sizeof(cur_desc));
	ring_no[ring_pos % RING_LEN] = opno;
	ring_pos++;
	if (verbose > 1)
		printf("# op %llu: %s\n", (unsigned long long)opno, cur_desc);
}

void ring_dump(void)
{
	unsigned int i, n = ring_pos < RING_LEN ? ring_pos : RING_LEN;

	printf("# last %u ops:\n", n);
	for (i = ring_pos - n; i < ring_pos; i++)
		printf("#   %6llu %s\n", (unsigned long long)ring_no[i % RING_LEN],
		       ring[i % RING_LEN]);
}

void fail(const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&fail_lock);
	printf("# DIVERGENCE seed %llu op %llu\n", (unsigned long long)cur_seed,
	       (unsigned long long)cur_op);
	printf("#   op: %s\n", cur_desc);
	printf("#   %s\n", msg);
	ring_dump();
	fflush(stdout);
	_exit(1);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (probe_armed) {
		probe_armed = 0;
		probe_sig = sig;
		siglongjmp(probe_jmp, 1);
	}
	/* A genuine crash of the fuzzer (or code it did not expect to run) */
	signal(sig, SIG_DFL);
	printf("# DIVERGENCE seed %llu op %llu: unexpected signal %d\n",
	       (unsigned long long)cur_seed, (unsigned long long)cur_op, sig);
	printf("#   op: %s\n", cur_desc);
	ring_dump();
	fflush(stdout);
	_exit(2);
}

void probe_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGTRAP, SIGILL, SIGFPE };
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

int probe_read(u64 addr, u8 *out)
{
	volatile u8 *p = PTR(addr);
	volatile u8 v = 0;
	int sig = PROBE(v = *p);

	if (out)
		*out = v;
	return sig;
}

int probe_write(u64 addr)
{
	volatile u8 *p = PTR(addr);

	return PROBE(*p = 0x90);
}

int probe_call(u64 addr, u32 *ret)
{
	int (*fn)(void) = PTR(addr);
	volatile u32 v = 0xdeadbeef;
	int sig = PROBE(v = fn());

	if (ret)
		*ret = v;
	return sig;
}

int probe_cmp(u64 addr, const u8 *want, u64 len, u64 *bad)
{
	const volatile u8 *p = PTR(addr);
	volatile u64 i = 0;
	volatile int diff = 0;
	int sig;

	sig = PROBE(
		if (memcmp((const void *)p, want, len))
			for (i = 0; i < len; i++)
				if (p[i] != want[i]) {
					diff = 1;
					break;
				}
	);
	if (sig) {
		*bad = addr + i;
		return sig;
	}
	if (diff) {
		*bad = addr + i;
		return -1;
	}
	return 0;
}

__attribute__((noinline)) int stub_fn(void)
{
	return STUB_VALUE;
}

static int maps_read(char *buf, size_t size)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return 0;
}

static char maps_buf[1 << 20];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Call @fn for every mapping of /proc/self/maps, under maps_lock (one
 * buffer for all threads).  Return: 0, or -1 if the file cannot be read.
 */
static int maps_each(void (*fn)(void *ctx, const struct vma *v,
				const char *path), void *ctx)
{
	char *line, *save = NULL;

	pthread_mutex_lock(&maps_lock);
	if (maps_read(maps_buf, sizeof(maps_buf))) {
		pthread_mutex_unlock(&maps_lock);
		return -1;
	}
	for (line = strtok_r(maps_buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;
		char perms[8], path[256] = "";
		struct vma v;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &s, &e,
			   perms, path) < 3)
			continue;
		v.start = s;
		v.end = e;
		memcpy(v.perms, perms, 4);
		v.perms[4] = 0;
		fn(ctx, &v, path);
	}
	pthread_mutex_unlock(&maps_lock);
	return 0;
}

struct maps_heap {
	struct vma *v;
	int max, n;
};

static void maps_heap_one(void *ctx, const struct vma *v, const char *path)
{
	struct maps_heap *m = ctx;

	if (strcmp(path, "/dev/codeheap"))
		return;
	if (m->n < m->max)
		m->v[m->n] = *v;
	m->n++;
}

int maps_codeheap(struct vma *v, int max)
{
	struct maps_heap m = { .v = v, .max = max };

	return maps_each(maps_heap_one, &m) ? -1 : m.n;
}

struct maps_query {
	u64 start, len;
	bool hit;
	bool exec_code;
};

static void maps_query_one(void *ctx, const struct vma *v, const char *path)
{
	struct maps_query *q = ctx;

	if (v->start >= q->start + q->len || v->end <= q->start)
		return;
	q->hit = true;
	q->exec_code = v->perms[2] == 'x' && strcmp(path, "/dev/codeheap");
}

bool maps_range_free(u64 start, u64 len)
{
	struct maps_query q = { .start = start, .len = len };

	return !maps_each(maps_query_one, &q) && !q.hit;
}

/* Is @addr in an executable mapping that is no code heap? */
bool maps_exec_code(u64 addr)
{
	struct maps_query q = { .start = addr, .len = 1 };

	return !maps_each(maps_query_one, &q) && q.exec_code;
}

int ch_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

const char *errname(int e)
{
	static __thread char buf[32];

	switch (-e) {
	case 0: return "0";
	case EINVAL: return "-EINVAL";
	case E2BIG: return "-E2BIG";
	case EFAULT: return "-EFAULT";
	case ENOENT: return "-ENOENT";
	case EBUSY: return "-EBUSY";
	case ENOMEM: return "-ENOMEM";
	case ENOSPC: return "-ENOSPC";
	case EACCES: return "-EACCES";
	case EPERM: return "-EPERM";
	case EOVERFLOW: return "-EOVERFLOW";
	case ENOTTY: return "-ENOTTY";
	case EEXIST: return "-EEXIST";
	}
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}
