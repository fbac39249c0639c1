// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs view (Documentation/observability.rst): /sys/kernel/debug/
 * codeheap/heaps agrees with each heap's STATS, <id>/blocks lists its
 * allocations as LOOKUP sees them, both are root's only, a heap leaves
 * the view when it ends, and reading both in a loop while other heaps
 * come and go is safe (the debug kernel's KASAN and lockdep watch it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

#define DEBUGFS "/sys/kernel/debug/codeheap/"

/* @id's blocks file, in @path of @size bytes. */
static char *blocks_path(char *path, size_t size, unsigned long long id)
{
	snprintf(path, size, DEBUGFS "%llu/blocks", id);
	return path;
}

struct heap_line {
	unsigned long long id;
	int pid;
	unsigned int reservations, allocations, jump_tables;
	unsigned long long reserved, committed, allocated;
	unsigned long long peak_committed, peak_allocated;
	char comm[64];
};

/* Heap @id's line of the heaps file: 1 found, 0 not listed, -errno. */
static int find_heap(unsigned long long id, struct heap_line *out)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(DEBUGFS "heaps", "r");

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		struct heap_line h;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%llu %d %u %llu %llu %llu %u %u %llu %llu %63[^\n]",
			   &h.id, &h.pid, &h.reservations, &h.reserved,
			   &h.committed, &h.allocated, &h.allocations,
			   &h.jump_tables, &h.peak_committed,
			   &h.peak_allocated, h.comm) != 11) {
			fclose(f);
			return -EBADMSG;
		}
		if (h.id == id) {
			*out = h;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

FIXTURE(debugfs) {
	int fd;
	uint64_t page;
	unsigned long long id;
};

FIXTURE_SETUP(debugfs)
{
	struct stat st;

	self->fd = -1;
	if (geteuid())
		SKIP(return, "debugfs is root's");
	if (stat(DEBUGFS "heaps", &st))
		SKIP(return, "no debugfs");
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->page = ch_page();
	self->id = ch_heap_id(self->fd);
	ASSERT_NE(0, self->id);
}

FIXTURE_TEARDOWN(debugfs)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The heap's line is its STATS, its opener's pid and comm. */
TEST_F(debugfs, heaps_line_is_the_heaps_stats)
{
	struct codeheap_jt_create c = { .size = sizeof(c), .nr_slots = 4 };
	struct codeheap_stats st;
	struct heap_line h;
	char comm[64] = "";
	uint64_t r, a, b;
	FILE *f;

	ASSERT_EQ(1, find_heap(self->id, &h));
	EXPECT_EQ(0, h.reservations);
	EXPECT_EQ(0, h.allocations);

	ASSERT_EQ(0, ch_reserve(self->fd, 16 * self->page, 0, 0, &r));
	ASSERT_EQ(0, ch_alloc(self->fd, 100, 1, &a));
	ASSERT_EQ(0, ch_alloc(self->fd, 300, 2, &b));
	ASSERT_EQ(0, ch_free(self->fd, a));
	c.default_target = b;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_JT_CREATE, &c));
	ASSERT_EQ(0, ch_stats(self->fd, &st));
	ASSERT_EQ(1, find_heap(self->id, &h));
	EXPECT_EQ(getpid(), h.pid);
	EXPECT_EQ(st.reservations, h.reservations);
	EXPECT_EQ(st.reserved_bytes, h.reserved);
	EXPECT_EQ(st.committed_bytes, h.committed);
	EXPECT_EQ(st.allocated_bytes, h.allocated);
	EXPECT_EQ(st.allocations, h.allocations);
	EXPECT_EQ(st.jump_tables, h.jump_tables);
	EXPECT_EQ(st.peak_committed_bytes, h.peak_committed);
	EXPECT_EQ(st.peak_allocated_bytes, h.peak_allocated);
	EXPECT_EQ(1, st.jump_tables);
	f = fopen("/proc/self/comm", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	EXPECT_STREQ(comm, h.comm);
}

/* blocks: every allocation, lowest first, as LOOKUP describes it. */
TEST_F(debugfs, blocks_are_the_allocations)
{
	struct codeheap_jt_create c = { .size = sizeof(c), .nr_slots = 4 };
	unsigned long long start, len, tag;
	unsigned int sealed, table, n = 0;
	uint64_t r, a[3], prev = 0;
	struct codeheap_lookup l;
	char path[128], line[256];
	int i, tables = 0;
	FILE *f;

	ASSERT_EQ(0, ch_reserve(self->fd, 16 * self->page, 0, 0, &r));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ch_alloc(self->fd, 64 * (i + 1), 0x100 + i, &a[i]));
	ASSERT_EQ(0, ch_seal(self->fd, a[1]));
	c.default_target = a[0];
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_JT_CREATE, &c));

	f = fopen(blocks_path(path, sizeof(path), self->id), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		ASSERT_EQ(5, sscanf(line, "%llx %llu %llx %u %u", &start, &len,
				    &tag, &sealed, &table));
		EXPECT_LT(prev, start);
		prev = start;
		ASSERT_EQ(0, ch_lookup(self->fd, start, &l));
		EXPECT_EQ(l.start, start);
		EXPECT_EQ(l.len, len);
		EXPECT_EQ(l.tag, tag);
		EXPECT_EQ(!!(l.alloc_flags & CODEHEAP_LOOKUP_SEALED), sealed);
		EXPECT_EQ(!!(l.alloc_flags & CODEHEAP_LOOKUP_JUMP_TABLE),
			  table != 0);
		if (table) {
			EXPECT_EQ(c.id, table);
			tables++;
		}
		n++;
	}
	fclose(f);
	EXPECT_EQ(4, n);
	EXPECT_EQ(1, tables);
}

/*
 * More allocations than one page of output holds: the list, cut where
 * seq_file's buffer fills and started again in a bigger one, comes out
 * whole, each allocation once.
 */
TEST_F(debugfs, long_blocks_list_is_whole)
{
	unsigned long long start, prev = 0;
	char path[128], line[256];
	unsigned int n = 0;
	uint64_t r, a;
	FILE *f;
	int i;

	ASSERT_EQ(0, ch_reserve(self->fd, 64 * self->page, 0, 0, &r));
	for (i = 0; i < 2000; i++)
		ASSERT_EQ(0, ch_alloc(self->fd, 64, i, &a));
	f = fopen(blocks_path(path, sizeof(path), self->id), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		ASSERT_EQ(1, sscanf(line, "%llx", &start));
		EXPECT_LT(prev, start);
		prev = start;
		n++;
	}
	fclose(f);
	EXPECT_EQ(2000, n);
}

/* Root's only: an unprivileged reader is refused both files. */
TEST_F(debugfs, root_only)
{
	char path[128];
	struct stat st;
	int status;
	pid_t pid;

	blocks_path(path, sizeof(path), self->id);
	ASSERT_EQ(0, stat(DEBUGFS "heaps", &st));
	EXPECT_EQ(0400, st.st_mode & 07777);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0400, st.st_mode & 07777);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(DEBUGFS "heaps", O_RDONLY) < 0 && errno == EACCES &&
		      open(path, O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
}

/* A heap that ends leaves the view, its directory with it. */
TEST_F(debugfs, ended_heap_leaves)
{
	int fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	unsigned long long id = ch_heap_id(fd);
	struct heap_line h;
	char path[128];
	struct stat st;

	ASSERT_LE(0, fd);
	blocks_path(path, sizeof(path), id);
	ASSERT_EQ(1, find_heap(id, &h));
	ASSERT_EQ(0, stat(path, &st));
	close(fd);
	EXPECT_EQ(0, find_heap(id, &h));
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ENOENT, errno);
	/* The fixture's heap is still there. */
	EXPECT_EQ(1, find_heap(self->id, &h));
}

/* Read one heap's blocks: 0, or -errno if it could not be opened. */
static int read_blocks(unsigned long long id)
{
	char path[128], buf[4096];
	int fd, ret = 0;

	blocks_path(path, sizeof(path), id);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		;
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Heaps made and ended in a loop by a child (allocations in each, a
 * reservation ended by munmap, the fd closed) while this process reads
 * the list and every listed heap's blocks: every read succeeds (or the
 * heap is gone before its file opens, ENOENT, or after, EIO: debugfs
 * fails the calls of an open file that was removed), and when the child is done
 * none of its heaps is left.
 */
TEST_F(debugfs, reads_race_heaps_ending)
{
	int rounds = 0, opened = 0, gone = 0, status, p[2];
	unsigned long long ids[64], last = 0;
	struct heap_line h;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		for (int i = 0; i < 300; i++) {
			int fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
			uint64_t r, a;

			if (fd < 0 || ch_reserve(fd, 16 * self->page, 0, 0, &r))
				_exit(1);
			for (int k = 0; k < 3; k++)
				if (ch_alloc(fd, 64, k, &a))
					_exit(1);
			if (i < 64 && write(p[1], &(unsigned long long){ ch_heap_id(fd) },
					    sizeof(unsigned long)) < 0)
				_exit(1);
			munmap(PTR(r), 16 * self->page);
			close(fd);
		}
		_exit(0);
	}
	close(p[1]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		char line[512];
		FILE *f = fopen(DEBUGFS "heaps", "r");

		ASSERT_NE(NULL, f);
		while (fgets(line, sizeof(line), f)) {
			unsigned long long id;
			int ret;

			if (line[0] == '#' || sscanf(line, "%llu", &id) != 1)
				continue;
			ret = read_blocks(id);
			/* Removed before the open, or between open and read. */
			if (ret == -ENOENT || ret == -EIO) {
				gone++;
				continue;
			}
			EXPECT_EQ(0, ret);
			opened++;
		}
		fclose(f);
		rounds++;
	}
	EXPECT_EQ(0, status);
	/* The first 64 heaps the child made: none is listed any more. */
	for (int n = 0; n < 64 &&
	     read(p[0], &ids[n], sizeof(ids[n])) == sizeof(ids[n]); n++) {
		EXPECT_EQ(0, find_heap(ids[n], &h));
		last = ids[n];
	}
	close(p[0]);
	EXPECT_NE(0, last);
	TH_LOG("%d rounds, %d blocks files read, %d gone before they opened",
	       rounds, opened, gone);
	EXPECT_LT(1, rounds);
}

TEST_HARNESS_MAIN
