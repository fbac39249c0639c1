// SPDX-License-Identifier: GPL-2.0
/*
 * Jump tables: calls through slots before and after patches, far targets,
 * FREE resetting slots, kernel ownership, every JT_* error path, and
 * threads calling through slots while another patches them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

static int jt_create(int fd, uint32_t n, uint64_t def, uint64_t lo,
		     uint64_t hi, struct codeheap_jt_create *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->nr_slots = n;
	c->default_target = def;
	c->lo = lo;
	c->hi = hi;
	return ch_ioctl(fd, CODEHEAP_IOC_JT_CREATE, c);
}

static int jt_patch(int fd, uint32_t id, const struct codeheap_jt_patch_entry *e,
		    uint32_t count)
{
	struct codeheap_jt_patch p = {
		.size = sizeof(p), .id = id, .count = count, .entries = U64(e),
	};

	return ch_ioctl(fd, CODEHEAP_IOC_JT_PATCH, &p);
}

static int jt_patch1(int fd, uint32_t id, uint32_t slot, uint64_t target)
{
	struct codeheap_jt_patch_entry e = { .slot = slot, .target = target };

	return jt_patch(fd, id, &e, 1);
}

static int jt_query(int fd, uint32_t id, uint32_t slot, uint64_t *target)
{
	struct codeheap_jt_query q = { .size = sizeof(q), .id = id, .slot = slot };
	int ret = ch_ioctl(fd, CODEHEAP_IOC_JT_QUERY, &q);

	if (!ret && target)
		*target = q.target;
	return ret;
}

static int jt_destroy(int fd, uint32_t id)
{
	struct codeheap_jt_destroy d = { .size = sizeof(d), .id = id };

	return ch_ioctl(fd, CODEHEAP_IOC_JT_DESTROY, &d);
}

/* A function returning @value, in its own allocation. */
static uint64_t fn(struct __test_metadata *_metadata, int fd, uint32_t value)
{
	uint64_t a;

	ASSERT_EQ(0, ch_make_fn(fd, value, &a));
	return a;
}

static int call_slot(const struct codeheap_jt_create *c, uint32_t slot,
		     int *ret)
{
	return ch_probe_call(c->base + (uint64_t)slot * c->slot_size, ret);
}

/*
 * Where the near slot at @slot jumps (x86 jmp rel32, arm64 b imm26), or 0
 * if it holds no jump: how a test sees that a slot goes through its far
 * slot.
 */
static uint64_t near_dest(uint64_t slot)
{
#if defined(__x86_64__) || defined(__i386__)
	int32_t rel;

	if (*(unsigned char *)PTR(slot) != 0xe9)
		return 0;
	memcpy(&rel, PTR(slot + 1), 4);
	if (sizeof(void *) == 4)	/* eip wraps at 4 GiB */
		return (uint32_t)(slot + 5 + (uint32_t)rel);
	return slot + 5 + (int64_t)rel;
#elif defined(__aarch64__)
	uint32_t insn;
	int64_t off;

	memcpy(&insn, PTR(slot), 4);
	if ((insn & 0xfc000000) != 0x14000000)
		return 0;
	off = insn & 0x03ffffff;
	off = (off ^ 0x02000000) - 0x02000000;
	return slot + 4 * off;
#endif
}

/*
 * A table of @n slots at least 4 GiB from a new 1 MiB reservation
 * (*@far_space), so that its slots reach that reservation through far
 * slots (beyond x86-64's +-2 GiB and arm64's +-128 MiB).
 */
static int far_table(int fd, uint32_t n, uint64_t *far_space,
		     struct codeheap_jt_create *c)
{
	int ret = ch_reserve(fd, 1 << 20, 0, 0, far_space);

	if (ret)
		return ret;
	ret = jt_create(fd, n, 0, *far_space + (6ULL << 30),
			*far_space + (8ULL << 30), c);
	if (ret == -ENOSPC)
		ret = jt_create(fd, n, 0, *far_space - (8ULL << 30),
				*far_space - (6ULL << 30), c);
	return ret;
}

FIXTURE(jt) {
	int fd;
	struct codeheap_jt_create c;
	uint64_t f1, f2;
};

FIXTURE_SETUP(jt)
{
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->f1 = fn(_metadata, self->fd, 1);
	self->f2 = fn(_metadata, self->fd, 2);
	ASSERT_EQ(0, jt_create(self->fd, 16, 0, 0, 0, &self->c));
}

FIXTURE_TEARDOWN(jt)
{
	close(self->fd);
}

TEST_F(jt, create_traps_by_default)
{
	struct codeheap_lookup l;
	struct codeheap_stats st;
	uint64_t t = 1;
	int ret;

	struct codeheap_version v;

	ASSERT_EQ(0, ch_version(self->fd, &v));
	EXPECT_LT(0, self->c.id);
	EXPECT_EQ(v.jt_near_slot_size, self->c.slot_size);
	EXPECT_EQ(0, self->c.base % v.code_align);
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 0, &ret));
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 15, &ret));
	EXPECT_EQ(0, jt_query(self->fd, self->c.id, 15, &t));
	EXPECT_EQ(0, t);
	ASSERT_EQ(0, ch_lookup(self->fd, self->c.base, &l));
	EXPECT_EQ(CODEHEAP_LOOKUP_SEALED | CODEHEAP_LOOKUP_JUMP_TABLE,
		  l.alloc_flags);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(1, st.jump_tables);
}

TEST_F(jt, patch_and_call)
{
	struct codeheap_jt_patch_entry e[64];
	uint64_t t;
	int ret, i;

	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 3, self->f1));
	EXPECT_EQ(0, call_slot(&self->c, 3, &ret));
	EXPECT_EQ(1, ret);
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 2, &ret));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 3, &t));
	EXPECT_EQ(self->f1, t);

	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 3, self->f2));
	EXPECT_EQ(0, call_slot(&self->c, 3, &ret));
	EXPECT_EQ(2, ret);
	/* Any address inside an allocation is a valid target. */
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 4, self->f2 + CH_RET_AT));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 4, &t));
	EXPECT_EQ(self->f2 + CH_RET_AT, t);
	EXPECT_EQ(0, call_slot(&self->c, 4, &ret));	/* lands on f2's ret */
	/* Back to the default. */
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 3, 0));
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 3, &ret));

	/* A batch, later entries for a slot winning. */
	for (i = 0; i < 16; i++)
		e[i] = (struct codeheap_jt_patch_entry){ i, 0,
			i % 2 ? self->f2 : self->f1 };
	e[16] = (struct codeheap_jt_patch_entry){ 0, 0, self->f2 };
	ASSERT_EQ(0, jt_patch(self->fd, self->c.id, e, 17));
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, call_slot(&self->c, i, &ret));
		EXPECT_EQ(i % 2 || i == 0 ? 2 : 1, ret) TH_LOG("slot %d", i);
	}
}

/* A default target (a lazy-compile stub) cannot be freed under a table. */
TEST_F(jt, default_target_stub)
{
	struct codeheap_jt_create c;
	uint64_t stub = fn(_metadata, self->fd, 99), t;
	int ret;

	ASSERT_EQ(0, jt_create(self->fd, 4, stub, 0, 0, &c));
	EXPECT_EQ(0, call_slot(&c, 0, &ret));
	EXPECT_EQ(99, ret);
	ASSERT_EQ(0, jt_query(self->fd, c.id, 3, &t));
	EXPECT_EQ(stub, t);
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 1, self->f1));
	EXPECT_EQ(0, call_slot(&c, 1, &ret));
	EXPECT_EQ(1, ret);
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 1, stub));
	EXPECT_EQ(0, call_slot(&c, 1, &ret));
	EXPECT_EQ(99, ret);
	EXPECT_EQ(-EBUSY, ch_free(self->fd, stub));
	EXPECT_EQ(0, call_slot(&c, 0, &ret));
	ASSERT_EQ(0, jt_destroy(self->fd, c.id));
	EXPECT_EQ(0, ch_free(self->fd, stub));

	/* A default outside the heap is allowed: the JIT's own stub. */
	ASSERT_EQ(0, jt_create(self->fd, 2, U64(&jt_create), 0, 0, &c));
	ASSERT_EQ(0, jt_query(self->fd, c.id, 1, &t));
	EXPECT_EQ(U64(&jt_create), t);
}

/* FREE resets exactly the slots that target the freed code (SPEC 5.5). */
TEST_F(jt, free_resets_slots)
{
	uint64_t t;
	int ret;

	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 0, self->f1));
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 1,
			       self->f1 + CH_INSN_ALIGN));
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 2, self->f2));
	ASSERT_EQ(0, ch_free(self->fd, self->f1));
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 0, &ret));
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 1, &ret));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 0, &t));
	EXPECT_EQ(0, t);
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 1, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(0, call_slot(&self->c, 2, &ret));
	EXPECT_EQ(2, ret);
	/* Freed code is no target any more. */
	EXPECT_EQ(-ENOENT, jt_patch1(self->fd, self->c.id, 0, self->f1));
	/* Reused memory is not reached through the old slots. */
	self->f1 = fn(_metadata, self->fd, 7);
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 0, &ret));
	EXPECT_EQ(0, ch_probe_trap(self->c.base));
}

static int ret_33(void)
{
	return 33;
}

/* Targets beyond rel32 reach go through the slot's far slot. */
TEST_F(jt, far_target)
{
	uint64_t far_space, target, dest, t;
	struct codeheap_lookup l;
	unsigned char code[CH_RET_LEN];
	struct codeheap_jt_create c;
	int ret;

	if (sizeof(void *) == 4) {
		/*
		 * 32-bit mode: eip wraps at 4 GiB, so a target 2.5 GiB away
		 * is reached by the near jmp rel32 itself, never a far slot
		 * (which would run x86-64 code).
		 */
		struct codeheap_reserve r = {
			.size = sizeof(r), .len = 1 << 20,
			.near = 0x10000000, .range = 0x08000000,
		};

		ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, &r));
		ASSERT_EQ(0, jt_create(self->fd, 4, 0, 0xb0000000, 0xd0000000,
				       &c));
		ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, r.addr,
					 r.addr + (1 << 20), 0, &target));
		EXPECT_LT(0x80000000ULL, c.base - target);
		ch_code_ret(code, 3232);
		ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));
		ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
		EXPECT_EQ(0, call_slot(&c, 2, &ret));
		EXPECT_EQ(3232, ret);
		EXPECT_EQ(target, near_dest(c.base + 2 * c.slot_size));
		/* A C function of the process as the default works too. */
		ASSERT_EQ(0, jt_create(self->fd, 2, U64(&ret_33), 0, 0, &c));
		EXPECT_EQ(0, call_slot(&c, 1, &ret));
		EXPECT_EQ(33, ret);
		return;
	}

	ASSERT_EQ(0, far_table(self->fd, 4, &far_space, &c));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, far_space,
				 far_space + (1 << 20), 0, &target));
	ch_code_ret(code, 4242);
	ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));

	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
	EXPECT_EQ(0, call_slot(&c, 2, &ret));
	EXPECT_EQ(4242, ret);
	ASSERT_EQ(0, jt_query(self->fd, c.id, 2, &t));
	EXPECT_EQ(target, t);
	/* The near slot jumps into the table itself: to its far slot. */
	dest = near_dest(c.base + 2 * c.slot_size);
	ASSERT_NE(0, dest);
	ASSERT_EQ(0, ch_lookup(self->fd, dest, &l));
	EXPECT_EQ(c.base, l.start);
	EXPECT_LE(c.base + 4 * c.slot_size, dest);

	/* Repatching far to far changes the target word only. */
	ch_code_ret(code, 4343);
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, far_space,
				 far_space + (1 << 20), 0, &target));
	ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
	EXPECT_EQ(0, call_slot(&c, 2, &ret));
	EXPECT_EQ(4343, ret);
	/* And far back to near. */
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, 0));
	EXPECT_EQ(SIGTRAP, call_slot(&c, 2, &ret));
}

TEST_F(jt, kernel_owned)
{
	long p = ch_page();
	uint64_t page = self->c.base & ~(uint64_t)(p - 1);
	unsigned char code[CH_RET_LEN];

	ch_code_ret(code, 5);
	EXPECT_EQ(-EPERM, ch_write1(self->fd, self->c.base, code, CH_RET_LEN));
	EXPECT_EQ(-EPERM, ch_free(self->fd, self->c.base));
	EXPECT_EQ(-EPERM, ch_range(self->fd, CODEHEAP_IOC_PROTECT, page, p, 0));
	EXPECT_EQ(-EPERM, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, page, p, 0));
	EXPECT_EQ(SIGSEGV, ch_probe_write(self->c.base));
	/* Slots never jump into a table. */
	EXPECT_EQ(-ENOENT, jt_patch1(self->fd, self->c.id, 0, self->c.base));
}

TEST_F(jt, create_errors)
{
	struct codeheap_jt_create c;
	struct codeheap_stats st;

#define CREATE(...) ({ c = (struct codeheap_jt_create){ .size = sizeof(c), \
		.nr_slots = 4, __VA_ARGS__ };				\
		ch_ioctl(self->fd, CODEHEAP_IOC_JT_CREATE, &c); })

	EXPECT_EQ(-EINVAL, CREATE(.flags = 1));
	EXPECT_EQ(-EINVAL, CREATE(.__reserved = 1));
	EXPECT_EQ(-EINVAL, CREATE(.nr_slots = 0));
	EXPECT_EQ(-E2BIG, CREATE(.nr_slots = CODEHEAP_JT_MAX_SLOTS + 1));
	EXPECT_EQ(-EINVAL, CREATE(.default_target = 1ULL << 62));
	EXPECT_EQ(-EINVAL, CREATE(.default_target = -1ULL));
	EXPECT_EQ(-EINVAL, CREATE(.default_target = self->c.base + 8));
	EXPECT_EQ(-EINVAL, CREATE(.lo = 1 << 30, .hi = 1 << 30));
	EXPECT_EQ(-ENOSPC, CREATE(.lo = 4096, .hi = 8192));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_JT_CREATE, NULL));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(1, st.jump_tables);
	/* The largest table is fine. */
	EXPECT_EQ(0, CREATE(.nr_slots = CODEHEAP_JT_MAX_SLOTS));
	EXPECT_EQ(0, jt_destroy(self->fd, c.id));
#undef CREATE
}

TEST_F(jt, patch_errors_change_nothing)
{
	long long batch = ch_param_read("max_batch");
	struct codeheap_jt_patch_entry e[2];
	struct codeheap_jt_patch p;
	struct codeheap_jt_create c2;
	uint64_t other_fn, t, dead;
	int other;

#define PATCH(...) ({ p = (struct codeheap_jt_patch){ .size = sizeof(p), \
		.id = self->c.id, .count = 1, .entries = U64(e), __VA_ARGS__ }; \
		ch_ioctl(self->fd, CODEHEAP_IOC_JT_PATCH, &p); })

	e[0] = (struct codeheap_jt_patch_entry){ 0, 0, self->f1 };
	EXPECT_EQ(-ENOENT, PATCH(.id = self->c.id + 100));
	EXPECT_EQ(-ENOENT, PATCH(.id = 0));
	EXPECT_EQ(-EINVAL, PATCH(.count = 0));
	EXPECT_EQ(-E2BIG, PATCH(.count = batch + 1));
	EXPECT_EQ(-EINVAL, PATCH(.flags = 1));
	EXPECT_EQ(-EFAULT, PATCH(.entries = 8));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_JT_PATCH, NULL));
	e[0] = (struct codeheap_jt_patch_entry){ 16, 0, self->f1 };
	EXPECT_EQ(-ENOENT, PATCH());
	e[0] = (struct codeheap_jt_patch_entry){ -1U, 0, self->f1 };
	EXPECT_EQ(-ENOENT, PATCH());
	e[0] = (struct codeheap_jt_patch_entry){ 0, 1, self->f1 };
	EXPECT_EQ(-EINVAL, PATCH());
	/* Targets outside any allocation, in freed code, in another heap. */
	e[0] = (struct codeheap_jt_patch_entry){ 0, 0, U64(&batch) };
	EXPECT_EQ(-ENOENT, PATCH());
	dead = fn(_metadata, self->fd, 3);
	ASSERT_EQ(0, ch_free(self->fd, dead));
	e[0] = (struct codeheap_jt_patch_entry){ 0, 0, dead };
	EXPECT_EQ(-ENOENT, PATCH());
	other = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	other_fn = fn(_metadata, other, 4);
	e[0] = (struct codeheap_jt_patch_entry){ 0, 0, other_fn };
	EXPECT_EQ(-ENOENT, PATCH());
	/* Nor may another heap's table point here. */
	ASSERT_EQ(0, jt_create(other, 2, 0, 0, 0, &c2));
	EXPECT_EQ(-ENOENT, jt_patch1(other, c2.id, 0, self->f1));
	close(other);

	/* All entries are checked before any slot changes. */
	e[0] = (struct codeheap_jt_patch_entry){ 0, 0, self->f1 };
	e[1] = (struct codeheap_jt_patch_entry){ 1, 0, dead };
	EXPECT_EQ(-ENOENT, PATCH(.count = 2));
	e[1] = (struct codeheap_jt_patch_entry){ 99, 0, self->f2 };
	EXPECT_EQ(-ENOENT, PATCH(.count = 2));
	e[1] = (struct codeheap_jt_patch_entry){ 1, 7, self->f2 };
	EXPECT_EQ(-EINVAL, PATCH(.count = 2));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 0, &t));
	EXPECT_EQ(0, t);
#undef PATCH
}

/*
 * A target no branch can reach is refused before anything changes: on
 * arm64 (4-byte instructions) one that is not 4-byte aligned, for a near
 * or a far route, in a batch whose other entries are fine, and as a
 * default.  x86-64 jumps reach any byte.  (The module once recorded the
 * target, then found it could not route it and warned.)
 */
TEST_F(jt, target_alignment)
{
	struct codeheap_version v = { .size = sizeof(v) };
	struct codeheap_jt_patch_entry e[2];
	struct codeheap_jt_patch p = { .size = sizeof(p), .id = self->c.id,
				       .count = 2, .entries = U64(e) };
	struct codeheap_jt_create c;
	uint64_t t, g, far_space;
	int ret;

	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v));
	if (v.arch != CODEHEAP_ARCH_ARM64) {
		EXPECT_EQ(0, jt_patch1(self->fd, self->c.id, 0, self->f1 + 1));
		ASSERT_EQ(0, jt_query(self->fd, self->c.id, 0, &t));
		EXPECT_EQ(self->f1 + 1, t);
		return;
	}
	EXPECT_EQ(-EINVAL, jt_patch1(self->fd, self->c.id, 0, self->f1 + 2));
	e[0] = (struct codeheap_jt_patch_entry){ 1, 0, self->f1 };
	e[1] = (struct codeheap_jt_patch_entry){ 2, 0, self->f2 + 1 };
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_JT_PATCH, &p));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 0, &t));
	EXPECT_EQ(0, t);
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 1, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 2, self->f1 + 2, 0, 0, &c));

	/* A table out of near reach of its target: the far route. */
	ret = far_table(self->fd, 2, &far_space, &c);
	if (ret == -ENOSPC)
		SKIP(return, "no room for a table far from the code");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, far_space,
				 far_space + (1 << 20), 0, &g));
	EXPECT_EQ(-EINVAL, jt_patch1(self->fd, c.id, 0, g + 2));
	ASSERT_EQ(0, jt_query(self->fd, c.id, 0, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(0, jt_patch1(self->fd, c.id, 0, g));
	ASSERT_EQ(0, jt_query(self->fd, c.id, 0, &t));
	EXPECT_EQ(g, t);
}

TEST_F(jt, query_and_destroy_errors)
{
	struct codeheap_jt_query q = { .size = sizeof(q), .id = self->c.id };
	struct codeheap_jt_destroy d = { .size = sizeof(d), .id = self->c.id };

	EXPECT_EQ(-ENOENT, jt_query(self->fd, self->c.id + 1, 0, NULL));
	EXPECT_EQ(-ENOENT, jt_query(self->fd, self->c.id, 16, NULL));
	q.flags = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_JT_QUERY, &q));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_JT_QUERY, NULL));

	d.flags = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_JT_DESTROY, &d));
	d.flags = 0;
	d.__reserved = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_JT_DESTROY, &d));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_JT_DESTROY, NULL));
	EXPECT_EQ(-ENOENT, jt_destroy(self->fd, self->c.id + 1));
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 0, self->f1));
	ASSERT_EQ(0, jt_destroy(self->fd, self->c.id));
	EXPECT_EQ(-ENOENT, jt_destroy(self->fd, self->c.id));
	EXPECT_EQ(-ENOENT, jt_query(self->fd, self->c.id, 0, NULL));
	/* The slots' memory is traps again, and f1 is free to go. */
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, self->c.base, &(struct codeheap_lookup){}));
	EXPECT_EQ(0, ch_free(self->fd, self->f1));
}

TEST_F(jt, child_cannot_patch)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 0, self->f1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct codeheap_jt_create c;
		uint64_t t;
		int ret, st = 0;

		if (jt_create(self->fd, 2, 0, 0, 0, &c) != -EPERM)
			st |= 1;
		if (jt_patch1(self->fd, self->c.id, 0, self->f2) != -EPERM)
			st |= 2;
		if (jt_destroy(self->fd, self->c.id) != -EPERM)
			st |= 4;
		if (jt_query(self->fd, self->c.id, 0, &t) || t != self->f1)
			st |= 8;
		if (call_slot(&self->c, 0, &ret) || ret != 1)
			st |= 16;
		_exit(st);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Calls through slots always land on the old or the new target. */
struct caller {
	const struct codeheap_jt_create *c;
	volatile int *stop;
	long calls, bad;
};

static void *caller_thread(void *arg)
{
	struct caller *k = arg;
	uint32_t slot = 0;

	while (!*k->stop) {
		int (*f)(void) = PTR(k->c->base + slot * k->c->slot_size);
		int r = f();

		if (r != 1 && r != 2)
			k->bad++;
		k->calls++;
		slot = (slot + 1) % 4;
	}
	return NULL;
}

TEST_F(jt, patch_while_calling)
{
	struct codeheap_jt_patch_entry e[4];
	struct caller k[3];
	pthread_t th[3];
	volatile int stop = 0;
	struct timespec end, now;
	long patches = 0, calls = 0;
	int i;

	for (i = 0; i < 4; i++)
		e[i] = (struct codeheap_jt_patch_entry){ i, 0, self->f1 };
	ASSERT_EQ(0, jt_patch(self->fd, self->c.id, e, 4));
	for (i = 0; i < 3; i++) {
		k[i] = (struct caller){ .c = &self->c, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, caller_thread, &k[i]));
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 2;
	do {
		for (i = 0; i < 4; i++)
			e[i].target = patches % 2 ? self->f1 : self->f2;
		ASSERT_EQ(0, jt_patch(self->fd, self->c.id, e, 1 + patches % 4));
		patches++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	stop = 1;
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, k[i].bad);
		calls += k[i].calls;
	}
	EXPECT_LT(100, patches);
	EXPECT_LT(1000, calls);
	TH_LOG("%ld patches, %ld calls", patches, calls);
}

/*
 * Instruction caches are synchronised once per command, not per slot
 * (Documentation/arm64.rst): on arm64 a JT_PATCH of 64 slots interrupts
 * each other CPU once (the module did it per slot, 64 times); x86-64
 * needs no interrupt at all.
 */
TEST_F(jt, patch_batch_interrupts_each_cpu_once)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct codeheap_jt_patch_entry e[2][64];
	struct codeheap_jt_create c;
	long long before, after;
	double per;
	int i, r;

	if (ncpu < 2)
		SKIP(return, "one CPU: nothing to interrupt");
	before = ch_call_ipis();
	if (before < 0)
		SKIP(return, "no function-call row in /proc/interrupts");
	ASSERT_EQ(0, jt_create(self->fd, 64, 0, 0, 0, &c));
	for (i = 0; i < 64; i++) {
		e[0][i] = (struct codeheap_jt_patch_entry){ i, 0, self->f1 };
		e[1][i] = (struct codeheap_jt_patch_entry){ i, 0, self->f2 };
	}
	ASSERT_EQ(0, jt_patch(self->fd, c.id, e[1], 64));
	before = ch_call_ipis();
	for (r = 0; r < 50; r++)
		ASSERT_EQ(0, jt_patch(self->fd, c.id, e[r & 1], 64));
	after = ch_call_ipis();
	per = (double)(after - before) / 50 / (ncpu - 1);
	TH_LOG("%.2f function-call IPIs per CPU per batch", per);
	/* Other work in the system may add a few; per slot would be 64. */
	EXPECT_GT(8.0, per);
	if (CH_ARCH == CODEHEAP_ARCH_ARM64)
		EXPECT_LE(0.9, per);
}

/* ---------------------------------------------- hardening regressions -- */

/* The target word of far slot @i of a 64-bit table of @n slots. */
static uint64_t far_word(const struct codeheap_jt_create *c, uint32_t n,
			 uint32_t i)
{
	uint64_t near = ((uint64_t)n * c->slot_size + 15) & ~15ULL;

	return c->base + near + 16ULL * i + 8;
}

/*
 * A slot that stops using its far slot (FREE of the far target, a near
 * patch) leaves the far slot pointing back at its own near slot: no far
 * slot keeps the address of freed code (routing protocol, step 4).
 */
TEST_F(jt, far_slot_idles_after_free)
{
	uint64_t far_space, target, word, near;
	struct codeheap_jt_create c;
	unsigned char code[CH_RET_LEN];
	int ret;

	if (sizeof(void *) == 4)
		SKIP(return, "32-bit tables have no far slots");
	ASSERT_EQ(0, far_table(self->fd, 4, &far_space, &c));
	near = c.base + 2 * c.slot_size;
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, far_space,
				 far_space + (1 << 20), 0, &target));
	ch_code_ret(code, 4242);
	ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
	memcpy(&word, PTR(far_word(&c, 4, 2)), 8);
	ASSERT_EQ(target, word);

	ASSERT_EQ(0, ch_free(self->fd, target));
	EXPECT_EQ(SIGTRAP, call_slot(&c, 2, &ret));
	memcpy(&word, PTR(far_word(&c, 4, 2)), 8);
	EXPECT_EQ(near, word);

	/* Far again, then a near target: the far slot idles as well. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, far_space,
				 far_space + (1 << 20), 0, &target));
	ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
	EXPECT_EQ(0, call_slot(&c, 2, &ret));
	EXPECT_EQ(4242, ret);
	ch_code_ret(code, 99);
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, c.base, c.base + (1 << 20),
				 0, &target));
	ASSERT_EQ(0, ch_write1(self->fd, target, code, CH_RET_LEN));
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 2, target));
	EXPECT_EQ(0, call_slot(&c, 2, &ret));
	EXPECT_EQ(99, ret);
	memcpy(&word, PTR(far_word(&c, 4, 2)), 8);
	EXPECT_EQ(near, word);
}

/* SEAL of a table's allocation succeeds: it is sealed from birth. */
TEST_F(jt, seal_of_table_succeeds)
{
	struct codeheap_lookup l;

	EXPECT_EQ(0, ch_seal(self->fd, self->c.base));
	ASSERT_EQ(0, ch_lookup(self->fd, self->c.base, &l));
	EXPECT_EQ(CODEHEAP_LOOKUP_SEALED | CODEHEAP_LOOKUP_JUMP_TABLE,
		  l.alloc_flags);
	EXPECT_EQ(-EPERM, ch_free(self->fd, self->c.base));
}

/*
 * A table never lands in a page PROTECTed to none (sealed, it could never
 * be made accessible again): it goes above that page.
 */
TEST_F(jt, create_steps_over_page_protected_none)
{
	uint64_t addr, p = ch_page(), len = 16 * p, a;
	struct codeheap_jt_create c;
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 0, &a));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p, 0));
	ASSERT_EQ(0, jt_create(self->fd, 4, 0, addr, addr + len, &c));
	EXPECT_LE(addr + p, c.base);
	EXPECT_EQ(SIGTRAP, call_slot(&c, 1, &ret));
	ASSERT_EQ(0, jt_patch1(self->fd, c.id, 1, self->f1));
	EXPECT_EQ(0, call_slot(&c, 1, &ret));
	EXPECT_EQ(1, ret);
}

/*
 * Unmapping a reservation ends what is in it: its tables are destroyed,
 * slots elsewhere that jumped into it trap again, and a table whose default
 * lay in it now traps by default.  A table laid where one lived before is
 * backed and works.
 */
TEST_F(jt, munmap_ends_tables_and_targets)
{
	uint64_t addr, len = 64 * ch_page(), f, t, got;
	struct codeheap_jt_create in, def;
	struct codeheap_stats st;
	unsigned char code[CH_RET_LEN];
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	ASSERT_EQ(0, jt_create(self->fd, 8, 0, addr, addr + len, &in));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 0, &f));
	ch_code_ret(code, 55);
	ASSERT_EQ(0, ch_write1(self->fd, f, code, CH_RET_LEN));
	/* Beside the fixture's table, outside the reservation to unmap. */
	ASSERT_EQ(0, jt_create(self->fd, 4, f, self->c.base,
			       self->c.base + (1 << 20), &def));
	ASSERT_TRUE(def.base < addr || def.base >= addr + len);
	ASSERT_EQ(0, jt_patch1(self->fd, def.id, 3, self->f2));
	ASSERT_EQ(0, jt_patch1(self->fd, self->c.id, 5, f));
	ASSERT_EQ(0, jt_patch1(self->fd, in.id, 0, self->f1));
	EXPECT_EQ(0, call_slot(&def, 0, &ret));
	EXPECT_EQ(55, ret);

	ASSERT_EQ(0, munmap(PTR(addr), len));
	EXPECT_EQ(-ENOENT, jt_query(self->fd, in.id, 0, NULL));
	EXPECT_EQ(-ENOENT, jt_patch1(self->fd, in.id, 0, self->f1));
	EXPECT_EQ(-ENOENT, jt_destroy(self->fd, in.id));
	ASSERT_EQ(0, jt_query(self->fd, self->c.id, 5, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(SIGTRAP, call_slot(&self->c, 5, &ret));
	ASSERT_EQ(0, jt_query(self->fd, def.id, 0, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(SIGTRAP, call_slot(&def, 0, &ret));
	/* A slot patched away from the old default keeps its target. */
	EXPECT_EQ(0, call_slot(&def, 3, &ret));
	EXPECT_EQ(2, ret);
	/* The old default is no target any more; 0 is the default now. */
	EXPECT_EQ(-ENOENT, jt_patch1(self->fd, def.id, 3, f));
	EXPECT_EQ(0, jt_patch1(self->fd, def.id, 3, 0));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(2, st.jump_tables);	/* the fixture's and def */

	/* A table where the old one was: backed, and it works. */
	ASSERT_EQ(0, ch_reserve(self->fd, len, addr, CODEHEAP_RESERVE_FIXED,
				&got));
	ASSERT_EQ(addr, got);
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 0, &f));
	ASSERT_EQ(0, jt_create(self->fd, 8, 0, addr, addr + len, &in));
	EXPECT_EQ(SIGTRAP, call_slot(&in, 7, &ret));
	ASSERT_EQ(0, jt_patch1(self->fd, in.id, 7, self->f1));
	EXPECT_EQ(0, call_slot(&in, 7, &ret));
	EXPECT_EQ(1, ret);
}

/*
 * A table's default: inside the heap only a live allocation (free heap
 * memory would be the next ALLOC's; the model fuzzer, seed 1, found a
 * default in a reservation's fence kept after its end), outside it only
 * the caller's own executable code: not an unmapped address (a reservation
 * could cover it later; the fuzzer's finding F2, where a failed
 * JT_CREATE's rollback then changed another table), not data, not another
 * heap's code (freed there, it would reset no slot here).
 */
TEST_F(jt, default_target_rules)
{
	uint64_t addr, len = 16 * ch_page(), t, f;
	struct codeheap_jt_create c;
	static int data;
	int other;

	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 4, addr + 128, 0, 0, &c));
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 4, addr + len - 64, 0, 0, &c));
	ASSERT_EQ(0, ch_release(self->fd, addr));
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 4, addr + 128, 0, 0, &c));
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 4, U64(&data), 0, 0, &c));

	other = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ch_make_fn(other, 9, &f));
	EXPECT_EQ(-EINVAL, jt_create(self->fd, 4, f, 0, 0, &c));
	close(other);

	ASSERT_EQ(0, jt_create(self->fd, 4, U64(&ret_33), 0, 0, &c));
	ASSERT_EQ(0, jt_query(self->fd, c.id, 1, &t));
	EXPECT_EQ(U64(&ret_33), t);
}

#if defined(__x86_64__)
/* ioctl() through the 32-bit system call entry, from a 64-bit process. */
static int ioctl_int80(int fd, unsigned long cmd, void *arg)
{
	long ret;

	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(54L), "b"((long)fd), "c"(cmd), "d"(arg)
		     : "memory", "r8", "r9", "r10", "r11");
	return ret;
}
#endif

/*
 * Any process can make a 32-bit table, through int $0x80: it lies below
 * 4 GiB and takes targets below 4 GiB only, so no slot store can fail
 * (the old module warned on the first patch of such a table placed high).
 */
TEST_F(jt, table_of_32bit_call_stays_low)
{
#if defined(__x86_64__)
	struct codeheap_jt_create *c;
	unsigned char code[CH_RET_LEN];
	uint64_t low, t;
	int ret;

	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->nr_slots = 4;
	ret = ioctl_int80(self->fd, CODEHEAP_IOC_JT_CREATE, c);
	if (ret == -ENOSYS)
		SKIP(return, "no 32-bit system calls");
	ASSERT_EQ(0, ret);
	EXPECT_GT(1ULL << 32, c->base + 4 * c->slot_size);
	/* self->f1 lies high: out of a 32-bit table's reach. */
	ASSERT_LE(1ULL << 32, self->f1);
	EXPECT_EQ(-ENOENT, jt_patch1(self->fd, c->id, 0, self->f1));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, 0, 1ULL << 32, 0, &low));
	ch_code_ret(code, 32);
	ASSERT_EQ(0, ch_write1(self->fd, low, code, CH_RET_LEN));
	ASSERT_EQ(0, jt_patch1(self->fd, c->id, 0, low));
	ASSERT_EQ(0, jt_query(self->fd, c->id, 0, &t));
	EXPECT_EQ(low, t);
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->nr_slots = 4;
	c->default_target = self->f1;
	EXPECT_EQ(-EINVAL, ioctl_int80(self->fd, CODEHEAP_IOC_JT_CREATE, c));
	c->default_target = 0;
	c->lo = 1ULL << 32;
	EXPECT_EQ(-ENOSPC, ioctl_int80(self->fd, CODEHEAP_IOC_JT_CREATE, c));
	munmap(c, 4096);
#else
	SKIP(return, "x86-64 only");
#endif
}

TEST_HARNESS_MAIN
