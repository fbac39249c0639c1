// SPDX-License-Identifier: GPL-2.0
/*
 * Ownership and lifetime (SPEC 5.6, 5.7): other mms can look but not touch,
 * fork children keep read+exec views, close, exec and exit in any order
 * free everything once, nothing leaks, and threads can use one heap at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "codeheap_util.h"

/* Every mutating command from this process fails with EPERM: a bit per miss. */
static int mutations_refused(int fd, uint64_t code)
{
	struct codeheap_write_entry e = { code, U64(&e), 6 };
	struct codeheap_write w = {
		.size = sizeof(w), .count = 1, .entries = U64(&e),
	};
	struct codeheap_jt_create jc = { .size = sizeof(jc), .nr_slots = 1 };
	struct codeheap_jt_patch_entry je = { .target = code };
	struct codeheap_jt_patch jp = {
		.size = sizeof(jp), .id = 1, .count = 1, .entries = U64(&je),
	};
	struct codeheap_jt_destroy jd = { .size = sizeof(jd), .id = 1 };
	uint64_t page = code & ~(uint64_t)(ch_page() - 1);
	int bad = 0;

	bad |= (ch_reserve(fd, ch_page(), 0, 0, NULL) != -EPERM) << 0;
	bad |= (ch_release(fd, page) != -EPERM) << 1;
	bad |= (ch_range(fd, CODEHEAP_IOC_COMMIT, page, ch_page(), 0) != -EPERM) << 2;
	bad |= (ch_range(fd, CODEHEAP_IOC_DECOMMIT, page, ch_page(), 0) != -EPERM) << 3;
	bad |= (ch_range(fd, CODEHEAP_IOC_PROTECT, page, ch_page(), 0) != -EPERM) << 4;
	bad |= (ch_seal(fd, code) != -EPERM) << 5;
	bad |= (ch_alloc(fd, 64, 0, NULL) != -EPERM) << 6;
	bad |= (ch_free(fd, code) != -EPERM) << 7;
	bad |= (ch_ioctl(fd, CODEHEAP_IOC_WRITE, &w) != -EPERM) << 8;
	bad |= (ch_ioctl(fd, CODEHEAP_IOC_JT_CREATE, &jc) != -EPERM) << 9;
	bad |= (ch_ioctl(fd, CODEHEAP_IOC_JT_PATCH, &jp) != -EPERM) << 10;
	bad |= (ch_ioctl(fd, CODEHEAP_IOC_JT_DESTROY, &jd) != -EPERM) << 11;
	return bad;
}

/* And the read-only commands work. */
static int queries_work(int fd, uint64_t code)
{
	struct codeheap_version v;
	struct codeheap_lookup l;
	struct codeheap_stats st;

	return !ch_version(fd, &v) && !ch_lookup(fd, code, &l) &&
	       l.start == code && !ch_stats(fd, &st) && st.allocations >= 1;
}

static uint64_t make_code(struct __test_metadata *_metadata, int fd,
			  uint32_t value)
{
	uint64_t a;

	ASSERT_EQ(0, ch_make_fn(fd, value, &a));
	return a;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(fork_child_views_but_cannot_change)
{
	int fd, ret, go[2], done[2];
	uint64_t code;
	char c;
	pid_t pid;

	fd = open(CODEHEAP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	code = make_code(_metadata, fd, 11);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int r, st = 0;

		if (ch_probe_call(code, &r) || r != 11)
			st |= 1;
		if (ch_probe_write(code) != SIGSEGV)
			st |= 2;
		if (mutations_refused(fd, code))
			st |= 4;
		if (!queries_work(fd, code))
			st |= 8;
		/* The parent frees the code: our view of it goes with it. */
		if (write(done[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			st |= 16;
		r = ch_probe_call(code, NULL);
		if (r != SIGTRAP && r != SIGSEGV)
			st |= 32;
		_exit(st);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	/* The parent still owns the heap. */
	ASSERT_EQ(0, ch_free(fd, code));
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(SIGSEGV, ch_probe_call(code, &ret));
	close(fd);
}

/* A heap passed over a unix socket to an unrelated process. */
TEST(scm_rights_receiver_cannot_change)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 0;
	struct iovec iov = { &b, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int sv[2], fd;
	uint64_t code;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();		/* before the heap exists */
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t at;
		int rfd, st = 0;

		close(sv[0]);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(100);
		cm = CMSG_FIRSTHDR(&msg);
		memcpy(&rfd, CMSG_DATA(cm), sizeof(rfd));
		if (read(sv[1], &at, sizeof(at)) != sizeof(at))
			_exit(101);
		if (mutations_refused(rfd, at))
			st |= 1;
		if (!queries_work(rfd, at))
			st |= 2;
		/* The code is not mapped here: no alias appears either. */
		if (ch_probe_read(at, NULL) != SIGSEGV)
			st |= 4;
		_exit(st);
	}
	close(sv[1]);
	fd = open(CODEHEAP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	code = make_code(_metadata, fd, 12);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	ASSERT_EQ(sizeof(code), write(sv[0], &code, sizeof(code)));
	EXPECT_EQ(0, wait_exit(pid));
	close(sv[0]);
	close(fd);
}

static long long meminfo(const char *key)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtoll(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* One heap with some of everything, left for close/exit to clean up. */
static void populate(int fd, int n)
{
	unsigned char code[CH_RET_LEN];
	uint64_t a, r;
	int i;

	/* 2 MiB of pages per heap: a leak of them shows in MemFree. */
	if (ch_reserve(fd, 2 << 20, 0, 0, &r) == 0)
		ch_range(fd, CODEHEAP_IOC_COMMIT, r, 2 << 20, 0);
	for (i = 0; i < n; i++) {
		if (ch_alloc(fd, 64 + 100 * i, i, &a))
			continue;
		ch_code_ret(code, i);
		ch_write1(fd, a, code, CH_RET_LEN);
		if (i % 3 == 0)
			ch_free(fd, a);
		else if (i % 5 == 0)
			ch_seal(fd, a);
	}
}

/* Close, exec and exit in every order free everything, exactly once. */
TEST(teardown_in_any_order_leaks_nothing)
{
	long long heaps = ch_global("heaps");
	long long committed = ch_global("committed_bytes");
	long long reserved = ch_global("reserved_bytes");
	long long free_before, slab_before;
	int i, fd;
	pid_t pid;

	ASSERT_LE(0, heaps);
	free_before = meminfo("MemFree:");
	slab_before = meminfo("Slab:");

	for (i = 0; i < 60; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			fd = open(CODEHEAP_DEV, O_RDWR);
			if (fd < 0)
				_exit(1);
			populate(fd, 20);
			switch (i % 4) {
			case 0:		/* exit with everything open */
				_exit(0);
			case 1:		/* close first, mappings keep the heap */
				close(fd);
				_exit(ch_global("heaps") > heaps ? 0 : 2);
			case 2:		/* exec drops the mappings, fd survives */
				execl("/bin/sh", "sh", "-c", "exit 0", NULL);
				_exit(3);
			default:	/* a child of the owner exits last */
				if (fork() == 0) {
					usleep(1000);
					_exit(0);
				}
				_exit(0);
			}
		}
		ASSERT_EQ(0, wait_exit(pid)) TH_LOG("cycle %d", i);
	}
	/* Grandchildren of the last kind may still hold views. */
	usleep(100 * 1000);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	EXPECT_EQ(heaps, ch_global("heaps"));
	EXPECT_EQ(committed, ch_global("committed_bytes"));
	EXPECT_EQ(reserved, ch_global("reserved_bytes"));
	/*
	 * 60 heaps of over 2 MiB each came and went: 120 MiB.  Allow 16 MiB
	 * of noise (page cache, KASAN's quarantine on debug kernels); small
	 * slab leaks are kmemleak's job.
	 */
	EXPECT_GT(16 * 1024, free_before - meminfo("MemFree:"));
	EXPECT_GT(16 * 1024, meminfo("Slab:") - slab_before);
}

/*
 * The lifecycle matrix: an owner P and its fork child C share a heap (fd
 * and mapping).  Each closes its fd, unmaps its mapping, and exits or
 * execs, in every order and interleaving (20 interleavings x 2 orders x 2
 * ends for each of P and C).  After every step: the heap lives exactly as
 * long as an fd or a mapping of it does; its code runs where it is still
 * mapped and its reservation still lives (P's munmap, exec or exit ends
 * it, and C's view then faults); the module cannot be unloaded while the
 * heap lives; and at the end every global counter is back where it was.
 */
struct agent {
	int cmd, reply;		/* the driver's ends of its pipes */
	bool fd, mapped, gone;
};

/* An agent's loop: do what each command byte says, answer with one byte. */
static void agent_loop(int fd, uint64_t r, uint64_t len, uint64_t code,
		       int cmd, int reply)
{
	char c, ans;
	int ret;

	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'c':
			ans = close(fd) ? 'E' : 'k';
			break;
		case 'u':
			ans = munmap(PTR(r), len) ? 'E' : 'k';
			break;
		case 'r':
			ret = 0;
			ans = ch_probe_call(code, &ret) == SIGSEGV ? 's' :
			      ret == 21 ? 'v' : 'E';
			break;
		case 'e':
			/* The reply pipe stays open in sh: EOF when it exits. */
			execl("/bin/sh", "sh", "-c", "exit 0", NULL);
			_exit(3);
		default:
			_exit(0);
		}
		if (write(reply, &ans, 1) != 1)
			_exit(2);
	}
	_exit(0);
}

static char agent_ask(struct agent *a, char c)
{
	char ans = 0;

	if (write(a->cmd, &c, 1) != 1)
		return 'W';
	if (c == 'x' || c == 'e') {
		/* Gone once its reply pipe closes, at exit (or sh's exit). */
		while (read(a->reply, &ans, 1) == 1)
			;
		a->gone = true;
		return 'k';
	}
	return read(a->reply, &ans, 1) == 1 ? ans : 'R';
}

/* Wait for a global counter that an exit tears down asynchronously. */
static long long global_settles(const char *name, long long want)
{
	long long v = ch_global(name);
	int i;

	for (i = 0; i < 200 && v != want; i++) {
		usleep(5000);
		v = ch_global(name);
	}
	return v;
}

static void matrix_step(struct __test_metadata *_metadata, struct agent *ag,
			int who, char what, bool *space, long long heaps,
			long long committed, long long page)
{
	struct agent *a = &ag[who];
	bool live;
	int i;

	ASSERT_EQ('k', agent_ask(a, what)) TH_LOG("agent %d step %c", who, what);
	if (what == 'c')
		a->fd = false;
	if (what == 'u')
		a->mapped = false;
	if (what == 'x' || what == 'e')
		a->fd = a->mapped = false;
	/* P's mapping is the reservation: its going ends it. */
	if (who == 0 && !a->mapped)
		*space = false;

	live = false;
	for (i = 0; i < 2; i++)
		live |= ag[i].fd || ag[i].mapped;
	EXPECT_EQ(heaps + live, global_settles("heaps", heaps + live));
	EXPECT_EQ(committed + (*space ? page : 0),
		  global_settles("committed_bytes", committed + (*space ? page : 0)));
	if (live) {
		EXPECT_EQ(-1, syscall(__NR_delete_module, "codeheap", O_NONBLOCK));
	}
	for (i = 0; i < 2; i++) {
		if (ag[i].gone || !ag[i].mapped)
			continue;
		EXPECT_EQ(*space ? 'v' : 's', agent_ask(&ag[i], 'r'))
			TH_LOG("agent %d after %d:%c", i, who, what);
	}
}

FIXTURE(matrix) {
	struct timespec start;
};

FIXTURE_SETUP(matrix)
{
	clock_gettime(CLOCK_MONOTONIC, &self->start);
}

FIXTURE_TEARDOWN(matrix)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	TH_LOG("%ld s", (long)(end.tv_sec - self->start.tv_sec));
}

/* 640 forks and 320 or so execs: minutes under KASAN. */
TEST_F_TIMEOUT(matrix, two_processes_every_order, 400)
{
	long long heaps = ch_global("heaps");
	long long committed = ch_global("committed_bytes");
	long long reserved = ch_global("reserved_bytes");
	long long page = ch_page();
	unsigned int mask, order, ends, n = 0;

	ASSERT_LE(0, heaps);
	/* mask: which of the 6 steps are C's (3 bits set of 6). */
	for (mask = 0; mask < 64; mask++) {
		if (__builtin_popcount(mask) != 3)
			continue;
		for (order = 0; order < 4; order++) {
			for (ends = 0; ends < 4; ends++) {
				const char seq[2][2][3] = {
					{ "cu", "uc" }, { "cu", "uc" },
				};
				int cmd[2][2], reply[2][2], step[2] = { 0, 0 };
				struct agent ag[2] = { 0 };
				uint64_t r, code, len = 16 * page;
				bool space = true;
				pid_t p;
				int fd, i;

				for (i = 0; i < 2; i++) {
					ASSERT_EQ(0, pipe(cmd[i]));
					ASSERT_EQ(0, pipe(reply[i]));
				}
				p = fork();
				ASSERT_LE(0, p);
				if (p == 0) {
					fd = open(CODEHEAP_DEV, O_RDWR);
					if (fd < 0 || ch_reserve(fd, len, 0, 0, &r) ||
					    ch_alloc_in(fd, 64, 0, r, r + len, 0,
							&code))
						_exit(1);
					{
						unsigned char b[CH_RET_LEN];

						ch_code_ret(b, 21);
						if (ch_write1(fd, code, b, CH_RET_LEN))
							_exit(1);
					}
					if (fork() == 0) {
						close(cmd[0][0]);
						close(reply[0][1]);
						agent_loop(fd, r, len, code,
							   cmd[1][0], reply[1][1]);
					}
					close(cmd[1][0]);
					close(reply[1][1]);
					agent_loop(fd, r, len, code, cmd[0][0],
						   reply[0][1]);
				}
				for (i = 0; i < 2; i++) {
					close(cmd[i][0]);
					close(reply[i][1]);
					ag[i].cmd = cmd[i][1];
					ag[i].reply = reply[i][0];
					ag[i].fd = ag[i].mapped = true;
				}
				/* Both agents answer before the matrix starts. */
				ASSERT_EQ('v', agent_ask(&ag[0], 'r'));
				ASSERT_EQ('v', agent_ask(&ag[1], 'r'));
				for (i = 0; i < 6; i++) {
					int who = (mask >> i) & 1;
					char what;

					if (step[who] < 2)
						what = seq[who][(order >> who) & 1][step[who]];
					else
						what = (ends >> who) & 1 ? 'e' : 'x';
					step[who]++;
					matrix_step(_metadata, ag, who, what, &space,
						    heaps, committed, page);
				}
				ASSERT_EQ(p, waitpid(p, NULL, 0));
				for (i = 0; i < 2; i++) {
					close(ag[i].cmd);
					close(ag[i].reply);
				}
				n++;
			}
		}
	}
	EXPECT_EQ(320, n);
	EXPECT_EQ(heaps, global_settles("heaps", heaps));
	EXPECT_EQ(committed, ch_global("committed_bytes"));
	EXPECT_EQ(reserved, ch_global("reserved_bytes"));
}

struct unmapper {
	uint64_t guess;
	volatile int stop;
	uint64_t len;
};

/* Keep unmapping where the reservations land. */
static void *unmap_guess(void *arg)
{
	struct unmapper *u = arg;

	while (!u->stop) {
		uint64_t g = __atomic_load_n(&u->guess, __ATOMIC_ACQUIRE);

		if (g)
			munmap(PTR(g), u->len);
	}
	return NULL;
}

/*
 * Another thread keeps unmapping the address where RESERVE maps, so that
 * some reservations go while RESERVE is still returning them.  RESERVE
 * must not touch the space once it is linked: the unmapping ends and
 * frees it (a use after free once; caught here only when the race hits,
 * under KASAN).  Every RESERVE returns 0 or an errno, and the heap ends
 * with no reservation left.
 */
TEST(reserve_while_another_thread_unmaps)
{
	struct unmapper u = { .len = 64 * 1024 };
	struct codeheap_stats st;
	uint64_t addr;
	pthread_t t;
	int fd, i, ok = 0;
	void *hole;

	fd = open(CODEHEAP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	/* The thread's stack first, then a hole that nothing else takes. */
	ASSERT_EQ(0, pthread_create(&t, NULL, unmap_guess, &u));
	hole = mmap(NULL, u.len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole, u.len);
	__atomic_store_n(&u.guess, U64(hole), __ATOMIC_RELEASE);
	for (i = 0; i < 400; i++) {
		if (ch_reserve(fd, u.len, U64(hole), CODEHEAP_RESERVE_FIXED,
			       &addr))
			continue;
		ok++;
		/* Whether it is still there or not, it goes now. */
		munmap(PTR(addr), u.len);
	}
	u.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, ch_stats(fd, &st));
	EXPECT_EQ(0, st.reservations);
	EXPECT_EQ(0, st.reserved_bytes);
	EXPECT_LT(0, ok);
	TH_LOG("%d reservations", ok);
	close(fd);
}

/* Closing the fd keeps the code running until the mapping goes. */
TEST(close_keeps_mapping)
{
	long long heaps = ch_global("heaps");
	char line[512];
	uint64_t code, s = 0, e = 0;
	unsigned long long a, b;
	int fd, ret;
	FILE *f;

	fd = open(CODEHEAP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	code = make_code(_metadata, fd, 13);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, ch_probe_call(code, &ret));
	EXPECT_EQ(13, ret);
	EXPECT_EQ(heaps + 1, ch_global("heaps"));

	f = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a <= code &&
		    code < b) {
			s = a;
			e = b;
		}
	fclose(f);
	ASSERT_NE(0, e);
	ASSERT_EQ(0, munmap(PTR(s), e - s));
	EXPECT_EQ(heaps, ch_global("heaps"));
}

/* The module cannot go while a heap lives, by fd or by mapping alone. */
TEST(module_pinned_by_heap)
{
	uint64_t code;
	int fd, ret;

	fd = open(CODEHEAP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	code = make_code(_metadata, fd, 14);
	EXPECT_EQ(-1, syscall(__NR_delete_module, "codeheap", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	close(fd);
	EXPECT_EQ(-1, syscall(__NR_delete_module, "codeheap", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_EQ(0, ch_probe_call(code, &ret));
	EXPECT_EQ(14, ret);
}

/* Threads of one process allocating, writing, calling and freeing at once. */
struct stress {
	int fd;
	int id;
	int errors;
	long calls;
	struct timespec end;
};

static void *stress_thread(void *arg)
{
	struct stress *st = arg;
	unsigned int seed = st->id;
	struct timespec now;
	unsigned char code[CH_RET_LEN];
	uint64_t live[16] = { 0 };
	uint32_t want[16];
	int i, ret;

	do {
		i = rand_r(&seed) % 16;
		if (live[i]) {
			if (ch_probe_call(live[i], &ret) || (uint32_t)ret != want[i])
				st->errors++;
			st->calls++;
			if (ch_free(st->fd, live[i]))
				st->errors++;
			live[i] = 0;
		} else {
			want[i] = st->id * 1000000 + rand_r(&seed) % 1000000;
			if (ch_alloc(st->fd, 64 + rand_r(&seed) % 8192, 0,
				     &live[i])) {
				st->errors++;
				live[i] = 0;
				continue;
			}
			ch_code_ret(code, want[i]);
			if (ch_write1(st->fd, live[i], code, CH_RET_LEN))
				st->errors++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < st->end.tv_sec ||
		 (now.tv_sec == st->end.tv_sec && now.tv_nsec < st->end.tv_nsec));
	for (i = 0; i < 16; i++)
		if (live[i] && ch_free(st->fd, live[i]))
			st->errors++;
	return NULL;
}

TEST(threads_stress)
{
	struct stress st[4];
	pthread_t th[4];
	struct codeheap_stats s;
	long calls = 0;
	int fd, i;

	fd = open(CODEHEAP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		st[i] = (struct stress){ .fd = fd, .id = i + 1 };
		clock_gettime(CLOCK_MONOTONIC, &st[i].end);
		st[i].end.tv_sec += 2;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_thread, &st[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, st[i].errors) TH_LOG("thread %d", i);
		calls += st[i].calls;
	}
	EXPECT_LT(100, calls);
	ASSERT_EQ(0, ch_stats(fd, &s));
	EXPECT_EQ(0, s.allocations);
	EXPECT_EQ(0, s.allocated_bytes);
	EXPECT_EQ(0, s.committed_bytes);
	TH_LOG("%ld calls through freshly written code", calls);
	close(fd);
}

TEST_HARNESS_MAIN
