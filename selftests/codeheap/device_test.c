// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/codeheap: open and close, heaps per open, CODEHEAP_IOC_VERSION with
 * every error path, unknown commands, fork, and the module parameters.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

/* The first published size of struct codeheap_version. */
#define VERSION_V1_SIZE 72

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", CODEHEAP_DEV,
				      strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST(open_close)
{
	struct codeheap_version v;
	int fd, i;

	/* Many heaps created and destroyed in a row: nothing accumulates. */
	for (i = 0; i < 256; i++) {
		fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ch_version(fd, &v));
		ASSERT_EQ(0, close(fd));
	}
	/* A read-only open is a heap too: mappings are read+exec only. */
	fd = open(CODEHEAP_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ch_version(fd, &v));
	ASSERT_EQ(0, close(fd));
}

TEST(two_heaps_one_process)
{
	struct codeheap_version v;
	int a, b;

	a = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	b = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_NE(a, b);
	ASSERT_EQ(0, ch_version(a, &v));
	ASSERT_EQ(0, ch_version(b, &v));
	/* Closing one heap leaves the other one working. */
	ASSERT_EQ(0, close(a));
	ASSERT_EQ(0, ch_version(b, &v));
	ASSERT_EQ(0, close(b));
}

TEST_F(dev, not_a_data_channel)
{
	char c = 0;

	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, read(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, version_round_trip)
{
	struct codeheap_version v;

	memset(&v, 0xa5, sizeof(v));
	v.size = sizeof(v);
	v.flags = 0;
	v.__reserved = 0;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v));

	EXPECT_EQ(VERSION_V1_SIZE + 8, sizeof(v));
	EXPECT_EQ(sizeof(v), v.size);
	EXPECT_EQ(0, v.flags);
	EXPECT_EQ(0, v.__reserved);
	EXPECT_EQ(CODEHEAP_API_VERSION, v.api_version);
#if defined(__x86_64__) || defined(__i386__)
	/* A 32-bit x86 process on an x86-64 kernel gets x86-64 code. */
	EXPECT_EQ(CODEHEAP_ARCH_X86_64, v.arch);
	EXPECT_EQ(64, v.code_align);
	EXPECT_EQ(8, v.jt_near_slot_size);
	EXPECT_EQ(16, v.jt_far_slot_size);
#elif defined(__aarch64__)
	EXPECT_EQ(CODEHEAP_ARCH_ARM64, v.arch);
	EXPECT_EQ(32, v.code_align);
	EXPECT_EQ(4, v.jt_near_slot_size);
	EXPECT_EQ(16, v.jt_far_slot_size);
#endif
	EXPECT_EQ(0, v.features);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), v.page_size);
	EXPECT_EQ(ch_param_read("max_reservation_size"), v.max_reservation_size);
	EXPECT_EQ(ch_param_read("max_heap_committed"), v.max_heap_committed);
	EXPECT_EQ(ch_param_read("max_total_committed"), v.max_total_committed);
	EXPECT_EQ(ch_param_read("max_user_committed"), v.max_user_committed);
	EXPECT_EQ(ch_param_read("max_batch"), v.max_batch);
}

/* The limits VERSION reports are the ones in force, not a copy from load. */
TEST_F(dev, version_follows_parameters)
{
	long long old_batch = ch_param_read("max_batch");
	long long old_heap = ch_param_read("max_heap_committed");
	struct codeheap_version v;
	char buf[32];

	ASSERT_LT(0, old_batch);
	ASSERT_LT(0, old_heap);
	ASSERT_EQ(0, ch_param_write("max_batch", "77"));
	ASSERT_EQ(0, ch_param_write("max_heap_committed", "1048576"));
	EXPECT_EQ(0, ch_version(self->fd, &v));
	EXPECT_EQ(77, v.max_batch);
	EXPECT_EQ(1048576, v.max_heap_committed);

	snprintf(buf, sizeof(buf), "%lld", old_batch);
	ASSERT_EQ(0, ch_param_write("max_batch", buf));
	snprintf(buf, sizeof(buf), "%lld", old_heap);
	ASSERT_EQ(0, ch_param_write("max_heap_committed", buf));
	EXPECT_EQ(0, ch_version(self->fd, &v));
	EXPECT_EQ(old_batch, v.max_batch);
	EXPECT_EQ(old_heap, v.max_heap_committed);
}

/*
 * Bad parameter values are refused and leave the value in force.  kstrto*()
 * says ERANGE for a number too big for the type, EINVAL for the rest.
 */
TEST(parameters_reject_bad_values)
{
	static const char * const bytes_params[] = {
		"max_reservation_size", "max_heap_committed",
		"max_total_committed", "max_user_committed",
	};
	static const char * const bad_bytes[] = {
		"0", "4097", "-4096", "abc", "4096x",
		"99999999999999999999999",
	};
	static const char * const bad_batch[] = {
		"0", "65537", "-1", "abc", "4294967297",
	};
	long long before;
	unsigned int i, j;

	for (i = 0; i < sizeof(bytes_params) / sizeof(bytes_params[0]); i++) {
		before = ch_param_read(bytes_params[i]);
		ASSERT_LT(0, before);
		for (j = 0; j < sizeof(bad_bytes) / sizeof(bad_bytes[0]); j++) {
			int ret = ch_param_write(bytes_params[i], bad_bytes[j]);

			EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE)
				TH_LOG("%s=\"%s\": %d", bytes_params[i],
				       bad_bytes[j], ret);
			EXPECT_EQ(before, ch_param_read(bytes_params[i]));
		}
	}
	before = ch_param_read("max_batch");
	ASSERT_LT(0, before);
	for (j = 0; j < sizeof(bad_batch) / sizeof(bad_batch[0]); j++) {
		int ret = ch_param_write("max_batch", bad_batch[j]);

		EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE)
			TH_LOG("max_batch=\"%s\": %d", bad_batch[j], ret);
		EXPECT_EQ(before, ch_param_read("max_batch"));
	}
}

/* Every failing VERSION leaves the caller's struct exactly as it was. */
static void fill(void *p, size_t n)
{
	memset(p, 0x5a, n);
}

static int untouched(const void *p, size_t from, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = from; i < n; i++)
		if (c[i] != 0x5a)
			return 0;
	return 1;
}

TEST_F(dev, version_size_too_small)
{
	static const uint32_t sizes[] = { 0, 4, 8, VERSION_V1_SIZE - 8,
					  VERSION_V1_SIZE - 1 };
	struct codeheap_version v;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(&v, sizeof(v));
		v.size = sizes[i];
		v.flags = 0;
		v.__reserved = 0;
		EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v))
			TH_LOG("size %u", sizes[i]);
		EXPECT_TRUE(untouched(&v, offsetof(struct codeheap_version,
						   api_version),
				      offsetof(struct codeheap_version,
					       __reserved)));
	}
}

TEST_F(dev, version_size_larger_zero_tail)
{
	struct {
		struct codeheap_version v;
		uint64_t future[4];
	} big;

	memset(&big, 0, sizeof(big));
	big.v.size = sizeof(big);
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &big));
	EXPECT_EQ(CODEHEAP_API_VERSION, big.v.api_version);
	EXPECT_EQ(sizeof(big), big.v.size);
	/* Bytes the kernel does not know stay as the caller left them. */
	EXPECT_EQ(0, big.future[0]);
	EXPECT_EQ(0, big.future[3]);
}

TEST_F(dev, version_size_larger_nonzero_tail)
{
	struct {
		struct codeheap_version v;
		uint64_t future[4];
	} big;

	fill(&big, sizeof(big));
	big.v.size = sizeof(big);
	big.v.flags = 0;
	big.v.__reserved = 0;
	memset(big.future, 0, sizeof(big.future));
	big.future[3] = 1;
	EXPECT_EQ(-E2BIG, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &big));
	EXPECT_TRUE(untouched(&big.v, offsetof(struct codeheap_version,
					       api_version),
			      offsetof(struct codeheap_version, __reserved)));
}

TEST_F(dev, version_flags_nonzero)
{
	struct codeheap_version v;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		fill(&v, sizeof(v));
		v.size = sizeof(v);
		v.flags = 1u << bit;
		v.__reserved = 0;
		EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v))
			TH_LOG("flag bit %u", bit);
		EXPECT_TRUE(untouched(&v, offsetof(struct codeheap_version,
						   api_version),
				      offsetof(struct codeheap_version,
					       __reserved)));
	}
}

TEST_F(dev, version_reserved_nonzero)
{
	struct codeheap_version v;

	fill(&v, sizeof(v));
	v.size = sizeof(v);
	v.flags = 0;
	v.__reserved = 0x80000000u;
	EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v));
	EXPECT_TRUE(untouched(&v, offsetof(struct codeheap_version,
					   api_version),
			      offsetof(struct codeheap_version, __reserved)));
}

TEST_F(dev, version_bad_pointer)
{
	long page = sysconf(_SC_PAGESIZE);
	struct codeheap_version *v;
	char *map;

	/* NULL and a kernel address. */
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, NULL));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION,
				    (void *)(uintptr_t)-4096));

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);

	/* An inaccessible page. */
	ASSERT_EQ(0, mprotect(map, page, PROT_NONE));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, map));

	/* Readable but not writable: the input is fine, the output faults. */
	ASSERT_EQ(0, mprotect(map, page, PROT_READ | PROT_WRITE));
	v = (struct codeheap_version *)map;
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, v));

	/* The size field is readable, the struct runs into a hole. */
	ASSERT_EQ(0, mprotect(map, page, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	v = (struct codeheap_version *)(map + page - 16);
	memset(v, 0, 16);
	v->size = sizeof(*v);
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, v));

	/* A larger struct whose zero-checked tail runs into the hole. */
	v = (struct codeheap_version *)(map + page - sizeof(*v));
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v) + 64;
	EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, v));

	munmap(map, 2 * page);
}

TEST_F(dev, unknown_commands)
{
	struct codeheap_version v;

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	/* Unused numbers of our type. */
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, _IO(CODEHEAP_TYPE, 0x1f), &v));
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, _IO(CODEHEAP_TYPE, 0xff), &v));
	/* VERSION's number with another type, direction or size. */
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, _IO(0xAB, CODEHEAP_CMD_VERSION),
				    &v));
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd,
				    _IOWR(CODEHEAP_TYPE, CODEHEAP_CMD_VERSION,
					  struct codeheap_version), &v));
	/* A terminal ioctl. */
	EXPECT_EQ(-ENOTTY, ch_ioctl(self->fd, TCGETS, &v));
}

/* A program built before max_user_committed gets the fields it knows. */
TEST_F(dev, version_first_size_gets_first_fields)
{
	struct codeheap_version v;

	memset(&v, 0xa5, sizeof(v));
	v.size = VERSION_V1_SIZE;
	v.flags = 0;
	v.__reserved = 0;
	ASSERT_EQ(0, ch_ioctl(self->fd, CODEHEAP_IOC_VERSION, &v));
	EXPECT_EQ(ch_param_read("max_batch"), v.max_batch);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, v.max_user_committed);
}

/*
 * The size-first convention holds for every command: a struct smaller than
 * its first version is EINVAL, a larger one with a non-zero tail E2BIG,
 * and an unreadable one EFAULT, before the command does anything.
 */
TEST_F(dev, every_command_checks_size)
{
	static const struct { unsigned long cmd; uint32_t v1; } cmds[] = {
		{ CODEHEAP_IOC_VERSION, VERSION_V1_SIZE },
		{ CODEHEAP_IOC_RESERVE, sizeof(struct codeheap_reserve) },
		{ CODEHEAP_IOC_RELEASE, sizeof(struct codeheap_release) },
		{ CODEHEAP_IOC_COMMIT, sizeof(struct codeheap_range) },
		{ CODEHEAP_IOC_DECOMMIT, sizeof(struct codeheap_range) },
		{ CODEHEAP_IOC_PROTECT, sizeof(struct codeheap_range) },
		{ CODEHEAP_IOC_SEAL, sizeof(struct codeheap_addr) },
		{ CODEHEAP_IOC_ALLOC, sizeof(struct codeheap_alloc) },
		{ CODEHEAP_IOC_FREE, sizeof(struct codeheap_addr) },
		{ CODEHEAP_IOC_LOOKUP, sizeof(struct codeheap_lookup) },
		{ CODEHEAP_IOC_WRITE, sizeof(struct codeheap_write) },
		{ CODEHEAP_IOC_STATS, sizeof(struct codeheap_stats) },
		{ CODEHEAP_IOC_JT_CREATE, sizeof(struct codeheap_jt_create) },
		{ CODEHEAP_IOC_JT_PATCH, sizeof(struct codeheap_jt_patch) },
		{ CODEHEAP_IOC_JT_QUERY, sizeof(struct codeheap_jt_query) },
		{ CODEHEAP_IOC_JT_DESTROY, sizeof(struct codeheap_jt_destroy) },
	};
	uint64_t buf[64];
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		uint32_t *size = (uint32_t *)buf;

		memset(buf, 0, sizeof(buf));
		*size = cmds[i].v1 - 4;
		EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, cmds[i].cmd, buf))
			TH_LOG("command %#lx", cmds[i].cmd);
		*size = 0;
		EXPECT_EQ(-EINVAL, ch_ioctl(self->fd, cmds[i].cmd, buf));
		*size = sizeof(buf);
		buf[63] = 1;
		EXPECT_EQ(-E2BIG, ch_ioctl(self->fd, cmds[i].cmd, buf))
			TH_LOG("command %#lx", cmds[i].cmd);
		EXPECT_EQ(-EFAULT, ch_ioctl(self->fd, cmds[i].cmd, NULL));
	}
}

/* A child holding the inherited fd can still ask VERSION. */
TEST_F(dev, version_after_fork)
{
	struct codeheap_version parent, child_v;
	int status;
	pid_t pid;

	ASSERT_EQ(0, ch_version(self->fd, &parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ch_version(self->fd, &child_v))
			_exit(1);
		_exit(memcmp(&parent, &child_v, sizeof(parent)) ? 2 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* And the parent's heap outlives the child's copy of the fd. */
	EXPECT_EQ(0, ch_version(self->fd, &parent));
}

TEST_HARNESS_MAIN
