// SPDX-License-Identifier: GPL-2.0
/*
 * The heap core: RESERVE, RELEASE, COMMIT, DECOMMIT, PROTECT, ALLOC, FREE,
 * WRITE, LOOKUP, SEAL and STATS, each success path and each error path with
 * an otherwise valid argument.  Page states are checked by touching memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

#define MIB (1024ULL * 1024)

FIXTURE(heap) {
	int fd;
	long page;
	uint64_t align;		/* VERSION's code_align */
};

FIXTURE_SETUP(heap)
{
	struct codeheap_version v;

	self->page = ch_page();
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ch_version(self->fd, &v));
	self->align = v.code_align;
}

FIXTURE_TEARDOWN(heap)
{
	close(self->fd);
}

/* ------------------------------------------------------------ RESERVE -- */

TEST_F(heap, reserve_maps_read_exec_and_faults)
{
	struct codeheap_stats st;
	char line[512], want[64];
	uint64_t addr;
	int found = 0;
	FILE *maps;

	ASSERT_EQ(0, ch_reserve(self->fd, 1 * MIB, 0, 0, &addr));
	ASSERT_EQ(0, addr % self->page);
	/* Reserved pages have no memory: touching them is SIGSEGV. */
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + MIB - 1, NULL));

	/* One read+exec shared mapping of the device, never writable. */
	snprintf(want, sizeof(want), "%llx-", (unsigned long long)addr);
	maps = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, maps);
	while (fgets(line, sizeof(line), maps))
		if (!strncmp(line, want, strlen(want))) {
			found = 1;
			EXPECT_NE(NULL, strstr(line, " r-xs "));
			EXPECT_NE(NULL, strstr(line, "/dev/codeheap"));
		}
	fclose(maps);
	EXPECT_TRUE(found);

	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(MIB, st.reserved_bytes);
	EXPECT_EQ(1, st.reservations);
	EXPECT_EQ(0, st.committed_bytes);
	/* The last code_align bytes are the reservation's fence. */
	EXPECT_EQ(MIB - self->align, st.largest_free);
}

/*
 * Each heap has its own inode: its reservations' file offsets start at 0
 * and go up by the length and a page, whatever other heaps reserved.  With
 * one counter for every heap, one user reserving and releasing in a loop
 * could exhaust it, and RESERVE would fail for everyone.
 */
TEST_F(heap, file_offsets_are_per_heap)
{
	uint64_t a, b, c;
	int other;

	ASSERT_EQ(0, ch_reserve(self->fd, MIB, 0, 0, &a));
	EXPECT_EQ(0, ch_map_offset(a));
	ASSERT_EQ(0, ch_reserve(self->fd, MIB, 0, 0, &b));
	EXPECT_EQ(MIB + self->page, ch_map_offset(b));
	ASSERT_EQ(0, ch_release(self->fd, a));

	other = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ch_reserve(other, 2 * MIB, 0, 0, &c));
	EXPECT_EQ(0, ch_map_offset(c));
	EXPECT_EQ(0, munmap(PTR(c), 2 * MIB));
	close(other);

	/* Offsets are never reused within a heap. */
	ASSERT_EQ(0, ch_reserve(self->fd, MIB, 0, 0, &a));
	EXPECT_EQ(2 * (MIB + self->page), ch_map_offset(a));
}

TEST_F(heap, reserve_hint_fixed_and_window)
{
	uint64_t len = 4 * self->page, addr, hint, near;
	struct codeheap_reserve r = { .size = sizeof(r), .len = len };
	void *probe;

	/* Find a free spot, give it back, then ask for it. */
	probe = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, probe);
	hint = U64(probe);
	munmap(probe, len);

	ASSERT_EQ(0, ch_reserve(self->fd, len, hint, 0, &addr));
	EXPECT_EQ(hint, addr);
	ASSERT_EQ(0, ch_release(self->fd, addr));

	ASSERT_EQ(0, ch_reserve(self->fd, len, hint, CODEHEAP_RESERVE_FIXED,
				&addr));
	EXPECT_EQ(hint, addr);

	/* FIXED never replaces a mapping: the reservation is still there. */
	EXPECT_EQ(-EEXIST, ch_reserve(self->fd, len, hint,
				      CODEHEAP_RESERVE_FIXED, NULL));
	EXPECT_EQ(SIGSEGV, ch_probe_read(hint, NULL));
	ASSERT_EQ(0, ch_release(self->fd, hint));

	/* Within 64 MiB of an address (not page-aligned). */
	near = U64(&near);
	r.near = near;
	r.range = 64 * MIB;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, &r));
	EXPECT_LE(near - 64 * MIB, r.addr);
	EXPECT_GE(near + 64 * MIB, r.addr + len);

	/* A free hint inside the window is taken as it is. */
	ASSERT_EQ(0, ch_release(self->fd, r.addr));
	r.hint = r.addr;
	r.addr = 0;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, &r));
	EXPECT_EQ(r.hint, r.addr);
}

TEST_F(heap, reserve_errors)
{
	uint64_t page = self->page, max = ch_param_read("max_reservation_size");
	struct codeheap_reserve r;
	struct codeheap_stats st;
	void *ro;

#define RES(...) ({ r = (struct codeheap_reserve){ .size = sizeof(r),	\
		__VA_ARGS__ }; ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, &r); })

	EXPECT_EQ(-EINVAL, RES(.len = 0));
	EXPECT_EQ(-EINVAL, RES(.len = page + 1));
	EXPECT_EQ(-EINVAL, RES(.len = page, .hint = page + 1));
	EXPECT_EQ(-EINVAL, RES(.len = page, .flags = CODEHEAP_RESERVE_FIXED));
	EXPECT_EQ(-EINVAL, RES(.len = page, .flags = 2));
	EXPECT_EQ(-EINVAL, RES(.len = page, .flags = 1u << 31));
	EXPECT_EQ(-EOVERFLOW, RES(.len = 2 * page, .hint = -page));
	/* A hint beyond the user address space is not an address. */
	EXPECT_EQ(-EINVAL, RES(.len = page, .hint = 1ULL << 62));
	EXPECT_EQ(-EOVERFLOW, RES(.len = page, .near = -page, .range = 2 * page));
	EXPECT_EQ(-ENOMEM, RES(.len = max + page));
	/* A window too small for the request. */
	EXPECT_EQ(-ENOSPC, RES(.len = 4 * page, .near = 1ULL << 40,
			       .range = page));
	/* FIXED at a hint outside the window. */
	EXPECT_EQ(-ENOSPC, RES(.len = page, .hint = 1ULL << 30,
			       .flags = CODEHEAP_RESERVE_FIXED,
			       .near = 1ULL << 31, .range = 1 << 20));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, NULL));

	/* Output that cannot be written: the reservation is undone. */
	ro = mmap(NULL, page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	r = (struct codeheap_reserve){ .size = sizeof(r), .len = page };
	memcpy(ro, &r, sizeof(r));
	ASSERT_EQ(0, mprotect(ro, page, PROT_READ));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_RESERVE, ro));
	munmap(ro, page);

	/* None of the failures left anything behind. */
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.reservations);
	EXPECT_EQ(0, st.reserved_bytes);
#undef RES
}

TEST_F(heap, release)
{
	struct codeheap_release r = { .size = sizeof(r) };
	uint64_t addr, a;

	ASSERT_EQ(0, ch_reserve(self->fd, 16 * self->page, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + 16 * self->page,
				 0, &a));
	EXPECT_EQ(-EBUSY, ch_release(self->fd, addr));
	EXPECT_EQ(-ENOENT, ch_release(self->fd, addr + self->page));
	EXPECT_EQ(-ENOENT, ch_release(self->fd, 0));
	r.flags = 1;
	r.addr = addr;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_RELEASE, &r));
	ASSERT_EQ(0, ch_free(self->fd, a));
	ASSERT_EQ(0, ch_release(self->fd, addr));
	EXPECT_EQ(-ENOENT, ch_release(self->fd, addr));
	/* The range is gone from the address space. */
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	EXPECT_EQ(-1, msync(PTR(addr), self->page, MS_ASYNC));
	EXPECT_EQ(ENOMEM, errno);
}

/* RELEASE fails as a whole when the mm refuses the unmap (mseal, 6.10+). */
TEST_F(heap, release_of_sealed_mapping_changes_nothing)
{
	uint64_t addr, a, len = 16 * self->page;
	struct codeheap_stats st;

	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	if (syscall(462 /* mseal */, PTR(addr), len, 0))
		SKIP(return, "no mseal() on this kernel (%s)", strerror(errno));
	EXPECT_EQ(-EPERM, ch_release(self->fd, addr));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(1, st.reservations);
	EXPECT_EQ(len - self->align, st.largest_free);
	/* Still a working reservation. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 0, &a));
	EXPECT_EQ(addr, a);
	EXPECT_EQ(0, ch_probe_read(a, NULL));
}

/* ------------------------------------------- COMMIT DECOMMIT PROTECT -- */

TEST_F(heap, commit_fills_traps)
{
	uint64_t addr, p = self->page;
	struct codeheap_stats st;
	unsigned char c;
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, 8 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr + p, 2 * p, 0));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	EXPECT_EQ(0, ch_probe_trap(addr + p));
	EXPECT_EQ(0, ch_probe_trap(addr + 3 * p - 1));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + 3 * p, NULL));
	/* Fresh code memory is traps: executing it traps. */
	EXPECT_EQ(SIGTRAP, ch_probe_call(addr + p, &ret));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(2 * p, st.committed_bytes);
	/* Committing again is idempotent. */
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr, 3 * p, 0));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(3 * p, st.committed_bytes);

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, addr, 2 * p, 0));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + p, NULL));
	EXPECT_EQ(0, ch_probe_read(addr + 2 * p, &c));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(p, st.committed_bytes);
}

/* COMMIT, DECOMMIT and PROTECT share their argument checks. */
TEST_F(heap, range_errors)
{
	static const unsigned long cmds[] = {
		CODEHEAP_IOC_COMMIT, CODEHEAP_IOC_DECOMMIT, CODEHEAP_IOC_PROTECT,
	};
	uint64_t addr, other, p = self->page;
	struct codeheap_range r;
	struct codeheap_stats st;
	unsigned int i;

	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &other));

#define RANGE(cmd, ...) ({ r = (struct codeheap_range){ .size = sizeof(r), \
		__VA_ARGS__ }; ch_ioctl(self->fd, cmd, &r); })

	for (i = 0; i < 3; i++) {
		unsigned long c = cmds[i];
		uint32_t prot = c == CODEHEAP_IOC_PROTECT ?
				PROT_READ | PROT_EXEC : 0;

		EXPECT_EQ(-EINVAL, RANGE(c, .addr = addr + 1, .len = p,
					 .prot = prot));
		EXPECT_EQ(-EINVAL, RANGE(c, .addr = addr, .len = p + 1,
					 .prot = prot));
		EXPECT_EQ(-EINVAL, RANGE(c, .addr = addr, .len = 0,
					 .prot = prot));
		EXPECT_EQ(-EINVAL, RANGE(c, .addr = addr, .len = p, .flags = 1,
					 .prot = prot));
		EXPECT_EQ(-EINVAL, RANGE(c, .addr = addr, .len = p,
					 .__reserved = 1, .prot = prot));
		EXPECT_EQ(-EOVERFLOW, RANGE(c, .addr = -p, .len = 2 * p,
					    .prot = prot));
		/* Not inside a reservation, or straddling its end. */
		EXPECT_EQ(-ENOENT, RANGE(c, .addr = 0, .len = p,
					 .prot = prot));
		EXPECT_EQ(-ENOENT, RANGE(c, .addr = addr + 3 * p, .len = 2 * p,
					 .prot = prot));
		EXPECT_EQ(-ENOENT, RANGE(c, .addr = 1ULL << 62, .len = p,
					 .prot = prot));
		EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, c, NULL));
	}
	EXPECT_EQ(-EINVAL, RANGE(CODEHEAP_IOC_COMMIT, .addr = addr, .len = p,
				 .prot = PROT_READ | PROT_EXEC));
	EXPECT_EQ(-EINVAL, RANGE(CODEHEAP_IOC_DECOMMIT, .addr = addr, .len = p,
				 .prot = PROT_READ | PROT_EXEC));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.committed_bytes);
#undef RANGE
}

TEST_F(heap, commit_limit)
{
	long long old = ch_param_read("max_heap_committed");
	uint64_t addr, p = self->page, a;
	struct codeheap_stats st;
	char buf[32];

	ASSERT_LT(0, old);
	ASSERT_EQ(0, ch_reserve(self->fd, 16 * p, 0, 0, &addr));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(4 * p));
	ASSERT_EQ(0, ch_param_write("max_heap_committed", buf));

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr, 3 * p, 0));
	/* Two more pages would pass the limit: nothing is committed. */
	EXPECT_EQ(-ENOMEM, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr + 3 * p,
				    2 * p, 0));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(3 * p, st.committed_bytes);
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + 3 * p, NULL));
	/* ALLOC hits the same limit, and the heap stays usable. */
	EXPECT_EQ(-ENOMEM, ch_alloc_in(self->fd, 2 * p, 0, addr + 3 * p,
				       addr + 16 * p, 0, NULL));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, addr, 3 * p, 0));
	EXPECT_EQ(0, ch_alloc_in(self->fd, 2 * p, 0, addr + 3 * p,
				 addr + 16 * p, 0, &a));

	snprintf(buf, sizeof(buf), "%lld", old);
	ASSERT_EQ(0, ch_param_write("max_heap_committed", buf));
}

TEST_F(heap, total_commit_limit)
{
	long long old = ch_param_read("max_total_committed");
	long long base = ch_global("committed_bytes");
	uint64_t addr, p = self->page;
	char buf[32];
	int other;

	ASSERT_LE(0, base);
	other = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ch_reserve(other, 4 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_range(other, CODEHEAP_IOC_COMMIT, addr, 2 * p, 0));
	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &addr));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(base + 3 * p));
	ASSERT_EQ(0, ch_param_write("max_total_committed", buf));
	/* The other heap's pages count against the global limit. */
	EXPECT_EQ(-ENOMEM, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr, 2 * p, 0));
	EXPECT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr, p, 0));
	EXPECT_EQ(base + 3 * p, ch_global("committed_bytes"));
	snprintf(buf, sizeof(buf), "%lld", old);
	ASSERT_EQ(0, ch_param_write("max_total_committed", buf));
	close(other);
}

TEST_F(heap, protect)
{
	uint64_t addr, p = self->page;
	unsigned char c;

	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr, 2 * p, 0));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p, 0));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	EXPECT_EQ(0, ch_probe_read(addr + p, &c));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
			      PROT_READ | PROT_EXEC));
	EXPECT_EQ(0, ch_probe_trap(addr));

	/* Anything with write is refused, and nothing changes. */
	EXPECT_EQ(-EACCES, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
				    PROT_WRITE));
	EXPECT_EQ(-EACCES, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
				    PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(0, ch_probe_read(addr, &c));
	EXPECT_EQ(-EINVAL, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
				    PROT_READ));
	EXPECT_EQ(-EINVAL, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
				    PROT_EXEC));
	EXPECT_EQ(-EINVAL, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
				    8));
	/* Pages with no memory cannot be protected. */
	EXPECT_EQ(-EINVAL, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr,
				    3 * p, 0));
	EXPECT_EQ(0, ch_probe_read(addr, &c));
}

/* ------------------------------------------- ALLOC WRITE FREE LOOKUP -- */

TEST_F(heap, alloc_write_run)
{
	struct rusage before, after;
	unsigned char code[CH_RET_LEN];
	uint64_t a, b;
	int ret;

	ASSERT_EQ(0, ch_alloc(self->fd, 100, 7, &a));
	EXPECT_EQ(0, a % self->align);
	ch_code_ret(code, 42);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, sizeof(code)));

	/* Pages are mapped at commit: the first call takes no page fault. */
	getrusage(RUSAGE_SELF, &before);
	ret = ((int (*)(void))PTR(a))();
	getrusage(RUSAGE_SELF, &after);
	EXPECT_EQ(42, ret);
	EXPECT_EQ(before.ru_minflt, after.ru_minflt);
	EXPECT_EQ(before.ru_majflt, after.ru_majflt);

	/* The rest of the allocation is still traps. */
	EXPECT_EQ(SIGTRAP, ch_probe_call(a + CH_RET_LEN, &ret));

	/* A second allocation is disjoint and rewritable. */
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 8, &b));
	EXPECT_TRUE(b >= a + 128 || b + 64 <= a);
	ch_code_ret(code, 7);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, sizeof(code)));
	EXPECT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(7, ret);
	ch_code_ret(code, 8);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, sizeof(code)));
	EXPECT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(8, ret);
}

TEST_F(heap, alloc_alignment_window_growth)
{
	uint64_t a, lo, hi, addr, p = self->page;
	struct codeheap_stats st;
	int i;

	ASSERT_EQ(0, ch_alloc_in(self->fd, 10, 4096, 0, 0, 0, &a));
	EXPECT_EQ(0, a % 4096);
	ASSERT_EQ(0, ch_alloc_in(self->fd, 10, 128, 0, 0, 0, &a));
	EXPECT_EQ(0, a % 128);

	/* Inside a window of an explicit reservation. */
	ASSERT_EQ(0, ch_reserve(self->fd, 64 * p, 0, 0, &addr));
	lo = addr + 10 * p + 64;
	hi = addr + 12 * p;
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, 0, lo, hi, 0, &a));
	EXPECT_LE(lo, a);
	EXPECT_GE(hi, a + p);
	/* The window is now too full: a new space is reserved in it or not. */
	EXPECT_EQ(-ENOSPC, ch_alloc_in(self->fd, p, 0, lo, hi, 0, &a));

	/* Growth: more than the first space holds. */
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	i = st.reservations;
	ASSERT_EQ(0, ch_alloc(self->fd, 4 * MIB, 0, &a));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_LT(i, st.reservations);
	EXPECT_LE(4 * MIB + 64 * 1024, st.reserved_bytes - 64 * p);
}

/*
 * Growth for an alignment above a page reserves room for the alignment:
 * wherever the new reservation lands, the aligned block fits in it, so
 * one reservation is enough (and the block is where the first fit says).
 */
TEST_F(heap, alloc_aligned_growth_reserves_once)
{
	struct codeheap_stats st;
	unsigned char byte;
	uint64_t a;

	ASSERT_EQ(0, ch_alloc_in(self->fd, 4 * MIB, 2 * MIB, 0, 0, 0, &a));
	EXPECT_EQ(0, a % (2 * MIB));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(1, st.reservations);
	EXPECT_LE(4 * MIB, st.allocated_bytes);
	ASSERT_EQ(0, ch_probe_read(a + 4 * MIB - 1, &byte));
}

TEST_F(heap, alloc_errors)
{
	long long max = ch_param_read("max_reservation_size");
	struct codeheap_alloc a;
	struct codeheap_stats st;

#define ALLOC(...) ({ a = (struct codeheap_alloc){ .size = sizeof(a),	\
		__VA_ARGS__ }; ch_ioctl(self->fd, CODEHEAP_IOC_ALLOC, &a); })

	EXPECT_EQ(-EINVAL, ALLOC(.len = 0));
	EXPECT_EQ(-EINVAL, ALLOC(.len = 64, .align = 3));
	EXPECT_EQ(-EINVAL, ALLOC(.len = 64, .align = 96));
	EXPECT_EQ(-EINVAL, ALLOC(.len = 64, .lo = 1 << 30, .hi = 1 << 30));
	EXPECT_EQ(-EINVAL, ALLOC(.len = 64, .lo = 2 << 30, .hi = 1 << 30));
	EXPECT_EQ(-EINVAL, ALLOC(.len = 64, .flags = 1));
	EXPECT_EQ(-EOVERFLOW, ALLOC(.len = -1ULL));
	EXPECT_EQ(-ENOMEM, ALLOC(.len = max + 1));
	/* A window in which no space can be reserved. */
	EXPECT_EQ(-ENOSPC, ALLOC(.len = 64, .lo = 4096, .hi = 8192));
	EXPECT_EQ(-ENOSPC, ALLOC(.len = 64, .lo = 1ULL << 62,
				 .hi = (1ULL << 62) + (1 << 20)));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_ALLOC, NULL));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.allocations);
	EXPECT_EQ(0, st.committed_bytes);
#undef ALLOC
}

TEST_F(heap, free_refills_traps_and_decommits)
{
	uint64_t addr, a, b, p = self->page;
	unsigned char code[CH_RET_LEN];
	struct codeheap_stats st;
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, 16 * p, 0, 0, &addr));
	/* Two allocations sharing the first page, one spilling into the next. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + 16 * p, 1, &a));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, 0, addr, addr + 16 * p, 2, &b));
	ASSERT_EQ(addr, a);
	ASSERT_EQ(addr + 64, b);
	ch_code_ret(code, 1);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, sizeof(code)));
	ch_code_ret(code, 2);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, sizeof(code)));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(2 * p, st.committed_bytes);

	/* Freeing b: traps again; its second page decommitted; the first stays. */
	ASSERT_EQ(0, ch_free(self->fd, b));
	EXPECT_EQ(0, ch_probe_trap(b));
	EXPECT_EQ(SIGTRAP, ch_probe_call(b, &ret));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + p, NULL));
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(1, ret);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(p, st.committed_bytes);
	EXPECT_EQ(p, st.freed_bytes);
	EXPECT_EQ(1, st.allocations);

	/* The freed range is reused, lowest address first. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + 16 * p, 3, &b));
	EXPECT_EQ(addr + 64, b);
	ASSERT_EQ(0, ch_free(self->fd, b));

	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr, NULL));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(0, st.allocated_bytes);
	EXPECT_EQ(16 * p - self->align, st.largest_free);
}

/*
 * WRITE remembers the allocation and the page it last wrote: neither may
 * outlive a FREE.  A stale allocation would let a write land in freed
 * code; a stale page would send the next write to a page that is gone, and
 * the new function would still be traps.
 */
TEST_F(heap, write_after_free_and_reuse)
{
	uint64_t addr, a, b, c, p = self->page;
	unsigned char code[CH_RET_LEN];
	struct codeheap_stats st;
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, 16 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, 0, addr, addr + 16 * p, 1, &a));
	ASSERT_EQ(addr, a);
	ch_code_ret(code, 1);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, sizeof(code)));
	ASSERT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(1, ret);

	/* Freed: its page is decommitted, and writing there is refused. */
	ASSERT_EQ(0, ch_free(self->fd, a));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(-ENOENT, ch_write1(self->fd, a, code, sizeof(code)));

	/*
	 * Another allocation commits a page first (likely the page just
	 * freed, which the page allocator hands out again), then the old
	 * address is reused on a page of its own: the write lands there and
	 * nowhere else.
	 */
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, 0, addr + 8 * p, addr + 16 * p,
				 3, &c));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, 0, addr, addr + 8 * p, 2, &b));
	ASSERT_EQ(a, b);
	ch_code_ret(code, 2);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, sizeof(code)));
	ASSERT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(2, ret);
	EXPECT_EQ(SIGTRAP, ch_probe_call(b + CH_RET_LEN, &ret));
	EXPECT_EQ(SIGTRAP, ch_probe_call(c, &ret));
	ASSERT_EQ(0, ch_free(self->fd, b));
	ASSERT_EQ(0, ch_free(self->fd, c));
}

TEST_F(heap, free_and_seal_errors)
{
	struct codeheap_addr arg;
	uint64_t a;

	ASSERT_EQ(0, ch_alloc(self->fd, 128, 0, &a));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, a + 64));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, 0));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, -1ULL));
	EXPECT_EQ(-ENOENT, ch_seal(self->fd, a + 64));
	EXPECT_EQ(-ENOENT, ch_seal(self->fd, -1ULL));
	arg = (struct codeheap_addr){ .size = sizeof(arg), .flags = 1, .addr = a };
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_FREE, &arg));
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_SEAL, &arg));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_FREE, NULL));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_SEAL, NULL));
	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, a));
}

TEST_F(heap, seal)
{
	uint64_t a, pg, p = self->page;
	struct codeheap_lookup l;
	unsigned char code[CH_RET_LEN];
	int ret;

	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, p, 0, 0, 0, &a));
	ch_code_ret(code, 5);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, sizeof(code)));
	ASSERT_EQ(0, ch_seal(self->fd, a));
	ASSERT_EQ(0, ch_seal(self->fd, a));
	pg = a & ~(uint64_t)(p - 1);

	ch_code_ret(code, 6);
	EXPECT_EQ(-EPERM, ch_write1(self->fd, a, code, sizeof(code)));
	EXPECT_EQ(-EPERM, ch_free(self->fd, a));
	EXPECT_EQ(-EPERM, ch_range(self->fd, CODEHEAP_IOC_PROTECT, pg, p, 0));
	EXPECT_EQ(-EPERM, ch_range(self->fd, CODEHEAP_IOC_PROTECT, pg, p,
				   PROT_READ | PROT_EXEC));
	EXPECT_EQ(-EPERM, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, pg, p, 0));
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(5, ret);
	ASSERT_EQ(0, ch_lookup(self->fd, a, &l));
	EXPECT_EQ(CODEHEAP_LOOKUP_SEALED, l.alloc_flags);
}

TEST_F(heap, decommit_under_allocation_busy)
{
	uint64_t a, p = self->page;

	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, p, 0, 0, 0, &a));
	EXPECT_EQ(-EBUSY, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, a, p, 0));
	EXPECT_EQ(0, ch_probe_read(a, NULL));
}

TEST_F(heap, lookup)
{
	struct codeheap_lookup l;
	uint64_t a;

	ASSERT_EQ(0, ch_alloc(self->fd, 100, 0xfeedULL << 32, &a));
	ASSERT_EQ(0, ch_lookup(self->fd, a + 99, &l));
	EXPECT_EQ(a, l.start);
	EXPECT_EQ(128, l.len);
	EXPECT_EQ(0xfeedULL << 32, l.tag);
	EXPECT_EQ(0, l.alloc_flags);
	EXPECT_EQ(0, ch_lookup(self->fd, a + 127, &l));
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, a + 128, &l));
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, a - 1, &l));
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, -1ULL, &l));
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.addr = a;
	l.flags = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_LOOKUP, &l));
	l.flags = 0;
	l.__reserved = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_LOOKUP, &l));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_LOOKUP, NULL));
	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, a, &l));
}

TEST_F(heap, write_errors_change_nothing)
{
	unsigned char one[CH_RET_LEN], two[CH_RET_LEN];
	struct codeheap_write_entry e[2];
	struct codeheap_write w;
	uint64_t a, b, p = self->page;
	long long batch = ch_param_read("max_batch");
	int ret;

	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &a));
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &b));
	ch_code_ret(one, 1);
	ch_code_ret(two, 2);

#define WRITE(...) ({ w = (struct codeheap_write){ .size = sizeof(w),	\
		.count = 1, .entries = U64(e), __VA_ARGS__ };		\
		ch_ioctl(self->fd, CODEHEAP_IOC_WRITE, &w); })

	e[0] = (struct codeheap_write_entry){ a, U64(one), sizeof(one) };
	EXPECT_EQ(-EINVAL, WRITE(.count = 0));
	EXPECT_EQ(-EINVAL, WRITE(.flags = 1));
	EXPECT_EQ(-EINVAL, WRITE(.__reserved = 1));
	EXPECT_EQ(-E2BIG, WRITE(.count = batch + 1));
	EXPECT_EQ(-EFAULT, WRITE(.entries = 0));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_WRITE, NULL));

	e[0].len = 0;
	EXPECT_EQ(-EINVAL, WRITE());
	e[0] = (struct codeheap_write_entry){ -8ULL, U64(one), 16 };
	EXPECT_EQ(-EOVERFLOW, WRITE());
	/* Outside any allocation, or running past its end. */
	e[0] = (struct codeheap_write_entry){ a - 64 * p, U64(one), CH_RET_LEN };
	EXPECT_EQ(-ENOENT, WRITE());
	e[0] = (struct codeheap_write_entry){ a + 60, U64(one), CH_RET_LEN };
	EXPECT_EQ(-ENOENT, WRITE());
	e[0] = (struct codeheap_write_entry){ a, U64(one), 65 };
	EXPECT_EQ(-ENOENT, WRITE());
	/* A source that cannot be read. */
	e[0] = (struct codeheap_write_entry){ a, 16, CH_RET_LEN };
	EXPECT_EQ(-EFAULT, WRITE());

	/* Validation comes first: a bad second entry stops the good first. */
	e[0] = (struct codeheap_write_entry){ a, U64(one), CH_RET_LEN };
	e[1] = (struct codeheap_write_entry){ b + 64 * p, U64(two), CH_RET_LEN };
	EXPECT_EQ(-ENOENT, WRITE(.count = 2));
	e[1] = (struct codeheap_write_entry){ b, U64(two), 0 };
	EXPECT_EQ(-EINVAL, WRITE(.count = 2));
	e[1] = (struct codeheap_write_entry){ b, 16, CH_RET_LEN };
	EXPECT_EQ(-EFAULT, WRITE(.count = 2));
	EXPECT_EQ(0, ch_probe_trap(a));
	EXPECT_EQ(SIGTRAP, ch_probe_call(a, &ret));

	/* A good batch writes both. */
	e[1] = (struct codeheap_write_entry){ b, U64(two), CH_RET_LEN };
	ASSERT_EQ(0, WRITE(.count = 2));
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(1, ret);
	EXPECT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(2, ret);
#undef WRITE
}

/*
 * A source that runs into a hole is found before anything is copied: the
 * destination keeps its code, not half of the new one.
 */
TEST_F(heap, write_bad_source_changes_nothing)
{
	long p = self->page;
	unsigned char *src, c;
	uint64_t a;
	int ret, i;

	src = mmap(NULL, 2 * p, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_EQ(0, munmap(src + p, p));
	ASSERT_EQ(0, ch_alloc(self->fd, 256, 0, &a));
	ch_code_ret(src + p - CH_RET_LEN, 3);
	ASSERT_EQ(0, ch_write1(self->fd, a, src + p - CH_RET_LEN, CH_RET_LEN));
	ASSERT_EQ(0, ch_probe_call(a, &ret));
	ASSERT_EQ(3, ret);

	ch_fill_nop(src + p - 64, 64);
	EXPECT_EQ(-EFAULT, ch_write1(self->fd, a, src + p - 64, 128));
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(3, ret);
	for (i = CH_RET_LEN; i < 256; i++) {
		ASSERT_EQ(0, ch_probe_read(a + i, &c));
		ASSERT_EQ(ch_trap_byte(a + i), c) TH_LOG("byte %d", i);
	}
	munmap(src, p);
}

TEST_F(heap, write_batch_spanning_pages)
{
	long p = self->page;
	unsigned char *buf, *check;
	struct codeheap_write_entry e[16];
	uint64_t a;
	int i;

	buf = malloc(4 * p);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 4 * p; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	ASSERT_EQ(0, ch_alloc(self->fd, 4 * p, 0, &a));
	for (i = 0; i < 16; i++)
		e[i] = (struct codeheap_write_entry){
			a + i * (p / 4), U64(buf + i * (p / 4)), p / 4,
		};
	ASSERT_EQ(0, ch_write(self->fd, e, 16));
	check = PTR(a);
	EXPECT_EQ(0, memcmp(check, buf, 4 * p));
	free(buf);
}

/*
 * A batch whose destinations follow each other is copied as one run per
 * reservation, its sources gathered (and merged where they follow each
 * other).  Scattered sources, more of them than one run takes, a page
 * boundary inside the run, and consecutive allocations: every byte lands
 * where its entry says.
 */
TEST_F(heap, write_batch_gathers_scattered_sources)
{
	struct codeheap_write_entry e[40];
	unsigned char *buf, *check, *src[4];
	uint64_t a, f[4], p = self->page;
	unsigned char code[CH_RET_LEN];
	int i, ret;

	buf = malloc(40 * 100);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 40 * 100; i++)
		buf[i] = (unsigned char)(i * 13 + 5);
	ASSERT_EQ(0, ch_alloc(self->fd, 2 * p, 0, &a));
	/* Pairs of adjacent sources, the pairs in reverse order: 20 segments. */
	for (i = 0; i < 40; i++)
		e[i] = (struct codeheap_write_entry){
			a + p - 1000 + i * 100,
			U64(buf + (19 - i / 2) * 200 + (i % 2) * 100), 100,
		};
	ASSERT_EQ(0, ch_write(self->fd, e, 40));
	check = PTR(a + p - 1000);
	for (i = 0; i < 40; i++)
		EXPECT_EQ(0, memcmp(check + i * 100, PTR(e[i].src), 100));
	EXPECT_EQ(ch_trap_byte(U64(check - 1)), check[-1]);
	EXPECT_EQ(ch_trap_byte(U64(check + 4000)), check[4000]);
	free(buf);

	/* Four functions in consecutive allocations, from four buffers. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, ch_alloc(self->fd, 64, i, &f[i]));
		if (i)
			ASSERT_EQ(f[i - 1] + 64, f[i]);
		src[i] = malloc(64);
		ASSERT_NE(NULL, src[i]);
		ch_fill_trap(src[i], 64);
		ch_code_ret(code, 100 + i);
		memcpy(src[i], code, sizeof(code));
		e[i] = (struct codeheap_write_entry){ f[i], U64(src[i]), 64 };
	}
	ASSERT_EQ(0, ch_write(self->fd, e, 4));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, ch_probe_call(f[i], &ret));
		EXPECT_EQ(100 + i, ret);
		free(src[i]);
	}
}

/* The IPIs since @before, into @least if fewer than it holds. */
static void ipis_keep_least(long long *least, long long before)
{
	long long d = ch_call_ipis() - before;

	if (d < *least)
		*least = d;
}

/*
 * Instruction caches are synchronised once per command, not per page
 * (Documentation/arm64.rst): on arm64 a COMMIT of 64 pages, a WRITE of
 * 64 entries on 64 pages and a FREE of 64 pages each interrupt every
 * other CPU once (the module did it per page, 64 times); x86-64 needs no
 * interrupt of its own.
 */
TEST_F(heap, commit_write_free_interrupt_each_cpu_once)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t p = self->page, addr, a;
	struct codeheap_write_entry e[64];
	unsigned char code[CH_RET_LEN];
	long long before, n[3];
	int i, r, k;

	if (ncpu < 2)
		SKIP(return, "one CPU: nothing to interrupt");
	if (ch_call_ipis() < 0)
		SKIP(return, "no function-call row in /proc/interrupts");
	ASSERT_EQ(0, ch_reserve(self->fd, 128 * p, 0, 0, &addr));
	ch_code_ret(code, 64);
	for (k = 0; k < 3; k++)
		n[k] = LLONG_MAX;
	for (r = 0; r < 10; r++) {
		before = ch_call_ipis();
		ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr,
				      64 * p, 0));
		ipis_keep_least(&n[0], before);
		ASSERT_EQ(0, ch_alloc_in(self->fd, 64 * p, 0, addr,
					 addr + 128 * p, 0, &a));
		for (i = 0; i < 64; i++)
			e[i] = (struct codeheap_write_entry){
				a + i * p, U64(code), CH_RET_LEN };
		before = ch_call_ipis();
		ASSERT_EQ(0, ch_write(self->fd, e, 64));
		ipis_keep_least(&n[1], before);
		before = ch_call_ipis();
		ASSERT_EQ(0, ch_free(self->fd, a));
		ipis_keep_least(&n[2], before);
	}
	for (k = 0; k < 3; k++) {
		double per = (double)n[k] / (ncpu - 1);

		TH_LOG("%s: %.2f function-call IPIs per CPU in the quietest of 10",
		       (const char *[]){ "COMMIT", "WRITE", "FREE" }[k], per);
		/*
		 * The counter is machine-wide: other work's IPIs (a debug
		 * kernel's scanners, the mm's own TLB flushes) land in some
		 * runs, so the quietest run is judged. Per page would be 64.
		 */
		EXPECT_GT(8.0, per);
	}
}

/* All of [addr, addr + len) still holds traps. */
static int ch_all_traps(uint64_t addr, uint64_t len)
{
	unsigned char c;
	uint64_t i;

	for (i = 0; i < len; i++)
		if (ch_probe_read(addr + i, &c) || c != ch_trap_byte(addr + i))
			return 0;
	return 1;
}

/*
 * An entry that continues a run (its destination and source follow the
 * entry before) is checked like any other: a zero length, a source that
 * wraps and a length past the end of user space fail, with nothing
 * written.
 */
TEST_F(heap, write_run_entries_checked)
{
	struct codeheap_write_entry e[3];
	unsigned char code[96];
	uint64_t a;

	memset(code, 0x90, sizeof(code));
	ASSERT_EQ(0, ch_alloc(self->fd, 256, 0, &a));
	e[0] = (struct codeheap_write_entry){ a, U64(code), 32 };
	e[1] = (struct codeheap_write_entry){ a + 32, U64(code) + 32, 32 };
	e[2] = (struct codeheap_write_entry){ a + 64, U64(code) + 64, 0 };
	EXPECT_EQ(-EINVAL, ch_write(self->fd, e, 3));
	e[2].len = 1ULL << 62;
	EXPECT_EQ(-ENOENT, ch_write(self->fd, e, 3));
	e[0].src = -96ULL;
	e[1].src = -64ULL;
	e[2] = (struct codeheap_write_entry){ a + 64, -32ULL, 64 };
	EXPECT_EQ(-EOVERFLOW, ch_write(self->fd, e, 3));
	EXPECT_TRUE(ch_all_traps(a, 256));
}

/* One past the highest user address of this process (the kernel's TASK_SIZE). */
static uint64_t user_space_end(long page)
{
	void *p;

	if (sizeof(void *) == 4)
		return 0xffffe000ULL;	/* IA32_PAGE_OFFSET */
#if defined(__aarch64__)
	/* 48-bit VAs; 52 if the kernel maps above them (arm64 memory.rst). */
	p = mmap((void *)(1ULL << 48), page, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return 1ULL << 48;
	munmap(p, page);
	return 1ULL << 52;
#endif
	/* With 5-level paging, addresses above 47 bits can be mapped. */
	p = mmap((void *)(1ULL << 50), page, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return (1ULL << 47) - page;
	munmap(p, page);
	return (1ULL << 56) - page;
}

/*
 * The scan checks once per run of contiguous entries that the run stays
 * below the end of user space and that its sources do not wrap.  When
 * either fails, the errno is still that of the first wrong entry, not of
 * the run's end: here entry 1's source wraps (-EOVERFLOW) before entry 2
 * runs past the end of user space (-ENOENT).
 */
TEST_F(heap, write_run_checked_once_first_error_wins)
{
	uint64_t top = user_space_end(self->page);
	struct codeheap_write_entry e[3];
	unsigned char code[64];

	memset(code, 0x90, sizeof(code));
	/* Every length fine, the run's end 32 bytes past the end. */
	e[0] = (struct codeheap_write_entry){ top - 64, U64(code), 32 };
	e[1] = (struct codeheap_write_entry){ top - 32, U64(code) + 32, 64 };
	EXPECT_EQ(-ENOENT, ch_write(self->fd, e, 2));
	/* One entry short of the end: no range error, and no allocation. */
	e[1].len = 32;
	EXPECT_EQ(-ENOENT, ch_write(self->fd, e, 2));

	e[0] = (struct codeheap_write_entry){ top - 96, -64ULL, 32 };
	e[1] = (struct codeheap_write_entry){ top - 64, -32ULL, 32 };
	e[2] = (struct codeheap_write_entry){ top - 32, 0, 64 };
	EXPECT_EQ(-EOVERFLOW, ch_write(self->fd, e, 3));
}

/* The address of a kernel symbol from /proc/kallsyms, or 0 if hidden. */
static uint64_t kernel_symbol(const char *name)
{
	char line[256], sym[128], type;
	unsigned long long addr;
	uint64_t found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &addr, &type, sym) == 3 &&
		    !strcmp(sym, name))
			found = addr;
	fclose(f);
	return found;
}

/*
 * WRITE copies from user memory only: a source in kernel memory that is
 * mapped and readable by the kernel (linux_banner) is -EFAULT, for one
 * entry, a batch, and one entry longer than a page, and nothing of the
 * kernel's memory reaches the code.
 */
TEST_F(heap, write_kernel_source_refused)
{
	uint64_t ksrc = kernel_symbol("linux_banner");
	struct codeheap_write_entry e[2];
	uint64_t a, p = self->page;

	if (!ksrc)
		SKIP(return, "no kernel address to try (kallsyms hidden)");
	ASSERT_EQ(0, ch_alloc(self->fd, 2 * p, 0, &a));
	/* One entry of at most a page: the one-entry path. */
	e[0] = (struct codeheap_write_entry){ a, ksrc, 64 };
	EXPECT_EQ(-EFAULT, ch_write(self->fd, e, 1));
	/* A batch, one run. */
	e[1] = (struct codeheap_write_entry){ a + 64, ksrc + 64, 64 };
	EXPECT_EQ(-EFAULT, ch_write(self->fd, e, 2));
	/* One entry longer than a page: the batch path. */
	e[0].len = 2 * p;
	EXPECT_EQ(-EFAULT, ch_write(self->fd, e, 1));
	EXPECT_TRUE(ch_all_traps(a, 2 * p));
}

/*
 * FREE decommits the pages inside the free range the allocation merged
 * into.  The last bytes of a reservation (its fence) are never allocated:
 * freeing the allocation that ends at the fence must still decommit the
 * reservation's last page.
 */
TEST_F(heap, free_decommits_up_to_the_fence)
{
	uint64_t addr, a, b, p = self->page;
	struct codeheap_stats st;

	ASSERT_EQ(0, ch_reserve(self->fd, 2 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + 2 * p, 1, &a));
	/* All the rest: up to the fence, in the reservation's last page. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, 2 * p - 128, 0, addr,
				 addr + 2 * p, 2, &b));
	ASSERT_EQ(addr + 64, b);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(2 * p, st.committed_bytes);
	ASSERT_EQ(0, ch_free(self->fd, b));
	EXPECT_EQ(0, ch_probe_read(addr, NULL));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + p, NULL));
	EXPECT_EQ(SIGSEGV, ch_probe_read(addr + 2 * p - 1, NULL));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(p, st.committed_bytes);
	ASSERT_EQ(0, ch_free(self->fd, a));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.committed_bytes);
}

/*
 * 0 if the page at @addr is readable and holds only traps, the signal a
 * read raised, or -1.
 */
static int page_is_traps(uint64_t addr, long page)
{
	unsigned char *want = malloc(page);
	int ret = ch_probe_read(addr, NULL);

	if (!want)
		return -1;
	ch_fill_trap(want, page);
	if (!ret && memcmp(PTR(addr), want, page))
		ret = -1;
	free(want);
	return ret;
}

/*
 * A heap keeps up to 16 pages that FREE or DECOMMIT gave back whole, for
 * its next commits (Documentation/design.rst, "Kept pages"): only pages
 * that hold nothing but traps.  A reservation that ends with code in it
 * gives its pages to the kernel, so the next commit, in any reservation,
 * finds traps; a kept page PROTECTed to none before comes back accessible.
 */
TEST_F(heap, kept_pages_hold_only_traps)
{
	uint64_t r1, r2, a, p = self->page;
	unsigned char *code = malloc(p);
	struct codeheap_stats st;

	ASSERT_NE(NULL, code);
	ch_fill_nop(code, p);
	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &r1));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, p, r1, r1 + 4 * p, 1, &a));
	ASSERT_EQ(0, ch_write1(self->fd, a, code, p));
	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_EQ(SIGSEGV, ch_probe_read(a, NULL));
	/* The kept page comes back, filled by the FREE. */
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, p, r1 + p, r1 + 4 * p, 2, &a));
	EXPECT_EQ(0, page_is_traps(a, p));
	ASSERT_EQ(0, ch_write1(self->fd, a, code, p));

	/* The reservation ends with code in it: nothing of it is kept. */
	ASSERT_EQ(0, munmap(PTR(r1), 4 * p));
	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &r2));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, p, r2, r2 + 4 * p, 3, &a));
	EXPECT_EQ(0, page_is_traps(a, p));

	/* DECOMMIT keeps a page PROTECTed to none; it is no longer none. */
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, r2 + 2 * p, p, 0));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, r2 + 2 * p, p, 0));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, r2 + 2 * p, p,
			      0));
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, r2 + 3 * p, p, 0));
	EXPECT_EQ(0, page_is_traps(r2 + 3 * p, p));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, r2 + 3 * p, r2 + 4 * p, 4,
				 &a));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(2 * p, st.committed_bytes);
	free(code);
}

/*
 * Kept pages are memory the heap holds: the user's and the global
 * committed counts keep them, STATS does not, and at most 16 are kept;
 * the heap's end gives them back.
 */
TEST_F(heap, kept_pages_are_bounded_and_charged)
{
	long long base = ch_global("committed_bytes");
	uint64_t addr, p = self->page;
	struct codeheap_stats st;
	int fd;

	ASSERT_LE(0, base);
	fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ch_reserve(fd, 64 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_range(fd, CODEHEAP_IOC_COMMIT, addr, 32 * p, 0));
	EXPECT_EQ(base + 32 * (long long)p, ch_global("committed_bytes"));
	ASSERT_EQ(0, ch_range(fd, CODEHEAP_IOC_DECOMMIT, addr, 32 * p, 0));
	ASSERT_EQ(0, ch_stats(fd, &st));
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(base + 16 * (long long)p, ch_global("committed_bytes"));
	/* Eight come from the kept ones, charged already. */
	ASSERT_EQ(0, ch_range(fd, CODEHEAP_IOC_COMMIT, addr + 32 * p, 8 * p, 0));
	EXPECT_EQ(base + 16 * (long long)p, ch_global("committed_bytes"));
	/* Twenty: eight kept, twelve new. */
	ASSERT_EQ(0, ch_range(fd, CODEHEAP_IOC_COMMIT, addr, 20 * p, 0));
	EXPECT_EQ(base + 28 * (long long)p, ch_global("committed_bytes"));
	ASSERT_EQ(0, ch_stats(fd, &st));
	EXPECT_EQ(28 * p, st.committed_bytes);
	ASSERT_EQ(0, ch_range(fd, CODEHEAP_IOC_DECOMMIT, addr + 32 * p, 8 * p,
			      0));
	EXPECT_EQ(base + 28 * (long long)p, ch_global("committed_bytes"));
	/* The mapping holds the file: the heap ends with both gone. */
	ASSERT_EQ(0, munmap(PTR(addr), 64 * p));
	close(fd);
	EXPECT_EQ(base, ch_global("committed_bytes"));
}

/*
 * A page something else still holds (here a pipe, by vmsplice()) is not
 * kept: reused, it would show that holder the next code written into it.
 */
TEST_F(heap, pinned_page_is_not_kept)
{
	uint64_t addr, a, p = self->page;
	unsigned char *code = malloc(p), *seen = malloc(p);
	struct iovec iov;
	int pfd[2];

	ASSERT_NE(NULL, code);
	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, p, addr, addr + 4 * p, 1, &a));
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_LE((long)p, fcntl(pfd[1], F_SETPIPE_SZ, (int)p));
	iov = (struct iovec){ .iov_base = PTR(a), .iov_len = p };
	ASSERT_EQ((ssize_t)p, vmsplice(pfd[1], &iov, 1, 0));
	ASSERT_EQ(0, ch_free(self->fd, a));
	ASSERT_EQ(0, ch_alloc_in(self->fd, p, p, addr, addr + 4 * p, 2, &a));
	ch_fill_nop(code, p);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, p));
	ASSERT_EQ((ssize_t)p, read(pfd[0], seen, p));
	ch_fill_trap(code, p);
	EXPECT_EQ(0, memcmp(seen, code, p));
	close(pfd[0]);
	close(pfd[1]);
	free(code);
	free(seen);
}

/*
 * An allocation inside a page that a neighbouring allocation already
 * starts in takes that page without a commit, from the neighbour below
 * or, as here, the one above: code written into it must run, and freeing
 * it must leave traps there and the neighbour intact.
 */
TEST_F(heap, alloc_in_a_page_shared_with_the_next_allocation)
{
	uint64_t addr, a, b, p = self->page;
	struct codeheap_stats st;
	unsigned char code[CH_RET_LEN];
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, 4 * p, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr + p / 2, addr + 4 * p,
				 1, &a));
	ASSERT_EQ(addr + p / 2, a);
	ch_code_ret(code, 11);
	ASSERT_EQ(0, ch_write1(self->fd, a, code, sizeof(code)));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + p / 2, 2, &b));
	ASSERT_EQ(addr, b);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(p, st.committed_bytes);
	ch_code_ret(code, 22);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, sizeof(code)));
	EXPECT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(22, ret);
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(11, ret);

	ASSERT_EQ(0, ch_free(self->fd, b));
	EXPECT_EQ(0, ch_probe_trap(b));
	EXPECT_EQ(0, ch_probe_call(a, &ret));
	EXPECT_EQ(11, ret);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(p, st.committed_bytes);
	ASSERT_EQ(0, ch_free(self->fd, a));
}

/*
 * A run across consecutive allocations is checked allocation by
 * allocation: a sealed one in the middle, or a freed one, fails the batch
 * before the first is written.
 */
TEST_F(heap, write_run_across_allocations_checked)
{
	struct codeheap_write_entry e[3];
	unsigned char code[192];
	uint64_t f[3];
	int i;

	memset(code, 0x90, sizeof(code));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ch_alloc(self->fd, 64, i, &f[i]));
		if (i)
			ASSERT_EQ(f[i - 1] + 64, f[i]);
		e[i] = (struct codeheap_write_entry){
			f[i], U64(code + 64 * i), 64 };
	}
	ASSERT_EQ(0, ch_seal(self->fd, f[1]));
	EXPECT_EQ(-EPERM, ch_write(self->fd, e, 3));
	EXPECT_TRUE(ch_all_traps(f[0], 64));
	EXPECT_TRUE(ch_all_traps(f[2], 64));

	/* The same over three fresh ones, the middle one freed. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ch_alloc(self->fd, 64, i, &f[i]));
		if (i)
			ASSERT_EQ(f[i - 1] + 64, f[i]);
		e[i].dst = f[i];
	}
	ASSERT_EQ(0, ch_free(self->fd, f[1]));
	EXPECT_EQ(-ENOENT, ch_write(self->fd, e, 3));
	EXPECT_TRUE(ch_all_traps(f[0], 64));
	EXPECT_TRUE(ch_all_traps(f[2], 64));
}

/*
 * A batch's entry array is read before anything is checked or written:
 * an array running into a hole is -EFAULT with nothing written, and the
 * batch buffer the heap keeps between calls still serves the next batch,
 * a larger one after it too.
 */
TEST_F(heap, write_batch_entries_into_hole)
{
	struct codeheap_write_entry *arr, *e;
	long p = self->page;
	unsigned char *code;
	uint64_t a;
	int i, n;

	arr = mmap(NULL, 2 * p, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arr);
	ASSERT_EQ(0, munmap((char *)arr + p, p));
	code = malloc(200 * 16);
	ASSERT_NE(NULL, code);
	for (i = 0; i < 200 * 16; i++)
		code[i] = (unsigned char)(i * 5 + 3);
	ASSERT_EQ(0, ch_alloc(self->fd, 200 * 16, 0, &a));

	/* 40 entries, the last 10 in the hole. */
	e = (struct codeheap_write_entry *)((char *)arr + p) - 30;
	for (i = 0; i < 30; i++)
		e[i] = (struct codeheap_write_entry){
			a + 16 * i, U64(code + 16 * i), 16 };
	EXPECT_EQ(-EFAULT, ch_write(self->fd, e, 40));
	EXPECT_TRUE(ch_all_traps(a, 200 * 16));
	ASSERT_EQ(0, ch_write(self->fd, e, 30));
	EXPECT_EQ(0, memcmp(PTR(a), code, 30 * 16));

	/* Larger batches than the buffer kept, with sources apart. */
	e = malloc(200 * sizeof(*e));
	ASSERT_NE(NULL, e);
	for (n = 50; n <= 200; n += 150) {
		memset(code, n, 200 * 16);
		for (i = 0; i < n; i++)
			e[i] = (struct codeheap_write_entry){
				a + 16 * (n - 1 - i), U64(code + 16 * i), 16 };
		ASSERT_EQ(0, ch_write(self->fd, e, n));
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, memcmp(PTR(e[i].dst), PTR(e[i].src), 16));
	}
	free(e);
	free(code);
	munmap(arr, p);
}

struct batch_writer {
	int fd;
	uint64_t dst;
	int seed;
	int bad;
};

/* 300 batches of 20 entries into one allocation, each checked. */
static void *batch_writer(void *arg)
{
	struct batch_writer *w = arg;
	struct codeheap_write_entry e[20];
	unsigned char src[20 * 32];
	int round, i;

	for (round = 0; round < 300 && !w->bad; round++) {
		for (i = 0; i < (int)sizeof(src); i++)
			src[i] = (unsigned char)(w->seed + round + i);
		for (i = 0; i < 20; i++)
			e[i] = (struct codeheap_write_entry){
				w->dst + 32 * i, U64(src + 32 * (19 - i)), 32 };
		if (ch_write(w->fd, e, 20))
			w->bad = 1;
		for (i = 0; i < 20; i++)
			if (memcmp(PTR(e[i].dst), PTR(e[i].src), 32))
				w->bad = 2;
	}
	return NULL;
}

/*
 * Threads sending batches at once each get a batch buffer of their own:
 * every batch lands as sent.
 */
TEST_F(heap, write_batches_from_threads)
{
	struct batch_writer w[3];
	pthread_t th[3];
	int i;

	for (i = 0; i < 3; i++) {
		w[i] = (struct batch_writer){ .fd = self->fd, .seed = 37 * i };
		ASSERT_EQ(0, ch_alloc(self->fd, 20 * 32, i, &w[i].dst));
	}
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, batch_writer, &w[i]));
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].bad) TH_LOG("thread %d", i);
	}
}

TEST_F(heap, stats_track)
{
	struct codeheap_stats st;
	uint64_t a, b;

	ASSERT_EQ(0, ch_alloc(self->fd, 1000, 0, &a));
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &b));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(1024 + 64, st.allocated_bytes);
	EXPECT_EQ(2, st.allocations);
	EXPECT_EQ(1, st.reservations);
	EXPECT_EQ(0, st.jump_tables);
	EXPECT_EQ(ch_page(), st.committed_bytes);
	ASSERT_EQ(0, ch_free(self->fd, a));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(64, st.allocated_bytes);
	EXPECT_EQ(1024 + 64, st.peak_allocated_bytes);
	EXPECT_EQ(1024, st.freed_bytes);
	st.flags = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_STATS, &st));
	st.flags = 0;
	st.__reserved = 1;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_STATS, &st));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_STATS, NULL));
}

/*
 * WRITE into a page of an allocation other than its first: the second
 * write to the same page finds it remembered; the code is right either way.
 */
TEST_F(heap, write_later_page_twice)
{
	uint64_t a, p = self->page;
	unsigned char code[CH_RET_LEN];
	int ret, i;

	ASSERT_EQ(0, ch_alloc(self->fd, 3 * p, 0, &a));
	for (i = 0; i < 3; i++) {
		ch_code_ret(code, 300 + i);
		ASSERT_EQ(0, ch_write1(self->fd, a + p + 64 * i, code, CH_RET_LEN));
	}
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, ch_probe_call(a + p + 64 * i, &ret));
		EXPECT_EQ(300 + i, ret);
	}
}

struct zapper {
	void *src;
	long len;
	volatile int stop;
	long zaps;
};

static void *zap_source(void *arg)
{
	struct zapper *z = arg;

	while (!z->stop) {
		madvise(z->src, z->len, MADV_DONTNEED);
		z->zaps++;
	}
	return NULL;
}

/*
 * A WRITE source whose page-table entries another thread keeps dropping
 * (a shared memfd: the contents stay, only the mapping comes and goes).
 * The copy runs with page faults disabled, so some copies find the source
 * gone after it was faulted in: they trap-fill the destination and try
 * again.  Every WRITE that returns 0 must have put exactly the source in.
 */
TEST_F(heap, write_source_zapped_during_copy)
{
	long p = self->page, i, n = 2000, efaults = 0;
	struct codeheap_write_entry e[2];
	struct zapper z = { .len = 2 * p };
	unsigned char *src, *dst;
	pthread_t t;
	uint64_t a;
	int fd;

	fd = memfd_create("src", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * p));
	src = mmap(NULL, 2 * p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < 2 * p; i++)
		src[i] = 0x90 + i % 7;
	z.src = src;
	ASSERT_EQ(0, ch_alloc(self->fd, 3 * p, 0, &a));
	dst = PTR(a);
	ASSERT_EQ(0, pthread_create(&t, NULL, zap_source, &z));
	for (i = 0; i < n; i++) {
		int ret;

		if (i % 2) {
			ret = ch_write1(self->fd, a + 8, src + 8, 200);
		} else {
			/* Two entries, one run across a page boundary. */
			e[0] = (struct codeheap_write_entry){
				.dst = a + p - 100, .src = U64(src + p - 100),
				.len = 100 };
			e[1] = (struct codeheap_write_entry){
				.dst = a + p, .src = U64(src + p), .len = 300 };
			ret = ch_write(self->fd, e, 2);
		}
		/* EFAULT only if the source vanished at every retry. */
		if (ret == -EFAULT) {
			efaults++;
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("write %ld", i);
		if (i % 2) {
			ASSERT_EQ(0, memcmp(dst + 8, src + 8, 200));
		} else {
			ASSERT_EQ(0, memcmp(dst + p - 100, src + p - 100, 400));
		}
	}
	z.stop = 1;
	pthread_join(t, NULL);
	EXPECT_GT(n / 10, efaults);
	TH_LOG("%ld writes, %ld zaps, %ld EFAULT", n, z.zaps, efaults);
	munmap(src, 2 * p);
	close(fd);
}

/* -------------------------------------------- hardening regressions -- */

/* In a child: become @uid and commit @pages pages in a new heap. */
static int commit_as(uid_t uid, long page, int pages)
{
	uint64_t addr;
	int fd;

	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -EPERM;
	fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ch_reserve(fd, 64 * page, 0, 0, &addr))
		return -EINVAL;
	return ch_range(fd, CODEHEAP_IOC_COMMIT, addr, pages * page, 0);
}

/*
 * One user at max_user_committed, over several heaps, leaves room for
 * another user: the limit is per user, not first come, first served.
 */
TEST_F(heap, user_limit_leaves_room_for_others)
{
	long long old = ch_param_read("max_user_committed");
	int go[2], ready[2], status, ret;
	long p = self->page;
	pid_t a, b;
	char buf[32], c;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(4 * p));
	ASSERT_EQ(0, ch_param_write("max_user_committed", buf));

	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		/* User A: four pages in one heap, then none more anywhere. */
		ret = commit_as(60001, p, 4);
		if (!ret && commit_as(60001, p, 1) != -ENOMEM)
			ret = 100;
		c = ret ? 1 : 0;
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(101);
		_exit(-ret);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ(0, c);
	/* User A still holds its four pages: user B gets its own four. */
	b = fork();
	ASSERT_LE(0, b);
	if (b == 0)
		_exit(-commit_as(60002, p, 4));
	ASSERT_EQ(b, waitpid(b, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(a, waitpid(a, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	snprintf(buf, sizeof(buf), "%lld", old);
	ASSERT_EQ(0, ch_param_write("max_user_committed", buf));
}

/*
 * A process in a memory cgroup at its memory.max gets ENOMEM from COMMIT
 * and ALLOC: the pages are charged to its cgroup, and the charge never
 * OOM-kills it (or anyone).
 */
TEST_F(heap, memcg_limit_is_enomem_not_oom_kill)
{
	const char *top = "/sys/fs/cgroup", *cg = "/sys/fs/cgroup/codeheap-test";
	char path[256], line[256];
	int status, kills = -1;
	FILE *f;
	pid_t pid;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK)) {
		mkdir(top, 0755);
		if (mount("none", top, "cgroup2", 0, NULL))
			SKIP(return, "no cgroup2: %s", strerror(errno));
	}
	if (ch_write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		SKIP(return, "no memory controller");
	rmdir(cg);
	ASSERT_EQ(0, mkdir(cg, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	ASSERT_EQ(0, ch_write_file(path, "8388608"));
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
	ch_write_file(path, "0");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t addr, p = self->page;
		int fd, ret;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		if (ch_write_file(path, "0"))
			_exit(10);
		fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0 || ch_reserve(fd, 64 * MIB, 0, 0, &addr))
			_exit(11);
		ret = ch_range(fd, CODEHEAP_IOC_COMMIT, addr, 32 * MIB, 0);
		if (ret != -ENOMEM)
			_exit(12);
		/* Nothing was committed, and the heap still works below it. */
		if (ch_probe_read(addr, NULL) != SIGSEGV)
			_exit(13);
		if (ch_range(fd, CODEHEAP_IOC_COMMIT, addr, 4 * p, 0))
			_exit(14);
		ret = ch_alloc(fd, 32 * MIB - 4 * p, 0, NULL);
		_exit(ret == -ENOMEM ? 0 : 15);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status)) {
		TH_LOG("killed by signal %d", WTERMSIG(status));
	}
	EXPECT_EQ(0, WEXITSTATUS(status));
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "oom_kill %d", &kills);
	fclose(f);
	EXPECT_EQ(0, kills);
	EXPECT_EQ(0, rmdir(cg));
}

/*
 * ALLOC never hands out memory in a page PROTECTed to none: the fit that
 * would touch it is passed over.  Once the page is accessible again, the
 * free room in it is used as before.
 */
TEST_F(heap, alloc_steps_over_page_protected_none)
{
	uint64_t addr, p = self->page, len = 16 * p, a, b, c;
	unsigned char code[CH_RET_LEN];
	int ret;

	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 1, &a));
	ASSERT_EQ(addr, a);
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p, 0));
	ASSERT_EQ(SIGSEGV, ch_probe_read(a, NULL));

	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 2, &b));
	EXPECT_LE(addr + p, b);
	ch_code_ret(code, 77);
	ASSERT_EQ(0, ch_write1(self->fd, b, code, CH_RET_LEN));
	EXPECT_EQ(0, ch_probe_call(b, &ret));
	EXPECT_EQ(77, ret);
	/* A window holding only the inaccessible page has no room. */
	EXPECT_EQ(-ENOSPC, ch_alloc_in(self->fd, 64, 0, addr, addr + p, 3,
				       NULL));

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, addr, p,
			      PROT_READ | PROT_EXEC));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 4, &c));
	EXPECT_EQ(addr + 64, c);
	EXPECT_EQ(0, ch_probe_trap(c));
}

/* An empty window (hi 0 means no bound) is EINVAL, never a kernel warning. */
TEST_F(heap, alloc_empty_window_invalid)
{
	struct codeheap_stats before, after;

	ASSERT_EQ(0, ch_stats(self->fd, &before));
	EXPECT_EQ(-EINVAL, ch_alloc_in(self->fd, 64, 0, ~0ULL, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ch_alloc_in(self->fd, 64, 0, 1ULL << 40, 1ULL << 40,
				       0, NULL));
	EXPECT_EQ(-EINVAL, ch_alloc_in(self->fd, 64, 0, 2, 1, 0, NULL));
	ASSERT_EQ(0, ch_stats(self->fd, &after));
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

/* An ALLOC that fails at a limit leaves no reservation it grew behind. */
TEST_F(heap, failed_alloc_releases_grown_space)
{
	long long old = ch_param_read("max_heap_committed");
	long long reserved = ch_global("reserved_bytes");
	struct codeheap_stats st;
	uint64_t p = self->page;
	char buf[32];
	int ret;

	ASSERT_LT(0, old);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)p);
	ASSERT_EQ(0, ch_param_write("max_heap_committed", buf));
	/* A fresh heap has no reservation: two pages need one, and fail. */
	ret = ch_alloc(self->fd, 2 * p, 0, NULL);
	snprintf(buf, sizeof(buf), "%lld", old);
	ASSERT_EQ(0, ch_param_write("max_heap_committed", buf));
	EXPECT_EQ(-ENOMEM, ret);
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	EXPECT_EQ(0, st.reservations);
	EXPECT_EQ(0, st.reserved_bytes);
	EXPECT_EQ(0, st.committed_bytes);
	EXPECT_EQ(reserved, ch_global("reserved_bytes"));
	/* And the heap still works. */
	EXPECT_EQ(0, ch_alloc(self->fd, 2 * p, 0, NULL));
}

/*
 * A call that fails writes nothing into its argument: each command with
 * output, its struct running from a writable page into a read-only one
 * (or starting in the read-only one), fails with EFAULT, leaves every byte
 * of the struct as it was, and changes nothing in the heap.
 */
TEST_F(heap, failed_output_writes_nothing)
{
	static const struct {
		unsigned long cmd;
		uint32_t size;
	} cmds[] = {
		{ CODEHEAP_IOC_VERSION, sizeof(struct codeheap_version) },
		{ CODEHEAP_IOC_RESERVE, sizeof(struct codeheap_reserve) },
		{ CODEHEAP_IOC_ALLOC, sizeof(struct codeheap_alloc) },
		{ CODEHEAP_IOC_LOOKUP, sizeof(struct codeheap_lookup) },
		{ CODEHEAP_IOC_STATS, sizeof(struct codeheap_stats) },
		{ CODEHEAP_IOC_JT_CREATE, sizeof(struct codeheap_jt_create) },
		{ CODEHEAP_IOC_JT_QUERY, sizeof(struct codeheap_jt_query) },
	};
	struct codeheap_stats before, after;
	long p = self->page;
	unsigned char *map, *arg, want[256];
	uint64_t fn;
	unsigned int i, split;

	ASSERT_EQ(0, ch_make_fn(self->fd, 5, &fn));
	map = mmap(NULL, 2 * p, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (split = 8; split < cmds[i].size; split += 8) {
			/* The struct's first @split bytes in the writable page. */
			ASSERT_EQ(0, mprotect(map, 2 * p, PROT_READ | PROT_WRITE));
			arg = map + p - split;
			memset(arg, 0, cmds[i].size);
			memcpy(arg, &cmds[i].size, 4);
			if (cmds[i].cmd == CODEHEAP_IOC_ALLOC ||
			    cmds[i].cmd == CODEHEAP_IOC_JT_CREATE)
				memcpy(arg + 8, "\x40", 1);	/* len / nr_slots */
			if (cmds[i].cmd == CODEHEAP_IOC_RESERVE)
				memcpy(arg + 9, "\x00\x01", 2);	/* len 64 KiB */
			if (cmds[i].cmd == CODEHEAP_IOC_LOOKUP)
				memcpy(arg + 8, &fn, sizeof(fn));
			memcpy(want, arg, cmds[i].size);
			ASSERT_EQ(0, mprotect(map + p, p, PROT_READ));
			ASSERT_EQ(0, ch_stats(self->fd, &before));
			EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, cmds[i].cmd, arg)) {
				TH_LOG("cmd %u split %u", i, split);
			}
			EXPECT_EQ(0, memcmp(want, arg, cmds[i].size)) {
				TH_LOG("cmd %u split %u: struct written", i,
				       split);
			}
			ASSERT_EQ(0, ch_stats(self->fd, &after));
			EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
		}
		/* All of it read-only. */
		ASSERT_EQ(0, mprotect(map, 2 * p, PROT_READ | PROT_WRITE));
		memset(map, 0, cmds[i].size);
		memcpy(map, &cmds[i].size, 4);
		ASSERT_EQ(0, mprotect(map, 2 * p, PROT_READ));
		EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, cmds[i].cmd, map));
	}
	munmap(map, 2 * p);
}

TEST_HARNESS_MAIN
