// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the arm64 jump-slot encoders (module/arch/arm64.c).
 *
 * Expected words are composed here field by field from the encoding
 * diagrams of the Arm ARM (DDI 0487), never taken from the encoders:
 *
 *   B      op=0 00101 imm26                     (C6.2.26)
 *   LDR    opc=01 011 V=0 00 imm19 Rt           (literal, 64-bit, C6.2.167)
 *   BR     1101011 0000 11111 000000 Rn 00000   (C6.2.37)
 *   BRK    11010100 001 imm16 000 00            (C6.2.40)
 *
 * The disassembler check is objdump_test.c.
 */
#include "kselftest_harness.h"

#include "enc_test.h"

#define A64_B(imm26)	(0x05U << 26 | ((u32)(imm26) & 0x03ffffffU))
#define A64_LDR_LIT64(imm19, rt) \
	(0x1U << 30 | 0x3U << 27 | ((u32)(imm19) & 0x7ffffU) << 5 | (rt))
#define A64_BR(rn)	(0x6bU << 25 | 0x1fU << 16 | (u32)(rn) << 5)
#define A64_BRK(imm16)	(0xd4U << 24 | 0x1U << 21 | (u32)(imm16) << 5)

static const u64 slots[] = {
	0x8000000ULL,			/* 128 MiB: lowest target is 0 */
	0x8001000ULL,
	0x555555554004ULL,
	0x7f0000000000ULL,
	0xfffffff0000ULL - 4,
};

#define NSLOTS	(sizeof(slots) / sizeof(slots[0]))

/* Independent range rule: -2^27 <= target - slot < 2^27, both aligned. */
static int near_ok(u64 slot, u64 target)
{
	s64 d = (s64)target - (s64)slot;

	return !(target % 4) && d >= -(s64)SZ_128M && d < (s64)SZ_128M;
}

TEST(constants)
{
	ASSERT_EQ(32, CODEHEAP_ARM64_CODE_ALIGN);
	ASSERT_EQ(4, CODEHEAP_ARM64_NEAR_SLOT_SIZE);
	ASSERT_EQ(16, CODEHEAP_ARM64_FAR_SLOT_SIZE);
	ASSERT_EQ(A64_BRK(0), CODEHEAP_ARM64_BRK);
	ASSERT_EQ(0xd4200000U, A64_BRK(0));
	ASSERT_EQ(0, CODEHEAP_ARM64_CODE_ALIGN % CODEHEAP_ARM64_FAR_SLOT_SIZE);
}

TEST(near_words_by_hand)
{
	static const struct {
		u64 slot, target;
		u32 word;
	} c[] = {
		{ 0x1000, 0x1008, 0x14000002 },			/* +8 */
		{ 0x1004, 0x1000, 0x17ffffff },			/* -4 */
		{ 0x1000, 0x1000, 0x14000000 },			/* self */
		{ 0x10000000, 0x10000000 + 0x7fffffc, 0x15ffffff }, /* max */
		{ 0x10000000, 0x10000000 - 0x8000000, 0x16000000 }, /* min */
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		u64 off = c[i].target - c[i].slot, t = 0;
		u32 insn = 0;
		u8 b[4];

		/* The hand-written word matches the ARM ARM's fields. */
		ASSERT_EQ(c[i].word, A64_B((s64)off / 4));
		ASSERT_EQ(0, codeheap_arm64_near_encode(c[i].slot, c[i].target,
							&insn));
		ASSERT_EQ(c[i].word, insn);
		/* Instructions are little-endian in memory. */
		store32(b, insn);
		ASSERT_EQ(c[i].word, get_le(b, 4));
		ASSERT_EQ(0, codeheap_arm64_near_decode(c[i].slot, c[i].word,
							&t));
		ASSERT_EQ(c[i].target, t);
	}
}

TEST(far_words_by_hand)
{
	struct codeheap_far_slot far;
	u64 t = 0;
	u8 b[16];

	ASSERT_EQ(0x58000050U, A64_LDR_LIT64(2, 16));	/* ldr x16, #8 */
	ASSERT_EQ(0xd61f0200U, A64_BR(16));		/* br x16 */
	ASSERT_EQ(0, codeheap_arm64_far_encode(0x7f0000002000ULL,
					       0x1122334455667788ULL, &far));
	store_far(b, &far);
	ASSERT_EQ(A64_LDR_LIT64(2, 16), get_le(b, 4));
	ASSERT_EQ(A64_BR(16), get_le(b + 4, 4));
	ASSERT_EQ(0x1122334455667788ULL, get_le(b + 8, 8));
	ASSERT_EQ(0, codeheap_arm64_far_decode(0x7f0000002000ULL, &far, &t));
	ASSERT_EQ(0x1122334455667788ULL, t);
}

TEST(trap_slots)
{
	struct codeheap_far_slot far;
	u64 t = 1;
	u32 insn = 0;
	u8 b[16];
	int i;

	ASSERT_EQ(0, codeheap_arm64_near_encode(0x1000, 0, &insn));
	ASSERT_EQ(A64_BRK(0), insn);
	ASSERT_EQ(0, codeheap_arm64_near_decode(0x1000, insn, &t));
	ASSERT_EQ(0, t);
	ASSERT_EQ(0, codeheap_arm64_far_encode(0x1000, 0, &far));
	store_far(b, &far);
	for (i = 0; i < 16; i += 4)
		ASSERT_EQ(A64_BRK(0), get_le(b + i, 4));
	t = 1;
	ASSERT_EQ(0, codeheap_arm64_far_decode(0x1000, &far, &t));
	ASSERT_EQ(0, t);
}

/*
 * Every one of the 2^26 offsets from one slot, and a stride of 4093 words
 * (a prime) plus 64 words at each limit and around 0 from the others.
 */
TEST(near_round_trip_whole_range)
{
	unsigned long checked = 0, bad = 0;
	size_t s;

	for (s = 0; s < NSLOTS; s++) {
		u64 slot = slots[s];
		s64 w;

		for (w = -(1LL << 25); w < (1LL << 25);) {
			u64 target = slot + w * 4, t = 0;
			u32 insn = 0;

			if (target) {
				checked++;
				if (codeheap_arm64_near_encode(slot, target,
							       &insn) ||
				    insn != A64_B(w) ||
				    codeheap_arm64_near_decode(slot, insn,
							       &t) ||
				    t != target ||
				    !codeheap_arm64_near_in_range(slot,
								  target)) {
					if (!bad++)
						TH_LOG("slot %llx words %lld",
						       (unsigned long long)slot,
						       (long long)w);
				}
			}
			if (s == 3 || w < -(1LL << 25) + 64 ||
			    (w >= -64 && w < 64) || w >= (1LL << 25) - 65)
				w++;
			else if (w < -64 && w + 4093 > -64)
				w = -64;
			else if (w < (1LL << 25) - 65 &&
				 w + 4093 > (1LL << 25) - 65)
				w = (1LL << 25) - 65;
			else
				w += 4093;
		}
	}
	TH_LOG("%lu near slots round-tripped", checked);
	ASSERT_GT(checked, 1UL << 26);
	ASSERT_EQ(0, bad);
}

TEST(near_limits_and_far_fallback)
{
	size_t s;

	for (s = 0; s < NSLOTS; s++) {
		u64 slot = slots[s];
		u64 far_slot = (slot & ~15ULL) + 32;
		u64 hi = slot + SZ_128M - 4, lo = slot - SZ_128M;
		u64 past[2] = { hi + 4, lo - 4 };
		u64 t;
		u32 insn;
		int k;

		ASSERT_EQ(0, codeheap_arm64_near_encode(slot, hi, &insn));
		ASSERT_EQ(A64_B((1 << 25) - 1), insn);
		ASSERT_EQ(0, codeheap_arm64_near_decode(slot, insn, &t));
		ASSERT_EQ(hi, t);
		if (lo) {
			ASSERT_EQ(0, codeheap_arm64_near_encode(slot, lo,
								&insn));
			ASSERT_EQ(A64_B(-(1 << 25)), insn);
			ASSERT_EQ(0, codeheap_arm64_near_decode(slot, insn,
								&t));
			ASSERT_EQ(lo, t);
		}

		for (k = 0; k < 2; k++) {
			struct codeheap_arm64_route r;
			struct codeheap_far_slot far;

			if (past[k] >= (1ULL << 48))	/* wrapped below 0 */
				continue;
			insn = 0x01234567;
			ASSERT_FALSE(codeheap_arm64_near_in_range(slot,
								  past[k]));
			ASSERT_EQ(-ERANGE,
				  codeheap_arm64_near_encode(slot, past[k],
							     &insn));
			ASSERT_EQ(0x01234567, insn);

			ASSERT_EQ(0, codeheap_arm64_far_encode(far_slot,
							       past[k], &far));
			ASSERT_EQ(0, codeheap_arm64_far_decode(far_slot, &far,
							       &t));
			ASSERT_EQ(past[k], t);

			ASSERT_EQ(0, codeheap_arm64_route(slot, far_slot,
							  past[k], &r));
			ASSERT_TRUE(r.via_far);
			ASSERT_EQ(0, codeheap_arm64_near_decode(slot, r.near,
								&t));
			ASSERT_EQ(far_slot, t);
			ASSERT_EQ(0, codeheap_arm64_far_decode(far_slot,
							       &r.far, &t));
			ASSERT_EQ(past[k], t);
			t = 0;
			ASSERT_EQ(0, codeheap_arm64_resolve(slot, r.near,
							    far_slot, &r.far,
							    &t));
			ASSERT_EQ(past[k], t);
		}
	}
}

TEST(random_pairs)
{
	unsigned long near = 0, far = 0, bad = 0;
	u64 seed = 0x5eed0011;
	int i;

	for (i = 0; i < 1000000; i++) {
		u64 slot = (rnd_next(&seed) % (1ULL << 47)) & ~3ULL;
		u64 target = (slot + rnd_next(&seed) % (6 * SZ_128M) -
			      3 * SZ_128M) & ~3ULL;
		u64 far_slot = (slot & ~15ULL) + 16;
		struct codeheap_arm64_route r;
		u64 t = 0;
		u32 insn;
		int err;

		if (!target || target >= (1ULL << 47))
			continue;
		err = codeheap_arm64_near_encode(slot, target, &insn);
		if (near_ok(slot, target)) {
			near++;
			if (err || codeheap_arm64_near_decode(slot, insn, &t) ||
			    t != target ||
			    !codeheap_arm64_near_in_range(slot, target))
				bad++;
		} else {
			far++;
			if (err != -ERANGE ||
			    codeheap_arm64_near_in_range(slot, target))
				bad++;
		}
		t = 0;
		if (codeheap_arm64_route(slot, far_slot, target, &r) ||
		    r.via_far != !near_ok(slot, target) ||
		    codeheap_arm64_resolve(slot, r.near, far_slot, &r.far,
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
	struct codeheap_arm64_route r;
	struct codeheap_far_slot far = { 0 };
	u64 base = 0x7f0000010000ULL, t;
	u32 insn;
	int i;

	for (i = 1; i < 4; i++) {
		/* Misaligned slot, misaligned target: -EINVAL, not -ERANGE. */
		ASSERT_EQ(-EINVAL, codeheap_arm64_near_encode(base + i,
							      base + 64,
							      &insn));
		ASSERT_EQ(-EINVAL, codeheap_arm64_near_encode(base, base + i,
							      &insn));
		ASSERT_EQ(-EINVAL, codeheap_arm64_near_encode(base,
							      base + SZ_4G + i,
							      &insn));
		ASSERT_FALSE(codeheap_arm64_near_in_range(base, base + i));
		ASSERT_EQ(-EINVAL, codeheap_arm64_near_decode(base + i,
							      A64_BRK(0), &t));
		ASSERT_EQ(-EINVAL, codeheap_arm64_far_encode(base,
							     base + SZ_4G + i,
							     &far));
		ASSERT_EQ(-EINVAL, codeheap_arm64_route(base, base + 16,
							base + SZ_4G + i,
							&r));
	}
	for (i = 1; i < 16; i++) {
		ASSERT_EQ(-EINVAL, codeheap_arm64_far_encode(base + i,
							     base + 64, &far));
		ASSERT_EQ(-EINVAL, codeheap_arm64_route(base, base + i,
							base + SZ_4G, &r));
	}
	ASSERT_EQ(0, codeheap_arm64_far_encode(base, base + 64, &far));
	for (i = 1; i < 16; i++)
		ASSERT_EQ(-EINVAL, codeheap_arm64_far_decode(base + i, &far,
							     &t));
	/* A packed table: every slot encodes; far target words 8-aligned. */
	for (i = 0; i < 4096; i++) {
		u64 s = base + i * CODEHEAP_ARM64_NEAR_SLOT_SIZE;
		u64 f = base + i * CODEHEAP_ARM64_FAR_SLOT_SIZE;

		ASSERT_EQ(0, codeheap_arm64_near_encode(s, base, &insn));
		ASSERT_EQ(0, codeheap_arm64_far_encode(f, base, &far));
		ASSERT_EQ(0, (f + 8) % 8);
		ASSERT_EQ(f / 64, (f + 15) / 64);
	}
}

TEST(route_far_slot_out_of_reach)
{
	struct codeheap_arm64_route r;
	u64 slot = 0x7f0000000000ULL;

	ASSERT_EQ(-ERANGE, codeheap_arm64_route(slot, slot + SZ_4G,
						slot + 8 * SZ_4G, &r));
	ASSERT_EQ(0, codeheap_arm64_route(slot, slot + SZ_4G, slot + 64, &r));
	ASSERT_FALSE(r.via_far);
}

TEST(decode_rejects_garbage)
{
	static const u32 bad_near[] = {
		0x94000002,		/* bl +8 */
		0x54000040,		/* b.eq +8 */
		0xd503201f,		/* nop */
		0xd4200020,		/* brk #1 */
		0x00000000,		/* udf #0 */
		0xd61f0200,		/* br x16 */
	};
	struct {
		u32 w[4];
	} bad_far[] = {
		/* target 0 */
		{ { 0x58000050, 0xd61f0200, 0, 0 } },
		/* misaligned target */
		{ { 0x58000050, 0xd61f0200, 0x1002, 0 } },
		/* ldr x17 */
		{ { 0x58000051, 0xd61f0200, 0x1000, 0 } },
		/* ldr x16, #12 */
		{ { 0x58000070, 0xd61f0200, 0x1000, 0 } },
		/* blr x16 */
		{ { 0x58000050, 0xd63f0200, 0x1000, 0 } },
		/* trap code, a target word */
		{ { 0xd4200000, 0xd4200000, 0x1000, 0 } },
	};
	struct codeheap_far_slot far;
	unsigned long accepted = 0, bad = 0;
	u64 seed = 0x5eed0012, t;
	size_t i;

	for (i = 0; i < sizeof(bad_near) / sizeof(bad_near[0]); i++) {
		t = 0x5a5a;
		ASSERT_EQ(-EINVAL, codeheap_arm64_near_decode(0x1000,
							      bad_near[i],
							      &t)) {
			TH_LOG("near case %zu", i);
		}
		ASSERT_EQ(0x5a5a, t);
	}
	/* b to address 0 */
	ASSERT_EQ(-EINVAL, codeheap_arm64_near_decode(0x1000, A64_B(-0x400),
						      &t));
	for (i = 0; i < sizeof(bad_far) / sizeof(bad_far[0]); i++) {
		u8 b[16];
		int j;

		for (j = 0; j < 4; j++)
			put_le(b + 4 * j, bad_far[i].w[j], 4);
		load_far(&far, b);
		t = 0x5a5a;
		ASSERT_EQ(-EINVAL, codeheap_arm64_far_decode(0x1000, &far,
							     &t)) {
			TH_LOG("far case %zu", i);
		}
		ASSERT_EQ(0x5a5a, t);
	}
	/* Whatever random word decodes, the encoder reproduces exactly. */
	for (i = 0; i < 1000000; i++) {
		u32 w = (u32)rnd_next(&seed), again;

		if (codeheap_arm64_near_decode(0x7f0000000000ULL, w, &t))
			continue;
		accepted++;
		if (codeheap_arm64_near_encode(0x7f0000000000ULL, t, &again) ||
		    again != w)
			bad++;
	}
	TH_LOG("%lu of 1000000 random words decode", accepted);
	ASSERT_EQ(0, bad);
	/* One in 64 words is a b (6 fixed bits). */
	ASSERT_GT(accepted, 14000);
	ASSERT_LT(accepted, 17500);
}

TEST(trap_fill)
{
	u32 buf[64];
	int off, len, i;

	for (off = 0; off < 8; off++) {
		for (len = 0; len <= 80; len += 4) {
			memset(buf, 0x5a, sizeof(buf));
			ASSERT_EQ(0, codeheap_arm64_trap_fill(buf + 16 + off,
							      len));
			for (i = 0; i < 64; i++) {
				int in = i >= 16 + off &&
					 i < 16 + off + len / 4;
				u8 *b = (u8 *)&buf[i];

				ASSERT_EQ(in ? A64_BRK(0) : 0x5a5a5a5aU,
					  get_le(b, 4));
			}
		}
	}
	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ(-EINVAL, codeheap_arm64_trap_fill(buf, 6));
	ASSERT_EQ(-EINVAL, codeheap_arm64_trap_fill((u8 *)buf + 2, 8));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0x5a5a5a5aU, buf[i]);
}

TEST_HARNESS_MAIN
