// SPDX-License-Identifier: GPL-2.0
/*
 * heapfuzz: the model of a heap and the checks of the kernel against it.
 *
 * Spaces (reservations) and blocks (allocations) are kept sorted by
 * address.  Each space has a shadow image of its bytes (meaningful in
 * committed pages: traps except where live allocations hold written code
 * or jump-table slots) and a state byte per page (committed, none).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int m_space(struct heap *h, u64 addr)
{
	int i;

	for (i = 0; i < h->nsp; i++)
		if (addr >= h->sp[i].start && addr - h->sp[i].start < h->sp[i].len)
			return i;
	return -1;
}

int m_block(struct heap *h, u64 addr)
{
	int lo = 0, hi = h->nbl - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct mblock *b = &h->bl[mid];

		if (addr < b->start)
			hi = mid - 1;
		else if (addr - b->start >= b->len)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

int m_jt(struct heap *h, u32 id)
{
	int i;

	for (i = 0; i < h->njt; i++)
		if (h->jt[i].id == id)
			return i;
	return -1;
}

u64 m_allocated(struct heap *h)
{
	u64 s = 0;
	int i;

	for (i = 0; i < h->nbl; i++)
		s += h->bl[i].len;
	return s;
}

u64 m_committed(struct heap *h)
{
	u64 s = 0, p;
	int i;

	for (i = 0; i < h->nsp; i++)
		for (p = 0; p < h->sp[i].len / PAGE; p++)
			if (h->sp[i].pst[p] & PG_COMMIT)
				s += PAGE;
	return s;
}

u64 m_reserved(struct heap *h)
{
	u64 s = 0;
	int i;

	for (i = 0; i < h->nsp; i++)
		s += h->sp[i].len;
	return s;
}

u64 m_largest_free(struct heap *h)
{
	u64 best = 0;
	int i, b = 0;

	for (i = 0; i < h->nsp; i++) {
		struct mspace *s = &h->sp[i];
		u64 cur = s->start, end = s->start + s->len - CODE_ALIGN;

		while (b < h->nbl && h->bl[b].start < s->start)
			b++;
		for (; b < h->nbl && h->bl[b].start < end; b++) {
			if (h->bl[b].start - cur > best)
				best = h->bl[b].start - cur;
			cur = h->bl[b].start + h->bl[b].len;
		}
		if (end - cur > best)
			best = end - cur;
	}
	return best;
}

u8 *m_shadow(struct heap *h, u64 addr)
{
	int i = m_space(h, addr);

	if (i < 0)
		fail("model: shadow of %#llx outside every space",
		     (unsigned long long)addr);
	return &h->sp[i].shadow[addr - h->sp[i].start];
}

u8 m_pst(struct heap *h, u64 addr)
{
	int i = m_space(h, addr);

	if (i < 0)
		return 0;
	return h->sp[i].pst[(addr - h->sp[i].start) / PAGE];
}

void m_add_space(struct heap *h, u64 start, u64 len)
{
	int i;

	if (h->nsp == MAX_SPACES)
		fail("model: too many spaces");
	for (i = h->nsp; i > 0 && h->sp[i - 1].start > start; i--)
		h->sp[i] = h->sp[i - 1];
	h->sp[i].start = start;
	h->sp[i].len = len;
	h->sp[i].shadow = malloc(len);
	h->sp[i].pst = calloc(len / PAGE, 1);
	if (!h->sp[i].shadow || !h->sp[i].pst)
		fail("model: out of memory");
	memset(h->sp[i].shadow, TRAP, len);
	h->nsp++;
}

void m_del_space(struct heap *h, int i)
{
	free(h->sp[i].shadow);
	free(h->sp[i].pst);
	memmove(&h->sp[i], &h->sp[i + 1], (h->nsp - i - 1) * sizeof(h->sp[0]));
	h->nsp--;
}

int m_insert_block(struct heap *h, u64 start, u64 len, u64 tag)
{
	int i;

	if (h->nbl == MAX_BLOCKS)
		fail("model: too many blocks");
	for (i = h->nbl; i > 0 && h->bl[i - 1].start > start; i--)
		h->bl[i] = h->bl[i - 1];
	memset(&h->bl[i], 0, sizeof(h->bl[i]));
	h->bl[i].start = start;
	h->bl[i].len = len;
	h->bl[i].tag = tag;
	h->nbl++;
	return i;
}

/* Pages [start, end) (page-aligned, inside one space). */
void m_commit(struct heap *h, u64 start, u64 end)
{
	u64 a;

	for (a = start; a < end; a += PAGE) {
		int i = m_space(h, a);
		u8 *p = &h->sp[i].pst[(a - h->sp[i].start) / PAGE];

		if (!(*p & PG_COMMIT)) {
			*p = PG_COMMIT;
			memset(m_shadow(h, a), TRAP, PAGE);
		}
	}
}

void m_decommit(struct heap *h, u64 start, u64 end)
{
	u64 a;

	for (a = start; a < end; a += PAGE) {
		int i = m_space(h, a);

		h->sp[i].pst[(a - h->sp[i].start) / PAGE] = 0;
		memset(m_shadow(h, a), TRAP, PAGE);
	}
}

u64 jt_len(u32 nr)
{
	u64 near = ALIGN_UP((u64)nr * 8, 16);

	return ALIGN_UP(near + (u64)nr * 16, CODE_ALIGN);
}

static void put_jmp(u8 *p, u64 from, u64 to)
{
	s64 rel = (s64)(to - (from + 5));
	u32 r = (u32)rel;

	p[0] = 0xe9;
	memcpy(p + 1, &r, 4);
	p[5] = p[6] = p[7] = TRAP;
}

static bool near_reach(u64 from, u64 to)
{
	s64 rel = (s64)(to - (from + 5));

	return rel >= -(1LL << 31) && rel <= (1LL << 31) - 1;
}

/* Expected bytes of slot @i (near and far) from its target. */
void m_jt_encode(struct heap *h, struct mjt *t, u32 i)
{
	u64 near = t->base + (u64)i * 8, far = t->far + (u64)i * 16;
	u64 tg = t->tgt[i];
	u8 *n = m_shadow(h, near), *f = m_shadow(h, far);
	static const u8 farcode[8] = { 0xff, 0x25, 0x02, 0, 0, 0, 0x66, 0x90 };

	if (tg && !near_reach(near, tg)) {
		if (!t->far_used[i]) {
			memcpy(f, farcode, 8);
			t->far_used[i] = 1;
		}
		memcpy(f + 8, &tg, 8);
		put_jmp(n, near, far);
		return;
	}
	if (tg)
		put_jmp(n, near, tg);
	else
		memset(n, TRAP, 8);
	if (t->far_used[i])
		memcpy(f + 8, &near, 8);
}

/*
 * Free block @bi: the FreeCode rule decommits the block's pages that lie
 * wholly in the free range it merges into (the space's fence counting as
 * free).  The caller has dealt with jump-table slots.
 */
void m_free_block(struct heap *h, int bi)
{
	struct mblock b = h->bl[bi];
	int si = m_space(h, b.start);
	struct mspace *s = &h->sp[si];
	u64 lo = s->start, hi = s->start + s->len, ps, pe;

	if (bi > 0 && h->bl[bi - 1].start >= s->start)
		lo = h->bl[bi - 1].start + h->bl[bi - 1].len;
	if (bi + 1 < h->nbl && h->bl[bi + 1].start < s->start + s->len)
		hi = h->bl[bi + 1].start;
	memset(m_shadow(h, b.start), TRAP, b.len);
	memmove(&h->bl[bi], &h->bl[bi + 1], (h->nbl - bi - 1) * sizeof(h->bl[0]));
	h->nbl--;
	h->freed += b.len;
	ps = ALIGN_DN(b.start, PAGE);
	pe = ALIGN_UP(b.start + b.len, PAGE);
	if (ps < ALIGN_UP(lo, PAGE))
		ps = ALIGN_UP(lo, PAGE);
	if (pe > ALIGN_DN(hi, PAGE))
		pe = ALIGN_DN(hi, PAGE);
	if (ps < pe)
		m_decommit(h, ps, pe);
}

void m_update_peaks(struct heap *h)
{
	u64 a = m_allocated(h), c = m_committed(h);

	if (a > h->peak_alloc)
		h->peak_alloc = a;
	if (c > h->peak_commit)
		h->peak_commit = c;
}

void m_reset(struct heap *h)
{
	int i;

	while (h->nsp)
		m_del_space(h, h->nsp - 1);
	for (i = 0; i < h->njt; i++) {
		free(h->jt[i].tgt);
		free(h->jt[i].far_used);
	}
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->peaks_known = true;
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

void check_stats(struct heap *h, const char *when)
{
	struct codeheap_stats st;
	int ret;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ret = ch_ioctl(h->fd, CODEHEAP_IOC_STATS, &st);
	if (ret)
		fail("%s: STATS failed %s", when, errname(ret));
#define CMP(field, val) do {						\
	if ((u64)st.field != (u64)(val))				\
		fail("%s: STATS." #field " expected %#llx got %#llx",	\
		     when, (unsigned long long)(val),			\
		     (unsigned long long)st.field);			\
} while (0)
	CMP(reserved_bytes, m_reserved(h));
	CMP(reservations, h->nsp);
	CMP(allocations, h->nbl);
	CMP(allocated_bytes, m_allocated(h));
	CMP(jump_tables, h->njt);
	CMP(freed_bytes, h->freed);
	CMP(committed_bytes, m_committed(h));
	CMP(largest_free, m_largest_free(h));
	if (h->peaks_known) {
		CMP(peak_allocated_bytes, h->peak_alloc);
		CMP(peak_committed_bytes, h->peak_commit);
	} else {
		if (st.peak_allocated_bytes < st.allocated_bytes ||
		    st.peak_committed_bytes < st.committed_bytes)
			fail("%s: STATS peaks below current values", when);
	}
#undef CMP
}

/* Every page of space @si: contents, or SIGSEGV where it must fault. */
void check_space_mem(struct heap *h, int si)
{
	struct mspace *s = &h->sp[si];
	u64 p, bad;
	int r;

	for (p = 0; p < s->len / PAGE; p++) {
		u64 a = s->start + p * PAGE;

		if ((s->pst[p] & PG_COMMIT) && !(s->pst[p] & PG_NONE)) {
			r = probe_cmp(a, &s->shadow[p * PAGE], PAGE, &bad);
			if (r > 0)
				fail("page %#llx committed and accessible, read raised signal %d at %#llx",
				     (unsigned long long)a, r,
				     (unsigned long long)bad);
			if (r < 0) {
				int b = m_block(h, bad), k;

				for (k = 0; k < h->njt; k++)
					printf("# model table %u base %#llx nr %u def %#llx\n",
					       h->jt[k].id,
					       (unsigned long long)h->jt[k].base,
					       h->jt[k].nr,
					       (unsigned long long)h->jt[k].def);

				fail("byte %#llx: expected %#x got %#x (%s %#llx+%#llx)",
				     (unsigned long long)bad,
				     s->shadow[bad - s->start],
				     *(volatile u8 *)PTR(bad),
				     b >= 0 ? "in allocation" : "outside allocations",
				     b >= 0 ? (unsigned long long)h->bl[b].start : 0ULL,
				     b >= 0 ? (unsigned long long)h->bl[b].len : 0ULL);
			}
		} else {
			r = probe_read(a + (p * 977) % PAGE, NULL);
			if (r != SIGSEGV)
				fail("page %#llx is %s: read expected SIGSEGV got signal %d",
				     (unsigned long long)a,
				     s->pst[p] ? "PROTECTed none" : "not committed",
				     r);
		}
	}
}

static void check_lookup(struct heap *h, u64 addr)
{
	struct codeheap_lookup l;
	int b = m_block(h, addr), ret;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.addr = addr;
	ret = ch_ioctl(h->fd, CODEHEAP_IOC_LOOKUP, &l);
	if (b < 0) {
		if (ret != -ENOENT)
			fail("LOOKUP %#llx (no allocation) expected -ENOENT got %s start %#llx",
			     (unsigned long long)addr, errname(ret),
			     (unsigned long long)l.start);
		return;
	}
	if (ret)
		fail("LOOKUP %#llx in allocation %#llx expected 0 got %s",
		     (unsigned long long)addr,
		     (unsigned long long)h->bl[b].start, errname(ret));
	if (l.start != h->bl[b].start || l.len != h->bl[b].len ||
	    l.tag != h->bl[b].tag ||
	    l.alloc_flags != ((h->bl[b].sealed ? CODEHEAP_LOOKUP_SEALED : 0) |
			      (h->bl[b].jt ? CODEHEAP_LOOKUP_JUMP_TABLE : 0)))
		fail("LOOKUP %#llx expected start %#llx len %#llx tag %#llx flags %d got start %#llx len %#llx tag %#llx flags %u",
		     (unsigned long long)addr,
		     (unsigned long long)h->bl[b].start,
		     (unsigned long long)h->bl[b].len,
		     (unsigned long long)h->bl[b].tag,
		     (h->bl[b].sealed ? 1 : 0) | (h->bl[b].jt ? 2 : 0),
		     (unsigned long long)l.start, (unsigned long long)l.len,
		     (unsigned long long)l.tag, l.alloc_flags);
}

void check_blocks(struct heap *h)
{
	int i;

	for (i = 0; i < h->nbl; i++) {
		struct mblock *b = &h->bl[i];

		check_lookup(h, b->start);
		check_lookup(h, b->start + b->len / 2);
		check_lookup(h, b->start + b->len - 1);
		check_lookup(h, b->start + b->len);
		if (b->start)
			check_lookup(h, b->start - 1);
	}
}

static void check_slot(struct heap *h, struct mjt *t, u32 slot)
{
	struct codeheap_jt_query q;
	int ret;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.id = t->id;
	q.slot = slot;
	ret = ch_ioctl(h->fd, CODEHEAP_IOC_JT_QUERY, &q);
	if (ret || q.target != t->tgt[slot])
		fail("JT_QUERY table %u slot %u expected 0 target %#llx got %s target %#llx",
		     t->id, slot, (unsigned long long)t->tgt[slot],
		     errname(ret), (unsigned long long)q.target);
}

void check_jts(struct heap *h, bool all)
{
	struct codeheap_jt_query q;
	int i, ret;
	u32 s;

	for (i = 0; i < h->njt; i++) {
		struct mjt *t = &h->jt[i];

		if (t->nr <= 256 || all) {
			for (s = 0; s < t->nr; s++)
				check_slot(h, t, s);
		} else {
			/* sampled: the ends, and every slot not at default */
			for (s = 0; s < t->nr; s++)
				if (s < 16 || s >= t->nr - 16 ||
				    t->tgt[s] != t->def)
					check_slot(h, t, s);
		}
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.id = t->id;
		q.slot = t->nr;
		ret = ch_ioctl(h->fd, CODEHEAP_IOC_JT_QUERY, &q);
		if (ret != -ENOENT)
			fail("JT_QUERY table %u slot %u (= nr_slots) expected -ENOENT got %s",
			     t->id, t->nr, errname(ret));
	}
}

/*
 * What a call to @t does: 0 (returns *val), SIGTRAP, SIGSEGV, or -1 when
 * the model cannot say (the bytes there are not a function it wrote).
 */
int predict_exec(struct heap *h, u64 t, u32 *val)
{
	u8 *p;
	int si;

	if (t == U64(stub_fn)) {
		*val = STUB_VALUE;
		return 0;
	}
	si = m_space(h, t);
	if (si < 0)
		return -1;
	if (m_pst(h, t) != PG_COMMIT)
		return SIGSEGV;
	p = m_shadow(h, t);
	if (*p == TRAP)
		return SIGTRAP;
	if (*p != 0xb8 || t + 6 > h->sp[si].start + h->sp[si].len ||
	    p[5] != 0xc3 || m_pst(h, t + 5) != PG_COMMIT)
		return -1;
	memcpy(val, p + 1, 4);
	return 0;
}
