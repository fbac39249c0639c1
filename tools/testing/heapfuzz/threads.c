// SPDX-License-Identifier: GPL-2.0
/*
 * heapfuzz --threads K: K threads share one heap.  Each owns its
 * allocations and one jump table, and after every op of its own checks
 * that every one of its allocations holds exactly what it wrote (read and
 * executed), that LOOKUP names it and that its slots reach what it
 * patched.  Global STATS and the whole heap are compared at the quiescent
 * point after join, against a model assembled from every thread's state.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

#define T_BLOCKS	16
#define T_SLOTS		16
#define T_MAXLEN	2048

struct tblock {
	u64 start, len, tag;
	u32 fn;			/* value returned by the code at start */
	bool written;
	u8 content[T_MAXLEN];
};

struct tstate {
	int id;
	pthread_t th;
	struct rng r;
	u64 ops, done, seed;
	int nb;
	struct tblock b[T_BLOCKS];
	u32 jt_id;
	u64 jt_base;
	u64 tgt[T_SLOTS];
	u64 freed;
	u8 src[T_MAXLEN + 64];
};

static int tfd;
static u64 t_deadline_ops;
static time_t t_deadline;
static volatile u64 *t_opcount;
static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static u8 traps[T_MAXLEN];

/* Every live block of every thread, to catch overlapping allocations. */
static struct {
	u64 start, len;
	int owner;
} live[MAX_BLOCKS];
static int nlive;

static void live_add(struct tstate *t, u64 start, u64 len)
{
	int i;

	pthread_mutex_lock(&t_lock);
	for (i = 0; i < nlive; i++)
		if (live[i].start < start + len &&
		    start < live[i].start + live[i].len) {
			pthread_mutex_unlock(&t_lock);
			fail("thread %d: ALLOC %#llx+%#llx overlaps thread %d's live %#llx+%#llx",
			     t->id, (unsigned long long)start,
			     (unsigned long long)len, live[i].owner,
			     (unsigned long long)live[i].start,
			     (unsigned long long)live[i].len);
		}
	live[nlive].start = start;
	live[nlive].len = len;
	live[nlive].owner = t->id;
	nlive++;
	pthread_mutex_unlock(&t_lock);
}

static void live_del(u64 start)
{
	int i;

	pthread_mutex_lock(&t_lock);
	for (i = 0; i < nlive; i++)
		if (live[i].start == start) {
			live[i] = live[--nlive];
			break;
		}
	pthread_mutex_unlock(&t_lock);
}

static void t_verify(struct tstate *t)
{
	struct codeheap_lookup l;
	struct codeheap_jt_query q;
	int i, ret, sig;
	u64 bad;
	u32 v;

	for (i = 0; i < t->nb; i++) {
		struct tblock *b = &t->b[i];

		ret = probe_cmp(b->start, b->content, b->len, &bad);
		if (ret > 0)
			fail("thread %d: own allocation %#llx+%#llx unreadable (signal %d at %#llx)",
			     t->id, (unsigned long long)b->start,
			     (unsigned long long)b->len, ret,
			     (unsigned long long)bad);
		if (ret < 0)
			fail("thread %d: own allocation %#llx+%#llx byte %#llx expected %#x got %#x (%s)",
			     t->id, (unsigned long long)b->start,
			     (unsigned long long)b->len,
			     (unsigned long long)bad,
			     b->content[bad - b->start],
			     *(volatile u8 *)PTR(bad),
			     b->written ? "written" : "fresh, never written");
		if (b->written) {
			sig = probe_call(b->start, &v);
			if (sig || v != b->fn)
				fail("thread %d: call %#llx expected %#x got signal %d value %#x",
				     t->id, (unsigned long long)b->start, b->fn,
				     sig, v);
		}
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.addr = b->start + rnd_below(&t->r, b->len);
		ret = ch_ioctl(tfd, CODEHEAP_IOC_LOOKUP, &l);
		if (ret || l.start != b->start || l.len != b->len ||
		    l.tag != b->tag)
			fail("thread %d: LOOKUP %#llx expected %#llx+%#llx tag %#llx got %s %#llx+%#llx tag %#llx",
			     t->id, (unsigned long long)l.addr,
			     (unsigned long long)b->start,
			     (unsigned long long)b->len,
			     (unsigned long long)b->tag, errname(ret),
			     (unsigned long long)l.start,
			     (unsigned long long)l.len,
			     (unsigned long long)l.tag);
	}
	for (i = 0; i < T_SLOTS; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.id = t->jt_id;
		q.slot = i;
		ret = ch_ioctl(tfd, CODEHEAP_IOC_JT_QUERY, &q);
		if (ret || q.target != t->tgt[i])
			fail("thread %d: JT_QUERY %u/%d expected %#llx got %s %#llx",
			     t->id, t->jt_id, i,
			     (unsigned long long)t->tgt[i], errname(ret),
			     (unsigned long long)q.target);
	}
	/* one slot, called */
	i = rnd_below(&t->r, T_SLOTS);
	sig = probe_call(t->jt_base + i * 8ULL, &v);
	if (!t->tgt[i]) {
		if (sig != SIGTRAP)
			fail("thread %d: trap slot %d: expected SIGTRAP got %d",
			     t->id, i, sig);
	} else {
		int k;

		for (k = 0; k < t->nb; k++)
			if (t->b[k].start == t->tgt[i])
				break;
		if (k == t->nb)
			fail("thread %d: slot %d targets no own block", t->id, i);
		if (t->b[k].written ? (sig || v != t->b[k].fn) : sig != SIGTRAP)
			fail("thread %d: call via slot %d -> %#llx: expected %s %#x got signal %d value %#x",
			     t->id, i, (unsigned long long)t->tgt[i],
			     t->b[k].written ? "value" : "SIGTRAP",
			     t->b[k].fn, sig, v);
	}
}

static void t_alloc(struct tstate *t)
{
	struct codeheap_alloc a;
	struct tblock *b;
	int ret;

	if (t->nb == T_BLOCKS)
		return;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.len = 1 + rnd_below(&t->r, chance(&t->r, 80) ? 256 : T_MAXLEN);
	a.align = chance(&t->r, 20) ? 1ULL << rnd_below(&t->r, 13) : 0;
	a.tag = ((u64)t->id << 56) | (rnd(&t->r) >> 8);
	ring_add(t->done, "thread %d ALLOC len %#llx align %#llx tag %#llx",
		 t->id, (unsigned long long)a.len,
		 (unsigned long long)a.align, (unsigned long long)a.tag);
	ret = ch_ioctl(tfd, CODEHEAP_IOC_ALLOC, &a);
	if (ret)
		fail("thread %d: ALLOC expected 0 got %s", t->id, errname(ret));
	if (a.addr % CODE_ALIGN || (a.align > CODE_ALIGN && a.addr % a.align))
		fail("thread %d: ALLOC %#llx misaligned", t->id,
		     (unsigned long long)a.addr);
	b = &t->b[t->nb++];
	b->start = a.addr;
	b->len = ALIGN_UP(a.len, CODE_ALIGN);
	b->tag = a.tag;
	b->written = false;
	memset(b->content, TRAP, b->len);
	live_add(t, b->start, b->len);
}

static void t_write(struct tstate *t)
{
	struct codeheap_write_entry e[4];
	struct codeheap_write w;
	int n = 1 + (chance(&t->r, 30) ? rnd_below(&t->r, 4) : 0), i, k, ret;
	u8 *src = t->src;

	if (!t->nb)
		return;
	for (i = 0; i < n; i++) {
		struct tblock *b = &t->b[rnd_below(&t->r, t->nb)];
		u32 v = rnd(&t->r);
		u64 len = 6 + rnd_below(&t->r, b->len - 5);

		if (len > T_MAXLEN / 4)
			len = T_MAXLEN / 4;
		src = t->src + i * (T_MAXLEN / 4);
		for (k = 0; k < (int)len; k++)
			src[k] = rnd(&t->r);
		src[0] = 0xb8;
		memcpy(src + 1, &v, 4);
		src[5] = 0xc3;
		e[i].dst = b->start;
		e[i].src = U64(src);
		e[i].len = len;
	}
	memset(&w, 0, sizeof(w));
	w.size = sizeof(w);
	w.count = n;
	w.entries = U64(e);
	ring_add(t->done, "thread %d WRITE %d entries, first dst %#llx len %#llx",
		 t->id, n, (unsigned long long)e[0].dst,
		 (unsigned long long)e[0].len);
	ret = ch_ioctl(tfd, CODEHEAP_IOC_WRITE, &w);
	if (ret)
		fail("thread %d: WRITE expected 0 got %s", t->id, errname(ret));
	for (i = 0; i < n; i++)
		for (k = 0; k < t->nb; k++)
			if (t->b[k].start == e[i].dst) {
				memcpy(t->b[k].content, PTR(e[i].src), e[i].len);
				memcpy(&t->b[k].fn, PTR(e[i].src + 1), 4);
				t->b[k].written = true;
			}
}

static void t_free(struct tstate *t)
{
	struct codeheap_addr a;
	int k, ret, s;

	if (!t->nb)
		return;
	k = rnd_below(&t->r, t->nb);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.addr = t->b[k].start;
	ring_add(t->done, "thread %d FREE %#llx", t->id,
		 (unsigned long long)a.addr);
	live_del(a.addr);
	ret = ch_ioctl(tfd, CODEHEAP_IOC_FREE, &a);
	if (ret)
		fail("thread %d: FREE expected 0 got %s", t->id, errname(ret));
	for (s = 0; s < T_SLOTS; s++)
		if (t->tgt[s] == a.addr)
			t->tgt[s] = 0;
	t->freed += t->b[k].len;
	t->b[k] = t->b[--t->nb];
}

static void t_patch(struct tstate *t)
{
	struct codeheap_jt_patch_entry e;
	struct codeheap_jt_patch p;
	int ret;

	e.slot = rnd_below(&t->r, T_SLOTS);
	e.__reserved = 0;
	e.target = t->nb && chance(&t->r, 80) ?
		   t->b[rnd_below(&t->r, t->nb)].start : 0;
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.id = t->jt_id;
	p.count = 1;
	p.entries = U64(&e);
	ring_add(t->done, "thread %d JT_PATCH %u slot %u -> %#llx", t->id,
		 t->jt_id, e.slot, (unsigned long long)e.target);
	ret = ch_ioctl(tfd, CODEHEAP_IOC_JT_PATCH, &p);
	if (ret)
		fail("thread %d: JT_PATCH expected 0 got %s", t->id,
		     errname(ret));
	t->tgt[e.slot] = e.target;
}

/* Drop the PTEs of one own allocation's pages: nothing visible changes. */
static void t_dontneed(struct tstate *t)
{
	struct tblock *b;
	u64 ps, pe;

	if (!t->nb)
		return;
	b = &t->b[rnd_below(&t->r, t->nb)];
	ps = ALIGN_DN(b->start, PAGE);
	pe = ALIGN_UP(b->start + b->len, PAGE);
	ring_add(t->done, "thread %d madvise(DONTNEED) %#llx-%#llx", t->id,
		 (unsigned long long)ps, (unsigned long long)pe);
	if (madvise(PTR(ps), pe - ps, MADV_DONTNEED))
		fail("thread %d: madvise(DONTNEED) failed: %s", t->id,
		     strerror(errno));
}

static void *t_main(void *arg)
{
	struct tstate *t = arg;
	struct codeheap_jt_create jc;
	int ret;

	cur_seed = t->seed;
	memset(&jc, 0, sizeof(jc));
	jc.size = sizeof(jc);
	jc.nr_slots = T_SLOTS;
	ring_add(0, "thread %d JT_CREATE %d slots", t->id, T_SLOTS);
	ret = ch_ioctl(tfd, CODEHEAP_IOC_JT_CREATE, &jc);
	if (ret)
		fail("thread %d: JT_CREATE expected 0 got %s", t->id,
		     errname(ret));
	t->jt_id = jc.id;
	t->jt_base = jc.base;
	live_add(t, jc.base, jt_len(T_SLOTS));
	for (t->done = 1; t->done <= t->ops; t->done++) {
		unsigned int r = rnd_below(&t->r, 100);

		if (r < 30)
			t_alloc(t);
		else if (r < 55)
			t_write(t);
		else if (r < 73)
			t_free(t);
		else if (r < 93)
			t_patch(t);
		else
			t_dontneed(t);
		t_verify(t);
		__atomic_add_fetch(t_opcount, 1, __ATOMIC_RELAXED);
		if (*t_opcount >= t_deadline_ops ||
		    (t_deadline && time(NULL) >= t_deadline))
			break;
	}
	return NULL;
}

/* The heap as a model, from every thread's state: for the full check. */
static void t_quiescent_check(struct tstate *ts, int n)
{
	static struct heap h;
	struct vma v[64];
	int nv, i, k, bi;
	u32 s;

	m_reset(&h);
	h.fd = tfd;
	h.peaks_known = false;
	nv = maps_codeheap(v, 64);
	for (i = 0; i < nv && i < 64; i++)
		m_add_space(&h, v[i].start, v[i].end - v[i].start);
	for (k = 0; k < n; k++) {
		struct tstate *t = &ts[k];
		struct mjt *j = &h.jt[h.njt++];

		h.freed += t->freed;
		for (i = 0; i < t->nb; i++) {
			struct tblock *b = &t->b[i];

			if (m_space(&h, b->start) < 0)
				fail("thread %d's allocation %#llx is in no mapping",
				     t->id, (unsigned long long)b->start);
			m_insert_block(&h, b->start, b->len, b->tag);
			m_commit(&h, ALIGN_DN(b->start, PAGE),
				 ALIGN_UP(b->start + b->len, PAGE));
			memcpy(m_shadow(&h, b->start), b->content, b->len);
		}
		bi = m_insert_block(&h, t->jt_base, jt_len(T_SLOTS), 0);
		h.bl[bi].sealed = true;
		h.bl[bi].jt = t->jt_id;
		m_commit(&h, ALIGN_DN(t->jt_base, PAGE),
			 ALIGN_UP(t->jt_base + jt_len(T_SLOTS), PAGE));
		memset(j, 0, sizeof(*j));
		j->id = t->jt_id;
		j->nr = T_SLOTS;
		j->base = t->jt_base;
		j->far = t->jt_base + T_SLOTS * 8;
		j->len = jt_len(T_SLOTS);
		j->tgt = calloc(T_SLOTS, sizeof(u64));
		j->far_used = calloc(T_SLOTS, 1);
		for (s = 0; s < T_SLOTS; s++) {
			j->tgt[s] = t->tgt[s];
			m_jt_encode(&h, j, s);
		}
	}
	ring_add(0, "quiescent check after join (%d threads)", n);
	check_stats(&h, "after join");
	check_blocks(&h);
	check_jts(&h, true);
	for (i = 0; i < h.nsp; i++)
		check_space_mem(&h, i);
}

int run_threads(u64 seed, u64 ops, u64 seconds, int nthreads,
		volatile u64 *opcount)
{
	struct tstate *ts = calloc(nthreads, sizeof(*ts));
	struct rng r = { seed ^ 0x7468726561647321ULL };
	int i;

	t_deadline = seconds ? time(NULL) + seconds : 0;
	cur_seed = seed;
	memset(traps, TRAP, sizeof(traps));
	tfd = open("/dev/codeheap", O_RDWR | O_CLOEXEC);
	if (tfd < 0 || !ts)
		fail("open /dev/codeheap: %s", strerror(errno));
	t_opcount = opcount;
	t_deadline_ops = *opcount + ops * nthreads;
	for (i = 0; i < nthreads; i++) {
		ts[i].id = i;
		ts[i].seed = seed;
		ts[i].r.s = rnd(&r);
		ts[i].ops = ops;
		if (pthread_create(&ts[i].th, NULL, t_main, &ts[i]))
			fail("pthread_create failed");
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(ts[i].th, NULL);
	t_quiescent_check(ts, nthreads);
	return 0;
}
