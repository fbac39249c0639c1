// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: command-line view of the codeheap module.
 *
 *   codeheap info     what CODEHEAP_IOC_VERSION reports, and the module
 *                     parameters in force
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/codeheap.h>

#define DEV "/dev/codeheap"

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		fprintf(stderr, "codeheap: %s does not exist: is the module loaded? (insmod codeheap.ko)\n",
			DEV);
	else
		fprintf(stderr, "codeheap: cannot open %s: %s\n", DEV,
			strerror(errno));
	return -1;
}

static const char *arch_name(__u32 arch)
{
	switch (arch) {
	case CODEHEAP_ARCH_X86_64:
		return "x86-64";
	case CODEHEAP_ARCH_ARM64:
		return "arm64";
	default:
		return "unknown";
	}
}

static void print_bytes(const char *what, unsigned long long n)
{
	if (n && !(n % (1ULL << 20)))
		printf("  %-22s %llu MiB\n", what, n >> 20);
	else
		printf("  %-22s %llu bytes\n", what, n);
}

static int cmd_info(void)
{
	struct codeheap_version v;
	int fd = open_dev();

	if (fd < 0)
		return 1;
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	if (ioctl(fd, CODEHEAP_IOC_VERSION, &v)) {
		fprintf(stderr, "codeheap: CODEHEAP_IOC_VERSION: %s\n",
			strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);

	printf("codeheap API %u on %s\n", v.api_version, arch_name(v.arch));
	printf("  %-22s 0x%llx\n", "features", (unsigned long long)v.features);
	printf("  %-22s %u bytes\n", "page size", v.page_size);
	printf("  %-22s %u bytes\n", "code alignment", v.code_align);
	printf("  %-22s %u / %u bytes\n", "jump slot near / far",
	       v.jt_near_slot_size, v.jt_far_slot_size);
	printf("limits in force (/sys/module/codeheap/parameters):\n");
	print_bytes("max_reservation_size", v.max_reservation_size);
	print_bytes("max_heap_committed", v.max_heap_committed);
	print_bytes("max_total_committed", v.max_total_committed);
	printf("  %-22s %u entries\n", "max_batch", v.max_batch);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: codeheap info\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "info"))
		return cmd_info();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
