// SPDX-License-Identifier: GPL-2.0
/*
 * An AArch32 process on an arm64 kernel.  The heap's trap fill and jump
 * slots are A64 code, which an AArch32 task would run as stores, so the
 * device refuses such tasks (Documentation/arm64.rst, "AArch32 tasks"):
 * open() is ENODEV and creates no heap, and a codeheap fd the task
 * inherits from a 64-bit process answers no ioctl (ENOTTY).
 *
 * Built with arm-linux-gnueabihf-gcc and run in the arm64 guest by
 * tools/vm/run --arch arm64 (the Makefile's TEST_GEN_PROGS do not hold it:
 * it is no test for an x86 or AArch64 build).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/codeheap.h>

#include "kselftest_harness.h"

#define DEV "/dev/codeheap"
#define HEAPS "/sys/class/misc/codeheap/heaps"

/* The number of heaps in the system, or -1. */
static long heaps(void)
{
	char buf[32] = "";
	long n = -1;
	FILE *f = fopen(HEAPS, "r");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			n = strtol(buf, NULL, 10);
		fclose(f);
	}
	return n;
}

TEST(open_is_enodev)
{
	long before = heaps();
	int fd;

	ASSERT_LE(0, before);
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENODEV, errno);
	fd = open(DEV, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(before, heaps());
}

/*
 * The child side of inherited_fd_answers_nothing: @fd is a heap a 64-bit
 * shell opened.  Exit status: 0, or the number of the first command that
 * was not ENOTTY.
 */
static int inherited(int fd)
{
	struct codeheap_version v = { .size = sizeof(v) };
	struct codeheap_stats st = { .size = sizeof(st) };
	struct codeheap_reserve r = { .size = sizeof(r), .len = 1 << 20 };
	struct codeheap_alloc a = { .size = sizeof(a), .len = 64 };

	if (ioctl(fd, CODEHEAP_IOC_VERSION, &v) != -1 || errno != ENOTTY)
		return 1;
	if (ioctl(fd, CODEHEAP_IOC_STATS, &st) != -1 || errno != ENOTTY)
		return 2;
	if (ioctl(fd, CODEHEAP_IOC_RESERVE, &r) != -1 || errno != ENOTTY)
		return 3;
	if (ioctl(fd, CODEHEAP_IOC_ALLOC, &a) != -1 || errno != ENOTTY)
		return 4;
	return 0;
}

TEST(inherited_fd_answers_nothing)
{
	char self[256];
	ssize_t n;
	int status;
	pid_t pid;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_LT(0, n);
	self[n] = '\0';
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* busybox is the guest's 64-bit shell. */
		execl("/bin/busybox", "sh", "-c",
		      "exec 3<>" DEV " && exec \"$0\" --inherited 3", self,
		      (char *)NULL);
		_exit(100);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--inherited"))
		return inherited(atoi(argv[2]));
	return test_harness_run(argc, argv);
}
