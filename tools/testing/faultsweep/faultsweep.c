// SPDX-License-Identifier: GPL-2.0
/*
 * faultsweep: nth-failure fault-injection sweep of every codeheap command.
 *
 * Runs as root in the debug-kernel VM (make fault-vm).  For each scenario
 * (one command in a prepared heap state) and n = 1, 2, 3, ... it builds the
 * state in a fresh heap, writes n to /proc/thread-self/fail-nth, runs the
 * command once and reads fail-nth back.  A value not consumed means the
 * call passed fewer than n injection points; three such calls in a row end
 * the sweep, and the scenario's points are the n that were consumed.  For every injected failure
 * the command either succeeded, and the heap must then be exactly as after
 * an uninjected success (the reference run), or failed with ENOMEM or
 * EFAULT, and the heap must then be exactly as before and the argument
 * struct untouched.  "The heap" is its STATS, the global counters, every
 * /dev/codeheap mapping page by page (accessible or not, and the bytes),
 * LOOKUP and a call of every allocation the scenario knows, and JT_QUERY
 * and a call through every slot of every table it knows.  Addresses are
 * compared relative to the mapping they lie in.
 *
 * Fault injection is configured through debugfs so that only fail-nth
 * triggers (probability 0), sleeping allocations included
 * (ignore-gfp-wait N), order-0 pages included (min-order 0) and nothing is
 * printed (verbose 0).
 *
 * Output is TAP, one test per scenario; exit status 0 only if all are ok.
 * "faultsweep [-v] [SCENARIO]": one scenario only; -v prints every n.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/codeheap.h>

#define DEV		"/dev/codeheap"
#define SYSFS		"/sys/class/misc/codeheap/"
#define DEBUGFS		"/sys/kernel/debug/"
#define PAGE		4096ULL
#define GIB		(1024ULL * 1024 * 1024)
#define MIB		(1024ULL * 1024)
#define STUB_VALUE	0x5eed
#define MAX_N		4000
#define STOP_AFTER	3	/* calls in a row no point is reached in */

#define PTR(x)		((void *)(uintptr_t)(x))
#define U64(p)		((uint64_t)(uintptr_t)(p))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- probes -- */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

static const int probe_sigs[] = { SIGSEGV, SIGBUS, SIGTRAP, SIGILL };

static void probe_arm(void)
{
	struct sigaction sa = { .sa_handler = probe_handler };
	unsigned int i;

	sa.sa_flags = SA_NODEFER;
	for (i = 0; i < ARRAY_SIZE(probe_sigs); i++)
		sigaction(probe_sigs[i], &sa, NULL);
}

/* Read a whole page: the signal, or 0 with its FNV-1a hash in *hash. */
static int probe_page(uint64_t addr, uint64_t *hash)
{
	static volatile uint64_t h;
	volatile const unsigned char *p = PTR(addr);
	static volatile unsigned int i;

	probe_sig = 0;
	h = 0xcbf29ce484222325ULL;
	if (!sigsetjmp(probe_jmp, 1)) {
		for (i = 0; i < PAGE; i++)
			h = (h ^ p[i]) * 0x100000001b3ULL;
	}
	*hash = probe_sig ? 0 : h;
	return probe_sig;
}

/* Call addr as int (*)(void): the signal, or 0 with the result in *val. */
static int probe_call(uint64_t addr, int *val)
{
	int (*fn)(void) = PTR(addr);
	static volatile int v;

	probe_sig = 0;
	v = -1;
	if (!sigsetjmp(probe_jmp, 1))
		v = fn();
	*val = probe_sig ? 0 : v;
	return probe_sig;
}

/* The default target of the tables: far from any reservation. */
static __attribute__((noinline)) int stub_fn(void)
{
	return STUB_VALUE;
}

/* ---------------------------------------------------------- fail-nth -- */

static int failnth_fd = -1;

static int failnth_set(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(failnth_fd, buf, len, 0) == len ? 0 : -errno;
}

/* The value read back: -1 when the read itself failed. */
static long failnth_get(void)
{
	char buf[16];
	ssize_t r = pread(failnth_fd, buf, sizeof(buf) - 1, 0);

	if (r <= 0)
		return -1;
	buf[r] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * After the command: was the n-th point reached?  Then fail-nth is back
 * to 0.  Either way, leave it at 0 (the read and write themselves pass
 * usercopy injection points while it is not).
 */
static int failnth_consumed(void)
{
	long v = failnth_get();
	int i;

	for (i = 0; i < 4; i++) {
		failnth_set(0);
		if (failnth_get() == 0)
			break;
	}
	return v == 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static long long read_number(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

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

static int setup_debugfs(void)
{
	static const char * const dirs[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};
	static const char * const common[][2] = {
		{ "verbose", "0" }, { "probability", "0" }, { "interval", "1" },
		{ "times", "-1" }, { "space", "0" }, { "task-filter", "N" },
	};
	static const char * const extra[][3] = {
		{ "failslab", "ignore-gfp-wait", "N" },
		{ "failslab", "cache-filter", "N" },
		{ "fail_page_alloc", "ignore-gfp-wait", "N" },
		{ "fail_page_alloc", "ignore-gfp-highmem", "N" },
		{ "fail_page_alloc", "min-order", "0" },
	};
	char path[256];
	unsigned int i, j;
	int ret;

	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		for (j = 0; j < ARRAY_SIZE(common); j++) {
			snprintf(path, sizeof(path), DEBUGFS "%s/%s", dirs[i],
				 common[j][0]);
			ret = write_file(path, common[j][1]);
			if (ret) {
				printf("# cannot write %s: %s\n", path,
				       strerror(-ret));
				return ret;
			}
		}
	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		snprintf(path, sizeof(path), DEBUGFS "%s/%s", extra[i][0],
			 extra[i][1]);
		ret = write_file(path, extra[i][2]);
		if (ret) {
			printf("# cannot write %s: %s\n", path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ context -- */

#define MAX_MAPS	16
#define MAX_PAGES	64
#define MAX_ALLOCS	32
#define MAX_JTS		4
#define MAX_SLOTS	8
#define MAX_OUT		4

struct alloc {
	uint64_t addr;
	uint64_t tag;
};

struct jt {
	uint32_t id;
	uint32_t nr;
	uint64_t base;
	uint64_t slot_size;
};

struct ctx {
	int fd;
	int fd2;		/* open scenario: the heap it opened */
	int big;		/* pass the command's struct 8 bytes larger */
	int argchg;		/* a failed command wrote into its argument */
	uint64_t r0, r1, r2, rfar;
	uint64_t f1, f2, f3;
	struct alloc al[MAX_ALLOCS];
	int nal;
	struct jt jt[MAX_JTS];
	int njt;
	/* The command's output, compared on success; addrmask: addresses. */
	uint64_t out[MAX_OUT];
	unsigned int addrmask;
	int nout;
	/* Global counters before the heap was opened. */
	long long g_heaps, g_comm, g_res;
};

static uint64_t base;		/* free address range for FIXED reservations */

static void add_alloc(struct ctx *c, uint64_t addr, uint64_t tag)
{
	if (c->nal < MAX_ALLOCS)
		c->al[c->nal++] = (struct alloc){ addr, tag };
}

static void add_jt(struct ctx *c, uint32_t id, uint32_t nr, uint64_t base,
		   uint64_t slot_size)
{
	if (c->njt < MAX_JTS)
		c->jt[c->njt++] = (struct jt){ id, nr, base, slot_size };
}

static void add_out(struct ctx *c, uint64_t v, int is_addr)
{
	if (c->nout >= MAX_OUT)
		return;
	if (is_addr)
		c->addrmask |= 1u << c->nout;
	c->out[c->nout++] = v;
}

/* ioctl on the heap, 0 or -errno: used by setup and snapshots. */
static int hio(struct ctx *c, unsigned long cmd, void *arg)
{
	return ioctl(c->fd, cmd, arg) ? -errno : 0;
}

/*
 * The scenario's command: optionally through a struct 8 bytes larger than
 * the kernel's (zero tail), which takes copy_struct_from_user() and
 * copy_to_user() instead of the word-by-word fast path.  A failed call
 * must leave the argument as it was.
 */
static int cmd_ioctl(struct ctx *c, unsigned long cmd, void *arg, size_t len)
{
	static uint64_t buf[16], save[16];
	uint32_t blen = len + (c->big ? 8 : 0);
	int ret;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, arg, len);
	memcpy(buf, &blen, sizeof(blen));
	memcpy(save, buf, blen);
	ret = ioctl(c->fd, cmd, buf) ? -errno : 0;
	if (ret) {
		if (memcmp(save, buf, blen))
			c->argchg = 1;
	} else {
		memcpy(arg, buf, len);
	}
	return ret;
}

static void code_ret(unsigned char code[6], uint32_t value)
{
	code[0] = 0xb8;
	memcpy(&code[1], &value, 4);
	code[5] = 0xc3;
}

static int do_reserve(struct ctx *c, uint64_t addr, uint64_t len)
{
	struct codeheap_reserve r = {
		.size = sizeof(r), .flags = CODEHEAP_RESERVE_FIXED,
		.len = len, .hint = addr,
	};

	return hio(c, CODEHEAP_IOC_RESERVE, &r);
}

static int do_range(struct ctx *c, unsigned long cmd, uint64_t addr,
		    uint64_t len, uint32_t prot)
{
	struct codeheap_range r = {
		.size = sizeof(r), .addr = addr, .len = len, .prot = prot,
	};

	return hio(c, cmd, &r);
}

static int do_alloc(struct ctx *c, uint64_t len, uint64_t align,
		    uint64_t lo, uint64_t hi, uint64_t tag, uint64_t *addr)
{
	struct codeheap_alloc a = {
		.size = sizeof(a), .len = len, .align = align, .lo = lo,
		.hi = hi, .tag = tag,
	};
	int ret = hio(c, CODEHEAP_IOC_ALLOC, &a);

	if (!ret) {
		*addr = a.addr;
		add_alloc(c, a.addr, tag);
	}
	return ret;
}

static int do_write_ret(struct ctx *c, uint64_t dst, uint32_t value)
{
	unsigned char code[6];
	struct codeheap_write_entry e = {
		.dst = dst, .src = U64(code), .len = sizeof(code),
	};
	struct codeheap_write w = {
		.size = sizeof(w), .count = 1, .entries = U64(&e),
	};

	code_ret(code, value);
	return hio(c, CODEHEAP_IOC_WRITE, &w);
}

static int do_fn(struct ctx *c, uint64_t lo, uint64_t hi, uint32_t value,
		 uint64_t len, uint64_t align, uint64_t *addr)
{
	int ret = do_alloc(c, len, align, lo, hi, value, addr);

	return ret ? ret : do_write_ret(c, *addr, value);
}

static int do_jt_create(struct ctx *c, uint32_t nr, uint64_t def,
			uint64_t lo, uint64_t hi)
{
	struct codeheap_jt_create j = {
		.size = sizeof(j), .nr_slots = nr, .default_target = def,
		.lo = lo, .hi = hi,
	};
	int ret = hio(c, CODEHEAP_IOC_JT_CREATE, &j);

	if (!ret)
		add_jt(c, j.id, nr, j.base, j.slot_size);
	return ret;
}

static int do_jt_patch1(struct ctx *c, uint32_t id, uint32_t slot,
			uint64_t target)
{
	struct codeheap_jt_patch_entry e = { .slot = slot, .target = target };
	struct codeheap_jt_patch p = {
		.size = sizeof(p), .id = id, .count = 1, .entries = U64(&e),
	};

	return hio(c, CODEHEAP_IOC_JT_PATCH, &p);
}

/* ---------------------------------------------------------- the state -- */

/*
 * The standard state, in a fresh heap:
 *   R0  16 pages at base: F1 (64 bytes, returns 1) at its start, F2 (one
 *       whole page, returns 2) in page 1, jump table J0 (4 slots, default
 *       stub_fn; slot 1 -> F2, slot 2 -> F1), pages 2-3 committed empty
 *   R1  4 pages at base + 1 MiB, page 0 committed, nothing allocated
 * and what the scenario's flags add.
 */
#define S_WRITE1	(1u << 0)	/* A3: 64 bytes of traps, tag 3 */
#define S_WRITE8	(1u << 1)	/* A10..A17: 64 bytes of traps each */
#define S_R1FULL	(1u << 2)	/* all of R1 committed */
#define S_PROTNONE	(1u << 3)	/* R0 pages 1-2 PROTECTed to none */
#define S_J1		(1u << 4)	/* R2 (base + 2 MiB, 4 pages) holding
					 * J1: 4 slots, default F1, slot 0 ->
					 * F2 */
#define S_FAR		(1u << 5)	/* RFAR (base + 6 GiB, 4 pages) holding
					 * F3 (returns 3), out of rel32 reach */
#define S_KEPT		(1u << 6)	/* R0 pages 4-5 committed and
					 * decommitted: two pages the heap
					 * keeps for its next commits */

static int globals(long long *heaps, long long *comm, long long *res)
{
	*heaps = read_number(SYSFS "heaps");
	*comm = read_number(SYSFS "committed_bytes");
	*res = read_number(SYSFS "reserved_bytes");
	return *heaps < 0 || *comm < 0 || *res < 0 ? -1 : 0;
}

static int setup_state(struct ctx *c, unsigned int flags, const char **step)
{
	uint64_t a;
	int ret, i;

	memset(c, 0, sizeof(*c));
	c->fd2 = -1;
	globals(&c->g_heaps, &c->g_comm, &c->g_res);
	c->r0 = base;
	c->r1 = base + MIB;
	c->r2 = base + 2 * MIB;
	c->rfar = base + 6 * GIB;

#define STEP(name, call) do {						\
		*step = name;						\
		ret = (call);						\
		if (ret)						\
			return ret;					\
	} while (0)

	*step = "open";
	c->fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	STEP("reserve R0", do_reserve(c, c->r0, 16 * PAGE));
	STEP("reserve R1", do_reserve(c, c->r1, 4 * PAGE));
	STEP("commit R1", do_range(c, CODEHEAP_IOC_COMMIT, c->r1, PAGE, 0));
	STEP("F1", do_fn(c, c->r0, c->r0 + 16 * PAGE, 1, 64, 0, &c->f1));
	STEP("F2", do_fn(c, c->r0, c->r0 + 16 * PAGE, 2, PAGE, PAGE, &c->f2));
	STEP("J0", do_jt_create(c, 4, U64(stub_fn), c->r0,
				c->r0 + 16 * PAGE));
	STEP("J0 slot 1", do_jt_patch1(c, c->jt[0].id, 1, c->f2));
	STEP("J0 slot 2", do_jt_patch1(c, c->jt[0].id, 2, c->f1));
	STEP("commit R0", do_range(c, CODEHEAP_IOC_COMMIT, c->r0 + 2 * PAGE,
				   2 * PAGE, 0));
	if (flags & S_WRITE1)
		STEP("A3", do_alloc(c, 64, 0, c->r0, c->r0 + 16 * PAGE, 3, &a));
	if (flags & S_WRITE8)
		for (i = 0; i < 8; i++)
			STEP("A1x", do_alloc(c, 64, 0, c->r0,
					     c->r0 + 16 * PAGE, 10 + i, &a));
	if (flags & S_R1FULL)
		STEP("commit R1 all", do_range(c, CODEHEAP_IOC_COMMIT, c->r1,
					       4 * PAGE, 0));
	if (flags & S_PROTNONE)
		STEP("protect none", do_range(c, CODEHEAP_IOC_PROTECT,
					      c->r0 + PAGE, 2 * PAGE, 0));
	if (flags & S_J1) {
		STEP("reserve R2", do_reserve(c, c->r2, 4 * PAGE));
		STEP("J1", do_jt_create(c, 4, c->f1, c->r2, c->r2 + 4 * PAGE));
		STEP("J1 slot 0", do_jt_patch1(c, c->jt[1].id, 0, c->f2));
	}
	if (flags & S_KEPT) {
		STEP("commit R0 4-5", do_range(c, CODEHEAP_IOC_COMMIT,
					       c->r0 + 4 * PAGE, 2 * PAGE, 0));
		STEP("decommit R0 4-5", do_range(c, CODEHEAP_IOC_DECOMMIT,
						 c->r0 + 4 * PAGE, 2 * PAGE,
						 0));
	}
	if (flags & S_FAR) {
		STEP("reserve RFAR", do_reserve(c, c->rfar, 4 * PAGE));
		STEP("F3", do_fn(c, c->rfar, c->rfar + 4 * PAGE, 3, 64, 0,
				 &c->f3));
	}
#undef STEP
	*step = NULL;
	return 0;
}

/*
 * Unmap every /dev/codeheap mapping (which ends each reservation with all
 * it holds) and close the heaps; then the global counters must be back
 * where they were.
 */
static int teardown(struct ctx *c, char *why, size_t len)
{
	uint64_t start[MAX_MAPS * 4], end[MAX_MAPS * 4];
	long long heaps, comm, res;
	char line[512];
	int n = 0, i, bad = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (f) {
		while (fgets(line, sizeof(line), f) &&
		       n < (int)ARRAY_SIZE(start)) {
			unsigned long long s, e;

			if (!strstr(line, DEV))
				continue;
			if (sscanf(line, "%llx-%llx", &s, &e) == 2) {
				start[n] = s;
				end[n++] = e;
			}
		}
		fclose(f);
	}
	for (i = 0; i < n; i++)
		if (munmap(PTR(start[i]), end[i] - start[i])) {
			snprintf(why, len, "teardown: munmap %llx-%llx: %s",
				 (unsigned long long)start[i],
				 (unsigned long long)end[i], strerror(errno));
			bad = 1;
		}
	if (c->fd2 >= 0)
		close(c->fd2);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = c->fd2 = -1;
	if (bad)
		return -1;
	if (globals(&heaps, &comm, &res)) {
		snprintf(why, len, "teardown: cannot read " SYSFS);
		return -1;
	}
	if (heaps != c->g_heaps || comm != c->g_comm || res != c->g_res) {
		snprintf(why, len,
			 "teardown: global counters heaps %lld committed %lld reserved %lld, were %lld %lld %lld (leak)",
			 heaps, comm, res, c->g_heaps, c->g_comm, c->g_res);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- snapshots -- */

struct snap {
	int st_ret;
	struct codeheap_stats st;
	long long heaps, comm, res;	/* relative to before the open */
	int nmap;
	uint64_t mstart[MAX_MAPS], mend[MAX_MAPS];	/* not compared */
	char mperm[MAX_MAPS][8];
	int npg[MAX_MAPS];
	int pg_sig[MAX_MAPS][MAX_PAGES];
	uint64_t pg_hash[MAX_MAPS][MAX_PAGES];
	int nal;
	struct {
		int ret;
		uint64_t start, len, tag;
		uint32_t flags;
		int sig, val;
	} al[MAX_ALLOCS];
	int njt;
	uint32_t jt_nr[MAX_JTS];
	struct {
		int ret;
		uint64_t target;
		int sig, val;
	} slot[MAX_JTS][MAX_SLOTS];
	int st2_ret;
	struct codeheap_stats st2;
	int nout;
	uint64_t out[MAX_OUT];
};

/* An address as (mapping index, offset), so heaps at other places match. */
static uint64_t norm(const struct snap *s, uint64_t a)
{
	int i;

	for (i = 0; i < s->nmap; i++)
		if (a >= s->mstart[i] && a < s->mend[i])
			return (1ULL << 63) | ((uint64_t)i << 48) |
			       (a - s->mstart[i]);
	return a;
}

static void snap_take(struct ctx *c, struct snap *s)
{
	char line[512];
	int i, j;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f) && s->nmap < MAX_MAPS) {
		unsigned long long st, en;
		char perm[8];

		if (!strstr(line, DEV))
			continue;
		if (sscanf(line, "%llx-%llx %7s", &st, &en, perm) != 3)
			continue;
		s->mstart[s->nmap] = st;
		s->mend[s->nmap] = en;
		memcpy(s->mperm[s->nmap], perm, sizeof(perm));
		s->nmap++;
	}
	if (f)
		fclose(f);
	for (i = 0; i < s->nmap; i++) {
		uint64_t np = (s->mend[i] - s->mstart[i]) / PAGE;

		s->npg[i] = np > MAX_PAGES ? MAX_PAGES : np;
		for (j = 0; j < s->npg[i]; j++)
			s->pg_sig[i][j] = probe_page(s->mstart[i] + j * PAGE,
						     &s->pg_hash[i][j]);
	}

	s->st.size = sizeof(s->st);
	s->st_ret = hio(c, CODEHEAP_IOC_STATS, &s->st);
	globals(&s->heaps, &s->comm, &s->res);
	s->heaps -= c->g_heaps;
	s->comm -= c->g_comm;
	s->res -= c->g_res;

	s->nal = c->nal;
	for (i = 0; i < c->nal; i++) {
		struct codeheap_lookup l = {
			.size = sizeof(l), .addr = c->al[i].addr,
		};

		s->al[i].ret = hio(c, CODEHEAP_IOC_LOOKUP, &l);
		if (!s->al[i].ret) {
			s->al[i].start = norm(s, l.start);
			s->al[i].len = l.len;
			s->al[i].tag = l.tag;
			s->al[i].flags = l.alloc_flags;
		}
		s->al[i].sig = probe_call(c->al[i].addr, &s->al[i].val);
	}

	s->njt = c->njt;
	for (i = 0; i < c->njt; i++) {
		s->jt_nr[i] = c->jt[i].nr;
		for (j = 0; j < (int)c->jt[i].nr && j < MAX_SLOTS; j++) {
			struct codeheap_jt_query q = {
				.size = sizeof(q), .id = c->jt[i].id, .slot = j,
			};

			s->slot[i][j].ret = hio(c, CODEHEAP_IOC_JT_QUERY, &q);
			if (!s->slot[i][j].ret)
				s->slot[i][j].target = norm(s, q.target);
			s->slot[i][j].sig = probe_call(c->jt[i].base +
						       j * c->jt[i].slot_size,
						       &s->slot[i][j].val);
		}
	}

	s->st2_ret = -EBADF;
	if (c->fd2 >= 0) {
		s->st2.size = sizeof(s->st2);
		s->st2_ret = ioctl(c->fd2, CODEHEAP_IOC_STATS, &s->st2) ?
			     -errno : 0;
	}

	s->nout = c->nout;
	for (i = 0; i < c->nout; i++)
		s->out[i] = c->addrmask & (1u << i) ? norm(s, c->out[i]) :
			    c->out[i];
}

struct diffbuf {
	char *buf;
	size_t len, used;
	int n;
};

static void __attribute__((format(printf, 2, 3)))
dpr(struct diffbuf *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (d->n++ >= 12 || d->used >= d->len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(d->buf + d->used, d->len - d->used, fmt, ap);
	va_end(ap);
	if (r > 0)
		d->used += r;
	if (d->used > d->len)
		d->used = d->len;
}

#define D(name, x, y) do {						\
		if ((x) != (y))						\
			dpr(d, "; %s %#llx -> %#llx", name,		\
			    (unsigned long long)(x),			\
			    (unsigned long long)(y));			\
	} while (0)

static void diff_stats(struct diffbuf *d, const char *p,
		       const struct codeheap_stats *a,
		       const struct codeheap_stats *b)
{
	char n[64];

#define DS(f) do {							\
		snprintf(n, sizeof(n), "%s." #f, p);			\
		D(n, a->f, b->f);					\
	} while (0)
	DS(reserved_bytes);
	DS(committed_bytes);
	DS(allocated_bytes);
	DS(freed_bytes);
	DS(peak_allocated_bytes);
	DS(peak_committed_bytes);
	DS(largest_free);
	DS(allocations);
	DS(reservations);
	DS(jump_tables);
#undef DS
}

/* Differences from a (expected) to b (seen), described in buf. */
static int snap_diff(const struct snap *a, const struct snap *b, char *buf,
		     size_t len)
{
	struct diffbuf db = { buf, len, 0, 0 }, *d = &db;
	char n[96];
	int i, j;

	buf[0] = '\0';
	D("STATS ret", a->st_ret, b->st_ret);
	diff_stats(d, "stats", &a->st, &b->st);
	D("global heaps", a->heaps, b->heaps);
	D("global committed_bytes", a->comm, b->comm);
	D("global reserved_bytes", a->res, b->res);
	D("mappings", a->nmap, b->nmap);
	for (i = 0; i < a->nmap && i < b->nmap; i++) {
		snprintf(n, sizeof(n), "mapping %d length", i);
		D(n, a->mend[i] - a->mstart[i], b->mend[i] - b->mstart[i]);
		if (strcmp(a->mperm[i], b->mperm[i]))
			dpr(d, "; mapping %d perms %s -> %s", i, a->mperm[i],
			    b->mperm[i]);
		for (j = 0; j < a->npg[i] && j < b->npg[i]; j++) {
			snprintf(n, sizeof(n), "mapping %d page %d signal",
				 i, j);
			D(n, a->pg_sig[i][j], b->pg_sig[i][j]);
			snprintf(n, sizeof(n), "mapping %d page %d bytes hash",
				 i, j);
			D(n, a->pg_hash[i][j], b->pg_hash[i][j]);
		}
	}
	D("known allocations", a->nal, b->nal);
	for (i = 0; i < a->nal && i < b->nal; i++) {
#define DA(f, what) do {						\
		snprintf(n, sizeof(n), "alloc %d " what, i);		\
		D(n, a->al[i].f, b->al[i].f);				\
	} while (0)
		DA(ret, "LOOKUP ret");
		DA(start, "LOOKUP start");
		DA(len, "LOOKUP len");
		DA(tag, "LOOKUP tag");
		DA(flags, "LOOKUP alloc_flags");
		DA(sig, "call signal");
		DA(val, "call result");
#undef DA
	}
	D("known jump tables", a->njt, b->njt);
	for (i = 0; i < a->njt && i < b->njt; i++)
		for (j = 0; j < (int)a->jt_nr[i] && j < MAX_SLOTS; j++) {
#define DJ(f, what) do {						\
		snprintf(n, sizeof(n), "jt %d slot %d " what, i, j);	\
		D(n, a->slot[i][j].f, b->slot[i][j].f);			\
	} while (0)
			DJ(ret, "JT_QUERY ret");
			DJ(target, "JT_QUERY target");
			DJ(sig, "call signal");
			DJ(val, "call result");
#undef DJ
		}
	D("second heap STATS ret", a->st2_ret, b->st2_ret);
	diff_stats(d, "second heap stats", &a->st2, &b->st2);
	D("outputs", a->nout, b->nout);
	for (i = 0; i < a->nout && i < b->nout; i++) {
		snprintf(n, sizeof(n), "output %d", i);
		D(n, a->out[i], b->out[i]);
	}
	if (d->n > 12 && d->used < d->len)
		snprintf(d->buf + d->used, d->len - d->used, "; ... (%d in all)",
			 d->n);
	return d->n;
}

/* ---------------------------------------------------------- commands -- */

static int run_reserve(struct ctx *c)
{
	struct codeheap_reserve r = { .size = sizeof(r), .len = 4 * PAGE };
	int ret = cmd_ioctl(c, CODEHEAP_IOC_RESERVE, &r, sizeof(r));

	if (!ret)
		add_out(c, r.addr, 1);
	return ret;
}

static int run_release(struct ctx *c)
{
	struct codeheap_release r = { .size = sizeof(r), .addr = c->r1 };

	return cmd_ioctl(c, CODEHEAP_IOC_RELEASE, &r, sizeof(r));
}

static int run_range(struct ctx *c, unsigned long cmd, uint64_t addr,
		     uint64_t len, uint32_t prot)
{
	struct codeheap_range r = {
		.size = sizeof(r), .addr = addr, .len = len, .prot = prot,
	};

	return cmd_ioctl(c, cmd, &r, sizeof(r));
}

static int run_commit(struct ctx *c)
{
	return run_range(c, CODEHEAP_IOC_COMMIT, c->r1, 4 * PAGE, 0);
}

static int run_decommit(struct ctx *c)
{
	return run_range(c, CODEHEAP_IOC_DECOMMIT, c->r1, 4 * PAGE, 0);
}

static int run_protect_none(struct ctx *c)
{
	return run_range(c, CODEHEAP_IOC_PROTECT, c->r0 + PAGE, 2 * PAGE, 0);
}

static int run_protect_rx(struct ctx *c)
{
	return run_range(c, CODEHEAP_IOC_PROTECT, c->r0 + PAGE, 2 * PAGE,
			 PROT_READ | PROT_EXEC);
}

static int run_alloc(struct ctx *c, uint64_t len, uint64_t tag)
{
	struct codeheap_alloc a = { .size = sizeof(a), .len = len, .tag = tag };
	int ret = cmd_ioctl(c, CODEHEAP_IOC_ALLOC, &a, sizeof(a));

	if (!ret) {
		add_alloc(c, a.addr, tag);
		add_out(c, a.addr, 1);
	}
	return ret;
}

static int run_alloc_fit(struct ctx *c)
{
	return run_alloc(c, 256, 5);
}

/* 64 KiB fits neither in R0 nor in R1: a new code space of 128 KiB. */
static int run_alloc_grow(struct ctx *c)
{
	return run_alloc(c, 64 * 1024, 6);
}

static int run_addr(struct ctx *c, unsigned long cmd, uint64_t addr)
{
	struct codeheap_addr a = { .size = sizeof(a), .addr = addr };

	return cmd_ioctl(c, cmd, &a, sizeof(a));
}

static int run_free(struct ctx *c)
{
	return run_addr(c, CODEHEAP_IOC_FREE, c->f2);
}

static int run_seal(struct ctx *c)
{
	return run_addr(c, CODEHEAP_IOC_SEAL, c->f2);
}

static int run_lookup(struct ctx *c)
{
	struct codeheap_lookup l = { .size = sizeof(l), .addr = c->f2 + 100 };
	int ret = cmd_ioctl(c, CODEHEAP_IOC_LOOKUP, &l, sizeof(l));

	if (!ret) {
		add_out(c, l.start, 1);
		add_out(c, l.len, 0);
		add_out(c, l.tag, 0);
		add_out(c, l.alloc_flags, 0);
	}
	return ret;
}

static int run_write(struct ctx *c, const struct codeheap_write_entry *e,
		     uint32_t count)
{
	struct codeheap_write w = {
		.size = sizeof(w), .count = count, .entries = U64(e),
	};

	return cmd_ioctl(c, CODEHEAP_IOC_WRITE, &w, sizeof(w));
}

static unsigned char codes[8][6];

/* A3 is the known allocation after F1 and F2. */
static int run_write1(struct ctx *c)
{
	struct codeheap_write_entry e = {
		.dst = c->al[2].addr, .src = U64(codes[3]), .len = 6,
	};

	return run_write(c, &e, 1);
}

/* Eight functions into A10..A17, the known allocations after F1, F2. */
static int run_write8(struct ctx *c)
{
	struct codeheap_write_entry e[8];
	int i;

	for (i = 0; i < 8; i++)
		e[i] = (struct codeheap_write_entry){
			.dst = c->al[2 + i].addr, .src = U64(codes[i]),
			.len = 6,
		};
	return run_write(c, e, 8);
}

static int run_stats(struct ctx *c)
{
	struct codeheap_stats s = { .size = sizeof(s) };
	int ret = cmd_ioctl(c, CODEHEAP_IOC_STATS, &s, sizeof(s));

	if (!ret) {
		add_out(c, s.committed_bytes, 0);
		add_out(c, s.allocated_bytes, 0);
		add_out(c, s.largest_free, 0);
		add_out(c, s.jump_tables, 0);
	}
	return ret;
}

static int run_version(struct ctx *c)
{
	struct codeheap_version v = { .size = sizeof(v) };
	int ret = cmd_ioctl(c, CODEHEAP_IOC_VERSION, &v, sizeof(v));

	if (!ret) {
		add_out(c, v.api_version, 0);
		add_out(c, v.page_size, 0);
		add_out(c, v.code_align, 0);
		add_out(c, v.max_batch, 0);
	}
	return ret;
}

static int jt_create(struct ctx *c, uint32_t nr)
{
	struct codeheap_jt_create j = {
		.size = sizeof(j), .nr_slots = nr, .default_target = c->f1,
	};
	int ret = cmd_ioctl(c, CODEHEAP_IOC_JT_CREATE, &j, sizeof(j));

	if (!ret) {
		add_jt(c, j.id, nr, j.base, j.slot_size);
		add_out(c, j.base, 1);
		add_out(c, j.id, 0);
		add_out(c, j.slot_size, 0);
	}
	return ret;
}

static int run_jt_create(struct ctx *c)
{
	return jt_create(c, 8);
}

/* 4096 slots fit neither in R0 nor in R1: a new code space. */
static int run_jt_create_grow(struct ctx *c)
{
	return jt_create(c, 4096);
}

static int run_jt_patch(struct ctx *c, const struct codeheap_jt_patch_entry *e,
			uint32_t count)
{
	struct codeheap_jt_patch p = {
		.size = sizeof(p), .id = c->jt[0].id, .count = count,
		.entries = U64(e),
	};

	return cmd_ioctl(c, CODEHEAP_IOC_JT_PATCH, &p, sizeof(p));
}

static int run_jt_patch_near(struct ctx *c)
{
	struct codeheap_jt_patch_entry e = { .slot = 0, .target = c->f2 };

	return run_jt_patch(c, &e, 1);
}

static int run_jt_patch_default(struct ctx *c)
{
	struct codeheap_jt_patch_entry e = {
		.slot = 1, .target = U64(stub_fn),
	};

	return run_jt_patch(c, &e, 1);
}

static int run_jt_patch_far(struct ctx *c)
{
	struct codeheap_jt_patch_entry e = { .slot = 0, .target = c->f3 };

	return run_jt_patch(c, &e, 1);
}

static int run_jt_patch_batch(struct ctx *c)
{
	uint64_t def = U64(stub_fn);
	struct codeheap_jt_patch_entry e[8] = {
		{ .slot = 0, .target = c->f1 },
		{ .slot = 1, .target = def },
		{ .slot = 2, .target = c->f2 },
		{ .slot = 3, .target = c->f3 },
		{ .slot = 0, .target = c->f2 },
		{ .slot = 3, .target = def },
		{ .slot = 1, .target = c->f1 + 32 },
		{ .slot = 2, .target = c->f3 },
	};

	return run_jt_patch(c, e, 8);
}

static int run_jt_query(struct ctx *c)
{
	struct codeheap_jt_query q = {
		.size = sizeof(q), .id = c->jt[0].id, .slot = 1,
	};
	int ret = cmd_ioctl(c, CODEHEAP_IOC_JT_QUERY, &q, sizeof(q));

	if (!ret)
		add_out(c, q.target, 1);
	return ret;
}

static int run_jt_destroy(struct ctx *c)
{
	struct codeheap_jt_destroy d = { .size = sizeof(d), .id = c->jt[0].id };

	return cmd_ioctl(c, CODEHEAP_IOC_JT_DESTROY, &d, sizeof(d));
}

static int run_open(struct ctx *c)
{
	c->fd2 = open(DEV, O_RDWR | O_CLOEXEC);
	return c->fd2 < 0 ? -errno : 0;
}

static int run_munmap(struct ctx *c)
{
	return munmap(PTR(c->r0), 16 * PAGE) ? -errno : 0;
}

/* ---------------------------------------------------------- scenarios -- */

struct scenario {
	const char *name;
	unsigned int flags;
	int big;
	int (*run)(struct ctx *c);
	int errnos[4];		/* what an injected failure may return */
};

#define EIOCTL { ENOMEM, EFAULT }

static const struct scenario scenarios[] = {
	{ "reserve", 0, 0, run_reserve, EIOCTL },
	{ "reserve/big", 0, 1, run_reserve, EIOCTL },
	{ "release", 0, 0, run_release, EIOCTL },
	{ "commit", 0, 0, run_commit, EIOCTL },
	{ "commit/big", 0, 1, run_commit, EIOCTL },
	{ "commit-kept", S_KEPT, 0, run_commit, EIOCTL },
	{ "decommit", S_R1FULL, 0, run_decommit, EIOCTL },
	{ "decommit/big", S_R1FULL, 1, run_decommit, EIOCTL },
	{ "protect-none", 0, 0, run_protect_none, EIOCTL },
	{ "protect-rx", S_PROTNONE, 0, run_protect_rx, EIOCTL },
	{ "alloc-fit", 0, 0, run_alloc_fit, EIOCTL },
	{ "alloc-fit/big", 0, 1, run_alloc_fit, EIOCTL },
	{ "alloc-grow", 0, 0, run_alloc_grow, EIOCTL },
	{ "alloc-grow/big", 0, 1, run_alloc_grow, EIOCTL },
	{ "alloc-grow-kept/big", S_KEPT, 1, run_alloc_grow, EIOCTL },
	{ "free", S_J1, 0, run_free, EIOCTL },
	{ "free/big", S_J1, 1, run_free, EIOCTL },
	{ "seal", 0, 0, run_seal, EIOCTL },
	{ "lookup", 0, 0, run_lookup, EIOCTL },
	{ "lookup/big", 0, 1, run_lookup, EIOCTL },
	{ "write-1", S_WRITE1, 0, run_write1, EIOCTL },
	{ "write-1/big", S_WRITE1, 1, run_write1, EIOCTL },
	{ "write-8", S_WRITE8, 0, run_write8, EIOCTL },
	{ "stats", 0, 0, run_stats, EIOCTL },
	{ "stats/big", 0, 1, run_stats, EIOCTL },
	{ "version", 0, 0, run_version, EIOCTL },
	{ "version/big", 0, 1, run_version, EIOCTL },
	{ "jt-create", 0, 0, run_jt_create, EIOCTL },
	{ "jt-create/big", 0, 1, run_jt_create, EIOCTL },
	{ "jt-create-grow", 0, 0, run_jt_create_grow, EIOCTL },
	{ "jt-create-grow/big", 0, 1, run_jt_create_grow, EIOCTL },
	{ "jt-patch-near", 0, 0, run_jt_patch_near, EIOCTL },
	{ "jt-patch-near/big", 0, 1, run_jt_patch_near, EIOCTL },
	{ "jt-patch-default", 0, 0, run_jt_patch_default, EIOCTL },
	{ "jt-patch-far", S_FAR, 0, run_jt_patch_far, EIOCTL },
	{ "jt-patch-batch", S_FAR, 0, run_jt_patch_batch, EIOCTL },
	{ "jt-query", 0, 0, run_jt_query, EIOCTL },
	{ "jt-query/big", 0, 1, run_jt_query, EIOCTL },
	{ "jt-destroy", S_J1, 0, run_jt_destroy, EIOCTL },
	{ "jt-destroy/big", S_J1, 1, run_jt_destroy, EIOCTL },
	/* EFAULT: the VFS's copy of the path (strncpy_from_user()). */
	{ "open", 0, 0, run_open, { ENOMEM, EFAULT } },
	{ "munmap", S_J1, 0, run_munmap, { ENOMEM } },
};

static int errno_ok(const struct scenario *sc, int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sc->errnos) && sc->errnos[i]; i++)
		if (sc->errnos[i] == err)
			return 1;
	return 0;
}

static char report[64 * 1024];
static size_t report_used;
static int findings;

/*
 * Findings of consecutive n with the same text are reported once, as
 * "n=FIRST..LAST".
 */
static char last_text[4096];
static long last_first, last_n;

static void __attribute__((format(printf, 1, 2)))
report_put(const char *fmt, ...)
{
	va_list ap;
	int r;

	if (report_used >= sizeof(report) - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(report + report_used, sizeof(report) - report_used, fmt,
		      ap);
	va_end(ap);
	if (r > 0)
		report_used += r;
	if (report_used >= sizeof(report))
		report_used = sizeof(report) - 1;
}

static void report_flush(void)
{
	if (!last_text[0])
		return;
	if (last_first == last_n)
		report_put("#   n=%ld: %s\n", last_first, last_text);
	else
		report_put("#   n=%ld..%ld: %s\n", last_first, last_n,
			   last_text);
	last_text[0] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
finding(long n, const char *fmt, ...)
{
	char text[sizeof(last_text)];
	va_list ap;

	findings++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (last_text[0] && n == last_n + 1 && !strcmp(text, last_text)) {
		last_n = n;
		return;
	}
	report_flush();
	strcpy(last_text, text);
	last_first = last_n = n;
}

static int verbose;		/* -v: one line per n */
static struct snap ref_before, ref_after, before, after;
static char dbuf[2048];

/* Build the state uninjected; -1 (with a finding) if it failed. */
static int prepare(const struct scenario *sc, struct ctx *c, long n)
{
	const char *step;
	char why[256];
	int ret = setup_state(c, sc->flags, &step);

	if (ret) {
		finding(n, "setting up the state failed at %s: %s", step,
			strerror(-ret));
		teardown(c, why, sizeof(why));
		return -1;
	}
	c->big = sc->big;
	return 0;
}

static int sweep(const struct scenario *sc, long *points)
{
	char why[256];
	struct ctx c;
	int ret, misses = 0;
	long n;

	*points = 0;
	findings = 0;
	report_used = 0;
	report[0] = '\0';
	last_text[0] = '\0';

	/* The reference: the command uninjected. */
	if (prepare(sc, &c, 0))
		return -1;
	snap_take(&c, &ref_before);
	ret = sc->run(&c);
	if (ret) {
		finding(0, "uninjected run failed: %s", strerror(-ret));
		teardown(&c, why, sizeof(why));
		return -1;
	}
	snap_take(&c, &ref_after);
	if (teardown(&c, why, sizeof(why))) {
		finding(0, "uninjected run: %s", why);
		return -1;
	}

	for (n = 1; n <= MAX_N; n++) {
		int consumed;

		if (prepare(sc, &c, n))
			return -1;
		snap_take(&c, &before);
		if (snap_diff(&ref_before, &before, dbuf, sizeof(dbuf))) {
			finding(n, "the prepared state differs from the reference run's (test problem)%s",
				dbuf);
			teardown(&c, why, sizeof(why));
			return -1;
		}
		if (failnth_set(n)) {
			finding(n, "cannot write fail-nth: %s",
				strerror(errno));
			teardown(&c, why, sizeof(why));
			return -1;
		}
		ret = sc->run(&c);
		consumed = failnth_consumed();
		snap_take(&c, &after);
		if (verbose)
			printf("# %s n=%ld: %s, %s\n", sc->name, n,
			       ret ? strerror(-ret) : "success",
			       consumed ? "injected" : "not reached");

		if (!consumed) {
			/*
			 * Past the last injection point: a plain success.
			 * Kernel-internal paths (maple tree, kmemleak,
			 * memcg) do not always pass the same number of
			 * points, so go on until STOP_AFTER calls in a row
			 * reach none, lest the last points go untested.
			 */
			if (ret)
				finding(n, "(not injected) failed with %s",
					strerror(-ret));
			else if (snap_diff(&ref_after, &after, dbuf,
					   sizeof(dbuf)))
				finding(n, "(not injected) state differs from the reference success%s",
					dbuf);
			if (teardown(&c, why, sizeof(why))) {
				finding(n, "(not injected) %s", why);
				break;
			}
			if (++misses >= STOP_AFTER)
				break;
			continue;
		}
		misses = 0;
		++*points;
		if (!ret) {
			if (snap_diff(&ref_after, &after, dbuf, sizeof(dbuf)))
				finding(n, "succeeded despite the injected failure, but the state is not that of an uninjected success%s",
					dbuf);
		} else {
			if (!errno_ok(sc, -ret))
				finding(n, "failed with %s (%d), not an errno an injected failure may give",
					strerror(-ret), -ret);
			if (snap_diff(&before, &after, dbuf, sizeof(dbuf)))
				finding(n, "failed with %s but changed the state%s",
					strerror(-ret), dbuf);
			if (c.argchg)
				finding(n, "failed with %s but wrote into its argument struct",
					strerror(-ret));
		}
		if (teardown(&c, why, sizeof(why))) {
			finding(n, "%s", why);
			return -1;
		}
	}
	if (n > MAX_N)
		finding(n, "still injecting after %d points", MAX_N);
	return findings ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int i, only = 0, nr = ARRAY_SIZE(scenarios);
	long total = 0, points;
	int failed = 0;
	void *probe;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");

	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = 1;
		argc--;
		argv++;
	}
	if (argc > 1) {
		/* faultsweep [-v] NAME: only that scenario (for debugging). */
		for (i = 0; i < nr; i++)
			if (!strcmp(argv[1], scenarios[i].name))
				only = i + 1;
		if (!only) {
			printf("Bail out! no scenario %s\n", argv[1]);
			return 1;
		}
	}
	failnth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (failnth_fd < 0 || access(DEBUGFS "failslab", F_OK)) {
		/* Every kernel runs the VM suite; only a debug one injects. */
		printf("1..1\nok 1 - faultsweep # SKIP no fault injection in this kernel (%s)\n",
		       failnth_fd < 0 ? "no /proc/thread-self/fail-nth" :
		       "no " DEBUGFS "failslab");
		return 0;
	}
	printf("1..%u\n", only ? 1 : nr);
	if (setup_debugfs()) {
		printf("Bail out! cannot configure fault injection in " DEBUGFS "\n");
		return 1;
	}
	if (access(DEV, R_OK | W_OK)) {
		printf("Bail out! " DEV ": %s\n", strerror(errno));
		return 1;
	}

	/* A free range for the FIXED reservations, RFAR 6 GiB above R0. */
	probe = mmap(NULL, 8 * GIB, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (probe == MAP_FAILED) {
		printf("Bail out! no 8 GiB of free address space\n");
		return 1;
	}
	base = (U64(probe) + 2 * MIB - 1) & ~(2 * MIB - 1);
	munmap(probe, 8 * GIB);

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		code_ret(codes[i], 100 + i);
	probe_arm();
	/* Our own pages present, so user page faults add no points. */
	mlockall(MCL_CURRENT);

	for (i = 0; i < nr; i++) {
		const struct scenario *sc = &scenarios[i];
		unsigned int num = only ? 1 : i + 1;

		if (only && only != i + 1)
			continue;
		if (sweep(sc, &points)) {
			failed++;
			report_flush();
			printf("%s", report);
			printf("not ok %u - faultsweep/%s: %ld injection points, %d findings\n",
			       num, sc->name, points, findings);
		} else {
			printf("ok %u - faultsweep/%s: %ld injection points\n",
			       num, sc->name, points);
		}
		total += points;
	}
	printf("# faultsweep: total injection points %ld\n", total);
	return failed ? 1 : 0;
}
