/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the codeheap selftests.
 */
#ifndef _CODEHEAP_UTIL_H
#define _CODEHEAP_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/codeheap.h>

#define CODEHEAP_DEV "/dev/codeheap"
#define CODEHEAP_PARAMS "/sys/module/codeheap/parameters/"

/* ioctl() that returns 0 or -errno, so a test can compare one value. */
static inline int ch_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int ch_version(int fd, struct codeheap_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	return ch_ioctl(fd, CODEHEAP_IOC_VERSION, v);
}

/* Read a number from the sysfs file @dir@name; -1 on error. */
static inline long long ch_read_number(const char *dir, const char *name)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

/* A module parameter; -1 on error. */
static inline long long ch_param_read(const char *name)
{
	return ch_read_number(CODEHEAP_PARAMS, name);
}

/* Write @val to the file @path (sysfs, cgroupfs); 0 or -errno. */
static inline int ch_write_file(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Write a module parameter; 0 or -errno. */
static inline int ch_param_write(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), CODEHEAP_PARAMS "%s", name);
	return ch_write_file(path, val);
}

#define CODEHEAP_SYSFS "/sys/class/misc/codeheap/"

#define PTR(x) ((void *)(uintptr_t)(x))
#define U64(p) ((uint64_t)(uintptr_t)(p))

static inline long ch_page(void)
{
	return sysconf(_SC_PAGESIZE);
}

static inline int ch_reserve(int fd, uint64_t len, uint64_t hint,
			     uint32_t flags, uint64_t *addr)
{
	struct codeheap_reserve r = {
		.size = sizeof(r), .flags = flags, .len = len, .hint = hint,
	};
	int ret = ch_ioctl(fd, CODEHEAP_IOC_RESERVE, &r);

	if (!ret && addr)
		*addr = r.addr;
	return ret;
}

/* The file offset of the mapping starting at @addr (/proc/self/maps), or -1. */
static inline long long ch_map_offset(uint64_t addr)
{
	unsigned long long start, offset;
	long long found = -1;
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%llx-%*x %*s %llx", &start, &offset) == 2 &&
		    start == addr)
			found = offset;
	fclose(maps);
	return found;
}

static inline int ch_release(int fd, uint64_t addr)
{
	struct codeheap_release r = { .size = sizeof(r), .addr = addr };

	return ch_ioctl(fd, CODEHEAP_IOC_RELEASE, &r);
}

static inline int ch_range(int fd, unsigned long cmd, uint64_t addr,
			   uint64_t len, uint32_t prot)
{
	struct codeheap_range r = {
		.size = sizeof(r), .addr = addr, .len = len, .prot = prot,
	};

	return ch_ioctl(fd, cmd, &r);
}

static inline int ch_alloc_in(int fd, uint64_t len, uint64_t align,
			      uint64_t lo, uint64_t hi, uint64_t tag,
			      uint64_t *addr)
{
	struct codeheap_alloc a = {
		.size = sizeof(a), .len = len, .align = align, .lo = lo,
		.hi = hi, .tag = tag,
	};
	int ret = ch_ioctl(fd, CODEHEAP_IOC_ALLOC, &a);

	if (!ret && addr)
		*addr = a.addr;
	return ret;
}

static inline int ch_alloc(int fd, uint64_t len, uint64_t tag, uint64_t *addr)
{
	return ch_alloc_in(fd, len, 0, 0, 0, tag, addr);
}

static inline int ch_addr_cmd(int fd, unsigned long cmd, uint64_t addr)
{
	struct codeheap_addr a = { .size = sizeof(a), .addr = addr };

	return ch_ioctl(fd, cmd, &a);
}

static inline int ch_free(int fd, uint64_t addr)
{
	return ch_addr_cmd(fd, CODEHEAP_IOC_FREE, addr);
}

static inline int ch_seal(int fd, uint64_t addr)
{
	return ch_addr_cmd(fd, CODEHEAP_IOC_SEAL, addr);
}

static inline int ch_write(int fd, const struct codeheap_write_entry *e,
			   uint32_t count)
{
	struct codeheap_write w = {
		.size = sizeof(w), .count = count, .entries = U64(e),
	};

	return ch_ioctl(fd, CODEHEAP_IOC_WRITE, &w);
}

static inline int ch_write1(int fd, uint64_t dst, const void *src,
			    uint64_t len)
{
	struct codeheap_write_entry e = {
		.dst = dst, .src = U64(src), .len = len,
	};

	return ch_write(fd, &e, 1);
}

static inline int ch_lookup(int fd, uint64_t addr, struct codeheap_lookup *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->addr = addr;
	return ch_ioctl(fd, CODEHEAP_IOC_LOOKUP, l);
}

static inline int ch_stats(int fd, struct codeheap_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	return ch_ioctl(fd, CODEHEAP_IOC_STATS, s);
}

/* A global counter of /sys/class/misc/codeheap/; -1 on error. */
static inline long long ch_global(const char *name)
{
	return ch_read_number(CODEHEAP_SYSFS, name);
}

/*
 * The machine code the tests execute, for the architecture they are built
 * for (the module's, from CODEHEAP_IOC_VERSION; device.version checks that
 * they agree):
 *
 *   ch_code_ret()	a function returning a value, CH_RET_LEN bytes
 *   ch_trap		the trap instruction the module fills with,
 *			CH_TRAP_LEN bytes (uapi: enum codeheap_arch)
 *   ch_nop		a no-op instruction, CH_TRAP_LEN bytes
 *   CH_RET_AT		the offset of ch_code_ret()'s return instruction
 *   ch_code_load()	a function returning the 32-bit word at CH_LOAD_AT
 *			of its own code (a constant pool), CH_LOAD_LEN bytes
 *   CH_INSN_ALIGN	the alignment of every instruction (jump targets)
 *
 * A 32-bit x86 process gets the x86-64 module's code: these bytes mean the
 * same in both modes.
 */
#if defined(__x86_64__) || defined(__i386__)
#define CH_ARCH		CODEHEAP_ARCH_X86_64
#define CH_RET_LEN	6
#define CH_TRAP_LEN	1
#define CH_RET_AT	5
#define CH_INSN_ALIGN	1
static const unsigned char ch_trap[CH_TRAP_LEN] = { 0xcc };	/* int3 */
static const unsigned char ch_nop[CH_TRAP_LEN] = { 0x90 };	/* nop */

/* mov eax, imm32; ret */
static inline void ch_code_ret(unsigned char code[CH_RET_LEN], uint32_t value)
{
	code[0] = 0xb8;
	memcpy(&code[1], &value, 4);
	code[5] = 0xc3;
}

#define CH_LOAD_AT	16
#define CH_LOAD_LEN	20
/*
 * call 1f; 1: pop eax; mov eax, [eax + 11]; ret; the word at 16 (the same
 * bytes and meaning in 32- and 64-bit mode: rax there).
 */
static inline void ch_code_load(unsigned char code[CH_LOAD_LEN], uint32_t value)
{
	static const unsigned char insn[10] = {
		0xe8, 0, 0, 0, 0, 0x58, 0x8b, 0x40, 0x0b, 0xc3,
	};

	memset(code, 0x90, CH_LOAD_AT);
	memcpy(code, insn, sizeof(insn));
	memcpy(&code[CH_LOAD_AT], &value, 4);
}
#elif defined(__aarch64__)
#define CH_ARCH		CODEHEAP_ARCH_ARM64
#define CH_RET_LEN	12
#define CH_TRAP_LEN	4
#define CH_RET_AT	8
#define CH_INSN_ALIGN	4
/* brk #0 and nop, little-endian words */
static const unsigned char ch_trap[CH_TRAP_LEN] = { 0x00, 0x00, 0x20, 0xd4 };
static const unsigned char ch_nop[CH_TRAP_LEN] = { 0x1f, 0x20, 0x03, 0xd5 };

static inline void ch_put32(unsigned char *p, uint32_t insn)
{
	memcpy(p, &insn, 4);
}

/* movz w0, #lo; movk w0, #hi, lsl #16; ret */
static inline void ch_code_ret(unsigned char code[CH_RET_LEN], uint32_t value)
{
	ch_put32(&code[0], 0x52800000 | (value & 0xffff) << 5);
	ch_put32(&code[4], 0x72a00000 | (value >> 16) << 5);
	ch_put32(&code[8], 0xd65f03c0);
}

#define CH_LOAD_AT	16
#define CH_LOAD_LEN	20
/* ldr w0, 1f; ret; nop; nop; 1: the word */
static inline void ch_code_load(unsigned char code[CH_LOAD_LEN], uint32_t value)
{
	ch_put32(&code[0], 0x18000000 | (CH_LOAD_AT / 4) << 5);
	ch_put32(&code[4], 0xd65f03c0);
	ch_put32(&code[8], 0xd503201f);
	ch_put32(&code[12], 0xd503201f);
	memcpy(&code[CH_LOAD_AT], &value, 4);
}
#else
#error "codeheap selftests: no machine code for this architecture"
#endif

/* The byte of a trap fill at @addr (fills start at aligned addresses). */
static inline unsigned char ch_trap_byte(uint64_t addr)
{
	return ch_trap[addr % CH_TRAP_LEN];
}

/* Fill @len bytes at @p with trap instructions, as the module does. */
static inline void ch_fill_trap(void *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		((unsigned char *)p)[i] = ch_trap_byte(i);
}

/* Fill @len bytes at @p with no-op instructions. */
static inline void ch_fill_nop(void *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		((unsigned char *)p)[i] = ch_nop[i % CH_TRAP_LEN];
}

/*
 * Function-call IPIs received so far, summed over every CPU (the
 * "Function call interrupts" row of /proc/interrupts: CAL on x86, IPI1 on
 * arm64), or -1.  On arm64 every instruction-cache synchronisation the
 * module does interrupts each other CPU once (kick_all_cpus_sync()).
 */
static inline long long ch_call_ipis(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	long long sum = -1;
	char line[4096];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *q = strchr(line, ':'), *end;

		if (!q || !strstr(line, "Function call interrupts"))
			continue;
		sum = 0;
		for (q++;; q = end) {
			long long v = strtoll(q, &end, 10);

			if (end == q)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

/* The heap's id (codeheap-id in the fd's fdinfo), or 0. */
static inline unsigned long long ch_heap_id(int fd)
{
	unsigned long long id = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "codeheap-id: %llu", &id) == 1)
			break;
	fclose(f);
	return id;
}

/* A function returning @value, in an allocation tagged @value. */
static inline int ch_make_fn(int fd, uint32_t value, uint64_t *addr)
{
	unsigned char code[CH_RET_LEN];
	int ret;

	ret = ch_alloc(fd, 64, value, addr);
	if (ret)
		return ret;
	ch_code_ret(code, value);
	return ch_write1(fd, *addr, code, CH_RET_LEN);
}

/*
 * Perform an access and report the signal it raised (0 for none): the
 * only honest way to test a protection is to try it.
 */
static sigjmp_buf ch_jmp;
static volatile sig_atomic_t ch_signo;

static void ch_on_signal(int sig)
{
	ch_signo = sig;
	siglongjmp(ch_jmp, 1);
}

#define CH_PROBE(stmt) ({						\
	struct sigaction __sa = { .sa_handler = ch_on_signal };	\
	struct sigaction __old[4];					\
	static const int __sigs[4] = { SIGSEGV, SIGBUS, SIGTRAP, SIGILL }; \
	int __i;							\
	for (__i = 0; __i < 4; __i++)					\
		sigaction(__sigs[__i], &__sa, &__old[__i]);		\
	ch_signo = 0;							\
	if (!sigsetjmp(ch_jmp, 1)) {					\
		stmt;							\
	}								\
	for (__i = 0; __i < 4; __i++)					\
		sigaction(__sigs[__i], &__old[__i], NULL);		\
	(int)ch_signo;							\
})

/* Read one byte; the signal, or 0 with the byte in *out. */
static inline int ch_probe_read(uint64_t addr, unsigned char *out)
{
	volatile unsigned char *p = PTR(addr);
	unsigned char v = 0;
	int sig = CH_PROBE(v = *p);

	if (out)
		*out = v;
	return sig;
}

/*
 * Read the instruction at @addr (rounded down to CH_TRAP_LEN): the signal
 * the read raised, 0 if it is the trap instruction, -1 if it is not.
 */
static inline int ch_probe_trap(uint64_t addr)
{
	unsigned char c;
	int i, sig;

	addr -= addr % CH_TRAP_LEN;
	for (i = 0; i < CH_TRAP_LEN; i++) {
		sig = ch_probe_read(addr + i, &c);
		if (sig)
			return sig;
		if (c != ch_trap[i])
			return -1;
	}
	return 0;
}

static inline int ch_probe_write(uint64_t addr)
{
	volatile unsigned char *p = PTR(addr);

	return CH_PROBE(*p = 0x90);
}

/* Call code at addr as int (*)(void); the signal, or 0 with *ret set. */
static inline int ch_probe_call(uint64_t addr, int *ret)
{
	int (*fn)(void) = PTR(addr);
	volatile int v = -1;
	int sig = CH_PROBE(v = fn());

	if (ret)
		*ret = v;
	return sig;
}

#endif /* _CODEHEAP_UTIL_H */
