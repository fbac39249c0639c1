// SPDX-License-Identifier: GPL-2.0
/*
 * libcodeheap (tools/lib), linked in from source with this test's CC:
 * every function, its success and its error returns, the conveniences
 * (alloc_write, emit, batches, slot helper), errno preservation, the perf
 * map, fork, and concurrent use of one handle from several threads; the
 * shadows (write here, run there), the process-wide heap and
 * codeheap_strerror().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"
#include "codeheap.h"

/* A function returning @v. */
static void ret_code(unsigned char code[CH_RET_LEN], uint32_t v)
{
	ch_code_ret(code, v);
}

static int call(void *code, int *ret)
{
	return ch_probe_call(U64(code), ret);
}

static int read_byte(const void *addr, unsigned char *c)
{
	return ch_probe_read(U64(addr), c);
}

static int live_allocations(struct codeheap *h)
{
	struct codeheap_stats st;

	if (codeheap_stats(h, &st))
		return -1;
	return st.allocations;
}

FIXTURE(lib) {
	struct codeheap *h;
	const struct codeheap_version *v;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, codeheap_open(&self->h, 0));
	ASSERT_NE(NULL, self->h);
	self->v = codeheap_info(self->h);
}

FIXTURE_TEARDOWN(lib)
{
	codeheap_close(self->h);
}

TEST(open_close)
{
	struct codeheap *h = (struct codeheap *)1;
	struct codeheap_version v;
	int fd, flags;

	EXPECT_EQ(-EINVAL, codeheap_open(&h, 1u << 31));
	EXPECT_EQ((struct codeheap *)1, h);
	EXPECT_EQ(-EINVAL, codeheap_open(NULL, 0));

	errno = 4321;
	ASSERT_EQ(0, codeheap_open(&h, 0));
	EXPECT_EQ(4321, errno);
	fd = codeheap_fd(h);
	flags = fcntl(fd, F_GETFD);
	ASSERT_LE(0, flags);
	EXPECT_TRUE(flags & FD_CLOEXEC);

	/* info() is VERSION as read at open time. */
	EXPECT_EQ(CODEHEAP_API_VERSION, codeheap_info(h)->api_version);
	EXPECT_EQ(CH_ARCH, codeheap_info(h)->arch);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), codeheap_info(h)->page_size);
	ASSERT_EQ(0, codeheap_version(h, &v));
	EXPECT_EQ(0, memcmp(&v, codeheap_info(h), sizeof(v)));
	EXPECT_EQ(ch_param_read("max_batch"), v.max_batch);

	codeheap_close(h);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));	/* the fd is closed */
	codeheap_close(NULL);
}

/* Failing calls return -errno and leave errno alone. */
TEST_F(lib, errors_keep_errno)
{
	errno = 1234;
	EXPECT_EQ(-ENOENT, codeheap_free(self->h, (void *)0x1000));
	EXPECT_EQ(1234, errno);
	EXPECT_EQ(-EINVAL, codeheap_alloc(self->h, 0, 0, &(void *){ NULL }));
	EXPECT_EQ(1234, errno);
}

TEST_F(lib, alloc_write_lookup_free)
{
	unsigned char code[CH_RET_LEN];
	struct codeheap_lookup l;
	void *a, *b;
	int ret;

	ASSERT_EQ(0, codeheap_alloc(self->h, 100, 7, &a));
	EXPECT_EQ(0, U64(a) % self->v->code_align);
	EXPECT_EQ(0, ch_probe_trap(U64(a)));
	ret_code(code, 41);
	ASSERT_EQ(0, codeheap_write(self->h, a, code, sizeof(code)));
	EXPECT_EQ(0, call(a, &ret));
	EXPECT_EQ(41, ret);

	ASSERT_EQ(0, codeheap_lookup(self->h, (char *)a + 99, &l));
	EXPECT_EQ(a, codeheap_ptr(l.start));
	EXPECT_EQ(128, l.len);
	EXPECT_EQ(7, l.tag);
	EXPECT_EQ(0, l.alloc_flags);
	EXPECT_EQ(-ENOENT, codeheap_lookup(self->h, &l, &l));

	/* Errors. */
	EXPECT_EQ(-EINVAL, codeheap_alloc(self->h, 0, 0, &b));
	EXPECT_EQ(-EINVAL, codeheap_write(self->h, a, code, 0));
	EXPECT_EQ(-ENOENT, codeheap_write(self->h, (char *)a + 120, code, 16));
	EXPECT_EQ(-ENOENT, codeheap_write(self->h, &l, code, CH_RET_LEN));
	EXPECT_EQ(-EFAULT, codeheap_write(self->h, a, (void *)8, CH_RET_LEN));
	EXPECT_EQ(-ENOENT, codeheap_free(self->h, (char *)a + 64));

	ASSERT_EQ(0, codeheap_free(self->h, a));
	EXPECT_EQ(-ENOENT, codeheap_free(self->h, a));
	EXPECT_EQ(-ENOENT, codeheap_lookup(self->h, a, &l));
	EXPECT_EQ(0, live_allocations(self->h));
}

TEST_F(lib, alloc_in_window)
{
	void *a, *b, *lo, *hi;

	ASSERT_EQ(0, codeheap_alloc(self->h, 64, 0, &a));
	lo = (char *)a + 4096;
	hi = (char *)a + 65536;
	ASSERT_EQ(0, codeheap_alloc_in(self->h, 64, 1024, lo, hi, 0, &b));
	EXPECT_LE(U64(lo), U64(b));
	EXPECT_GT(U64(hi), U64(b));
	EXPECT_EQ(0, U64(b) % 1024);
	EXPECT_EQ(-EINVAL, codeheap_alloc_in(self->h, 64, 48, NULL, NULL, 0, &b));
	EXPECT_EQ(-EINVAL, codeheap_alloc_in(self->h, 64, 0, hi, lo, 0, &b));
}

TEST_F(lib, write_batch)
{
	static struct codeheap_write_entry big[65537];
	struct codeheap_write_entry e[3];
	unsigned char code[3][CH_RET_LEN], c;
	void *a[3];
	int i, ret;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, codeheap_alloc(self->h, 64, i, &a[i]));
		ret_code(code[i], 100 + i);
		e[i] = codeheap_entry(a[i], code[i], CH_RET_LEN);
	}
	EXPECT_EQ(U64(a[1]), e[1].dst);
	EXPECT_EQ(U64(code[1]), e[1].src);
	EXPECT_EQ(CH_RET_LEN, e[1].len);

	/* One bad entry: nothing is written. */
	e[2].dst = U64(&c);
	EXPECT_EQ(-ENOENT, codeheap_write_batch(self->h, e, 3));
	EXPECT_EQ(0, ch_probe_trap(U64(a[0])));
	e[2] = codeheap_entry(a[2], code[2], CH_RET_LEN);

	ASSERT_EQ(0, codeheap_write_batch(self->h, e, 3));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, call(a[i], &ret));
		EXPECT_EQ(100 + i, ret);
	}
	EXPECT_EQ(-EINVAL, codeheap_write_batch(self->h, e, 0));
	for (i = 0; i <= (int)self->v->max_batch && i < 65537; i++)
		big[i] = e[0];
	EXPECT_EQ(-E2BIG, codeheap_write_batch(self->h, big,
					       self->v->max_batch + 1));
	EXPECT_EQ(-EFAULT, codeheap_write_batch(self->h, (void *)8, 1));
}

TEST_F(lib, alloc_write)
{
	unsigned char code[CH_RET_LEN];
	void *a = NULL;
	int ret;

	ret_code(code, 5);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 9, &a));
	EXPECT_EQ(0, call(a, &ret));
	EXPECT_EQ(5, ret);
	EXPECT_EQ(1, live_allocations(self->h));

	/* A failed write leaves nothing allocated. */
	a = NULL;
	EXPECT_EQ(-EFAULT, codeheap_alloc_write(self->h, (void *)8, CH_RET_LEN, 0, &a));
	EXPECT_EQ(NULL, a);
	EXPECT_EQ(-EINVAL, codeheap_alloc_write(self->h, code, 0, 0, &a));
	EXPECT_EQ(1, live_allocations(self->h));
}

/* gen: "mov eax, <low 32 bits of the address it runs at>; ret" */
struct gen_arg {
	void *seen;
	bool fail;
	ssize_t ret;		/* with fail: what gen returns */
};

static ssize_t gen_addr(void *buf, size_t cap, void *addr, void *arg)
{
	struct gen_arg *g = arg;

	g->seen = addr;
	if (g->fail)
		return g->ret;
	if (cap < CH_RET_LEN)
		return -ENOSPC;
	ret_code(buf, (uint32_t)U64(addr));
	return CH_RET_LEN;
}

TEST_F(lib, emit)
{
	struct gen_arg g = { 0 };
	unsigned char buf[256];
	void *a = NULL;
	ssize_t n;
	int ret;

	n = codeheap_emit(self->h, buf, sizeof(buf), 3, gen_addr, &g, &a);
	ASSERT_EQ(CH_RET_LEN, n);
	EXPECT_EQ(a, g.seen);
	EXPECT_EQ(0, call(a, &ret));
	EXPECT_EQ((uint32_t)U64(a), (uint32_t)ret);
	EXPECT_EQ(0, ch_probe_trap(U64((char *)a + CH_RET_LEN)));	/* the rest is traps */
	EXPECT_EQ(1, live_allocations(self->h));

	/* Whatever goes wrong, nothing stays allocated. */
	g.fail = true;
	g.ret = -ENOSPC;
	EXPECT_EQ(-ENOSPC, codeheap_emit(self->h, buf, sizeof(buf), 0, gen_addr,
					 &g, &a));
	g.ret = 0;
	EXPECT_EQ(-EINVAL, codeheap_emit(self->h, buf, sizeof(buf), 0, gen_addr,
					 &g, &a));
	g.ret = sizeof(buf) + 1;
	EXPECT_EQ(-EINVAL, codeheap_emit(self->h, buf, sizeof(buf), 0, gen_addr,
					 &g, &a));
	EXPECT_EQ(-EINVAL, codeheap_emit(self->h, buf, sizeof(buf), 0, NULL,
					 &g, &a));
	EXPECT_EQ(-EINVAL, codeheap_emit(self->h, buf, 0, 0, gen_addr, &g, &a));
	EXPECT_EQ(1, live_allocations(self->h));
}

TEST_F(lib, emit_in_window)
{
	struct gen_arg g = { 0 };
	unsigned char buf[256];
	void *a, *b, *lo, *hi;
	ssize_t n;
	int ret;

	ASSERT_EQ(0, codeheap_alloc(self->h, 64, 0, &a));
	lo = (char *)a + 8192;
	hi = (char *)a + 65536;
	n = codeheap_emit_in(self->h, buf, sizeof(buf), 512, lo, hi, 0,
			     gen_addr, &g, &b);
	ASSERT_EQ(CH_RET_LEN, n);
	EXPECT_EQ(b, g.seen);
	EXPECT_LE(U64(lo), U64(b));
	EXPECT_GT(U64(hi), U64(b));
	EXPECT_EQ(0, U64(b) % 512);
	EXPECT_EQ(0, call(b, &ret));
	EXPECT_EQ((uint32_t)U64(b), (uint32_t)ret);
	/* The window's errors, and nothing left allocated. */
	EXPECT_EQ(-EINVAL, codeheap_emit_in(self->h, buf, sizeof(buf), 0, hi,
					    lo, 0, gen_addr, &g, &b));
	EXPECT_EQ(-EINVAL, codeheap_emit_in(self->h, buf, sizeof(buf), 48,
					    NULL, NULL, 0, gen_addr, &g, &b));
	g.fail = true;
	g.ret = -E2BIG;
	EXPECT_EQ(-E2BIG, codeheap_emit_in(self->h, buf, sizeof(buf), 0, lo,
					   hi, 0, gen_addr, &g, &b));
	EXPECT_EQ(2, live_allocations(self->h));
}

TEST_F(lib, seal)
{
	struct codeheap_lookup l;
	unsigned char code[CH_RET_LEN];
	void *a;

	ret_code(code, 1);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 0, &a));
	ASSERT_EQ(0, codeheap_seal(self->h, a));
	ASSERT_EQ(0, codeheap_lookup(self->h, a, &l));
	EXPECT_EQ(CODEHEAP_LOOKUP_SEALED, l.alloc_flags);
	EXPECT_EQ(-EPERM, codeheap_write(self->h, a, code, CH_RET_LEN));
	EXPECT_EQ(-EPERM, codeheap_free(self->h, a));
	EXPECT_EQ(-ENOENT, codeheap_seal(self->h, (char *)a + 64));
}

TEST_F(lib, stats)
{
	struct codeheap_stats st;
	struct codeheap_jt jt;
	void *a;

	ASSERT_EQ(0, codeheap_stats(self->h, &st));
	EXPECT_EQ(0, st.allocations);
	EXPECT_EQ(0, st.reserved_bytes);
	ASSERT_EQ(0, codeheap_alloc(self->h, 200, 0, &a));
	ASSERT_EQ(0, codeheap_jt_create(self->h, 4, NULL, &jt));
	ASSERT_EQ(0, codeheap_stats(self->h, &st));
	EXPECT_EQ(2, st.allocations);
	EXPECT_EQ(1, st.jump_tables);
	EXPECT_EQ(1, st.reservations);
	EXPECT_LE(256, st.allocated_bytes);
	ASSERT_EQ(0, codeheap_free(self->h, a));
	ASSERT_EQ(0, codeheap_stats(self->h, &st));
	/* 200 bytes rounded up to code_align. */
	EXPECT_EQ((200 + self->v->code_align - 1) / self->v->code_align *
		  self->v->code_align, st.freed_bytes);
}

TEST_F(lib, reserve_commit_protect_release)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char c;
	void *r, *r2, *a;

	ASSERT_EQ(0, codeheap_reserve(self->h, 4 * page, NULL, NULL, 0, 0, &r));
	EXPECT_EQ(0, U64(r) % page);
	EXPECT_EQ(SIGSEGV, read_byte(r, &c));		/* reserved only */
	ASSERT_EQ(0, codeheap_commit(self->h, r, 2 * page));
	EXPECT_EQ(0, ch_probe_trap(U64((char *)r + page)));
	ASSERT_EQ(0, codeheap_protect(self->h, r, page, PROT_NONE));
	EXPECT_EQ(SIGSEGV, read_byte(r, &c));
	EXPECT_EQ(-EACCES, codeheap_protect(self->h, r, page,
					    PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(-EINVAL, codeheap_protect(self->h, r, page, PROT_READ));
	ASSERT_EQ(0, codeheap_protect(self->h, r, page, PROT_READ | PROT_EXEC));
	EXPECT_EQ(0, read_byte(r, &c));
	ASSERT_EQ(0, codeheap_decommit(self->h, (char *)r + page, page));
	EXPECT_EQ(SIGSEGV, read_byte((char *)r + page, &c));

	/* Range errors. */
	EXPECT_EQ(-EINVAL, codeheap_commit(self->h, (char *)r + 1, page));
	EXPECT_EQ(-EINVAL, codeheap_commit(self->h, r, 0));
	EXPECT_EQ(-ENOENT, codeheap_commit(self->h, r, 8 * page));
	EXPECT_EQ(-EINVAL, codeheap_decommit(self->h, r, page / 2));

	/* A live allocation pins its pages and its reservation. */
	ASSERT_EQ(0, codeheap_alloc_in(self->h, 64, 0, r,
				       (char *)r + 4 * page, 0, &a));
	EXPECT_EQ(-EBUSY, codeheap_decommit(self->h, a, page));
	EXPECT_EQ(-EBUSY, codeheap_release(self->h, r));
	ASSERT_EQ(0, codeheap_free(self->h, a));
	ASSERT_EQ(0, codeheap_release(self->h, r));
	EXPECT_EQ(-ENOENT, codeheap_release(self->h, r));

	/* Placement: exact, and within a window. */
	ASSERT_EQ(0, codeheap_reserve(self->h, page, r, NULL, 0,
				      CODEHEAP_RESERVE_FIXED, &r2));
	EXPECT_EQ(r, r2);
	EXPECT_EQ(-EEXIST, codeheap_reserve(self->h, page, r, NULL, 0,
					    CODEHEAP_RESERVE_FIXED, &r2));
	ASSERT_EQ(0, codeheap_release(self->h, r));
	ASSERT_EQ(0, codeheap_reserve(self->h, page, NULL, r, 1 << 30, 0, &r2));
	EXPECT_LE(U64(r) - (1 << 30), U64(r2));
	EXPECT_GE(U64(r) + (1 << 30), U64(r2) + page);
	ASSERT_EQ(0, codeheap_release(self->h, r2));

	EXPECT_EQ(-EINVAL, codeheap_reserve(self->h, 0, NULL, NULL, 0, 0, &r));
	EXPECT_EQ(-EINVAL, codeheap_reserve(self->h, page, NULL, NULL, 0,
					    CODEHEAP_RESERVE_FIXED, &r));
	EXPECT_EQ(-EINVAL, codeheap_reserve(self->h, page, NULL, NULL, 0,
					    1u << 30, &r));
}

static int c_default(void)
{
	return 77;
}

TEST_F(lib, jump_tables)
{
	struct codeheap_jt_patch_entry e[3];
	struct codeheap_jt jt, jt2;
	struct codeheap_lookup l;
	unsigned char code[CH_RET_LEN];
	void *f1, *f2, *t;
	int ret;

	ret_code(code, 1);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 0, &f1));
	ret_code(code, 2);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 0, &f2));

	ASSERT_EQ(0, codeheap_jt_create(self->h, 8, NULL, &jt));
	EXPECT_EQ(8, jt.nr_slots);
	EXPECT_EQ(self->v->jt_near_slot_size, jt.slot_size);
	EXPECT_EQ(NULL, jt.default_target);
	EXPECT_LT(0, jt.id);
	ASSERT_EQ(0, codeheap_lookup(self->h, jt.base, &l));
	EXPECT_TRUE(l.alloc_flags & CODEHEAP_LOOKUP_JUMP_TABLE);

	/* The slot helper. */
	EXPECT_EQ(jt.base, codeheap_jt_slot(&jt, 0));
	EXPECT_EQ((char *)jt.base + 7 * jt.slot_size, codeheap_jt_slot(&jt, 7));
	EXPECT_EQ(NULL, codeheap_jt_slot(&jt, 8));

	EXPECT_EQ(SIGTRAP, call(codeheap_jt_slot(&jt, 0), &ret));
	ASSERT_EQ(0, codeheap_jt_patch(self->h, &jt, 0, f1));
	EXPECT_EQ(0, call(codeheap_jt_slot(&jt, 0), &ret));
	EXPECT_EQ(1, ret);
	ASSERT_EQ(0, codeheap_jt_query(self->h, &jt, 0, &t));
	EXPECT_EQ(f1, t);

	/* Batch: later entries win. */
	e[0] = codeheap_jt_entry(1, f1);
	e[1] = codeheap_jt_entry(2, f2);
	e[2] = codeheap_jt_entry(1, f2);
	EXPECT_EQ(1, e[0].slot);
	EXPECT_EQ(U64(f1), e[0].target);
	ASSERT_EQ(0, codeheap_jt_patch_batch(self->h, &jt, e, 3));
	EXPECT_EQ(0, call(codeheap_jt_slot(&jt, 1), &ret));
	EXPECT_EQ(2, ret);
	EXPECT_EQ(0, call(codeheap_jt_slot(&jt, 2), &ret));
	EXPECT_EQ(2, ret);

	/* FREE puts slots back to the default. */
	ASSERT_EQ(0, codeheap_free(self->h, f2));
	ASSERT_EQ(0, codeheap_jt_query(self->h, &jt, 2, &t));
	EXPECT_EQ(NULL, t);
	EXPECT_EQ(SIGTRAP, call(codeheap_jt_slot(&jt, 2), &ret));

	/* Errors. */
	EXPECT_EQ(-ENOENT, codeheap_jt_patch(self->h, &jt, 8, f1));
	EXPECT_EQ(-ENOENT, codeheap_jt_patch(self->h, &jt, 0, &jt));
	EXPECT_EQ(-ENOENT, codeheap_jt_patch(self->h, &jt, 0, f2));
	EXPECT_EQ(-EINVAL, codeheap_jt_patch_batch(self->h, &jt, e, 0));
	EXPECT_EQ(-ENOENT, codeheap_jt_query(self->h, &jt, 8, &t));
	EXPECT_EQ(-EINVAL, codeheap_jt_create(self->h, 0, NULL, &jt2));
	EXPECT_EQ(-E2BIG, codeheap_jt_create(self->h, CODEHEAP_JT_MAX_SLOTS + 1,
					     NULL, &jt2));
	EXPECT_EQ(-EINVAL, codeheap_jt_create(self->h, 1, jt.base, &jt2));

	/* A default outside the heap: a function of this program. */
	ASSERT_EQ(0, codeheap_jt_create_in(self->h, 2, c_default, jt.base,
					   (char *)jt.base + (16 << 20), &jt2));
	EXPECT_LE(U64(jt.base), U64(jt2.base));
	EXPECT_GT(U64(jt.base) + (16 << 20), U64(jt2.base));
	EXPECT_EQ((void *)c_default, jt2.default_target);
	ASSERT_EQ(0, codeheap_jt_query(self->h, &jt2, 1, &t));
	EXPECT_EQ((void *)c_default, t);
#if !defined(__i386__)
	/* (A 32-bit x86 program may be more than 2 GiB from its heap: far slot.) */
	EXPECT_EQ(0, call(codeheap_jt_slot(&jt2, 1), &ret));
	EXPECT_EQ(77, ret);
#endif
	EXPECT_EQ(-EINVAL, codeheap_jt_create_in(self->h, 2, NULL, f1, f1,
						 &jt2));

	ASSERT_EQ(0, codeheap_jt_destroy(self->h, &jt));
	EXPECT_EQ(-ENOENT, codeheap_jt_destroy(self->h, &jt));
	EXPECT_EQ(-ENOENT, codeheap_jt_query(self->h, &jt, 0, &t));
	EXPECT_EQ(-ENOENT, codeheap_jt_patch(self->h, &jt, 0, f1));
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

TEST(perf_map)
{
	char path[64], buf[1024], want[128];
	struct codeheap *h, *quiet;
	char name[300];
	void *a;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	unlink(path);
	ASSERT_EQ(0, codeheap_open(&quiet, 0));
	EXPECT_EQ(0, codeheap_perf_name(quiet, (void *)0x1000, 16, "x"));
	EXPECT_EQ(-ENOENT, read_file(path, buf, sizeof(buf)));

	ASSERT_EQ(0, codeheap_open(&h, CODEHEAP_OPEN_PERF_MAP));
	ASSERT_EQ(0, codeheap_alloc(h, 64, 0, &a));
	ASSERT_EQ(0, codeheap_perf_name(h, a, 0x2a, "jit:fib\n[tier 2]"));
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ASSERT_EQ(0, codeheap_perf_name(h, (void *)0xabc0, 1, name));
	ASSERT_LT(0, read_file(path, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "%lx 2a jit:fib [tier 2]\nabc0 1 nnnn",
		 (unsigned long)U64(a));
	EXPECT_EQ(0, strncmp(buf, want, strlen(want))) TH_LOG("%s", buf);
	/* Names are cut at 200 bytes. */
	EXPECT_EQ(strlen(want) - 4 + 200 + 1, strlen(buf));
	codeheap_close(h);
	codeheap_close(quiet);
	unlink(path);
}

/* A fork child may look but not touch. */
TEST_F(lib, fork_child_reads_only)
{
	unsigned char code[CH_RET_LEN];
	struct codeheap_lookup l;
	struct codeheap_jt jt;
	int status;
	void *a, *t;
	pid_t pid;

	ret_code(code, 3);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 5, &a));
	ASSERT_EQ(0, codeheap_jt_create(self->h, 1, NULL, &jt));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		bad |= codeheap_lookup(self->h, a, &l) || l.tag != 5;
		bad |= codeheap_jt_query(self->h, &jt, 0, &t) != 0;
		bad |= codeheap_alloc(self->h, 64, 0, &t) != -EPERM;
		bad |= codeheap_write(self->h, a, code, CH_RET_LEN) != -EPERM;
		bad |= codeheap_free(self->h, a) != -EPERM;
		bad |= codeheap_jt_patch(self->h, &jt, 0, a) != -EPERM;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* One handle, many threads: no hidden shared state in the library. */
static void *worker(void *arg)
{
	struct codeheap *h = arg;
	unsigned char code[CH_RET_LEN];
	long bad = 0;
	void *a;
	int i, ret;

	for (i = 0; i < 200; i++) {
		ret_code(code, i);
		if (codeheap_alloc_write(h, code, CH_RET_LEN, i, &a)) {
			bad++;
			continue;
		}
		ret = ((int (*)(void))a)();
		if (ret != i)
			bad++;
		if (codeheap_free(h, a))
			bad++;
	}
	return (void *)bad;
}

TEST_F(lib, threads_share_a_handle)
{
	pthread_t t[4];
	void *bad;
	int i;

	/* The workers call code directly (ch_probe_call() is not thread-safe). */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker, self->h));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		EXPECT_EQ(NULL, bad);
	}
	EXPECT_EQ(0, live_allocations(self->h));
}

/* -- Shadows ------------------------------------------------------------ */

TEST_F(lib, shadow_alloc_publish_run)
{
	unsigned char code[CH_RET_LEN];
	struct codeheap_shadow s;
	struct codeheap_lookup l;
	int ret = -1;
	size_t i;

	ASSERT_EQ(0, codeheap_shadow_alloc(self->h, 256, 0, NULL, NULL, 42, &s));
	ASSERT_NE(NULL, s.mem);
	EXPECT_NE(s.mem, s.exec);
	EXPECT_EQ(256, s.len);
	EXPECT_EQ((char *)s.exec - (char *)s.mem, s.offset);
	EXPECT_EQ(0, ((uintptr_t)s.exec - (uintptr_t)s.mem) % 64);
	ASSERT_EQ(0, codeheap_lookup(self->h, s.exec, &l));
	EXPECT_EQ(U64(s.exec), l.start);
	EXPECT_EQ(42, l.tag);
	/* The shadow starts as the code is: traps. */
	EXPECT_EQ(0, memcmp(s.mem, s.exec, s.len));
	EXPECT_EQ(0, ch_probe_trap(U64(s.exec)));

	ret_code(code, 77);
	memcpy(s.mem, code, CH_RET_LEN);
	/* Not published yet: the code still traps. */
	EXPECT_EQ(0, ch_probe_trap(U64(s.exec)));
	ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, NULL, 0));
	ASSERT_EQ(0, call(s.exec, &ret));
	EXPECT_EQ(77, ret);
	EXPECT_EQ(0, memcmp(s.mem, s.exec, s.len));

	/* The shadow is never executable. */
	EXPECT_EQ(SIGSEGV, call(s.mem, &ret));

	codeheap_shadow_destroy(&s);
	EXPECT_EQ(NULL, s.mem);
	EXPECT_EQ(NULL, s.exec);
	EXPECT_EQ(0, s.len);
	codeheap_shadow_destroy(&s);	/* harmless twice */
	/* The code outlives its shadow. */
	ASSERT_EQ(0, call(codeheap_ptr(l.start), &ret));
	EXPECT_EQ(77, ret);
	for (i = CH_RET_LEN; i < 256; i += CH_TRAP_LEN)
		ASSERT_EQ(0, ch_probe_trap(l.start + i));
	EXPECT_EQ(0, codeheap_free(self->h, codeheap_ptr(l.start)));
	EXPECT_EQ(0, live_allocations(self->h));
}

/* Only the spans named are copied; the rest of the shadow is not. */
TEST_F(lib, shadow_publish_spans)
{
	struct codeheap_span spans[100];
	struct codeheap_shadow s;
	unsigned char *m, *x;
	size_t i, len = 100 * 64;

	ASSERT_EQ(0, codeheap_shadow_alloc(self->h, len, 0, NULL, NULL, 0, &s));
	m = s.mem;
	x = s.exec;
	ch_fill_nop(m, len);
	spans[0] = (struct codeheap_span){ .off = 64, .len = 64 };
	spans[1] = (struct codeheap_span){ .off = 640, .len = 128 };
	ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, spans, 2));
	for (i = 0; i < len; i += CH_INSN_ALIGN) {
		bool in = (i >= 64 && i < 128) || (i >= 640 && i < 768);

		EXPECT_EQ(in ? m[i] : ch_trap_byte(i), x[i]);
	}
	/* More spans than one WRITE takes: all of them land. */
	for (i = 0; i < 100; i++)
		spans[i] = (struct codeheap_span){ .off = i * 64, .len = 32 };
	ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, spans, 100));
	for (i = 0; i < len; i += CH_INSN_ALIGN)
		if (i % 64 < 32) {
			EXPECT_EQ(m[i], x[i]);
		}
	EXPECT_EQ(0, codeheap_free(self->h, s.exec));
	codeheap_shadow_destroy(&s);
}

/* Bad spans are refused before anything is copied. */
TEST_F(lib, shadow_publish_errors)
{
	struct codeheap_span spans[2];
	struct codeheap_shadow s;
	ASSERT_EQ(0, codeheap_shadow_alloc(self->h, 128, 0, NULL, NULL, 0, &s));
	ch_fill_nop(s.mem, s.len);
	spans[0] = (struct codeheap_span){ .off = 0, .len = 64 };
	spans[1] = (struct codeheap_span){ .off = 64, .len = 65 };
	errno = 99;
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, spans, 2));
	EXPECT_EQ(99, errno);
	spans[1] = (struct codeheap_span){ .off = 129, .len = 1 };
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, spans, 2));
	spans[1] = (struct codeheap_span){ .off = 64, .len = 0 };
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, spans, 2));
	spans[1] = (struct codeheap_span){ .off = 1, .len = SIZE_MAX };
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, spans, 2));
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, spans, 0));
	EXPECT_EQ(-EINVAL, codeheap_shadow_publish(self->h, &s, NULL, 1));
	/* Nothing of the first, valid span was copied. */
	EXPECT_EQ(0, ch_probe_trap(U64(s.exec)));
	/* A sealed allocation: the kernel's errno comes back. */
	ASSERT_EQ(0, codeheap_seal(self->h, s.exec));
	EXPECT_EQ(-EPERM, codeheap_shadow_publish(self->h, &s, NULL, 0));
	EXPECT_EQ(0, ch_probe_trap(U64(s.exec)));
	codeheap_shadow_destroy(&s);
}

/*
 * A shadow with an unreadable page: the kernel faults every source in
 * before it copies a byte, so the publish fails with nothing written, the
 * valid spans before the bad one included.  (A source that goes away
 * during the copy, after that check, leaves the faulting entry's code
 * traps: heap_test's write_source_zapped_during_copy.)
 */
TEST_F(lib, shadow_publish_fault_changes_nothing)
{
	size_t pg = getpagesize(), i, hole;
	struct codeheap_span spans[3];
	struct codeheap_shadow s;
	unsigned char *m, *x;
	uintptr_t mid;

	ASSERT_EQ(0, codeheap_shadow_alloc(self->h, 4 * pg, 0, NULL, NULL, 0,
					   &s));
	m = s.mem;
	x = s.exec;
	ch_fill_nop(m, s.len);
	/* A page of the shadow, well inside it, made unreadable. */
	mid = ((uintptr_t)m + pg - 1) / pg * pg + pg;
	hole = mid - (uintptr_t)m;
	ASSERT_LE(hole + pg, s.len);
	ASSERT_EQ(0, mprotect((void *)mid, pg, PROT_NONE));

	EXPECT_EQ(-EFAULT, codeheap_shadow_publish(self->h, &s, NULL, 0));
	spans[0] = (struct codeheap_span){ .off = 0, .len = 64 };
	spans[1] = (struct codeheap_span){ .off = hole - 64, .len = 128 };
	spans[2] = (struct codeheap_span){ .off = s.len - 64, .len = 64 };
	EXPECT_EQ(-EFAULT, codeheap_shadow_publish(self->h, &s, spans, 3));
	for (i = 0; i < s.len; i += CH_TRAP_LEN)
		ASSERT_EQ(0, ch_probe_trap(U64(x + i))) TH_LOG("byte %zu", i);

	ASSERT_EQ(0, mprotect((void *)mid, pg, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, codeheap_shadow_publish(self->h, &s, spans, 3));
	EXPECT_EQ(0, memcmp(x, m, 64));
	EXPECT_EQ(0, memcmp(x + hole - 64, m + hole - 64, 128));
	EXPECT_EQ(0, memcmp(x + s.len - 64, m + s.len - 64, 64));
	EXPECT_EQ(0, ch_probe_trap(U64(x + 64)));
	EXPECT_EQ(0, codeheap_free(self->h, s.exec));
	codeheap_shadow_destroy(&s);
}

/*
 * Patching live code: threads call a function that returns a word of its
 * own constant pool while the word is republished 64 times.  They never
 * trap or crash, and see only bytes that were written (a WRITE gives no
 * more: Documentation/writing-a-jit.rst, "Patching live code"); the
 * publisher sees each new word as soon as its publish returns.
 */
#define LIVE_ROUNDS 64

struct live_arg {
	int (*fn)(void);
	volatile bool stop;
	long calls, bad;
};

static void *live_worker(void *arg)
{
	struct live_arg *a = arg;
	long calls = 0, bad = 0;

	while (!a->stop) {
		uint32_t v = a->fn();

		for (int b = 0; b < 4; b++) {
			unsigned int byte = (v >> (8 * b)) & 0xff;

			bad += byte < 1 || byte > LIVE_ROUNDS;
		}
		calls++;
	}
	a->calls = calls;
	a->bad = bad;
	return NULL;
}

TEST_F(lib, shadow_patch_live_code)
{
	unsigned char code[CH_LOAD_LEN];
	struct live_arg arg[2] = { 0 };
	struct codeheap_span span = { .off = CH_LOAD_AT, .len = 4 };
	struct codeheap_shadow s;
	pthread_t t[2];
	uint32_t v;
	int i, ret = -1;

	ASSERT_EQ(0, codeheap_shadow_alloc(self->h, CH_LOAD_LEN, 0, NULL, NULL,
					   0, &s));
	ch_code_load(code, 0x01010101);
	memcpy(s.mem, code, CH_LOAD_LEN);
	ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, NULL, 0));
	ASSERT_EQ(0, call(s.exec, &ret));
	ASSERT_EQ(0x01010101, ret);
	for (i = 0; i < 2; i++) {
		arg[i].fn = (int (*)(void))s.exec;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, live_worker, &arg[i]));
	}
	for (i = 2; i <= LIVE_ROUNDS; i++) {
		v = 0x01010101u * i;
		memcpy((char *)s.mem + CH_LOAD_AT, &v, 4);
		ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, &span, 1));
		EXPECT_EQ(v, (uint32_t)((int (*)(void))s.exec)());
		usleep(1000);
	}
	for (i = 0; i < 2; i++) {
		arg[i].stop = true;
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_LT(0, arg[i].calls);
		EXPECT_EQ(0, arg[i].bad);
	}
	EXPECT_EQ(0, codeheap_free(self->h, s.exec));
	codeheap_shadow_destroy(&s);
}

TEST_F(lib, shadow_alloc_errors)
{
	struct codeheap_shadow s = { 0 };
	char lo;

	EXPECT_EQ(-EINVAL, codeheap_shadow_alloc(self->h, 0, 0, NULL, NULL, 0,
						 &s));
	EXPECT_EQ(-EINVAL, codeheap_shadow_alloc(self->h, 64, 3, NULL, NULL,
						 0, &s));
	/* An empty window. */
	EXPECT_EQ(-EINVAL, codeheap_shadow_alloc(self->h, 64, 0, &lo, &lo, 0,
						 &s));
	EXPECT_EQ(NULL, s.mem);
	EXPECT_EQ(0, live_allocations(self->h));
}

/* The address space this process has mapped, in bytes (VmSize). */
static long vm_size(void)
{
	char buf[4096], *p;

	if (read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "VmSize:");
	return p ? atol(p + 7) * 1024 : -1;
}

/*
 * No memory for the shadow (RLIMIT_AS reached, so malloc() fails while the
 * allocation fits the heap's reservation): -ENOMEM, and the allocation the
 * call made is freed again.
 */
TEST_F(lib, shadow_no_memory)
{
	struct codeheap_shadow s = { 0 };
	struct rlimit old, lim;
	size_t len = 1 << 20;
	int alloc_ret, attach_ret;
	void *a, *b;

	/* A reservation with room for len more, then no more address space. */
	ASSERT_EQ(0, codeheap_alloc(self->h, len, 0, &a));
	ASSERT_EQ(0, codeheap_alloc(self->h, 64, 0, &b));
	ASSERT_EQ(0, codeheap_free(self->h, a));
	ASSERT_EQ(0, getrlimit(RLIMIT_AS, &old));
	lim = old;
	lim.rlim_cur = vm_size() + 64 * 1024;
	ASSERT_LT(65536, (long)lim.rlim_cur);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &lim));
	alloc_ret = codeheap_shadow_alloc(self->h, len, 0, NULL, NULL, 0, &s);
	attach_ret = codeheap_shadow_attach(self->h, b, 64, &s);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &old));
	EXPECT_EQ(-ENOMEM, alloc_ret);
	/* 64 bytes fit in what malloc() has: attach needs no new mapping. */
	EXPECT_EQ(0, attach_ret);
	codeheap_shadow_destroy(&s);
	EXPECT_EQ(1, live_allocations(self->h));
	EXPECT_EQ(NULL, s.mem);
}

/* Patching published code: attach, change, publish the changed bytes. */
TEST_F(lib, shadow_attach_patch)
{
	unsigned char code[CH_RET_LEN];
	struct codeheap_span span;
	struct codeheap_shadow s;
	struct codeheap_jt jt;
	int ret = -1;
	void *a;

	ret_code(code, 5);
	ASSERT_EQ(0, codeheap_alloc_write(self->h, code, CH_RET_LEN, 0, &a));
	ASSERT_EQ(0, codeheap_shadow_attach(self->h, a, CH_RET_LEN, &s));
	EXPECT_EQ(a, s.exec);
	EXPECT_EQ(0, memcmp(s.mem, code, CH_RET_LEN));
	EXPECT_EQ(0, ((uintptr_t)s.exec - (uintptr_t)s.mem) % 64);
	ret_code(code, 6);
	memcpy(s.mem, code, CH_RET_LEN);
	span = (struct codeheap_span){ .off = 0, .len = CH_RET_LEN };
	ASSERT_EQ(0, codeheap_shadow_publish(self->h, &s, &span, 1));
	ASSERT_EQ(0, call(a, &ret));
	EXPECT_EQ(6, ret);
	codeheap_shadow_destroy(&s);

	/* Inside the allocation, past its start. */
	ASSERT_EQ(0, codeheap_shadow_attach(self->h, (char *)a + 8, 8, &s));
	codeheap_shadow_destroy(&s);
	EXPECT_EQ(-EINVAL, codeheap_shadow_attach(self->h, a, 0, &s));
	/* Past the allocation's end (allocations are code_align rounded). */
	EXPECT_EQ(-ENOENT, codeheap_shadow_attach(self->h, a,
						  self->v->code_align + 1, &s));
	EXPECT_EQ(-ENOENT, codeheap_shadow_attach(self->h, &ret, 4, &s));
	ASSERT_EQ(0, codeheap_free(self->h, a));
	EXPECT_EQ(-ENOENT, codeheap_shadow_attach(self->h, a, 4, &s));
	/* A jump table is the kernel's. */
	ASSERT_EQ(0, codeheap_jt_create(self->h, 4, NULL, &jt));
	EXPECT_EQ(-ENOENT, codeheap_shadow_attach(self->h, jt.base, 4, &s));
	EXPECT_EQ(0, codeheap_jt_destroy(self->h, &jt));
	EXPECT_EQ(NULL, s.mem);
}

/* -- The process-wide heap and the error texts --------------------------- */

static void *default_worker(void *arg)
{
	struct codeheap *h = NULL;

	(void)arg;
	if (codeheap_default(&h))
		return NULL;
	return h;
}

TEST(default_heap)
{
	struct codeheap *h1, *h2;
	unsigned char code[CH_RET_LEN];
	pthread_t t[4];
	void *got[4], *a;
	int i, status, ret = -1;
	pid_t pid;

	/* Threads racing for the first open all get one heap. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, default_worker, NULL));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], &got[i]));
	ASSERT_NE(NULL, got[0]);
	for (i = 1; i < 4; i++)
		EXPECT_EQ(got[0], got[i]);
	ASSERT_EQ(0, codeheap_default(&h1));
	ASSERT_EQ(0, codeheap_default(&h2));
	EXPECT_EQ(h1, h2);
	EXPECT_EQ(got[0], h1);

	ret_code(code, 9);
	ASSERT_EQ(0, codeheap_alloc_write(h1, code, CH_RET_LEN, 0, &a));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct codeheap *c;
		void *b;
		int bad = 0;

		/* The child's default heap is its own, and it may change it. */
		bad |= codeheap_default(&c) != 0;
		bad |= codeheap_alloc_write(c, code, CH_RET_LEN, 0, &b) != 0;
		bad |= codeheap_free(c, b) != 0;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The parent's is untouched. */
	ASSERT_EQ(0, codeheap_default(&h2));
	EXPECT_EQ(h1, h2);
	ASSERT_EQ(0, call(a, &ret));
	EXPECT_EQ(9, ret);
	EXPECT_EQ(0, codeheap_free(h1, a));
}

/* The open fails (no descriptor left): its errno, and the next call opens. */
TEST(default_heap_open_fails)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit old, none = { 0, 0 };
		struct codeheap *h = NULL;
		int bad = 0, ret;

		/* The child's first call: the parent's heap was forgotten. */
		bad |= getrlimit(RLIMIT_NOFILE, &old) != 0;
		none.rlim_max = old.rlim_max;
		bad |= setrlimit(RLIMIT_NOFILE, &none) != 0;
		ret = codeheap_default(&h);
		bad |= (ret != -EMFILE) << 1;
		bad |= (h != NULL) << 2;
		bad |= (setrlimit(RLIMIT_NOFILE, &old) != 0) << 3;
		bad |= (codeheap_default(&h) != 0 || !h) << 4;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * CODEHEAP_OPEN_FALLBACK where the device does not exist: a child hides
 * /dev/codeheap under a tmpfs in a mount namespace of its own, then checks
 * the fallback's commands, their errors and W^X between writes.
 * Returns a bit mask of the checks that failed.
 */
static int fallback_checks(void)
{
	unsigned char code[CH_RET_LEN];
	const struct codeheap_version *v;
	struct codeheap_write_entry e[2];
	struct codeheap_shadow s;
	struct codeheap_lookup l;
	struct codeheap_stats st;
	struct codeheap_jt jt;
	struct codeheap *h;
	int bad = 0, ret = -1;
	void *a, *b, *r;

	if (unshare(CLONE_NEWNS) ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/dev", "tmpfs", 0, NULL))
		return 1 << 30;
	bad |= (codeheap_open(&h, 0) != -ENOENT) << 0;
	if (codeheap_open(&h, CODEHEAP_OPEN_FALLBACK))
		return 1 << 1;
	v = codeheap_info(h);
	bad |= (codeheap_fd(h) != -1) << 2;
	bad |= (v->arch != CH_ARCH || v->code_align < CH_INSN_ALIGN ||
		v->page_size != (uint32_t)getpagesize()) << 3;

	ret_code(code, 41);
	bad |= codeheap_alloc_write(h, code, CH_RET_LEN, 7, &a) << 4;
	bad |= (call(a, &ret) || ret != 41) << 5;
	/* Between writes the code is not writable, and traps past its end. */
	bad |= (ch_probe_write(U64(a)) != SIGSEGV) << 6;
	bad |= (ch_probe_trap(U64((char *)a + CH_RET_LEN)) != 0) << 7;
	bad |= (codeheap_lookup(h, (char *)a + 1, &l) || l.start != U64(a) ||
		l.tag != 7) << 8;
	bad |= (codeheap_stats(h, &st) || st.allocations != 1) << 9;

	/* WRITE's errors, every entry checked first. */
	ret_code(code, 42);
	e[0] = codeheap_entry(a, code, CH_RET_LEN);
	e[1] = codeheap_entry((char *)a + v->code_align, code, 1);
	bad |= (codeheap_write_batch(h, e, 2) != -ENOENT) << 10;
	bad |= (call(a, &ret) || ret != 41) << 11;
	e[1] = codeheap_entry(a, code, 0);
	bad |= (codeheap_write_batch(h, e, 2) != -EINVAL) << 12;
	bad |= (codeheap_write_batch(h, e, 0) != -EINVAL) << 12;
	bad |= (codeheap_write_batch(h, e, v->max_batch + 1) != -E2BIG) << 12;
	bad |= codeheap_write(h, a, code, CH_RET_LEN) << 13;
	bad |= (call(a, &ret) || ret != 42) << 13;

	/* Shadows and windows work as with the module. */
	bad |= codeheap_shadow_alloc(h, 64, 0, NULL, NULL, 0, &s) << 14;
	memcpy(s.mem, code, CH_RET_LEN);
	bad |= codeheap_shadow_publish(h, &s, NULL, 0) << 15;
	bad |= (call(s.exec, &ret) || ret != 42) << 15;
	bad |= codeheap_free(h, s.exec) << 16;
	codeheap_shadow_destroy(&s);
	bad |= codeheap_alloc_in(h, 64, 4096, (char *)a + (1 << 24), NULL, 0,
				 &b) << 17;
	bad |= (U64(b) < U64(a) + (1 << 24) || U64(b) % 4096) << 17;
	bad |= codeheap_free(h, b) << 17;

	/* SEAL and FREE, and their errors. */
	bad |= (codeheap_free(h, (char *)a + 1) != -ENOENT) << 18;
	bad |= codeheap_seal(h, a) << 19;
	bad |= (codeheap_write(h, a, code, 1) != -EPERM) << 19;
	bad |= (codeheap_free(h, a) != -EPERM) << 19;
	bad |= (codeheap_lookup(h, a, &l) || !(l.alloc_flags &
					       CODEHEAP_LOOKUP_SEALED)) << 19;

	/* What needs the module. */
	bad |= (codeheap_jt_create(h, 1, NULL, &jt) != -EOPNOTSUPP) << 20;
	bad |= (codeheap_reserve(h, 1 << 20, NULL, NULL, 0, 0, &r) !=
		-EOPNOTSUPP) << 21;
	codeheap_close(h);
	return bad;
}

TEST(fallback_without_the_module)
{
	int status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root, for a mount namespace");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int failed = fallback_checks();

		if (failed)
			fprintf(stderr, "# fallback: checks 0x%x failed\n", failed);
		_exit(failed ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(strerror_texts)
{
	EXPECT_NE(NULL, strstr(codeheap_strerror(-ENOENT), "modprobe codeheap"));
	EXPECT_STREQ(codeheap_strerror(-ENOENT), codeheap_strerror(ENOENT));
	EXPECT_NE(NULL, strstr(codeheap_strerror(-EACCES), "/dev/codeheap"));
	EXPECT_NE(NULL, strstr(codeheap_strerror(-EPERM), "another process"));
	EXPECT_STREQ("success", codeheap_strerror(0));
	/* An errno codeheap never returns: the C library's text. */
	EXPECT_STREQ(strerror(EPIPE), codeheap_strerror(-EPIPE));
	EXPECT_NE(NULL, codeheap_strerror(-100000));
}

TEST_HARNESS_MAIN
