// SPDX-License-Identifier: GPL-2.0
/*
 * heapfuzz: a model-checked ioctl fuzzer for /dev/codeheap.
 *
 *   heapfuzz --seed S --ops N [--seconds T] [--procs P] [--heaps H]
 *            [--threads K] [--check-every C] [--disable op,op] [-v]
 *   heapfuzz            fixed seeds, bounded: the VM suite's run
 *
 * Every random choice comes from the seed, so a seed replays.  A
 * user-space model of each heap predicts every ioctl's result and the
 * heap's state (STATS, LOOKUP, JT_QUERY, the bytes of every page, what
 * calling code does, which pages fault); the first divergence prints the
 * seed, the op, expected against got and the last ops, and the run fails.
 * Output is TAP.  See README in this directory for what is and is not
 * checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

#define MAX_HEAPS	4
#define FREED_RING	32
#define RUN_BLOCKS	158	/* live allocations per heap in a model run */

enum op {
	OP_VERSION, OP_RESERVE, OP_RELEASE, OP_COMMIT, OP_DECOMMIT,
	OP_PROTECT, OP_SEAL, OP_ALLOC, OP_FREE, OP_LOOKUP, OP_WRITE,
	OP_STATS, OP_JT_CREATE, OP_JT_PATCH, OP_JT_QUERY, OP_JT_DESTROY,
	OP_CALL, OP_MUNMAP, OP_MADVISE, OP_SHAPE, OP_FORK, OP_REOPEN,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	"version", "reserve", "release", "commit", "decommit", "protect",
	"seal", "alloc", "free", "lookup", "write", "stats", "jt_create",
	"jt_patch", "jt_query", "jt_destroy", "call", "munmap", "madvise",
	"shape", "fork", "reopen",
};

static const unsigned int op_weight[OP_NR] = {
	[OP_VERSION] = 1, [OP_RESERVE] = 5, [OP_RELEASE] = 4,
	[OP_COMMIT] = 5, [OP_DECOMMIT] = 4, [OP_PROTECT] = 5, [OP_SEAL] = 3,
	[OP_ALLOC] = 20, [OP_FREE] = 12, [OP_LOOKUP] = 4, [OP_WRITE] = 16,
	[OP_STATS] = 2, [OP_JT_CREATE] = 4, [OP_JT_PATCH] = 8,
	[OP_JT_QUERY] = 2, [OP_JT_DESTROY] = 2, [OP_CALL] = 8,
	[OP_MUNMAP] = 2, [OP_MADVISE] = 2, [OP_SHAPE] = 2, [OP_FORK] = 1,
	[OP_REOPEN] = 1,
};

static unsigned int disabled;	/* bit per op; bit 31: variants */
static unsigned int check_every = 8;

/* How an argument struct is passed. */
enum {
	V_NORMAL, V_SMALL, V_LARGE0, V_LARGENZ, V_RO_END, V_NONE_END,
	V_NULL, V_NR
};
static const char *const v_names[V_NR] = {
	"", " [size<min]", " [size>k, zero tail]", " [size>k, non-zero tail]",
	" [ends in read-only page]", " [ends in PROT_NONE page]", " [NULL]",
};

struct ctx {
	struct rng r;
	struct heap h[MAX_HEAPS];
	int nheaps;
	u64 opno;
	u8 *arena;		/* pages: RW RO RW NONE */
	u8 *src;		/* source buffer for WRITE, 64 KiB */
	u64 freed[FREED_RING];
	unsigned int nfreed;
	u64 touched[8];
	int ntouched;
};

#define SRC_LEN (64 << 10)

/* ------------------------------------------------------------------ */
/* Calling with every form of argument                                 */

static int pick_variant(struct ctx *c)
{
	if (!chance(&c->r, 10) || (disabled & (1u << 31)))
		return V_NORMAL;
	return 1 + rnd_below(&c->r, V_NR - 1);
}

/* The errno of a call whose normal result is @normal, passed as @v. */
static int variant_expect(int v, bool out, int normal)
{
	switch (v) {
	case V_SMALL:
		return -EINVAL;
	case V_LARGENZ:
		return -E2BIG;
	case V_NONE_END:
	case V_NULL:
		return -EFAULT;
	case V_RO_END:
		/* output commands check the struct is writable first */
		return out ? -EFAULT : normal;
	}
	return normal;
}

static size_t last_usz;

/* struct codeheap_version as first published: up to __reserved */
#define VERSION_V1_SIZE (offsetof(struct codeheap_version, __reserved) + 4)

static int do_ioctl(struct ctx *c, int fd, unsigned long cmd, void *arg,
		    size_t ksz, int v)
{
	u8 buf[320] __attribute__((__aligned__(8)));
	u8 *p;
	size_t usz, i;
	int ret;

	last_usz = ksz;
	switch (v) {
	case V_SMALL:
		memcpy(buf, arg, ksz);
		/* below the first published version (VERSION grew since) */
		i = cmd == CODEHEAP_IOC_VERSION ? VERSION_V1_SIZE : ksz;
		switch (rnd_below(&c->r, 4)) {
		case 0:
			usz = 0;
			break;
		case 1:
			usz = 4;
			break;
		case 2:
			usz = i - 8;
			break;
		default:
			usz = i - 1;
			break;
		}
		*(u32 *)buf = usz;
		last_usz = usz;
		ret = ch_ioctl(fd, cmd, buf);
		if (!ret)
			memcpy(arg, buf, ksz);
		return ret;
	case V_LARGE0:
	case V_LARGENZ:
		memset(buf, 0, sizeof(buf));
		memcpy(buf, arg, ksz);
		usz = ksz + 8 * (1 + rnd_below(&c->r, 8));
		*(u32 *)buf = usz;
		last_usz = usz;
		if (v == V_LARGENZ)
			buf[ksz + rnd_below(&c->r, usz - ksz)] =
				1 + rnd_below(&c->r, 255);
		ret = ch_ioctl(fd, cmd, buf);
		if (v == V_LARGENZ && memcmp(buf + 8, (u8 *)arg + 8, ksz - 8))
			fail("struct with non-zero tail: the kernel wrote into it (%s)",
			     errname(ret));
		if (v == V_LARGE0)
			for (i = ksz; i < usz; i++)
				if (buf[i])
					fail("kernel wrote past its struct size into the tail at +%zu",
					     i);
		if (!ret)
			memcpy(arg, buf, ksz);
		return ret;
	case V_RO_END:
		p = c->arena + PAGE - (ksz - 8);
		mprotect(c->arena + PAGE, PAGE, PROT_READ | PROT_WRITE);
		memcpy(p, arg, ksz);
		mprotect(c->arena + PAGE, PAGE, PROT_READ);
		ret = ch_ioctl(fd, cmd, p);
		if (ret && memcmp(p, arg, ksz))
			fail("call failed %s but wrote into its argument struct (writable part)",
			     errname(ret));
		if (!ret)
			memcpy(arg, p, ksz);
		return ret;
	case V_NONE_END:
		p = c->arena + 3 * PAGE - (ksz - 8);
		memcpy(p, arg, ksz - 8);
		ret = ch_ioctl(fd, cmd, p);
		if (memcmp(p, arg, ksz - 8))
			fail("call failed %s but wrote into its argument struct",
			     errname(ret));
		return ret;
	case V_NULL:
		return ch_ioctl(fd, cmd, NULL);
	}
	return ch_ioctl(fd, cmd, arg);
}

static int cur_kind;
static u64 n_ok[OP_NR], n_err[OP_NR];

static void expect(const char *what, int got, int want, int alt)
{
	if (got)
		n_err[cur_kind]++;
	else
		n_ok[cur_kind]++;
	if (got != want && got != alt) {
		if (alt != want)
			fail("%s: expected %s (or %s) got %s", what,
			     errname(want), errname(alt), errname(got));
		fail("%s: expected %s got %s (struct size passed %zu)", what,
		     errname(want), errname(got), last_usz);
	}
}

static void touch(struct ctx *c, u64 addr)
{
	if (c->ntouched < (int)ARRAY_SIZE(c->touched))
		c->touched[c->ntouched++] = addr;
}

/* ------------------------------------------------------------------ */
/* Argument generators                                                 */

static u64 boundary(struct ctx *c)
{
	static const u64 vals[] = {
		0, 1, ~0ULL, ~0ULL - PAGE + 1, PAGE - 1, PAGE, PAGE + 1,
		1ULL << 47, (1ULL << 47) - PAGE, 1ULL << 63, 64, 63,
		0xffff888000000000ULL, 1ULL << 56,
	};
	u64 r = rnd_below(&c->r, ARRAY_SIZE(vals) + 3);

	if (r == ARRAY_SIZE(vals))
		return task_size;
	if (r == ARRAY_SIZE(vals) + 1)
		return task_size - PAGE;
	if (r == ARRAY_SIZE(vals) + 2)
		return rnd(&c->r);
	return vals[r];
}

static struct mblock *pick_block(struct ctx *c, struct heap *h)
{
	return h->nbl ? &h->bl[rnd_below(&c->r, h->nbl)] : NULL;
}

static struct mspace *pick_space(struct ctx *c, struct heap *h)
{
	return h->nsp ? &h->sp[rnd_below(&c->r, h->nsp)] : NULL;
}

/* An address: mostly of live objects, sometimes freed ones or garbage. */
static u64 gen_addr(struct ctx *c, struct heap *h)
{
	struct mblock *b = pick_block(c, h);
	struct mspace *s = pick_space(c, h);

	switch (rnd_below(&c->r, 10)) {
	case 0: case 1: case 2: case 3:
		if (b)
			return b->start;
		break;
	case 4:
		if (b)
			return b->start + rnd_below(&c->r, b->len + 1);
		break;
	case 5:
		if (s)
			return s->start + ALIGN_DN(rnd_below(&c->r, s->len), 64);
		break;
	case 6:
		if (c->nfreed)
			return c->freed[rnd_below(&c->r, c->nfreed < FREED_RING ?
						  c->nfreed : FREED_RING)];
		break;
	case 7:
		if (s)
			return s->start;
		break;
	case 8:
		if (s)
			return s->start + s->len - (rnd_below(&c->r, 2) ? 64 : 0);
		break;
	}
	return boundary(c);
}

static u32 gen_flags(struct ctx *c)
{
	return chance(&c->r, 3) ? 1u << rnd_below(&c->r, 32) : 0;
}

static u32 gen_reserved(struct ctx *c)
{
	return chance(&c->r, 2) ? 1 + rnd_below(&c->r, 0xffffffffu) : 0;
}

static struct heap *pick_heap(struct ctx *c)
{
	return &c->h[rnd_below(&c->r, c->nheaps)];
}

static int heap_of_addr(struct ctx *c, u64 addr)
{
	int i;

	for (i = 0; i < c->nheaps; i++)
		if (m_space(&c->h[i], addr) >= 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Placement                                                           */

static bool try_gap(struct heap *h, u64 gs, u64 ge, u64 len, u64 align,
		    u64 lo, u64 hi, u64 *out)
{
	u64 a = gs > lo ? gs : lo, p, bad;

	for (;;) {
		if (a > ~0ULL - (align - 1))
			return false;
		a = ALIGN_UP(a, align);
		if (a + len < a || a + len > ge || a + len > hi)
			return false;
		/* never in a page PROTECTed to none */
		bad = 0;
		for (p = ALIGN_DN(a, PAGE); p < a + len; p += PAGE)
			if (m_pst(h, p) & PG_NONE)
				bad = p + PAGE;
		if (!bad) {
			*out = a;
			return true;
		}
		a = bad;
	}
}

/* First fit by address over the free ranges of every space. */
static bool m_fit(struct heap *h, u64 len, u64 align, u64 lo, u64 hi,
		  u64 *out)
{
	int i, b = 0;

	for (i = 0; i < h->nsp; i++) {
		struct mspace *s = &h->sp[i];
		u64 cur = s->start, end = s->start + s->len - CODE_ALIGN, ge;

		while (b < h->nbl && h->bl[b].start < s->start)
			b++;
		for (;;) {
			bool last = !(b < h->nbl && h->bl[b].start < end);

			ge = last ? end : h->bl[b].start;
			if (try_gap(h, cur, ge, len, align, lo, hi, out))
				return true;
			if (last)
				break;
			cur = h->bl[b].start + h->bl[b].len;
			b++;
		}
	}
	return false;
}

struct place {
	int want, alt;		/* expected results */
	bool grow;		/* success means a new reservation */
	u64 addr;		/* without growth */
	u64 size, wlo, whi;	/* the new reservation's size and window */
};

/* Where ALLOC of @len (rounded) and @align (>= 64) goes, or why not. */
static void predict_place(struct heap *h, u64 len, u64 align, u64 lo,
			  u64 hi, struct place *pl)
{
	u64 need, size, maxres = ver.max_reservation_size;

	memset(pl, 0, sizeof(*pl));
	if (m_fit(h, len, align, lo, hi, &pl->addr))
		return;
	need = len + CODE_ALIGN;
	if (align > PAGE)
		need += align - PAGE;
	need = ALIGN_UP(need, PAGE);
	size = ALIGN_UP(len + SPACE_OVERHEAD, PAGE);
	if (size < 2 * SPACE_OVERHEAD)
		size = 2 * SPACE_OVERHEAD;
	if (size < ALIGN_UP(m_reserved(h) / 4, PAGE))
		size = ALIGN_UP(m_reserved(h) / 4, PAGE);
	if (size < need)
		size = need;
	if (size > maxres)
		size = maxres;
	if (size < need) {
		pl->want = pl->alt = -ENOMEM;
		return;
	}
	pl->grow = true;
	pl->wlo = 0;
	pl->whi = task_size;
	pl->want = pl->alt = 0;
	if (lo || hi < task_size) {
		if (lo > task_size - PAGE) {
			pl->want = pl->alt = -ENOSPC;
			return;
		}
		pl->wlo = ALIGN_UP(lo, PAGE);
		pl->whi = (hi < task_size ? hi : task_size) & ~(PAGE - 1);
		if (pl->whi <= pl->wlo || pl->whi - pl->wlo < need) {
			pl->want = pl->alt = -ENOSPC;
			return;
		}
		if (size > pl->whi - pl->wlo)
			size = pl->whi - pl->wlo;
		/* the window may be full of other mappings */
		pl->alt = -ENOSPC;
	}
	pl->size = size;
}

/* Learn the reservation a growing ALLOC made, check it, add it. */
static void learn_growth(struct ctx *c, struct heap *h, u64 addr,
			 u64 len, u64 align, u64 lo, u64 hi,
			 const struct place *pl)
{
	struct vma v[64];
	int n = maps_codeheap(v, 64), i;
	u64 fit;

	for (i = 0; i < n && i < 64; i++)
		if (addr >= v[i].start && addr < v[i].end)
			break;
	if (i == n || i == 64)
		fail("growth: %#llx is in no codeheap mapping",
		     (unsigned long long)addr);
	if (heap_of_addr(c, v[i].start) >= 0)
		fail("model predicted growth but %#llx is in a known reservation",
		     (unsigned long long)addr);
	if (v[i].end - v[i].start != pl->size)
		fail("growth: new reservation %#llx-%#llx is %#llx bytes, V8's rule says %#llx",
		     (unsigned long long)v[i].start,
		     (unsigned long long)v[i].end,
		     (unsigned long long)(v[i].end - v[i].start),
		     (unsigned long long)pl->size);
	if (v[i].start < pl->wlo || v[i].end > pl->whi)
		fail("growth: new reservation %#llx-%#llx outside window %#llx-%#llx",
		     (unsigned long long)v[i].start,
		     (unsigned long long)v[i].end,
		     (unsigned long long)pl->wlo, (unsigned long long)pl->whi);
	m_add_space(h, v[i].start, v[i].end - v[i].start);
	if (!m_fit(h, len, align, lo, hi, &fit) || fit != addr)
		fail("growth: allocation at %#llx, first fit in the new reservation is %#llx",
		     (unsigned long long)addr, (unsigned long long)fit);
}

static int jt_new_id(struct heap *h)
{
	u32 id;

	for (id = 1; ; id++)
		if (m_jt(h, id) < 0)
			return id;
}

/*
 * The tables whose default target lay in the allocation at @start when
 * they were created (the kernel pins the allocation then; an allocation
 * made later over a table's default is not pinned).
 */
static int jt_defaults_in(struct heap *h, u64 start)
{
	int i, n = 0;

	for (i = 0; i < h->njt; i++)
		if (h->jt[i].def_block == start)
			n++;
	return n;
}

/* Reset every slot that targets [start, start + len) to its default. */
static void jt_unref(struct heap *h, u64 start, u64 len)
{
	int i;
	u32 s;

	for (i = 0; i < h->njt; i++) {
		struct mjt *t = &h->jt[i];

		for (s = 0; s < t->nr; s++)
			if (t->tgt[s] != t->def && t->tgt[s] - start < len) {
				t->tgt[s] = t->def;
				m_jt_encode(h, t, s);
			}
	}
}

static void jt_remove(struct heap *h, int ti)
{
	struct mjt *t = &h->jt[ti];
	int bi = m_block(h, t->base);

	m_free_block(h, bi);
	free(t->tgt);
	free(t->far_used);
	memmove(&h->jt[ti], &h->jt[ti + 1], (h->njt - ti - 1) * sizeof(*t));
	h->njt--;
}

/* ------------------------------------------------------------------ */
/* The ops                                                             */

static void op_version(struct ctx *c, struct heap *h)
{
	struct codeheap_version v;
	int var = pick_variant(c), want = 0, ret;

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.flags = gen_flags(c);
	v.__reserved = gen_reserved(c);
	if (v.flags || v.__reserved)
		want = -EINVAL;
	ring_add(c->opno, "VERSION flags %#x res %#x%s", v.flags,
		 v.__reserved, v_names[var]);
	want = variant_expect(var, true, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_VERSION, &v, sizeof(v), var);
	expect("VERSION", ret, want, want);
	v.size = ver.size;	/* a variant call passes another size */
	if (!ret && memcmp(&v, &ver, sizeof(v))) {
		size_t i;

		for (i = 0; i < sizeof(v) && ((u8 *)&v)[i] == ((u8 *)&ver)[i];
		     i++)
			;
		fail("VERSION output differs from the first call at byte %zu: %#x, was %#x",
		     i, ((u8 *)&v)[i], ((u8 *)&ver)[i]);
	}
	if (sizeof(v) > VERSION_V1_SIZE) {
		/* an older program: the first version's size, zero-extended */
		u8 buf[sizeof(v) + 8];

		memset(buf, 0x5a, sizeof(buf));
		memset(buf, 0, VERSION_V1_SIZE);
		*(u32 *)buf = VERSION_V1_SIZE;
		ret = ch_ioctl(h->fd, CODEHEAP_IOC_VERSION, buf);
		if (ret || memcmp(buf + 4, (u8 *)&ver + 4, VERSION_V1_SIZE - 4))
			fail("VERSION with the first version's size %zu: %s or wrong fields",
			     VERSION_V1_SIZE, errname(ret));
		for (size_t i = VERSION_V1_SIZE; i < sizeof(buf); i++)
			if (buf[i] != 0x5a)
				fail("VERSION with size %zu wrote byte %zu",
				     VERSION_V1_SIZE, i);
	}
}

static void op_reserve(struct ctx *c, struct heap *h)
{
	struct codeheap_reserve a;
	struct mspace *s = pick_space(c, h);
	int var = pick_variant(c), want = 0, alt, ret;
	bool fixed, exact = false, window = false;
	u64 lo = 0, hi = task_size, len;
	struct vma v[64];
	int n, i;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = chance(&c->r, 25) ? CODEHEAP_RESERVE_FIXED : 0;
	if (chance(&c->r, 3))
		a.flags = gen_flags(c);
	a.len = PAGE * (1 + rnd_below(&c->r, chance(&c->r, 80) ? 16 : 64));
	if (chance(&c->r, 5))
		a.len = chance(&c->r, 50) ? boundary(c) :
			ver.max_reservation_size + PAGE;
	switch (rnd_below(&c->r, 6)) {
	case 0: case 1:
		break;
	case 2:
		if (s)
			a.hint = s->start + (rnd_below(&c->r, 2) ? s->len : 0);
		break;
	case 3:
		a.hint = 0x200000000000ULL + ALIGN_DN(rnd(&c->r) & 0xffffffffff,
						      PAGE);
		break;
	case 4:
		a.hint = ALIGN_DN(gen_addr(c, h), chance(&c->r, 90) ? PAGE : 1);
		break;
	default:
		a.hint = boundary(c);
		break;
	}
	if (chance(&c->r, 15)) {
		a.near = s && chance(&c->r, 70) ? s->start : boundary(c);
		a.range = chance(&c->r, 70) ? 1ULL << (20 + rnd_below(&c->r, 12)) :
			  boundary(c);
	}
	fixed = a.flags & CODEHEAP_RESERVE_FIXED;
	ring_add(c->opno, "RESERVE flags %#x len %#llx hint %#llx near %#llx range %#llx%s",
		 a.flags, (unsigned long long)a.len,
		 (unsigned long long)a.hint, (unsigned long long)a.near,
		 (unsigned long long)a.range, v_names[var]);
	if (h->nsp >= MAX_SPACES - 2)
		return;

	len = a.len;
	if (a.flags & ~CODEHEAP_RESERVE_FIXED)
		want = -EINVAL;
	else if (!len || len % PAGE || a.hint % PAGE || (fixed && !a.hint))
		want = -EINVAL;
	else if (a.hint + len < a.hint)
		want = -EOVERFLOW;
	else if (a.hint && a.hint + len > task_size)
		want = -EINVAL;
	else if (len > ver.max_reservation_size)
		want = -ENOMEM;
	else if (a.range && a.near + a.range < a.near)
		want = -EOVERFLOW;
	if (!want && a.range) {
		lo = a.near > a.range ? a.near - a.range : 0;
		hi = a.near + a.range < task_size ? a.near + a.range : task_size;
		if (fixed && (a.hint < lo || a.hint + len > hi))
			want = -ENOSPC;
		window = !(lo == 0 && hi >= task_size);
	}
	alt = want;
	if (!want) {
		bool hfree = a.hint && maps_range_free(a.hint, len);

		if (fixed) {
			want = alt = hfree ? 0 : -EEXIST;
			exact = true;
		} else if (window) {
			exact = hfree && a.hint >= lo && a.hint <= hi &&
				len <= hi - a.hint;
			if (!exact)
				alt = -ENOSPC;
		} else {
			/* below the 47-bit mmap window, or wholly above it */
			exact = hfree && a.hint >= (1 << 20) &&
				(a.hint + len <= (1ULL << 47) - PAGE ||
				 a.hint >= (1ULL << 47));
		}
	}
	want = variant_expect(var, true, want);
	alt = variant_expect(var, true, alt);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_RESERVE, &a, sizeof(a), var);
	expect("RESERVE", ret, want, alt);
	if (ret)
		return;
	if (exact && a.addr != a.hint)
		fail("RESERVE: expected the free hint %#llx, got %#llx",
		     (unsigned long long)a.hint, (unsigned long long)a.addr);
	if (a.addr % PAGE || a.addr < lo || a.addr + len > hi)
		fail("RESERVE: %#llx not page-aligned or outside window %#llx-%#llx",
		     (unsigned long long)a.addr, (unsigned long long)lo,
		     (unsigned long long)hi);
	n = maps_codeheap(v, 64);
	for (i = 0; i < n && i < 64; i++)
		if (v[i].start == a.addr && v[i].end == a.addr + len)
			break;
	if (i == n || i == 64)
		fail("RESERVE: no codeheap mapping %#llx-%#llx in /proc/self/maps",
		     (unsigned long long)a.addr,
		     (unsigned long long)(a.addr + len));
	m_add_space(h, a.addr, len);
	touch(c, a.addr);
}

static void model_end_defaults(struct heap *h, u64 start, u64 len)
{
	int i;
	u32 s;

	for (i = 0; i < h->njt; i++) {
		struct mjt *t = &h->jt[i];

		/* Only a default that was an allocation there. */
		if (t->def_block != ~0ULL && t->def_block - start < len) {
			for (s = 0; s < t->nr; s++)
				if (t->tgt[s] == t->def) {
					t->tgt[s] = 0;
					m_jt_encode(h, t, s);
				}
			t->def = 0;
			t->def_block = ~0ULL;
		}
	}
}

/* Does an allocation live in space @si? */
static bool space_busy(struct heap *h, int si)
{
	int b;

	for (b = 0; b < h->nbl; b++)
		if (h->bl[b].start - h->sp[si].start < h->sp[si].len)
			return true;
	return false;
}

static void op_release(struct ctx *c, struct heap *h)
{
	struct codeheap_release a;
	int var = pick_variant(c), want = 0, ret, si;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.addr = gen_addr(c, h);
	if (chance(&c->r, 50) && h->nsp)
		a.addr = pick_space(c, h)->start;
	ring_add(c->opno, "RELEASE flags %#x addr %#llx%s", a.flags,
		 (unsigned long long)a.addr, v_names[var]);
	si = m_space(h, a.addr);
	if (a.flags)
		want = -EINVAL;
	else if (si < 0 || h->sp[si].start != a.addr)
		want = -ENOENT;
	else if (space_busy(h, si))
		want = -EBUSY;
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_RELEASE, &a, sizeof(a), var);
	expect("RELEASE", ret, want, want);
	if (ret)
		return;
	/* the reservation ends: a table's default in it becomes the trap */
	model_end_defaults(h, a.addr, h->sp[si].len);
	m_del_space(h, si);
	if (probe_read(a.addr, NULL) != SIGSEGV)
		fail("RELEASE: released %#llx still readable",
		     (unsigned long long)a.addr);
}

/* Blocks touching [start, end): -EPERM if one is sealed, -EBUSY if any. */
static int range_blocks(struct heap *h, u64 start, u64 end)
{
	int i, ret = 0;

	for (i = 0; i < h->nbl; i++) {
		struct mblock *b = &h->bl[i];

		if (b->start < end && b->start + b->len > start) {
			if (b->sealed)
				return -EPERM;
			ret = -EBUSY;
		}
	}
	return ret;
}

static void op_range(struct ctx *c, struct heap *h, int op)
{
	static const unsigned long cmds[] = {
		[OP_COMMIT] = CODEHEAP_IOC_COMMIT,
		[OP_DECOMMIT] = CODEHEAP_IOC_DECOMMIT,
		[OP_PROTECT] = CODEHEAP_IOC_PROTECT,
	};
	struct codeheap_range a;
	struct mspace *s = pick_space(c, h);
	int var = pick_variant(c), want = 0, ret, si = -1;
	u64 end, p;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	if (s && chance(&c->r, 90)) {
		u64 np = s->len / PAGE, first = rnd_below(&c->r, np);

		a.addr = s->start + first * PAGE;
		a.len = PAGE * (1 + rnd_below(&c->r, chance(&c->r, 70) ?
					       (np - first < 4 ? np - first : 4) :
					       np - first + 1));
		if (chance(&c->r, op == OP_PROTECT ? 50 : 20)) {
			struct mblock *b = pick_block(c, h);

			if (b) {
				a.addr = ALIGN_DN(b->start, PAGE);
				a.len = ALIGN_UP(b->start + b->len, PAGE) -
					a.addr;
			}
		}
	} else {
		a.addr = boundary(c);
		a.len = chance(&c->r, 50) ? PAGE : boundary(c);
	}
	if (chance(&c->r, 3))
		a.addr += 1 + rnd_below(&c->r, PAGE - 1);
	if (op == OP_PROTECT) {
		switch (rnd_below(&c->r, 10)) {
		case 0: case 1: case 2: case 3:
			a.prot = 0;
			break;
		case 4:
			a.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
			break;
		case 5:
			a.prot = rnd(&c->r) & 0xff;
			break;
		default:
			a.prot = PROT_READ | PROT_EXEC;
			break;
		}
	} else if (chance(&c->r, 3)) {
		a.prot = rnd(&c->r);
	}
	ring_add(c->opno, "%s flags %#x addr %#llx len %#llx prot %#x res %#x%s",
		 op == OP_COMMIT ? "COMMIT" : op == OP_DECOMMIT ? "DECOMMIT" :
		 "PROTECT", a.flags, (unsigned long long)a.addr,
		 (unsigned long long)a.len, a.prot, a.__reserved, v_names[var]);

	end = a.addr + a.len;
	if (a.flags || a.__reserved)
		want = -EINVAL;
	else if (!a.len || a.addr % PAGE || a.len % PAGE)
		want = -EINVAL;
	else if (end < a.addr)
		want = -EOVERFLOW;
	else if (end > task_size)
		want = -ENOENT;
	else if (op != OP_PROTECT && a.prot)
		want = -EINVAL;
	else if (op == OP_PROTECT && (a.prot & PROT_WRITE))
		want = -EACCES;
	else if (op == OP_PROTECT && a.prot && a.prot != (PROT_READ | PROT_EXEC))
		want = -EINVAL;
	if (!want) {
		si = m_space(h, a.addr);
		if (si < 0 || a.len > h->sp[si].start + h->sp[si].len - a.addr)
			want = -ENOENT;
	}
	if (!want && op == OP_DECOMMIT)
		want = range_blocks(h, a.addr, end);
	if (!want && op == OP_PROTECT) {
		if (range_blocks(h, a.addr, end) == -EPERM)
			want = -EPERM;
		for (p = a.addr; !want && p < end; p += PAGE)
			if (!(m_pst(h, p) & PG_COMMIT))
				want = -EINVAL;
	}
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, cmds[op], &a, sizeof(a), var);
	expect(op == OP_COMMIT ? "COMMIT" : op == OP_DECOMMIT ? "DECOMMIT" :
	       "PROTECT", ret, want, want);
	if (ret)
		return;
	touch(c, a.addr);
	if (op == OP_COMMIT)
		m_commit(h, a.addr, end);
	else if (op == OP_DECOMMIT)
		m_decommit(h, a.addr, end);
	else
		for (p = a.addr; p < end; p += PAGE) {
			int i = m_space(h, p);
			u8 *st = &h->sp[i].pst[(p - h->sp[i].start) / PAGE];

			*st = a.prot ? PG_COMMIT : PG_COMMIT | PG_NONE;
		}
}

/*
 * SEAL's and FREE's argument, and their first checks: the errno they give
 * before anything particular to the command, or 0; *@bi the allocation.
 */
static int addr_cmd_gen(struct ctx *c, struct heap *h, const char *name,
			int var, struct codeheap_addr *a, int *bi)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = gen_flags(c);
	a->addr = gen_addr(c, h);
	ring_add(c->opno, "%s flags %#x addr %#llx%s", name, a->flags,
		 (unsigned long long)a->addr, v_names[var]);
	*bi = m_block(h, a->addr);
	if (a->flags)
		return -EINVAL;
	if (*bi < 0 || h->bl[*bi].start != a->addr)
		return -ENOENT;
	return 0;
}

static void op_seal(struct ctx *c, struct heap *h)
{
	struct codeheap_addr a;
	int var = pick_variant(c), want, ret, bi;

	want = addr_cmd_gen(c, h, "SEAL", var, &a, &bi);
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_SEAL, &a, sizeof(a), var);
	expect("SEAL", ret, want, want);
	if (!ret)
		h->bl[bi].sealed = true;
}

/* A window for ALLOC or JT_CREATE. */
static void gen_window(struct ctx *c, struct heap *h, u64 *lo, u64 *hi)
{
	struct mspace *s = pick_space(c, h);
	struct mblock *b = pick_block(c, h);

	*lo = *hi = 0;
	switch (rnd_below(&c->r, 12)) {
	case 0:
		if (s) {
			*lo = s->start;
			*hi = s->start + s->len;
		}
		break;
	case 1:
		if (b) {
			*lo = b->start + b->len;
			*hi = *lo + 4 * PAGE;
		}
		break;
	case 2:
		if (s) {
			*lo = s->start + s->len;
			*hi = *lo + (4ULL << 20);
		}
		break;
	case 3:
		*lo = boundary(c);
		*hi = chance(&c->r, 50) ? 0 : boundary(c);
		break;
	case 4:
		if (s) {
			*lo = 0;
			*hi = s->start + s->len / 2;
		}
		break;
	}
}

static u64 gen_alloc_len(struct ctx *c)
{
	switch (rnd_below(&c->r, 20)) {
	case 0:
		return 0;
	case 1:
		return boundary(c);
	case 2:
		return PAGE * (1 + rnd_below(&c->r, 40));
	case 3: case 4:
		return 1 + rnd_below(&c->r, 3 * PAGE);
	}
	return 1 + rnd_below(&c->r, 512);
}

static void op_alloc(struct ctx *c, struct heap *h)
{
	struct codeheap_alloc a;
	struct place pl;
	int var = pick_variant(c), want = 0, alt, ret;
	u64 len = 0, align = 0, hi, ps, pe;
	int bi;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.len = gen_alloc_len(c);
	switch (rnd_below(&c->r, 10)) {
	case 0:
		a.align = 1ULL << rnd_below(&c->r, 14);
		break;
	case 1:
		a.align = chance(&c->r, 50) ? boundary(c) : 3 * 64;
		break;
	}
	gen_window(c, h, &a.lo, &a.hi);
	a.tag = rnd(&c->r);
	ring_add(c->opno, "ALLOC flags %#x len %#llx align %#llx lo %#llx hi %#llx tag %#llx%s",
		 a.flags, (unsigned long long)a.len,
		 (unsigned long long)a.align, (unsigned long long)a.lo,
		 (unsigned long long)a.hi, (unsigned long long)a.tag,
		 v_names[var]);
	if (h->nbl >= RUN_BLOCKS || h->nsp >= MAX_SPACES - 3 ||
	    m_reserved(h) > (256ULL << 20))
		return;

	memset(&pl, 0, sizeof(pl));
	align = a.align ? a.align : 1;
	hi = a.hi ? a.hi : ~0ULL;
	if (a.flags || !a.len || (align & (align - 1)) ||
	    (a.hi && a.lo >= a.hi) || (!a.hi && a.lo == ~0ULL)) {
		want = -EINVAL;
	} else if (a.len > ~0ULL - CODE_ALIGN) {
		want = -EOVERFLOW;
	} else {
		len = ALIGN_UP(a.len, CODE_ALIGN);
		if (align < CODE_ALIGN)
			align = CODE_ALIGN;
		if (len > ver.max_reservation_size ||
		    align > ver.max_reservation_size)
			want = -ENOMEM;
	}
	alt = want;
	if (!want) {
		predict_place(h, len, align, a.lo, hi, &pl);
		want = pl.want;
		alt = pl.alt;
		/* "hi 0 is no upper bound; lo >= effective hi is EINVAL" */
		if (!a.hi && a.lo >= task_size)
			alt = -EINVAL;
	}
	want = variant_expect(var, true, want);
	alt = variant_expect(var, true, alt);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_ALLOC, &a, sizeof(a), var);
	expect("ALLOC", ret, want, alt);
	if (ret)
		return;
	if (!pl.grow && a.addr != pl.addr)
		fail("ALLOC: expected first fit %#llx got %#llx",
		     (unsigned long long)pl.addr, (unsigned long long)a.addr);
	if (pl.grow)
		learn_growth(c, h, a.addr, len, align, a.lo, hi, &pl);
	bi = m_insert_block(h, a.addr, len, a.tag);
	(void)bi;
	ps = ALIGN_DN(a.addr, PAGE);
	pe = ALIGN_UP(a.addr + len, PAGE);
	m_commit(h, ps, pe);
	m_update_peaks(h);
	touch(c, a.addr);
}

static void op_free(struct ctx *c, struct heap *h)
{
	struct codeheap_addr a;
	int var = pick_variant(c), want, ret, bi;

	want = addr_cmd_gen(c, h, "FREE", var, &a, &bi);
	if (!want && h->bl[bi].sealed)
		want = -EPERM;
	else if (!want && jt_defaults_in(h, a.addr))
		want = -EBUSY;
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_FREE, &a, sizeof(a), var);
	expect("FREE", ret, want, want);
	if (ret)
		return;
	jt_unref(h, a.addr, h->bl[bi].len);
	m_free_block(h, bi);
	c->freed[c->nfreed++ % FREED_RING] = a.addr;
	touch(c, a.addr);
}

static void op_lookup(struct ctx *c, struct heap *h)
{
	struct codeheap_lookup a;
	int var = pick_variant(c), want = 0, ret, bi;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	a.addr = gen_addr(c, h);
	if (c->nheaps > 1 && chance(&c->r, 20))
		a.addr = gen_addr(c, pick_heap(c));
	ring_add(c->opno, "LOOKUP flags %#x addr %#llx res %#x%s", a.flags,
		 (unsigned long long)a.addr, a.__reserved, v_names[var]);
	bi = m_block(h, a.addr);
	if (a.flags || a.__reserved)
		want = -EINVAL;
	else if (bi < 0)
		want = -ENOENT;
	want = variant_expect(var, true, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_LOOKUP, &a, sizeof(a), var);
	expect("LOOKUP", ret, want, want);
	if (!ret && (a.start != h->bl[bi].start || a.len != h->bl[bi].len ||
		     a.tag != h->bl[bi].tag))
		fail("LOOKUP: expected start %#llx len %#llx tag %#llx got %#llx %#llx %#llx",
		     (unsigned long long)h->bl[bi].start,
		     (unsigned long long)h->bl[bi].len,
		     (unsigned long long)h->bl[bi].tag,
		     (unsigned long long)a.start, (unsigned long long)a.len,
		     (unsigned long long)a.tag);
}

/* Is [src, src + len) readable, as the model sees it? */
static bool src_readable(struct ctx *c, u64 src, u64 len)
{
	u64 p;
	int hi;

	if (src >= U64(c->src) && src + len <= U64(c->src) + SRC_LEN)
		return true;
	if (src >= task_size || src + len > task_size)
		return false;
	for (p = ALIGN_DN(src, PAGE); p < src + len; p += PAGE) {
		hi = heap_of_addr(c, p);
		if (hi >= 0) {
			if (m_pst(&c->h[hi], p) != PG_COMMIT)
				return false;
		} else if (probe_read(p < src ? src : p, NULL)) {
			/* other memory of the process: try it */
			return false;
		}
	}
	return true;
}

static void op_write(struct ctx *c, struct heap *h)
{
	struct codeheap_write_entry e[9];
	struct codeheap_write a;
	int var = pick_variant(c), want = 0, ret, i, n, bi;
	u64 srcoff = rnd_below(&c->r, SRC_LEN / 2);
	char desc[400];
	int dl = 0;
	bool bad_entries = false;

	bool clean = chance(&c->r, 60);

	n = 1 + rnd_below(&c->r, chance(&c->r, 50) ? 1 : 8);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	a.count = n;
	if (chance(&c->r, 2))
		a.count = chance(&c->r, 50) ? 0 : ver.max_batch + 1;
	for (i = 0; i < n; i++) {
		struct mblock *b = pick_block(c, h);
		u64 off, room;
		u8 *src;
		int tries;

		/* a clean batch: every entry into a writable allocation */
		for (tries = 0; clean && b && (b->sealed || b->jt) && tries < 8;
		     tries++)
			b = pick_block(c, h);
		if (b && (clean || chance(&c->r, 90))) {
			off = rnd_below(&c->r, b->len) & ~7ULL;
			if (chance(&c->r, 40))
				off = 0;
			room = b->len - off;
			e[i].dst = b->start + off;
			e[i].len = 1 + rnd_below(&c->r, room < 64 ? room : 64);
			if (!clean && chance(&c->r, 5))
				e[i].len = room + 1 + rnd_below(&c->r, 64);
		} else {
			e[i].dst = gen_addr(c, h);
			e[i].len = 1 + rnd_below(&c->r, 64);
		}
		if (!clean && chance(&c->r, 2))
			e[i].len = chance(&c->r, 50) ? 0 : boundary(c);
		src = c->src + srcoff;
		srcoff += 128;
		e[i].src = U64(src);
		if (chance(&c->r, 60) && e[i].len >= 6 && e[i].len < 4096) {
			/* a function: mov eax, imm32; ret, then traps */
			u32 v = rnd(&c->r);

			memset(src, TRAP, e[i].len < 128 ? e[i].len : 128);
			src[0] = 0xb8;
			memcpy(src + 1, &v, 4);
			src[5] = 0xc3;
		} else if (e[i].len <= 128) {
			u64 k;

			for (k = 0; k < e[i].len; k++)
				src[k] = rnd(&c->r);
		}
		if (e[i].len > SRC_LEN / 2 && e[i].len < (1ULL << 40))
			e[i].src = U64(c->src);
		switch (clean ? 99 : rnd_below(&c->r, 40)) {
		case 0:
			e[i].src = U64(c->arena + 3 * PAGE);
			break;
		case 1:
			e[i].src = 0;
			break;
		case 2:
			e[i].src = 0xffff888000000000ULL;
			break;
		case 3:
			e[i].src = U64(c->arena + 3 * PAGE - e[i].len / 2);
			break;
		case 4: case 5: {
			int hh = rnd_below(&c->r, c->nheaps);

			e[i].src = gen_addr(c, &c->h[hh]);
			break;
		}
		}
		/*
		 * A source overlapping its own destination: the header does
		 * not say what the copy gives (not memmove, in practice).
		 */
		if (e[i].src < e[i].dst + e[i].len &&
		    e[i].dst < e[i].src + e[i].len)
			e[i].src = U64(src);
		if (dl < (int)sizeof(desc) - 80)
			dl += snprintf(desc + dl, sizeof(desc) - dl,
				       " {dst %#llx src %#llx len %#llx}",
				       (unsigned long long)e[i].dst,
				       (unsigned long long)e[i].src,
				       (unsigned long long)e[i].len);
	}
	a.entries = U64(e);
	if (chance(&c->r, 2)) {
		a.entries = U64(c->arena + 3 * PAGE - 8);
		bad_entries = true;
	}
	ring_add(c->opno, "WRITE flags %#x res %#x count %u%s%s%s", a.flags,
		 a.__reserved, a.count, bad_entries ? " entries in PROT_NONE" :
		 "", desc, v_names[var]);

	if (a.flags || a.__reserved || !a.count)
		want = -EINVAL;
	else if (a.count > ver.max_batch)
		want = -E2BIG;
	else if (bad_entries)
		want = -EFAULT;
	for (i = 0; !want && i < n; i++) {
		if (!e[i].len)
			want = -EINVAL;
		else if (e[i].dst + e[i].len < e[i].dst ||
			 e[i].src + e[i].len < e[i].src)
			want = -EOVERFLOW;
		else if (e[i].dst + e[i].len > task_size)
			want = -ENOENT;
	}
	for (i = 0; !want && i < n; i++)
		if (!src_readable(c, e[i].src, e[i].len))
			want = -EFAULT;
	for (i = 0; !want && i < n; i++) {
		bi = m_block(h, e[i].dst);
		if (bi < 0 ||
		    e[i].len > h->bl[bi].start + h->bl[bi].len - e[i].dst)
			want = -ENOENT;
		else if (h->bl[bi].sealed)
			want = -EPERM;
	}
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_WRITE, &a, sizeof(a), var);
	expect("WRITE", ret, want, want);
	if (ret)
		return;
	for (i = 0; i < n; i++) {
		int hs = heap_of_addr(c, e[i].src);

		if (hs >= 0)
			memmove(m_shadow(h, e[i].dst), m_shadow(&c->h[hs], e[i].src),
				e[i].len);
		else
			memcpy(m_shadow(h, e[i].dst), PTR(e[i].src), e[i].len);
		touch(c, e[i].dst);
	}
}

static void op_stats(struct ctx *c, struct heap *h)
{
	struct codeheap_stats a;
	int var = pick_variant(c), want = 0, ret;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	ring_add(c->opno, "STATS flags %#x res %#x%s", a.flags, a.__reserved,
		 v_names[var]);
	if (a.flags || a.__reserved)
		want = -EINVAL;
	want = variant_expect(var, true, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_STATS, &a, sizeof(a), var);
	expect("STATS", ret, want, want);
	if (!ret && (a.allocations != (u32)h->nbl ||
		     a.allocated_bytes != m_allocated(h) ||
		     a.reserved_bytes != m_reserved(h)))
		fail("STATS (variant call) disagrees with the model");
}

/* A default target or a patch target. */
static u64 gen_target(struct ctx *c, struct heap *h, u64 def)
{
	struct mblock *b = pick_block(c, h);

	switch (rnd_below(&c->r, 12)) {
	case 0:
		return def;
	case 1:
		return U64(stub_fn);
	case 2:
		if (c->nfreed)
			return c->freed[rnd_below(&c->r, c->nfreed < FREED_RING ?
						  c->nfreed : FREED_RING)];
		break;
	case 3:
		return gen_addr(c, h);
	case 4:
		if (c->nheaps > 1)
			return gen_addr(c, pick_heap(c));
		break;
	case 5:
		if (b)
			return b->start + (rnd_below(&c->r, b->len) & ~7ULL);
		break;
	}
	return b ? b->start : def;
}

static const u32 odd_slots[] = {
	0, CODEHEAP_JT_MAX_SLOTS, CODEHEAP_JT_MAX_SLOTS + 1, ~0u,
};
static const u32 odd_ids[] = { 0, ~0u, 1u << 31 };

static void op_jt_create(struct ctx *c, struct heap *h)
{
	struct codeheap_jt_create a;
	struct place pl;
	struct mjt *t;
	int var = pick_variant(c), want = 0, alt, alt2, ret, bi;
	u64 len = 0, hi;
	u32 s;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	a.nr_slots = 1 + rnd_below(&c->r, chance(&c->r, 70) ? 16 : 300);
	if (chance(&c->r, 4))
		a.nr_slots = odd_slots[rnd_below(&c->r, 4)];
	switch (rnd_below(&c->r, 5)) {
	case 0:
		a.default_target = 0;
		break;
	case 1:
		a.default_target = U64(stub_fn);
		break;
	case 2:
		a.default_target = chance(&c->r, 30) ? boundary(c) :
				   gen_addr(c, h);
		break;
	default:
		a.default_target = gen_target(c, h, 0);
		break;
	}
	if (chance(&c->r, 20))
		gen_window(c, h, &a.lo, &a.hi);
	ring_add(c->opno, "JT_CREATE flags %#x res %#x nr %u default %#llx lo %#llx hi %#llx%s",
		 a.flags, a.__reserved, a.nr_slots,
		 (unsigned long long)a.default_target,
		 (unsigned long long)a.lo, (unsigned long long)a.hi,
		 v_names[var]);
	if (h->njt >= 8 || h->nbl >= RUN_BLOCKS ||
	    h->nsp >= MAX_SPACES - 3)
		return;
	memset(&pl, 0, sizeof(pl));
	hi = a.hi ? a.hi : ~0ULL;
	if (a.flags || a.__reserved || !a.nr_slots || (a.hi && a.lo >= a.hi) ||
	    (!a.hi && a.lo == ~0ULL) || a.default_target >= task_size)
		want = -EINVAL;
	else if (a.nr_slots > CODEHEAP_JT_MAX_SLOTS)
		want = -E2BIG;
	/*
	 * Outside this heap, a default must be the caller's own code: an
	 * executable mapping that is no code heap (checked before placing).
	 */
	else if (a.default_target && m_space(h, a.default_target) < 0 &&
		 !maps_exec_code(a.default_target))
		want = -EINVAL;
	alt = alt2 = want;
	if (!want) {
		int db = m_block(h, a.default_target);

		len = jt_len(a.nr_slots);
		predict_place(h, len, CODE_ALIGN, a.lo, hi, &pl);
		want = pl.want;
		alt = pl.alt;
		if (!a.hi && a.lo >= task_size)
			alt = -EINVAL;
		/*
		 * Inside the heap only a live allocation (not a table) may
		 * be the default: free heap memory goes to the next ALLOC.
		 */
		if (a.default_target &&
		    (db >= 0 ? !!h->bl[db].jt :
		     m_space(h, a.default_target) >= 0)) {
			/* placement first: its errors win; else EINVAL */
			if (!want)
				want = -EINVAL;
			if (!alt)
				alt = -EINVAL;
		}
	}
	want = variant_expect(var, true, want);
	alt = variant_expect(var, true, alt);
	alt2 = variant_expect(var, true, alt2);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_JT_CREATE, &a, sizeof(a), var);
	if (ret != alt2 || ret == 0)
		expect("JT_CREATE", ret, want, alt);
	if (ret)
		return;
	if (!pl.grow && a.base != pl.addr)
		fail("JT_CREATE: expected first fit %#llx got base %#llx",
		     (unsigned long long)pl.addr, (unsigned long long)a.base);
	if (a.id != (u32)jt_new_id(h) || a.slot_size != 8)
		fail("JT_CREATE: expected id %d slot_size 8, got id %u slot_size %u",
		     jt_new_id(h), a.id, a.slot_size);
	if (pl.grow)
		learn_growth(c, h, a.base, len, CODE_ALIGN, a.lo, hi, &pl);
	bi = m_insert_block(h, a.base, len, 0);
	h->bl[bi].sealed = true;
	h->bl[bi].jt = a.id;
	m_commit(h, ALIGN_DN(a.base, PAGE), ALIGN_UP(a.base + len, PAGE));
	t = &h->jt[h->njt++];
	memset(t, 0, sizeof(*t));
	t->id = a.id;
	t->nr = a.nr_slots;
	t->base = a.base;
	t->far = a.base + ALIGN_UP((u64)a.nr_slots * 8, 16);
	t->def = a.default_target;
	t->len = len;
	bi = m_block(h, t->def);
	t->def_block = t->def && bi >= 0 ? h->bl[bi].start : ~0ULL;
	t->tgt = malloc(a.nr_slots * sizeof(u64));
	t->far_used = calloc(a.nr_slots, 1);
	for (s = 0; s < a.nr_slots; s++) {
		t->tgt[s] = t->def;
		m_jt_encode(h, t, s);
	}
	m_update_peaks(h);
	touch(c, a.base);
}

static struct mjt *pick_jt(struct ctx *c, struct heap *h, u32 *id)
{
	struct mjt *t = h->njt ? &h->jt[rnd_below(&c->r, h->njt)] : NULL;

	*id = t ? t->id : 1 + rnd_below(&c->r, 10);
	if (chance(&c->r, 5))
		*id = odd_ids[rnd_below(&c->r, 3)];
	return t;
}

static void op_jt_patch(struct ctx *c, struct heap *h)
{
	struct codeheap_jt_patch_entry e[8];
	struct codeheap_jt_patch a;
	struct mjt *t;
	int var = pick_variant(c), want = 0, ret, i, n, ti;
	char desc[400];
	int dl = 0;
	u32 id;

	t = pick_jt(c, h, &id);
	n = 1 + rnd_below(&c->r, chance(&c->r, 50) ? 1 : 8);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.id = id;
	a.count = n;
	if (chance(&c->r, 2))
		a.count = chance(&c->r, 50) ? 0 : ver.max_batch + 1;
	for (i = 0; i < n; i++) {
		bool clean = chance(&c->r, 70);
		struct mblock *b = pick_block(c, h);

		e[i].slot = t ? rnd_below(&c->r, t->nr) : rnd_below(&c->r, 4);
		if (t && !clean && chance(&c->r, 3))
			e[i].slot = t->nr + rnd_below(&c->r, 2);
		e[i].__reserved = clean ? 0 : gen_reserved(c);
		e[i].target = gen_target(c, h, t ? t->def : 0);
		if (clean && b && !b->jt)
			e[i].target = chance(&c->r, 80) ? b->start :
				      b->start + (rnd_below(&c->r, b->len) & ~7ULL);
		else if (clean)
			e[i].target = t ? t->def : 0;
		if (dl < (int)sizeof(desc) - 60)
			dl += snprintf(desc + dl, sizeof(desc) - dl,
				       " {slot %u res %#x target %#llx}",
				       e[i].slot, e[i].__reserved,
				       (unsigned long long)e[i].target);
	}
	a.entries = U64(e);
	ring_add(c->opno, "JT_PATCH flags %#x id %u count %u%s%s", a.flags,
		 a.id, a.count, desc, v_names[var]);
	ti = m_jt(h, id);
	if (a.flags || !a.count)
		want = -EINVAL;
	else if (a.count > ver.max_batch)
		want = -E2BIG;
	else if (ti < 0)
		want = -ENOENT;
	for (i = 0; !want && i < n; i++) {
		int bi = m_block(h, e[i].target);

		if (e[i].__reserved)
			want = -EINVAL;
		else if (e[i].slot >= h->jt[ti].nr)
			want = -ENOENT;
		else if (e[i].target != h->jt[ti].def &&
			 (bi < 0 || h->bl[bi].jt))
			want = -ENOENT;
	}
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_JT_PATCH, &a, sizeof(a), var);
	expect("JT_PATCH", ret, want, want);
	if (ret)
		return;
	t = &h->jt[ti];
	for (i = 0; i < n; i++) {
		t->tgt[e[i].slot] = e[i].target;
		m_jt_encode(h, t, e[i].slot);
	}
	touch(c, t->base);
}

static void op_jt_query(struct ctx *c, struct heap *h)
{
	struct codeheap_jt_query a;
	struct mjt *t;
	int var = pick_variant(c), want = 0, ret, ti;
	u32 id;

	t = pick_jt(c, h, &id);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.id = id;
	a.slot = t ? rnd_below(&c->r, t->nr + 1) : 0;
	ring_add(c->opno, "JT_QUERY flags %#x id %u slot %u%s", a.flags, a.id,
		 a.slot, v_names[var]);
	ti = m_jt(h, id);
	if (a.flags)
		want = -EINVAL;
	else if (ti < 0 || a.slot >= h->jt[ti].nr)
		want = -ENOENT;
	want = variant_expect(var, true, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_JT_QUERY, &a, sizeof(a), var);
	expect("JT_QUERY", ret, want, want);
	if (!ret && a.target != h->jt[ti].tgt[a.slot])
		fail("JT_QUERY: expected target %#llx got %#llx",
		     (unsigned long long)h->jt[ti].tgt[a.slot],
		     (unsigned long long)a.target);
}

static void op_jt_destroy(struct ctx *c, struct heap *h)
{
	struct codeheap_jt_destroy a;
	int var = pick_variant(c), want = 0, ret, ti;
	u32 id;

	pick_jt(c, h, &id);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = gen_flags(c);
	a.__reserved = gen_reserved(c);
	a.id = id;
	ring_add(c->opno, "JT_DESTROY flags %#x res %#x id %u%s", a.flags,
		 a.__reserved, a.id, v_names[var]);
	ti = m_jt(h, id);
	if (a.flags || a.__reserved)
		want = -EINVAL;
	else if (ti < 0)
		want = -ENOENT;
	want = variant_expect(var, false, want);
	ret = do_ioctl(c, h->fd, CODEHEAP_IOC_JT_DESTROY, &a, sizeof(a), var);
	expect("JT_DESTROY", ret, want, want);
	if (ret)
		return;
	touch(c, h->jt[ti].base);
	jt_remove(h, ti);
}

/* Call code in an allocation, or through a jump-table slot. */
static void op_call(struct ctx *c, struct heap *h)
{
	u64 addr, t;
	u32 val = 0, got;
	int want, sig;

	if (h->njt && chance(&c->r, 40)) {
		struct mjt *j = &h->jt[rnd_below(&c->r, h->njt)];
		u32 s = rnd_below(&c->r, j->nr);

		addr = j->base + (u64)s * 8;
		t = j->tgt[s];
		ring_add(c->opno, "CALL table %u slot %u (%#llx) -> %#llx",
			 j->id, s, (unsigned long long)addr,
			 (unsigned long long)t);
		want = t ? predict_exec(h, t, &val) : SIGTRAP;
		if (t && want < 0 && heap_of_addr(c, t) < 0 &&
		    t != U64(stub_fn))
			return;
	} else {
		struct mblock *b = pick_block(c, h);
		u64 off;
		int tries;

		if (!b || b->jt)
			return;
		addr = b->start;
		for (tries = 0; tries < 8; tries++) {
			off = rnd_below(&c->r, b->len) & ~7ULL;
			if (predict_exec(h, b->start + off, &val) >= 0) {
				addr = b->start + off;
				break;
			}
		}
		ring_add(c->opno, "CALL %#llx (allocation %#llx)",
			 (unsigned long long)addr, (unsigned long long)b->start);
		want = predict_exec(h, addr, &val);
	}
	if (want < 0)
		return;
	sig = probe_call(addr, &got);
	if (sig != want || (!sig && got != val))
		fail("CALL %#llx: expected %s %#x, got signal %d value %#x",
		     (unsigned long long)addr, want ? "signal" : "return",
		     want ? want : val, sig, got);
}

/*
 * munmap() (or MAP_FIXED over) a whole reservation: as a forced RELEASE.
 * Its tables are destroyed, slots elsewhere that target its allocations
 * reset, tables whose default lies in it get default 0, its allocations
 * freed, its pages decommitted.
 */
static void model_unmap_space(struct heap *h, int si)
{
	u64 start = h->sp[si].start, len = h->sp[si].len;
	int i, bi;

	for (i = h->njt - 1; i >= 0; i--)
		if (h->jt[i].base - start < len)
			jt_remove(h, i);
	model_end_defaults(h, start, len);
	for (bi = h->nbl - 1; bi >= 0; bi--)
		if (h->bl[bi].start - start < len) {
			jt_unref(h, h->bl[bi].start, h->bl[bi].len);
			m_free_block(h, bi);
		}
	si = m_space(h, start);
	m_del_space(h, si);
}

static void op_munmap(struct ctx *c, struct heap *h)
{
	struct mspace *s = pick_space(c, h);
	bool fixed = chance(&c->r, 30);
	u64 start;
	void *p;

	if (!s)
		return;
	start = s->start;
	ring_add(c->opno, "%s whole reservation %#llx len %#llx",
		 fixed ? "mmap(MAP_FIXED) over" : "munmap",
		 (unsigned long long)s->start, (unsigned long long)s->len);
	if (fixed) {
		p = mmap(PTR(s->start), s->len, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != PTR(s->start))
			fail("mmap(MAP_FIXED) over a reservation failed: %s",
			     strerror(errno));
		munmap(p, s->len);
	} else if (munmap(PTR(s->start), s->len)) {
		fail("munmap of a whole reservation failed: %s",
		     strerror(errno));
	}
	model_unmap_space(h, m_space(h, start));
	if (probe_read(start, NULL) != SIGSEGV)
		fail("unmapped reservation %#llx still readable",
		     (unsigned long long)start);
}

static void op_madvise(struct ctx *c, struct heap *h)
{
	struct mspace *s = pick_space(c, h);

	if (!s)
		return;
	ring_add(c->opno, "madvise(MADV_DONTNEED) %#llx len %#llx",
		 (unsigned long long)s->start, (unsigned long long)s->len);
	if (madvise(PTR(s->start), s->len, MADV_DONTNEED))
		fail("madvise(MADV_DONTNEED) failed: %s", strerror(errno));
	touch(c, s->start);
}

/* Attempts to change a reservation's shape or protection: all must fail. */
static void op_shape(struct ctx *c, struct heap *h)
{
	struct mspace *s = pick_space(c, h);
	int k = rnd_below(&c->r, 8), r = 0;
	void *p = MAP_FAILED;
	u64 a;
	const char *what = "";

	if (!s)
		return;
	switch (k) {
	case 0:
		what = "mprotect(RW) whole";
		r = mprotect(PTR(s->start), s->len, PROT_READ | PROT_WRITE);
		break;
	case 1:
		what = "mprotect(RWX) first page";
		r = mprotect(PTR(s->start), PAGE,
			     PROT_READ | PROT_WRITE | PROT_EXEC);
		break;
	case 2:
		what = "mprotect(R) whole";
		r = mprotect(PTR(s->start), s->len, PROT_READ);
		break;
	case 3:
		if (s->len < 2 * PAGE)
			return;
		what = "munmap of the last page";
		r = munmap(PTR(s->start + s->len - PAGE), PAGE);
		break;
	case 4:
		what = "mremap grow";
		p = mremap(PTR(s->start), s->len, s->len + PAGE, MREMAP_MAYMOVE);
		r = p == MAP_FAILED ? -1 : 0;
		break;
	case 5:
		if (s->len < 2 * PAGE)
			return;
		what = "mremap shrink";
		p = mremap(PTR(s->start), s->len, s->len - PAGE, 0);
		r = p == MAP_FAILED ? -1 : 0;
		break;
	case 6:
		what = "mremap move";
		a = 0x300000000000ULL + ALIGN_DN(rnd(&c->r) & 0xfffffffff, PAGE);
		p = mremap(PTR(s->start), s->len, s->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, PTR(a));
		r = p == MAP_FAILED ? -1 : 0;
		break;
	default: {
		u64 pg;

		what = "store";
		for (pg = 0; pg < s->len / PAGE; pg++)
			if (s->pst[pg] == PG_COMMIT)
				break;
		if (pg == s->len / PAGE)
			pg = 0;		/* none committed: a reserved page */
		a = s->start + pg * PAGE;
		ring_add(c->opno, "store to %#llx", (unsigned long long)a);
		r = probe_write(a);
		if (r != SIGSEGV)
			fail("store to code at %#llx: expected SIGSEGV got %d",
			     (unsigned long long)a, r);
		return;
	}
	}
	ring_add(c->opno, "%s of reservation %#llx len %#llx", what,
		 (unsigned long long)s->start, (unsigned long long)s->len);
	if (!r)
		fail("%s of a reservation succeeded", what);
	touch(c, s->start);
}

static void check_heap_full(struct ctx *c, struct heap *h);

/* fork(): the child can read and run code but change nothing. */
static void op_fork(struct ctx *c, struct heap *h)
{
	static const unsigned long mut[] = {
		CODEHEAP_IOC_RESERVE, CODEHEAP_IOC_RELEASE, CODEHEAP_IOC_COMMIT,
		CODEHEAP_IOC_DECOMMIT, CODEHEAP_IOC_PROTECT, CODEHEAP_IOC_SEAL,
		CODEHEAP_IOC_ALLOC, CODEHEAP_IOC_FREE, CODEHEAP_IOC_WRITE,
		CODEHEAP_IOC_JT_CREATE, CODEHEAP_IOC_JT_PATCH,
		CODEHEAP_IOC_JT_DESTROY,
	};
	int status, i, k;
	pid_t pid;

	ring_add(c->opno, "fork");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		u64 buf[40];
		int ret;

		for (k = 0; k < c->nheaps; k++) {
			struct heap *hh = &c->h[k];

			check_heap_full(c, hh);
			for (i = 0; i < (int)ARRAY_SIZE(mut); i++) {
				struct codeheap_addr a = {
					.size = sizeof(a),
					.addr = hh->nbl ? hh->bl[0].start : 0,
				};

				ret = ch_ioctl(hh->fd, mut[i], &a);
				if (ret != -EPERM)
					fail("child: mutating command %#lx expected -EPERM got %s",
					     mut[i], errname(ret));
				memset(buf, 0, sizeof(buf));
				ret = ch_ioctl(hh->fd, mut[i],
					       rnd_below(&c->r, 2) ? NULL :
					       (void *)buf);
				if (ret != -EPERM)
					fail("child: mutating command %#lx (bad arg) expected -EPERM got %s",
					     mut[i], errname(ret));
			}
			check_stats(hh, "child after EPERMs");
		}
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail("fork child's checks failed (status %#x)", status);
	(void)h;
}

static int open_heap(void)
{
	int fd = open("/dev/codeheap", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open /dev/codeheap: %s", strerror(errno));
	return fd;
}

/* close() and open(): the old heap lives on in its mappings, until unmapped. */
static void op_reopen(struct ctx *c, struct heap *h)
{
	int i;

	ring_add(c->opno, "close and re-open heap fd %d (%d reservations)",
		 h->fd, h->nsp);
	close(h->fd);
	for (i = 0; i < h->nsp; i++)
		check_space_mem(h, i);
	for (i = 0; i < h->nsp; i++)
		if (munmap(PTR(h->sp[i].start), h->sp[i].len))
			fail("munmap after close: %s", strerror(errno));
	m_reset(h);
	h->fd = open_heap();
	check_stats(h, "fresh heap");
}

/* ------------------------------------------------------------------ */
/* Whole-state checks                                                  */

static void check_maps(struct ctx *c)
{
	struct vma v[128];
	int n = maps_codeheap(v, 128), i, k, total = 0;

	for (k = 0; k < c->nheaps; k++)
		total += c->h[k].nsp;
	if (n != total)
		fail("/proc/self/maps has %d codeheap mappings, the model %d",
		     n, total);
	for (i = 0; i < n && i < 128; i++) {
		int hi = heap_of_addr(c, v[i].start), si;

		if (strcmp(v[i].perms, "r-xs"))
			fail("codeheap mapping %#llx-%#llx has perms %s",
			     (unsigned long long)v[i].start,
			     (unsigned long long)v[i].end, v[i].perms);
		if (hi < 0)
			fail("codeheap mapping %#llx-%#llx is no reservation of the model",
			     (unsigned long long)v[i].start,
			     (unsigned long long)v[i].end);
		si = m_space(&c->h[hi], v[i].start);
		if (c->h[hi].sp[si].start != v[i].start ||
		    c->h[hi].sp[si].start + c->h[hi].sp[si].len != v[i].end)
			fail("codeheap mapping %#llx-%#llx is not the reservation %#llx+%#llx",
			     (unsigned long long)v[i].start,
			     (unsigned long long)v[i].end,
			     (unsigned long long)c->h[hi].sp[si].start,
			     (unsigned long long)c->h[hi].sp[si].len);
	}
}

static void check_heap_full(struct ctx *c, struct heap *h)
{
	int i;

	check_stats(h, "full check");
	check_blocks(h);
	check_jts(h, false);
	for (i = 0; i < h->nsp; i++)
		check_space_mem(h, i);
	for (i = 0; i < (int)(c->nfreed < FREED_RING ? c->nfreed : FREED_RING);
	     i++) {
		struct codeheap_lookup l = { .size = sizeof(l) };
		int want = m_block(h, c->freed[i]) < 0 ? -ENOENT : 0, ret;

		l.addr = c->freed[i];
		ret = ch_ioctl(h->fd, CODEHEAP_IOC_LOOKUP, &l);
		if (ret != want)
			fail("LOOKUP of freed %#llx expected %s got %s",
			     (unsigned long long)c->freed[i], errname(want),
			     errname(ret));
	}
}

static void check_all(struct ctx *c)
{
	int k;

	for (k = 0; k < c->nheaps; k++)
		check_heap_full(c, &c->h[k]);
	check_maps(c);
}

/* The model's own invariants: a broken one is a heapfuzz bug. */
static void model_selfcheck(struct heap *h)
{
	int i, si;

	for (i = 0; i < h->nbl; i++) {
		si = m_space(h, h->bl[i].start);
		if (si < 0 || h->bl[i].start + h->bl[i].len >
		    h->sp[si].start + h->sp[si].len - CODE_ALIGN)
			fail("heapfuzz bug: block %#llx outside a space",
			     (unsigned long long)h->bl[i].start);
		if (i && h->bl[i - 1].start + h->bl[i - 1].len > h->bl[i].start)
			fail("heapfuzz bug: blocks %#llx %#llx unsorted/overlap",
			     (unsigned long long)h->bl[i - 1].start,
			     (unsigned long long)h->bl[i].start);
	}
	for (i = 0; i < h->njt; i++) {
		int b = m_block(h, h->jt[i].base);

		if (b < 0 || h->bl[b].start != h->jt[i].base ||
		    h->bl[b].jt != h->jt[i].id)
			fail("heapfuzz bug: table %u has no block at %#llx",
			     h->jt[i].id, (unsigned long long)h->jt[i].base);
	}
}

static void check_after_op(struct ctx *c, struct heap *h)
{
	int i, si;

	model_selfcheck(h);

	check_stats(h, "after op");
	for (i = 0; i < c->ntouched; i++) {
		si = m_space(h, c->touched[i]);
		if (si >= 0)
			check_space_mem(h, si);
		if (m_block(h, c->touched[i]) >= 0)
			check_blocks(h);
	}
	c->ntouched = 0;
}

/* ------------------------------------------------------------------ */

static void do_op(struct ctx *c, int op, struct heap *h)
{
	cur_kind = op;
	switch (op) {
	case OP_VERSION:
		op_version(c, h);
		break;
	case OP_RESERVE:
		op_reserve(c, h);
		break;
	case OP_RELEASE:
		op_release(c, h);
		break;
	case OP_COMMIT:
	case OP_DECOMMIT:
	case OP_PROTECT:
		op_range(c, h, op);
		break;
	case OP_SEAL:
		op_seal(c, h);
		break;
	case OP_ALLOC:
		op_alloc(c, h);
		break;
	case OP_FREE:
		op_free(c, h);
		break;
	case OP_LOOKUP:
		op_lookup(c, h);
		break;
	case OP_WRITE:
		op_write(c, h);
		break;
	case OP_STATS:
		op_stats(c, h);
		break;
	case OP_JT_CREATE:
		op_jt_create(c, h);
		break;
	case OP_JT_PATCH:
		op_jt_patch(c, h);
		break;
	case OP_JT_QUERY:
		op_jt_query(c, h);
		break;
	case OP_JT_DESTROY:
		op_jt_destroy(c, h);
		break;
	case OP_CALL:
		op_call(c, h);
		break;
	case OP_MUNMAP:
		op_munmap(c, h);
		break;
	case OP_MADVISE:
		op_madvise(c, h);
		break;
	case OP_SHAPE:
		op_shape(c, h);
		break;
	case OP_FORK:
		op_fork(c, h);
		break;
	case OP_REOPEN:
		op_reopen(c, h);
		break;
	}
}

static int pick_op(struct ctx *c, struct heap *h)
{
	unsigned int total = 0, w[OP_NR], i, r;

	for (i = 0; i < OP_NR; i++) {
		w[i] = (disabled & (1u << i)) ? 0 : op_weight[i];
		/* keep the heap from filling up */
		if (h->nbl > RUN_BLOCKS / 2 && (i == OP_FREE))
			w[i] *= 3;
		if (h->nsp > MAX_SPACES / 2 && (i == OP_RELEASE || i == OP_MUNMAP))
			w[i] *= 4;
		total += w[i];
	}
	r = rnd_below(&c->r, total);
	for (i = 0; i < OP_NR; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return OP_STATS;
}

static u64 now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int run_model(u64 seed, u64 ops, u64 seconds, int nheaps,
	      volatile u64 *opcount)
{
	struct ctx *c = calloc(1, sizeof(*c));
	u64 t0 = now_sec(), k;
	int i;

	cur_seed = seed;
	c->r.s = seed;
	c->nheaps = nheaps;
	c->arena = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->src = malloc(SRC_LEN);
	if (!c || c->arena == MAP_FAILED || !c->src)
		fail("out of memory");
	memset(c->arena, 0, 4 * PAGE);
	mprotect(c->arena + PAGE, PAGE, PROT_READ);
	mprotect(c->arena + 3 * PAGE, PAGE, PROT_NONE);
	for (k = 0; k < SRC_LEN; k++)
		c->src[k] = rnd(&c->r);
	for (i = 0; i < nheaps; i++) {
		m_reset(&c->h[i]);
		c->h[i].fd = open_heap();
	}
	for (c->opno = 1; c->opno <= ops; c->opno++) {
		struct heap *h = pick_heap(c);
		int op = pick_op(c, h);

		c->ntouched = 0;
		do_op(c, op, h);
		m_update_peaks(h);
		check_after_op(c, h);
		if ((check_every && c->opno % check_every == 0) ||
		    op == OP_MUNMAP || op == OP_SHAPE || op == OP_FORK ||
		    op == OP_REOPEN || op == OP_MADVISE)
			check_all(c);
		*opcount += 1;
		if (seconds && (c->opno & 63) == 0 && now_sec() - t0 >= seconds)
			break;
	}
	ring_add(c->opno, "final check");
	check_all(c);
	if (verbose)
		for (i = 0; i < OP_NR; i++)
			printf("# %-10s ok %llu failed %llu\n", op_names[i],
			       (unsigned long long)n_ok[i],
			       (unsigned long long)n_err[i]);
	for (i = 0; i < nheaps; i++) {
		int s;

		for (s = 0; s < c->h[i].nsp; s++)
			munmap(PTR(c->h[i].sp[s].start), c->h[i].sp[s].len);
		close(c->h[i].fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static void setup(void)
{
	void *p;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_init();
	/* 5-level paging moves TASK_SIZE: an address above 2^47 maps then */
	p = mmap(PTR(1ULL << 50), PAGE, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == PTR(1ULL << 50)) {
		task_size = (1ULL << 56) - PAGE;
		munmap(p, PAGE);
	} else {
		task_size = (1ULL << 47) - PAGE;
		if (p != MAP_FAILED)
			munmap(p, PAGE);
	}
	fd = open("/dev/codeheap", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("1..0 # SKIP /dev/codeheap: %s\n", strerror(errno));
		exit(0);
	}
	memset(&ver, 0, sizeof(ver));
	ver.size = sizeof(ver);
	if (ch_ioctl(fd, CODEHEAP_IOC_VERSION, &ver) ||
	    ver.arch != CODEHEAP_ARCH_X86_64 || ver.page_size != PAGE ||
	    ver.code_align != CODE_ALIGN || ver.jt_near_slot_size != 8) {
		printf("1..0 # SKIP not an x86-64 codeheap with 4 KiB pages\n");
		exit(0);
	}
	close(fd);
}

struct run {
	u64 seed, ops, seconds;
	int heaps, threads;
};

/* Each run in a child process: a crash or a divergence fails only it. */
static pid_t start_run(const struct run *r, volatile u64 *opcount)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		if (r->threads)
			run_threads(r->seed, r->ops, r->seconds, r->threads,
				    opcount);
		else
			run_model(r->seed, r->ops, r->seconds, r->heaps,
				  opcount);
		fflush(stdout);
		_exit(0);
	}
	return pid;
}

static int wait_run(const struct run *r, int n, pid_t pid)
{
	int status = 0;
	bool ok;

	waitpid(pid, &status, 0);
	ok = WIFEXITED(status) && !WEXITSTATUS(status);
	printf("%s %d - seed %llu %s %d ops %llu%s\n", ok ? "ok" : "not ok", n,
	       (unsigned long long)r->seed, r->threads ? "threads" : "heaps",
	       r->threads ? r->threads : r->heaps, (unsigned long long)r->ops,
	       ok ? "" : " # divergence: replay with this seed");
	return ok ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: heapfuzz [--seed S] [--ops N] [--seconds T] [--procs P]\n"
		"                [--heaps H] [--threads K] [--check-every C]\n"
		"                [--disable op,op...] [-v]\n"
		"ops:");
	for (int i = 0; i < OP_NR; i++)
		fprintf(stderr, " %s", op_names[i]);
	fprintf(stderr, "\n");
	exit(2);
}

static void parse_disable(char *s)
{
	char *tok, *save = NULL;
	int i;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < OP_NR; i++)
			if (!strcmp(tok, op_names[i]))
				disabled |= 1u << i;
		if (!strcmp(tok, "variants"))
			disabled |= 1u << 31;
	}
}

int main(int argc, char **argv)
{
	struct run runs[64];
	volatile u64 *opcount;
	u64 seed = 1, ops = 5000, seconds = 0, t0;
	int nruns = 0, procs = 1, heaps = 1, threads = 0, i, findings = 0;
	bool dflt = argc == 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v")) {
			verbose++;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--ops"))
			ops = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--seconds"))
			seconds = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--procs"))
			procs = atoi(argv[++i]);
		else if (!strcmp(a, "--heaps"))
			heaps = atoi(argv[++i]);
		else if (!strcmp(a, "--threads"))
			threads = atoi(argv[++i]);
		else if (!strcmp(a, "--check-every"))
			check_every = atoi(argv[++i]);
		else if (!strcmp(a, "--disable"))
			parse_disable(argv[++i]);
		else
			usage();
	}
	if (procs < 1 || procs > 32 || heaps < 1 || heaps > MAX_HEAPS ||
	    threads < 0 || threads > 16)
		usage();
	setup();
	opcount = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*opcount = 0;

	if (dflt) {
		/* the VM suite's bounded run: well under 60 s under TCG */
		static const struct run d[] = {
			{ 1, 1500, 8, 1, 0 }, { 2, 1500, 8, 2, 0 },
			{ 3, 1000, 6, 3, 0 }, { 4, 400, 5, 1, 3 },
			{ 5, 400, 5, 1, 2 },
		};

		seed = 1;
		for (i = 0; i < (int)ARRAY_SIZE(d); i++)
			runs[nruns++] = d[i];
	} else {
		/* --procs P: seeds S, S+1, ..., S+P-1 */
		for (i = 0; i < procs; i++) {
			runs[nruns].seed = seed + i;
			runs[nruns].ops = ops;
			runs[nruns].seconds = seconds;
			runs[nruns].heaps = heaps;
			runs[nruns].threads = 0;
			nruns++;
		}
		if (threads) {
			runs[nruns] = runs[0];
			runs[nruns].threads = threads;
			nruns++;
		}
	}
	printf("1..%d\n", nruns);
	t0 = now_sec();
	if (dflt) {
		for (i = 0; i < nruns; i++)
			findings += wait_run(&runs[i], i + 1,
					     start_run(&runs[i], opcount));
	} else {
		/* --procs: P processes at once, each with its own heaps */
		pid_t pids[64];

		for (i = 0; i < nruns; i++)
			pids[i] = start_run(&runs[i], opcount);
		for (i = 0; i < nruns; i++)
			findings += wait_run(&runs[i], i + 1, pids[i]);
	}
	t0 = now_sec() - t0;
	printf("# %llu s, %llu ops/s\n", (unsigned long long)t0,
	       (unsigned long long)(*opcount / (t0 ? t0 : 1)));
	printf("# heapfuzz: seed %llu ops %llu findings %d\n",
	       (unsigned long long)seed, (unsigned long long)*opcount,
	       findings);
	return findings ? 1 : 0;
}
