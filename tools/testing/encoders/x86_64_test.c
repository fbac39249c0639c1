// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the x86-64 jump-slot encoders (module/arch/x86_64.c).
 *
 * Expected bytes come from the Intel SDM encodings, worked out by hand
 * (JMP rel32 = E9 cd, relative to the next instruction; JMP r/m64 = FF /4,
 * here ModRM 0x25 = RIP-relative disp32; INT3 = CC; 66 90 = 2-byte NOP) or
 * from explicit signed 64-bit arithmetic, never from the encoders.  On an
 * x86-64 host the slots are also executed: a call through a near slot, a
 * far slot and the trap slot, with targets exactly at the rel32 limits.
 * The disassembler check is objdump_test.c.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "kselftest_harness.h"

#include "enc_test.h"

/* Slots spread over the user address space, 8-byte aligned. */
static const u64 slots[] = {
	0x100000000ULL,		/* 4 GiB: the whole range is above 0 */
	0x80000040ULL,		/* 2 GiB + 64: min target just above 0 */
	0x555555554008ULL,
	0x7f0000000000ULL,
	0x7ffffffff000ULL - 8,	/* top of the 47-bit user space */
};

#define NSLOTS	(sizeof(slots) / sizeof(slots[0]))

/* Independent range rule: -2^31 <= target - (slot + 5) < 2^31. */
static int near_ok(u64 slot, u64 target)
{
	s64 d = (s64)target - (s64)(slot + 5);

	return d >= -(s64)SZ_2G && d < (s64)SZ_2G;
}

/* Check the eight bytes of a near jump from the SDM, not the encoder. */
static int near_bytes_ok(const u8 *b, u64 slot, u64 target)
{
	s64 rel = (s64)target - (s64)(slot + 5);

	return b[0] == 0xe9 && (s64)(s32)(u32)get_le(b + 1, 4) == rel &&
	       b[5] == 0xcc && b[6] == 0xcc && b[7] == 0xcc;
}

TEST(constants)
{
	ASSERT_EQ(64, CODEHEAP_X86_64_CODE_ALIGN);
	ASSERT_EQ(8, CODEHEAP_X86_64_NEAR_SLOT_SIZE);
	ASSERT_EQ(16, CODEHEAP_X86_64_FAR_SLOT_SIZE);
	ASSERT_EQ(16, sizeof(struct codeheap_far_slot));
	/* Slots packed from an aligned base never straddle a cache line. */
	ASSERT_EQ(0, CODEHEAP_X86_64_CODE_ALIGN % CODEHEAP_X86_64_FAR_SLOT_SIZE);
	ASSERT_EQ(0, CODEHEAP_X86_64_CODE_ALIGN % CODEHEAP_X86_64_NEAR_SLOT_SIZE);
}

TEST(near_bytes_by_hand)
{
	static const struct {
		u64 slot, target;
		u8 b[8];
	} c[] = {
		/* rel = 0x2000 - 0x1005 = 0xffb */
		{ 0x1000, 0x2000,
		  { 0xe9, 0xfb, 0x0f, 0x00, 0x00, 0xcc, 0xcc, 0xcc } },
		/* rel = -0x1005 = 0xffffeffb */
		{ 0x7f0000001000ULL, 0x7f0000000000ULL,
		  { 0xe9, 0xfb, 0xef, 0xff, 0xff, 0xcc, 0xcc, 0xcc } },
		/* rel = 0: the instruction after the jmp */
		{ 0x1000, 0x1005,
		  { 0xe9, 0x00, 0x00, 0x00, 0x00, 0xcc, 0xcc, 0xcc } },
		/* rel = 0x7fffffff: the farthest forward */
		{ 0x100000000ULL, 0x180000004ULL,
		  { 0xe9, 0xff, 0xff, 0xff, 0x7f, 0xcc, 0xcc, 0xcc } },
		/* rel = -0x80000000: the farthest back */
		{ 0x100000000ULL, 0x80000005ULL,
		  { 0xe9, 0x00, 0x00, 0x00, 0x80, 0xcc, 0xcc, 0xcc } },
		/* rel = -8: a jump to the slot itself */
		{ 0x2008, 0x2008,
		  { 0xe9, 0xfb, 0xff, 0xff, 0xff, 0xcc, 0xcc, 0xcc } },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		u64 insn = 0, t = 0, mem;
		u8 b[8];

		ASSERT_EQ(0, codeheap_x86_64_near_encode(c[i].slot,
							 c[i].target, &insn));
		store64(b, insn);
		ASSERT_EQ(0, memcmp(b, c[i].b, 8)) {
			TH_LOG("case %zu: got %016llx", i,
			       (unsigned long long)insn);
		}
		memcpy(&mem, c[i].b, 8);
		ASSERT_EQ(0, codeheap_x86_64_near_decode(c[i].slot, mem, &t));
		ASSERT_EQ(c[i].target, t);
	}
}

TEST(far_bytes_by_hand)
{
	static const u8 want[16] = {
		0xff, 0x25, 0x02, 0x00, 0x00, 0x00,	/* jmp *0x2(%rip) */
		0x66, 0x90,				/* xchg %ax,%ax */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	};
	struct codeheap_far_slot far, mem;
	u64 t = 0;
	u8 b[16];

	ASSERT_EQ(0, codeheap_x86_64_far_encode(0x7f0000002000ULL,
						0x1122334455667788ULL, &far));
	store_far(b, &far);
	ASSERT_EQ(0, memcmp(b, want, 16));
	load_far(&mem, want);
	ASSERT_EQ(0, codeheap_x86_64_far_decode(0x7f0000002000ULL, &mem, &t));
	ASSERT_EQ(0x1122334455667788ULL, t);
	/* The target word is bytes 8-15 on its own: a store of it alone. */
	ASSERT_EQ(0x1122334455667788ULL, get_le(b + 8, 8));
}

TEST(trap_slots)
{
	struct codeheap_far_slot far;
	u64 insn = 0, t = 1;
	u8 b[16];
	int i;

	ASSERT_EQ(0, codeheap_x86_64_near_encode(0x1000, 0, &insn));
	store64(b, insn);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0xcc, b[i]);
	ASSERT_EQ(0, codeheap_x86_64_near_decode(0x1000, insn, &t));
	ASSERT_EQ(0, t);

	ASSERT_EQ(0, codeheap_x86_64_far_encode(0x1000, 0, &far));
	store_far(b, &far);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0xcc, b[i]);
	t = 1;
	ASSERT_EQ(0, codeheap_x86_64_far_decode(0x1000, &far, &t));
	ASSERT_EQ(0, t);
}

/*
 * Every rel32 with a stride of 65521 (a prime: ~65,500 values spread over
 * all four sign/magnitude quarters), plus every rel within 64 of -2^31, 0
 * and 2^31 - 1, for every test slot.
 */
TEST(near_round_trip_whole_range)
{
	unsigned long checked = 0, bad = 0;
	size_t s;

	for (s = 0; s < NSLOTS; s++) {
		u64 slot = slots[s];
		s64 rel;

		for (rel = -(s64)SZ_2G; rel < (s64)SZ_2G;) {
			u64 target = slot + 5 + rel, insn = 0, t = 0;
			u8 b[8];

			if (target) {
				checked++;
				if (codeheap_x86_64_near_encode(slot, target,
								&insn) ||
				    (store64(b, insn), !near_bytes_ok(b, slot,
								     target)) ||
				    codeheap_x86_64_near_decode(slot, insn,
								&t) ||
				    t != target ||
				    !codeheap_x86_64_near_in_range(slot,
								   target)) {
					if (!bad++)
						TH_LOG("slot %llx rel %lld",
						       (unsigned long long)slot,
						       (long long)rel);
				}
			}
			if (rel < -(s64)SZ_2G + 64 || (rel >= -64 && rel < 64) ||
			    rel >= (s64)SZ_2G - 65)
				rel++;
			else if (rel < -64 && rel + 65521 > -64)
				rel = -64;
			else if (rel < (s64)SZ_2G - 65 &&
				 rel + 65521 > (s64)SZ_2G - 65)
				rel = SZ_2G - 65;
			else
				rel += 65521;
		}
	}
	TH_LOG("%lu near slots round-tripped", checked);
	ASSERT_GT(checked, 300000);
	ASSERT_EQ(0, bad);
}

/* The exact limits, minding the +5, and the far fallback just past them. */
TEST(near_limits_and_far_fallback)
{
	size_t s;

	for (s = 0; s < NSLOTS; s++) {
		u64 slot = slots[s];
		u64 far_slot = (slot & ~15ULL) + 64;
		u64 hi = slot + 5 + SZ_2G - 1;	/* rel32 = 0x7fffffff */
		u64 lo = slot + 5 - SZ_2G;	/* rel32 = -0x80000000 */
		u64 past[2] = { hi + 1, lo - 1 };
		u64 insn, t;
		int k;

		ASSERT_EQ(0, codeheap_x86_64_near_encode(slot, hi, &insn));
		ASSERT_EQ(0, codeheap_x86_64_near_decode(slot, insn, &t));
		ASSERT_EQ(hi, t);
		ASSERT_EQ(0, codeheap_x86_64_near_encode(slot, lo, &insn));
		ASSERT_EQ(0, codeheap_x86_64_near_decode(slot, insn, &t));
		ASSERT_EQ(lo, t);

		for (k = 0; k < 2; k++) {
			struct codeheap_x86_64_route r;
			struct codeheap_far_slot far;

			insn = 0x0123456789abcdefULL;
			ASSERT_FALSE(codeheap_x86_64_near_in_range(slot,
								   past[k]));
			ASSERT_EQ(-ERANGE,
				  codeheap_x86_64_near_encode(slot, past[k],
							      &insn));
			/* Untouched on error. */
			ASSERT_EQ(0x0123456789abcdefULL, insn);

			ASSERT_EQ(0, codeheap_x86_64_far_encode(far_slot,
								past[k],
								&far));
			ASSERT_EQ(0, codeheap_x86_64_far_decode(far_slot, &far,
								&t));
			ASSERT_EQ(past[k], t);

			ASSERT_EQ(0, codeheap_x86_64_route(slot, far_slot,
							   past[k], &r));
			ASSERT_TRUE(r.via_far);
			ASSERT_EQ(0, codeheap_x86_64_near_decode(slot, r.near,
								 &t));
			ASSERT_EQ(far_slot, t);
			ASSERT_EQ(0, codeheap_x86_64_far_decode(far_slot,
								&r.far, &t));
			ASSERT_EQ(past[k], t);
			t = 0;
			ASSERT_EQ(0, codeheap_x86_64_resolve(slot, r.near,
							     far_slot, &r.far,
							     &t));
			ASSERT_EQ(past[k], t);
		}

		/* In range: the route does not touch the far slot. */
		{
			struct codeheap_x86_64_route r;

			ASSERT_EQ(0, codeheap_x86_64_route(slot, far_slot, hi,
							   &r));
			ASSERT_FALSE(r.via_far);
			ASSERT_EQ(0, codeheap_x86_64_near_decode(slot, r.near,
								 &t));
			ASSERT_EQ(hi, t);
			ASSERT_EQ(0, codeheap_x86_64_route(slot, far_slot, 0,
							   &r));
			ASSERT_FALSE(r.via_far);
			ASSERT_EQ(CODEHEAP_X86_64_NEAR_TRAP, r.near);
		}
	}
}

/* Random pairs: the range rule, encode, decode, route and resolve agree. */
TEST(random_pairs)
{
	unsigned long near = 0, far = 0, bad = 0;
	u64 seed = 0x5eed0001;
	int i;

	for (i = 0; i < 1000000; i++) {
		u64 slot = (rnd_next(&seed) % (1ULL << 47)) & ~7ULL;
		u64 target = slot + rnd_next(&seed) % (6 * SZ_2G) - 3 * SZ_2G;
		u64 far_slot = (slot & ~15ULL) + 16;
		struct codeheap_x86_64_route r;
		u64 insn, t = 0;
		int err;

		if (!target || target >= (1ULL << 47))
			continue;
		err = codeheap_x86_64_near_encode(slot, target, &insn);
		if (near_ok(slot, target)) {
			near++;
			if (err || codeheap_x86_64_near_decode(slot, insn, &t) ||
			    t != target ||
			    !codeheap_x86_64_near_in_range(slot, target))
				bad++;
		} else {
			far++;
			if (err != -ERANGE ||
			    codeheap_x86_64_near_in_range(slot, target))
				bad++;
		}
		t = 0;
		if (codeheap_x86_64_route(slot, far_slot, target, &r) ||
		    r.via_far != !near_ok(slot, target) ||
		    codeheap_x86_64_resolve(slot, r.near, far_slot, &r.far,
					    &t) || t != target)
			bad++;
	}
	TH_LOG("%lu near, %lu far", near, far);
	ASSERT_GT(near, 100000);
	ASSERT_GT(far, 100000);
	ASSERT_EQ(0, bad);
}

TEST(alignment)
{
	struct codeheap_x86_64_route r;
	struct codeheap_far_slot far = { 0 };
	u64 base = 0x7f0000010000ULL, insn, t;
	int i;

	for (i = 1; i < 8; i++) {
		ASSERT_EQ(-EINVAL, codeheap_x86_64_near_encode(base + i,
							       base + 64,
							       &insn));
		ASSERT_EQ(-EINVAL, codeheap_x86_64_near_encode(base + i, 0,
							       &insn));
		ASSERT_EQ(-EINVAL,
			  codeheap_x86_64_near_decode(base + i,
						      CODEHEAP_X86_64_NEAR_TRAP,
						      &t));
	}
	for (i = 1; i < 16; i++) {
		ASSERT_EQ(-EINVAL, codeheap_x86_64_far_encode(base + i,
							      base + 64,
							      &far));
		ASSERT_EQ(-EINVAL, codeheap_x86_64_route(base, base + i,
							 base + SZ_4G, &r));
	}
	ASSERT_EQ(0, codeheap_x86_64_far_encode(base, base + 64, &far));
	for (i = 1; i < 16; i++)
		ASSERT_EQ(-EINVAL, codeheap_x86_64_far_decode(base + i, &far,
							      &t));

	/*
	 * A table packed from a code-aligned base: every slot encodes, and
	 * its bytes fill one aligned 8-byte word (near) or two (far) inside
	 * one 64-byte cache line, which is what makes the store atomic.
	 */
	for (i = 0; i < 4096; i++) {
		u64 s = base + i * CODEHEAP_X86_64_NEAR_SLOT_SIZE;
		u64 f = base + i * CODEHEAP_X86_64_FAR_SLOT_SIZE;

		ASSERT_EQ(0, codeheap_x86_64_near_encode(s, base, &insn));
		ASSERT_EQ(0, s % 8);
		ASSERT_EQ(s / 64, (s + 7) / 64);
		ASSERT_EQ(0, codeheap_x86_64_far_encode(f, base, &far));
		ASSERT_EQ(0, (f + 8) % 8);
		ASSERT_EQ(f / 64, (f + 15) / 64);
	}
}

TEST(route_far_slot_out_of_reach)
{
	struct codeheap_x86_64_route r;
	u64 slot = 0x7f0000000000ULL;

	/* The far slot itself must be reachable from the near slot. */
	ASSERT_EQ(-ERANGE, codeheap_x86_64_route(slot, slot + SZ_4G,
						 slot + 8 * SZ_4G, &r));
	/* Unless the target is near anyway. */
	ASSERT_EQ(0, codeheap_x86_64_route(slot, slot + SZ_4G, slot + 64, &r));
	ASSERT_FALSE(r.via_far);
}

TEST(decode_rejects_garbage)
{
	static const u8 bad_near[][8] = {
		{ 0xe9, 0x00, 0x00, 0x00, 0x00, 0xcc, 0xcc, 0x90 },
		{ 0xe9, 0x00, 0x00, 0x00, 0x00, 0x90, 0xcc, 0xcc },
		{ 0xe8, 0x00, 0x00, 0x00, 0x00, 0xcc, 0xcc, 0xcc }, /* call */
		{ 0xeb, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc }, /* jmp8 */
		{ 0 },
		{ 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcd },
		{ 0xcd, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc },
		/* a jump to address 0 (rel = -0x1005 from 0x1000) */
		{ 0xe9, 0xfb, 0xef, 0xff, 0xff, 0xcc, 0xcc, 0xcc },
	};
	static const u8 bad_far[][16] = {
		/* jump to 0 */
		{ 0xff, 0x25, 0x02, 0, 0, 0, 0x66, 0x90, 0, 0, 0, 0, 0, 0, 0, 0 },
		/* rip + 3 */
		{ 0xff, 0x25, 0x03, 0, 0, 0, 0x66, 0x90, 1, 0, 0, 0, 0, 0, 0, 0 },
		/* call *rip+2 */
		{ 0xff, 0x15, 0x02, 0, 0, 0, 0x66, 0x90, 1, 0, 0, 0, 0, 0, 0, 0 },
		/* nop replaced */
		{ 0xff, 0x25, 0x02, 0, 0, 0, 0xcc, 0xcc, 1, 0, 0, 0, 0, 0, 0, 0 },
		/* trap code, a target word */
		{ 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
		  1, 0, 0, 0, 0, 0, 0, 0 },
	};
	struct codeheap_far_slot far;
	u64 seed = 0x5eed0002, insn, t;
	unsigned long accepted = 0, bad = 0;
	size_t i;

	for (i = 0; i < sizeof(bad_near) / sizeof(bad_near[0]); i++) {
		t = 0x5a5a;
		memcpy(&insn, bad_near[i], 8);
		ASSERT_EQ(-EINVAL, codeheap_x86_64_near_decode(0x1000, insn,
							       &t)) {
			TH_LOG("near case %zu", i);
		}
		ASSERT_EQ(0x5a5a, t);
	}
	for (i = 0; i < sizeof(bad_far) / sizeof(bad_far[0]); i++) {
		t = 0x5a5a;
		load_far(&far, bad_far[i]);
		ASSERT_EQ(-EINVAL, codeheap_x86_64_far_decode(0x1000, &far,
							      &t)) {
			TH_LOG("far case %zu", i);
		}
		ASSERT_EQ(0x5a5a, t);
	}

	/*
	 * Random words, half of them starting with E9: whatever decodes must
	 * be exactly what the encoder produces for the decoded target.
	 */
	for (i = 0; i < 1000000; i++) {
		u64 w = rnd_next(&seed), again;

		if (i & 1)
			w = (w & ~0xffULL) | 0xe9;
		if (i % 4 == 1)	/* a valid-looking pad, a random rel */
			w = (w & 0xffffffffffULL) | 0xcccccc0000000000ULL;
		if (codeheap_x86_64_near_decode(0x7f0000000000ULL, w, &t))
			continue;
		accepted++;
		if (codeheap_x86_64_near_encode(0x7f0000000000ULL, t, &again) ||
		    again != w)
			bad++;
	}
	TH_LOG("%lu of 1000000 random words decode", accepted);
	ASSERT_EQ(0, bad);
	/* Only the quarter with E9 and a CC pad can decode at all. */
	ASSERT_GT(accepted, 200000);
	ASSERT_LT(accepted, 260000);
}

TEST(trap_fill)
{
	u8 buf[256];
	int off, len, i;

	for (off = 0; off < 16; off++) {
		for (len = 0; len <= 80; len++) {
			memset(buf, 0x5a, sizeof(buf));
			ASSERT_EQ(0, codeheap_x86_64_trap_fill(buf + 64 + off,
							       len));
			for (i = 0; i < (int)sizeof(buf); i++) {
				int in = i >= 64 + off && i < 64 + off + len;

				ASSERT_EQ(in ? 0xcc : 0x5a, buf[i]);
			}
		}
	}
}

/*
 * Execution on an x86-64 host: a 16 GiB PROT_NONE arena, pages of it made
 * RW to write slots and functions, then RX to call them.
 */
#ifdef __x86_64__
#define ARENA_SIZE	(16ULL << 30)
#define PAGE		4096ULL

static u64 arena_center(void)
{
	void *p = mmap(NULL, ARENA_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	return ((u64)(uintptr_t)p + ARENA_SIZE / 2) & ~(PAGE - 1);
}

static int arena_prot(u64 addr, u64 len, int prot)
{
	u64 lo = addr & ~(PAGE - 1), hi = (addr + len + PAGE - 1) & ~(PAGE - 1);

	return mprotect((void *)(uintptr_t)lo, hi - lo, prot);
}

/* mov eax, imm32 (B8 id); ret (C3) */
static void put_func(u64 addr, u32 value)
{
	u8 *p = (u8 *)(uintptr_t)addr;

	p[0] = 0xb8;
	put_le(p + 1, value, 4);
	p[5] = 0xc3;
}

static int call(u64 addr)
{
	int (*fn)(void) = (int (*)(void))(uintptr_t)addr;

	return fn();
}

static void put_route(u64 near_slot, u64 far_slot,
		      const struct codeheap_x86_64_route *r)
{
	if (r->via_far)
		store_far((u8 *)(uintptr_t)far_slot, &r->far);
	*(volatile u64 *)(uintptr_t)near_slot = r->near;
}

TEST(execute_near_far_and_limits)
{
	u64 c = arena_center();
	struct {
		u64 slot, far_slot, target;
		u32 value;
		bool via_far;
	} k[5];
	struct codeheap_x86_64_route r;
	int i;

	if (!c)
		SKIP(return, "cannot reserve a 16 GiB arena");
	k[0] = (typeof(k[0])){ c, c + 0x800, c + 0x400, 0x11, false };
	k[1] = (typeof(k[1])){ c + 8, c + 0x810, c + 8 + 5 + SZ_2G - 1,
			       0x22, false };
	k[2] = (typeof(k[2])){ c + 16, c + 0x820, c + 16 + 5 - SZ_2G,
			       0x33, false };
	k[3] = (typeof(k[3])){ c + 24, c + 0x830, c + 3 * SZ_2G + 0x40,
			       0x44, true };
	k[4] = (typeof(k[4])){ c + 32, c + 0x840, c - 3 * SZ_2G + 0x80,
			       0x55, true };

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, arena_prot(k[i].target, 6,
					PROT_READ | PROT_WRITE));
		put_func(k[i].target, k[i].value);
		ASSERT_EQ(0, arena_prot(k[i].target, 6,
					PROT_READ | PROT_EXEC));
	}
	/* The table page (k[0]'s function shares it). */
	ASSERT_EQ(0, arena_prot(c, PAGE, PROT_READ | PROT_WRITE));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, codeheap_x86_64_route(k[i].slot, k[i].far_slot,
						   k[i].target, &r));
		ASSERT_EQ(k[i].via_far, r.via_far);
		put_route(k[i].slot, k[i].far_slot, &r);
	}
	ASSERT_EQ(0, arena_prot(c, PAGE, PROT_READ | PROT_EXEC));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(k[i].value, call(k[i].slot));

	/* Repatch: a near slot to another target, a far slot's word only. */
	ASSERT_EQ(0, arena_prot(c, PAGE, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, codeheap_x86_64_route(k[0].slot, k[0].far_slot,
					   k[2].target, &r));
	ASSERT_FALSE(r.via_far);
	put_route(k[0].slot, k[0].far_slot, &r);
	*(volatile u64 *)(uintptr_t)(k[3].far_slot + 8) = k[4].target;
	ASSERT_EQ(0, arena_prot(c, PAGE, PROT_READ | PROT_EXEC));
	ASSERT_EQ(0x33, call(k[0].slot));
	ASSERT_EQ(0x55, call(k[3].slot));
}

static void trap_in_arena(bool far)
{
	struct codeheap_far_slot fs;
	u64 c = arena_center(), insn;

	if (!c || arena_prot(c, PAGE, PROT_READ | PROT_WRITE))
		return;
	if (far) {
		codeheap_x86_64_far_encode(c, 0, &fs);
		store_far((u8 *)(uintptr_t)c, &fs);
	} else {
		codeheap_x86_64_near_encode(c, 0, &insn);
		*(volatile u64 *)(uintptr_t)c = insn;
	}
	if (arena_prot(c, PAGE, PROT_READ | PROT_EXEC))
		return;
	call(c);
}

TEST_SIGNAL(execute_near_trap_slot, SIGTRAP)
{
	trap_in_arena(false);
}

TEST_SIGNAL(execute_far_trap_slot, SIGTRAP)
{
	trap_in_arena(true);
}
#endif /* __x86_64__ */

/* 32-bit mode: eip wraps at 4 GiB, so every 32-bit target is near. */
TEST(near_ia32_wraps)
{
	static const struct { uint64_t slot, target; uint32_t rel; } cases[] = {
		/* 3 GiB forward wraps to a backward jump, and back. */
		{ 0x10000000, 0xd0000000, 0xbffffffb },
		{ 0xd0000000, 0x10000000, 0x3ffffffb },
		{ 0xfffffff8, 0x00001000, 0x00001003 },
		{ 0x00001000, 0xfffff000, 0xffffdffb },
	};
	uint64_t insn;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, codeheap_x86_64_near_encode_ia32(cases[i].slot,
							      cases[i].target,
							      &insn));
		EXPECT_EQ(0xe9, insn & 0xff);
		EXPECT_EQ(cases[i].rel, (uint32_t)(insn >> 8));
		EXPECT_EQ(0xccccccULL, insn >> 40);
		/* The 32-bit CPU's sum: slot + 5 + rel, modulo 2^32. */
		EXPECT_EQ(cases[i].target,
			  (uint32_t)(cases[i].slot + 5 + (uint32_t)(insn >> 8)));
	}
	ASSERT_EQ(0, codeheap_x86_64_near_encode_ia32(0x1000, 0, &insn));
	EXPECT_EQ(0xccccccccccccccccULL, insn);
	EXPECT_EQ(-EINVAL, codeheap_x86_64_near_encode_ia32(0x1004, 0x2000,
							    &insn));
	EXPECT_EQ(-EINVAL, codeheap_x86_64_near_encode_ia32(1ULL << 32,
							    0x2000, &insn));
	EXPECT_EQ(-EINVAL, codeheap_x86_64_near_encode_ia32(0x1000,
							    1ULL << 32, &insn));
}

TEST_HARNESS_MAIN
