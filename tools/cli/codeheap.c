// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: command-line view of the codeheap module, built on libcodeheap.
 *
 *   codeheap info       what CODEHEAP_IOC_VERSION reports, and the module
 *                       parameters in force
 *   codeheap stats      the global counters of /sys/class/misc/codeheap and
 *                       the module parameters
 *   codeheap selftest   a JIT round trip on this machine: allocate, write,
 *                       call, jump-table patch, call through the slot, free;
 *                       prints PASS or FAIL (exit status 0 or 1)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codeheap.h"

#define SYSFS_GLOBAL "/sys/class/misc/codeheap"
#define SYSFS_PARAMS "/sys/module/codeheap/parameters"

static void explain_open_error(int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "codeheap: %s does not exist: the module is not loaded (insmod codeheap.ko)\n",
			CODEHEAP_DEVICE);
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "codeheap: cannot open %s: %s (check the device's mode and owner: ls -l %s)\n",
			CODEHEAP_DEVICE, strerror(-err), CODEHEAP_DEVICE);
	else
		fprintf(stderr, "codeheap: cannot open %s: %s\n",
			CODEHEAP_DEVICE, strerror(-err));
}

static struct codeheap *open_heap(unsigned int flags)
{
	struct codeheap *h;
	int ret = codeheap_open(&h, flags);

	if (ret) {
		explain_open_error(ret);
		return NULL;
	}
	return h;
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
	struct codeheap *h = open_heap(0);
	int ret;

	if (!h)
		return 1;
	ret = codeheap_version(h, &v);
	codeheap_close(h);
	if (ret) {
		fprintf(stderr, "codeheap: CODEHEAP_IOC_VERSION: %s\n",
			strerror(-ret));
		return 1;
	}

	printf("codeheap API %u on %s\n", v.api_version, arch_name(v.arch));
	printf("  %-22s 0x%llx\n", "features", (unsigned long long)v.features);
	printf("  %-22s %u bytes\n", "page size", v.page_size);
	printf("  %-22s %u bytes\n", "code alignment", v.code_align);
	printf("  %-22s %u / %u bytes\n", "jump slot near / far",
	       v.jt_near_slot_size, v.jt_far_slot_size);
	printf("limits in force (%s):\n", SYSFS_PARAMS);
	print_bytes("max_reservation_size", v.max_reservation_size);
	print_bytes("max_heap_committed", v.max_heap_committed);
	print_bytes("max_total_committed", v.max_total_committed);
	print_bytes("max_user_committed", v.max_user_committed);
	printf("  %-22s %u entries\n", "max_batch", v.max_batch);
	return 0;
}

/* A sysfs number, or -1 with errno set. */
static long long read_number(const char *dir, const char *name)
{
	char path[512], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = EIO;
		return -1;
	}
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static int print_params(void)
{
	char *names[64];
	struct dirent *d;
	int n = 0, i;
	DIR *dir;

	dir = opendir(SYSFS_PARAMS);
	if (!dir) {
		fprintf(stderr, "codeheap: %s: %s\n", SYSFS_PARAMS,
			strerror(errno));
		return 1;
	}
	while ((d = readdir(dir)) && n < 64) {
		if (d->d_name[0] == '.')
			continue;
		names[n] = strdup(d->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), name_cmp);
	printf("module parameters (%s):\n", SYSFS_PARAMS);
	for (i = 0; i < n; i++) {
		long long v = read_number(SYSFS_PARAMS, names[i]);

		if (v < 0)
			printf("  %-22s (unreadable: %s)\n", names[i],
			       strerror(errno));
		else if (strstr(names[i], "batch"))
			printf("  %-22s %lld entries\n", names[i], v);
		else
			print_bytes(names[i], v);
		free(names[i]);
	}
	return 0;
}

static int cmd_stats(void)
{
	static const char * const counters[] = {
		"heaps", "reserved_bytes", "committed_bytes",
	};
	unsigned int i;

	if (access(SYSFS_GLOBAL, F_OK)) {
		fprintf(stderr, "codeheap: %s does not exist: the module is not loaded (insmod codeheap.ko)\n",
			SYSFS_GLOBAL);
		return 1;
	}
	printf("global counters (%s):\n", SYSFS_GLOBAL);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		long long v = read_number(SYSFS_GLOBAL, counters[i]);

		if (v < 0) {
			fprintf(stderr, "codeheap: %s/%s: %s\n", SYSFS_GLOBAL,
				counters[i], strerror(errno));
			return 1;
		}
		if (i == 0)
			printf("  %-22s %lld\n", counters[i], v);
		else
			print_bytes(counters[i], v);
	}
	return print_params();
}

/* -- selftest --------------------------------------------------------------- */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void on_signal(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

/* Call code as int (*)(void): the signal it raised, or 0 with *ret set. */
static int probe_call(void *code, int *ret)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGTRAP, SIGILL };
	struct sigaction sa = { .sa_handler = on_signal }, old[4];
	int (*fn)(void) = (int (*)(void))code;
	volatile int v = -1;
	int i;

	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	probe_sig = 0;
	if (!sigsetjmp(probe_jmp, 1))
		v = fn();
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	*ret = v;
	return probe_sig;
}

static int failures;
static char detail[128];

/* One line of the selftest; detail[] says what was seen. */
static void step(const char *what, int ok)
{
	printf("  %-26s %s%s%s%s\n", what, ok ? "ok" : "FAILED",
	       detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	detail[0] = '\0';
	if (!ok)
		failures++;
}

#define SAY(...) snprintf(detail, sizeof(detail), __VA_ARGS__)

#define MAGIC 0x1234

static void say_call(int sig, int v)
{
	if (sig)
		SAY("signal %d", sig);
	else
		SAY("returned 0x%x", v);
}

/* "return MAGIC" in the machine code of this build's architecture. */
#if defined(__x86_64__) || defined(__i386__)
#define SELFTEST_ARCH CODEHEAP_ARCH_X86_64
#define SELFTEST_ASM "mov eax, 0x1234; ret"
static const unsigned char code[] = { 0xb8, 0x34, 0x12, 0, 0, 0xc3 };
#elif defined(__aarch64__)
#define SELFTEST_ARCH CODEHEAP_ARCH_ARM64
#define SELFTEST_ASM "mov w0, #0x1234; ret"
static const unsigned char code[] = {
	0x80, 0x46, 0x82, 0x52,		/* movz w0, #0x1234 */
	0xc0, 0x03, 0x5f, 0xd6,		/* ret */
};
#endif

#ifdef SELFTEST_ARCH
static void selftest_heap(struct codeheap *h)
{
	struct codeheap_jt jt = { .nr_slots = 0 };
	struct codeheap_lookup l;
	struct codeheap_stats st;
	void *fn, *target = NULL;
	int ret, sig, v;

	ret = codeheap_alloc_write(h, code, sizeof(code), 42, &fn);
	SAY("%s", ret ? strerror(-ret) : SELFTEST_ASM);
	step("allocate and write", !ret);
	if (ret)
		return;
	sig = probe_call(fn, &v);
	say_call(sig, v);
	step("call it", !sig && v == MAGIC);
	ret = codeheap_lookup(h, (char *)fn + 3, &l);
	SAY("%s", ret ? strerror(-ret) : "start and tag match");
	step("lookup", !ret && codeheap_ptr(l.start) == fn && l.tag == 42);

	ret = codeheap_jt_create(h, 4, NULL, &jt);
	SAY("%s", ret ? strerror(-ret) : "4 slots");
	step("create a jump table", !ret);
	if (ret) {
		jt.nr_slots = 0;
		goto free_fn;
	}
	sig = probe_call(codeheap_jt_slot(&jt, 1), &v);
	SAY("signal %d", sig);
	step("unpatched slot traps", sig == SIGTRAP);
	ret = codeheap_jt_patch(h, &jt, 1, fn);
	SAY("%s", ret ? strerror(-ret) : "");
	step("patch slot 1", !ret);
	sig = probe_call(codeheap_jt_slot(&jt, 1), &v);
	say_call(sig, v);
	step("call through slot 1", !sig && v == MAGIC);
	ret = codeheap_jt_query(h, &jt, 1, &target);
	step("query slot 1", !ret && target == fn);

free_fn:
	ret = codeheap_free(h, fn);
	SAY("%s", ret ? strerror(-ret) : "");
	step("free the code", !ret);
	ret = codeheap_lookup(h, fn, &l);
	SAY("lookup: %s", strerror(-ret));
	step("freed code is gone", ret == -ENOENT);
	if (jt.nr_slots) {
		ret = codeheap_jt_query(h, &jt, 1, &target);
		step("slot back to its default", !ret && !target);
		ret = codeheap_jt_destroy(h, &jt);
		SAY("%s", ret ? strerror(-ret) : "");
		step("destroy the jump table", !ret);
	}
	ret = codeheap_stats(h, &st);
	SAY("%u allocations, %u jump tables", st.allocations, st.jump_tables);
	step("heap is empty", !ret && !st.allocations && !st.jump_tables);
}
#endif

static int cmd_selftest(void)
{
	struct codeheap *h = open_heap(0);
	const struct codeheap_version *v;

	if (!h) {
		printf("FAIL\n");
		return 1;
	}
	v = codeheap_info(h);
	printf("codeheap selftest: API %u on %s\n", v->api_version,
	       arch_name(v->arch));
#ifdef SELFTEST_ARCH
	if (v->arch == SELFTEST_ARCH) {
		selftest_heap(h);
	} else {
		SAY("no test code for %s", arch_name(v->arch));
		step("architecture", 0);
	}
#else
	SAY("this build has no test code for %s", arch_name(v->arch));
	step("architecture", 0);
#endif
	codeheap_close(h);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: codeheap info | stats | selftest\n"
		"  info      what the module reports (VERSION) and its limits\n"
		"  stats     global counters and module parameters (sysfs)\n"
		"  selftest  allocate, write, call, patch a jump slot, free\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "info"))
		return cmd_info();
	if (argc == 2 && !strcmp(argv[1], "stats"))
		return cmd_stats();
	if (argc == 2 && !strcmp(argv[1], "selftest"))
		return cmd_selftest();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
