// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints (Documentation/observability.rst): each command's event,
 * enabled through tracefs in an instance of its own, records the command
 * that succeeded with the values user space got back; every failing
 * command records its error and nothing else; disabled, nothing records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

/* tracefs, mounted where the kernel puts it (or mounted here). */
static const char *tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!stat(dirs[i], &st) && S_ISDIR(st.st_mode)) {
			char p[256];

			snprintf(p, sizeof(p), "%s/instances", dirs[i]);
			if (!stat(p, &st))
				return dirs[i];
		}
	if (!mount("nodev", dirs[0], "tracefs", 0, NULL))
		return dirs[0];
	return NULL;
}

FIXTURE(trace) {
	char dir[256];		/* the test's own trace instance */
	int fd;
	uint64_t page;
	uint64_t base;		/* a reservation of 64 pages */
	unsigned long long id;
};

static int set(FIXTURE_DATA(trace) *self, const char *file, const char *val)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", self->dir, file);
	return ch_write_file(p, val);
}

/*
 * The codeheap lines of the instance's buffer since the last call, in
 * @out (one per line, the "codeheap_" event name onwards); then the
 * buffer is cleared.  Returns the number of lines.
 */
static int take(FIXTURE_DATA(trace) *self, char *out, size_t size)
{
	char p[512], line[1024], *ev;
	size_t used = 0;
	int n = 0;
	FILE *f;

	out[0] = 0;
	snprintf(p, sizeof(p), "%s/trace", self->dir);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		ev = strstr(line, "codeheap_");
		if (!ev)
			continue;
		used += snprintf(out + used, size - used, "%s", ev);
		if (used >= size)
			break;
		n++;
	}
	fclose(f);
	/* Opening "trace" for writing with O_TRUNC clears the buffer. */
	close(open(p, O_WRONLY | O_TRUNC));
	return n;
}

FIXTURE_SETUP(trace)
{
	const char *root;
	uint64_t addr;

	if (geteuid())
		SKIP(return, "tracefs needs root");
	root = tracefs();
	if (!root)
		SKIP(return, "no tracefs");
	snprintf(self->dir, sizeof(self->dir), "%s/instances/codeheap_test_%d",
		 root, getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0700));
	/* The module's events exist, all of them under one system. */
	ASSERT_EQ(0, set(self, "events/codeheap/enable", "1"));
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->page = ch_page();
	ASSERT_EQ(0, ch_reserve(self->fd, 64 * self->page, 0, 0, &addr));
	self->base = addr;
	self->id = ch_heap_id(self->fd);
	ASSERT_NE(0, self->id);
}

FIXTURE_TEARDOWN(trace)
{
	if (!self->dir[0])
		return;
	set(self, "events/codeheap/enable", "0");
	if (self->fd >= 0)
		close(self->fd);
	rmdir(self->dir);
}

#define EXPECT_TRACE(self, fmt, ...) do {				\
	char got[4096], want[512];					\
									\
	snprintf(want, sizeof(want), fmt "\n", ##__VA_ARGS__);		\
	EXPECT_EQ(1, take(self, got, sizeof(got)));			\
	EXPECT_STREQ(want, got);					\
} while (0)

/* Each command that changes the heap records itself, fields and values. */
TEST_F(trace, each_command_records_its_event)
{
	uint64_t p = self->page, a, b, r;
	unsigned char code[128];
	struct codeheap_write_entry e[2];
	struct codeheap_jt_create c;
	struct codeheap_jt_patch_entry pe[3];
	struct codeheap_jt_patch jp = { .size = sizeof(jp) };
	struct codeheap_jt_destroy jd = { .size = sizeof(jd) };
	int i;

	take(self, (char[64]){}, 64);
	ASSERT_EQ(0, ch_reserve(self->fd, 16 * p, 0, 0, &r));
	EXPECT_TRACE(self, "codeheap_reserve: heap=%llu addr=0x%llx len=0x%llx flags=0x0",
		     self->id, (unsigned long long)r, (unsigned long long)(16 * p));

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_COMMIT, r, 2 * p, 0));
	EXPECT_TRACE(self, "codeheap_commit: heap=%llu addr=0x%llx len=0x%llx prot=0x0",
		     self->id, (unsigned long long)r, (unsigned long long)(2 * p));

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, r + p, p, 0));
	EXPECT_TRACE(self, "codeheap_protect: heap=%llu addr=0x%llx len=0x%llx prot=0x0",
		     self->id, (unsigned long long)(r + p), (unsigned long long)p);
	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_PROTECT, r + p, p,
			      PROT_READ | PROT_EXEC));
	EXPECT_TRACE(self, "codeheap_protect: heap=%llu addr=0x%llx len=0x%llx prot=0x5",
		     self->id, (unsigned long long)(r + p), (unsigned long long)p);

	ASSERT_EQ(0, ch_range(self->fd, CODEHEAP_IOC_DECOMMIT, r, 2 * p, 0));
	EXPECT_TRACE(self, "codeheap_decommit: heap=%llu addr=0x%llx len=0x%llx prot=0x0",
		     self->id, (unsigned long long)r, (unsigned long long)(2 * p));

	ASSERT_EQ(0, ch_release(self->fd, r));
	EXPECT_TRACE(self, "codeheap_release: heap=%llu addr=0x%llx",
		     self->id, (unsigned long long)r);

	ASSERT_EQ(0, ch_alloc(self->fd, 100, 0x7e57, &a));
	EXPECT_TRACE(self, "codeheap_alloc: heap=%llu addr=0x%llx len=0x64 tag=0x7e57",
		     self->id, (unsigned long long)a);
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &b));
	take(self, (char[4096]){}, 4096);

	/* One event per batch: its entries and their bytes in all. */
	ch_fill_trap(code, sizeof(code));
	e[0] = (struct codeheap_write_entry){ a, U64(code), 100 };
	e[1] = (struct codeheap_write_entry){ b, U64(code), 60 };
	ASSERT_EQ(0, ch_write(self->fd, e, 2));
	EXPECT_TRACE(self, "codeheap_write: heap=%llu count=2 bytes=160", self->id);
	ASSERT_EQ(0, ch_write(self->fd, e, 1));
	EXPECT_TRACE(self, "codeheap_write: heap=%llu count=1 bytes=100", self->id);

	ASSERT_EQ(0, ch_seal(self->fd, a));
	EXPECT_TRACE(self, "codeheap_seal: heap=%llu addr=0x%llx",
		     self->id, (unsigned long long)a);

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.nr_slots = 5;
	c.default_target = b;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_JT_CREATE, &c));
	EXPECT_TRACE(self, "codeheap_jt_create: heap=%llu id=%u nr_slots=5 slot_size=%u base=0x%llx",
		     self->id, c.id, c.slot_size, (unsigned long long)c.base);

	for (i = 0; i < 3; i++)
		pe[i] = (struct codeheap_jt_patch_entry){ .slot = i, .target = a };
	jp.id = c.id;
	jp.count = 3;
	jp.entries = U64(pe);
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_JT_PATCH, &jp));
	EXPECT_TRACE(self, "codeheap_jt_patch: heap=%llu id=%u count=3", self->id, c.id);

	jd.id = c.id;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_JT_DESTROY, &jd));
	EXPECT_TRACE(self, "codeheap_jt_destroy: heap=%llu id=%u", self->id, c.id);

	ASSERT_EQ(0, ch_free(self->fd, b));
	EXPECT_TRACE(self, "codeheap_free: heap=%llu addr=0x%llx",
		     self->id, (unsigned long long)b);
}

/*
 * Every command, given a struct smaller than its first version, fails
 * with -EINVAL and records that error under its name, and nothing else;
 * so does a number the module does not know, with -ENOTTY.
 */
TEST_F(trace, every_error_records_command_and_errno)
{
	static const char *const names[] = {
		"VERSION", "RESERVE", "RELEASE", "COMMIT", "DECOMMIT",
		"PROTECT", "SEAL", "ALLOC", "FREE", "LOOKUP", "WRITE", "STATS",
		"JT_CREATE", "JT_PATCH", "JT_QUERY", "JT_DESTROY",
	};
	uint64_t arg[16] = { 4 };
	unsigned int nr;

	take(self, (char[64]){}, 64);
	for (nr = 0; nr < sizeof(names) / sizeof(names[0]); nr++) {
		EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, _IO(CODEHEAP_TYPE, nr), arg));
		EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=%s err=%d",
			     self->id, names[nr], -EINVAL);
	}
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, _IO(CODEHEAP_TYPE, nr), arg));
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=0x%x err=%d",
		     self->id, _IO(CODEHEAP_TYPE, nr), -ENOTTY);
	/* A known number with size bits is not the command. */
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, _IOW(CODEHEAP_TYPE, 7, uint64_t),
				    arg));
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=0x%x err=%d",
		     self->id, (unsigned int)_IOW(CODEHEAP_TYPE, 7, uint64_t),
		     -ENOTTY);
}

/*
 * The error event's format names no enum: tools that parse the formats
 * (libtraceevent) resolve its command names from numbers alone.
 */
TEST_F(trace, error_format_has_only_numbers)
{
	char p[512], line[4096];
	int print_fmt = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/events/codeheap/codeheap_error/format",
		 self->dir);
	f = fopen(p, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "print fmt:", 10))
			print_fmt = 1;
		EXPECT_EQ(NULL, strstr(line, "CODEHEAP_CMD_"));
	}
	fclose(f);
	EXPECT_EQ(1, print_fmt);
}

/* A command's own failure (not only the argument's): no success event. */
TEST_F(trace, failed_command_records_only_its_error)
{
	struct codeheap_alloc *ro;

	take(self, (char[64]){}, 64);
	EXPECT_EQ(-ENOENT, ch_free(self->fd, self->base + 16));
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=FREE err=%d",
		     self->id, -ENOENT);
	EXPECT_EQ(-EINVAL, ch_alloc(self->fd, 0, 0, NULL));
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=ALLOC err=%d",
		     self->id, -EINVAL);

	/* An answer that cannot be written: no allocation, only -EFAULT. */
	ro = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	*ro = (struct codeheap_alloc){ .size = sizeof(*ro), .len = 64 };
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_ALLOC, ro));
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=ALLOC err=%d",
		     self->id, -EFAULT);
	munmap(ro, self->page);
}

/*
 * A forked child shares the heap (its fdinfo names the same id) but is
 * not its owner: its -EPERM is traced under the parent's heap.
 */
TEST_F(trace, non_owner_error_names_the_heap)
{
	int status;
	pid_t pid;

	take(self, (char[64]){}, 64);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(ch_heap_id(self->fd) == self->id &&
		      ch_alloc(self->fd, 64, 0, NULL) == -EPERM ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_TRACE(self, "codeheap_error: heap=%llu cmd=ALLOC err=%d",
		     self->id, -EPERM);
}

/* Two heaps, two ids; each event names its own. */
TEST_F(trace, each_heap_has_its_own_id)
{
	int fd2 = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	unsigned long long id2;
	uint64_t r;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ch_reserve(fd2, 16 * self->page, 0, 0, &r));
	id2 = ch_heap_id(fd2);
	/* Ids count the heaps made: a later heap's is larger. */
	EXPECT_LT(self->id, id2);
	take(self, (char[64]){}, 64);
	ASSERT_EQ(0, ch_release(fd2, r));
	EXPECT_TRACE(self, "codeheap_release: heap=%llu addr=0x%llx", id2,
		     (unsigned long long)r);
	close(fd2);
}

/* Disabled, the events record nothing. */
TEST_F(trace, disabled_records_nothing)
{
	char got[4096];
	uint64_t a;

	ASSERT_EQ(0, set(self, "events/codeheap/enable", "0"));
	take(self, got, sizeof(got));
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &a));
	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_EQ(-ENOENT, ch_free(self->fd, a));
	EXPECT_EQ(0, take(self, got, sizeof(got)));
	/* And they come back when enabled again. */
	ASSERT_EQ(0, set(self, "events/codeheap/codeheap_free/enable", "1"));
	ASSERT_EQ(0, ch_alloc(self->fd, 64, 0, &a));
	ASSERT_EQ(0, ch_free(self->fd, a));
	EXPECT_TRACE(self, "codeheap_free: heap=%llu addr=0x%llx", self->id,
		     (unsigned long long)a);
}

TEST_HARNESS_MAIN
