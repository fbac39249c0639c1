// SPDX-License-Identifier: GPL-2.0
/*
 * W^X, tested by attempting every forbidden access (SPEC 5.1-5.3): stores,
 * mprotect, mmap of the device, /proc/self/mem, process_vm_writev, ptrace,
 * read() into code, mremap, partial munmap; and what must keep working
 * (madvise, reads for debuggers, PR_SET_MDWE, unmapping a whole space).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

FIXTURE(wx) {
	int fd;
	long page;
	uint64_t code;		/* an allocation holding "return 77" */
	unsigned char bytes[CH_RET_LEN];
};

FIXTURE_SETUP(wx)
{
	self->page = ch_page();
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ch_alloc(self->fd, 256, 0, &self->code));
	ch_code_ret(self->bytes, 77);
	ASSERT_EQ(0, ch_write1(self->fd, self->code, self->bytes, CH_RET_LEN));
}

FIXTURE_TEARDOWN(wx)
{
	close(self->fd);
}

/* The code is intact and runs. */
static int code_ok(uint64_t code)
{
	unsigned char want[CH_RET_LEN];
	int ret;

	ch_code_ret(want, 77);
	return !ch_probe_call(code, &ret) && ret == 77 &&
	       !memcmp(PTR(code), want, CH_RET_LEN);
}

/* The page and the reservation (VMA) holding @addr, from /proc/self/maps. */
static int find_vma(uint64_t addr, uint64_t *start, uint64_t *end,
		    uint64_t *off)
{
	unsigned long long s, e, o;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &o) == 3 &&
		    s <= addr && addr < e) {
			*start = s;
			*end = e;
			*off = o;
			found = 1;
		}
	fclose(f);
	return found;
}

TEST_F(wx, store_faults)
{
	EXPECT_EQ(SIGSEGV, ch_probe_write(self->code));
	EXPECT_EQ(SIGSEGV, ch_probe_write(self->code + 100));
	EXPECT_TRUE(code_ok(self->code));
}

TEST_F(wx, mprotect_refused)
{
	uint64_t s, e, o;
	void *p;

	ASSERT_TRUE(find_vma(self->code, &s, &e, &o));
	p = PTR(s);
	EXPECT_EQ(-1, mprotect(p, e - s, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(p, e - s, PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(p, self->page, PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* No protection change at all goes through mprotect. */
	EXPECT_EQ(-1, mprotect(p, e - s, PROT_READ));
	EXPECT_EQ(-1, mprotect(p, e - s, PROT_NONE));
	EXPECT_EQ(-1, mprotect(p, self->page, PROT_NONE));
	EXPECT_EQ(0, mprotect(p, e - s, PROT_READ | PROT_EXEC));
	EXPECT_TRUE(code_ok(self->code));
	EXPECT_EQ(SIGSEGV, ch_probe_write(self->code));
}

TEST_F(wx, mmap_of_device_refused)
{
	static const int prots[] = {
		PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE | PROT_EXEC,
	};
	uint64_t s, e, o;
	unsigned int i;
	void *p;
	int other;

	ASSERT_TRUE(find_vma(self->code, &s, &e, &o));
	other = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	for (i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		/* Shared or private, anywhere, or aliasing the live pages. */
		p = mmap(NULL, self->page, prots[i], MAP_SHARED, self->fd, 0);
		EXPECT_EQ(MAP_FAILED, p);
		p = mmap(NULL, self->page, prots[i], MAP_PRIVATE, self->fd, 0);
		EXPECT_EQ(MAP_FAILED, p);
		p = mmap(NULL, e - s, prots[i], MAP_SHARED, self->fd, o);
		EXPECT_EQ(MAP_FAILED, p);
		p = mmap(NULL, e - s, prots[i], MAP_SHARED, other, o);
		EXPECT_EQ(MAP_FAILED, p);
		p = mmap(NULL, e - s, prots[i], MAP_PRIVATE, self->fd, o);
		EXPECT_EQ(MAP_FAILED, p);
	}
	close(other);
	EXPECT_TRUE(code_ok(self->code));
}

TEST_F(wx, proc_self_mem)
{
	unsigned char buf[CH_RET_LEN], back[CH_RET_LEN];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ch_code_ret(buf, 1);
	ASSERT_LE(0, mem);
	EXPECT_EQ(-1, pwrite(mem, buf, sizeof(buf), (off_t)self->code));
	/* A debugger may read the code. */
	EXPECT_EQ(CH_RET_LEN, pread(mem, back, sizeof(back), (off_t)self->code));
	EXPECT_EQ(0, memcmp(back, self->bytes, CH_RET_LEN));
	close(mem);
	EXPECT_TRUE(code_ok(self->code));
}

TEST_F(wx, process_vm_writev)
{
	unsigned char buf[CH_RET_LEN], back[CH_RET_LEN];
	struct iovec local = { buf, sizeof(buf) };
	struct iovec remote = { PTR(self->code), sizeof(buf) };

	ch_code_ret(buf, 1);
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	local.iov_base = back;
	EXPECT_EQ(CH_RET_LEN,
		  process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(back, self->bytes, CH_RET_LEN));
	EXPECT_TRUE(code_ok(self->code));
}

/* ptrace pokes into the code of a traced child (which shares the pages). */
TEST_F(wx, ptrace_poke)
{
	long word, expect;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(code_ok(self->code) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, PTR(self->code), NULL);
	EXPECT_EQ(0, errno);
	memcpy(&expect, PTR(self->code), sizeof(expect));
	EXPECT_EQ(expect, word);
	EXPECT_EQ(-1, ptrace(PTRACE_POKEDATA, pid, PTR(self->code), 0xcccccccc));
	EXPECT_EQ(-1, ptrace(PTRACE_POKETEXT, pid, PTR(self->code), 0xcccccccc));

	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(code_ok(self->code));
}

/* The kernel writing into code on the process's behalf (read(), O_DIRECT). */
TEST_F(wx, kernel_writes_into_code_fail)
{
	uint64_t pagestart = self->code & ~(uint64_t)(self->page - 1);
	char path[] = "/tmp/codeheap-wx-XXXXXX";
	void *buf;
	int zero, f;

	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, zero);
	EXPECT_EQ(-1, read(zero, PTR(self->code), 64));
	EXPECT_EQ(EFAULT, errno);
	close(zero);

	/* O_DIRECT reads pin the destination with GUP for write. */
	f = mkstemp(path);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, posix_memalign(&buf, self->page, self->page));
	memset(buf, 0x90, self->page);
	ASSERT_EQ(self->page, write(f, buf, self->page));
	free(buf);
	close(f);
	f = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	unlink(path);
	if (f >= 0) {
		EXPECT_GT(0, pread(f, PTR(pagestart), self->page, 0));
		close(f);
	} else {
		TH_LOG("no O_DIRECT on /tmp (%s): read() alone tried",
		       strerror(errno));
	}
	EXPECT_TRUE(code_ok(self->code));
}

TEST_F(wx, mremap_and_partial_munmap_refused)
{
	uint64_t s, e, o;
	void *p, *target;

	ASSERT_TRUE(find_vma(self->code, &s, &e, &o));
	p = PTR(s);
	/* Grow in place, grow by moving, move, shrink. */
	EXPECT_EQ(MAP_FAILED, mremap(p, e - s, e - s + self->page, 0));
	EXPECT_EQ(MAP_FAILED, mremap(p, e - s, 2 * (e - s), MREMAP_MAYMOVE));
	target = mmap(NULL, e - s, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, target);
	EXPECT_EQ(MAP_FAILED, mremap(p, e - s, e - s,
				     MREMAP_MAYMOVE | MREMAP_FIXED, target));
	munmap(target, e - s);
	EXPECT_EQ(MAP_FAILED, mremap(p, e - s, self->page, 0));
	/* Partial munmap would split the reservation. */
	EXPECT_EQ(-1, munmap(PTR(e - self->page), self->page));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(p, self->page));
	EXPECT_TRUE(find_vma(self->code, &s, &e, &o));
	EXPECT_EQ(U64(p), s);
	EXPECT_TRUE(code_ok(self->code));
}

/* Dropped page-table entries come back through the fault handler. */
TEST_F(wx, madvise_dontneed_refaults)
{
	uint64_t s, e, o;

	ASSERT_TRUE(find_vma(self->code, &s, &e, &o));
	ASSERT_EQ(0, madvise(PTR(s), e - s, MADV_DONTNEED));
	EXPECT_TRUE(code_ok(self->code));
	EXPECT_EQ(SIGSEGV, ch_probe_write(self->code));
	EXPECT_EQ(-1, madvise(PTR(s), e - s, MADV_REMOVE));
	EXPECT_TRUE(code_ok(self->code));
}

/*
 * The owner may unmap a whole reservation: that ends it with everything in
 * it, as if each allocation were freed and the reservation released.
 */
TEST_F(wx, munmap_whole_space_ends_it)
{
	uint64_t addr, len = 64 * self->page, a, b;
	struct codeheap_stats before, during, after;
	struct codeheap_lookup l;
	unsigned char c;
	void *anon;

	ASSERT_EQ(0, ch_stats(self->fd, &before));
	ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 9, &a));
	ASSERT_EQ(0, ch_alloc_in(self->fd, 3 * self->page, 0, addr,
				 addr + len, 10, &b));
	ASSERT_EQ(0, ch_stats(self->fd, &during));
	ASSERT_EQ(0, munmap(PTR(addr), len));

	/* Its allocations are gone with it, and so is the reservation. */
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, a, &l));
	EXPECT_EQ(-ENOENT, ch_lookup(self->fd, b + self->page, &l));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, a));
	EXPECT_EQ(-ENOENT, ch_release(self->fd, addr));
	EXPECT_EQ(-ENOENT, ch_range(self->fd, CODEHEAP_IOC_COMMIT, addr,
				    self->page, 0));
	ASSERT_EQ(0, ch_stats(self->fd, &after));
	EXPECT_EQ(before.reservations, after.reservations);
	EXPECT_EQ(before.reserved_bytes, after.reserved_bytes);
	EXPECT_EQ(before.allocations, after.allocations);
	EXPECT_EQ(before.allocated_bytes, after.allocated_bytes);
	EXPECT_EQ(before.committed_bytes, after.committed_bytes);
	EXPECT_EQ(during.freed_bytes + 64 + 3 * self->page, after.freed_bytes);

	/* Whoever maps the range now owns it: the heap leaves it be. */
	anon = mmap(PTR(addr), self->page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(PTR(addr), anon);
	memset(anon, 0x11, self->page);
	EXPECT_EQ(-ENOENT, ch_free(self->fd, a));
	EXPECT_EQ(0, ch_probe_read(addr, &c));
	EXPECT_EQ(0x11, c);
	munmap(anon, self->page);
	EXPECT_TRUE(code_ok(self->code));
}

/*
 * A new reservation where an ended one was starts empty: its allocations
 * are backed, unique and hold traps; nothing of the old one shows through.
 */
TEST_F(wx, reserve_over_ended_space)
{
	uint64_t addr, len = 64 * self->page, a, b, got;
	struct codeheap_lookup l;
	unsigned char code[CH_RET_LEN];
	int i, ret;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ch_reserve(self->fd, len, 0, 0, &addr));
		ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 9,
					 &a));
		ch_code_ret(code, 1000 + i);
		ASSERT_EQ(0, ch_write1(self->fd, a, code, CH_RET_LEN));
		ASSERT_EQ(0, munmap(PTR(addr), len));

		ASSERT_EQ(0, ch_reserve(self->fd, len, addr,
					CODEHEAP_RESERVE_FIXED, &got));
		ASSERT_EQ(addr, got);
		/* Where the old allocation was, and in the page beside it. */
		ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 7,
					 &b));
		EXPECT_EQ(addr, b);
		ASSERT_EQ(0, ch_lookup(self->fd, b, &l));
		EXPECT_EQ(7, l.tag);
		EXPECT_EQ(0, ch_probe_trap(b));
		ch_code_ret(code, 2000 + i);
		ASSERT_EQ(0, ch_write1(self->fd, b, code, CH_RET_LEN));
		EXPECT_EQ(0, ch_probe_call(b, &ret));
		EXPECT_EQ(2000 + i, ret);
		ASSERT_EQ(0, ch_alloc_in(self->fd, 64, 0, addr, addr + len, 8,
					 &b));
		EXPECT_EQ(addr + 64, b);
		EXPECT_EQ(0, ch_probe_read(b, NULL));
		ASSERT_EQ(0, ch_lookup(self->fd, b, &l));
		EXPECT_EQ(8, l.tag);
		EXPECT_EQ(0, ch_free(self->fd, addr));
		EXPECT_EQ(0, ch_free(self->fd, b));
		EXPECT_EQ(0, ch_release(self->fd, addr));
	}
	EXPECT_TRUE(code_ok(self->code));
}

/* A process that promised never to gain exec from write still has a JIT. */
TEST_F(wx, works_under_mdwe)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char code[CH_RET_LEN];
		uint64_t a;
		int fd, ret;

		if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0))
			_exit(errno == EINVAL ? 4 : 3);
		/* MDWE itself: an anonymous RWX mapping is refused. */
		if (mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
			_exit(5);
		fd = open(CODEHEAP_DEV, O_RDWR);
		if (fd < 0 || ch_alloc(fd, 64, 0, &a))
			_exit(6);
		ch_code_ret(code, 31);
		if (ch_write1(fd, a, code, CH_RET_LEN) || ch_probe_call(a, &ret) ||
		    ret != 31)
			_exit(7);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "PR_SET_MDWE needs Linux 6.3");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
