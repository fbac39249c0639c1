// SPDX-License-Identifier: GPL-2.0
/*
 * The jump slots as a disassembler sees them.  Tables of slots are encoded
 * at a chosen address, written to a file and disassembled with
 *
 *   objdump -D -b binary -m i386:x86-64 --adjust-vma=<table>
 *   aarch64-linux-gnu-objdump -D -b binary -m aarch64 --adjust-vma=<table>
 *
 * (OBJDUMP and OBJDUMP_AARCH64 override the tools), and every instruction
 * line is compared with what the slot must be: "jmp 0x<target>" and three
 * int3 for an x86-64 near slot, "b 0x<target>" for arm64, and so on.  The
 * targets come from the test's own arithmetic; objdump computes the
 * destination from the bytes by itself.  A missing tool is a failure, not
 * a skip: tools/deps.sh installs both.
 */
#include "kselftest_harness.h"

#include "enc_test.h"

#define X86_TABLE	0x7f3a12340000ULL
#define A64_TABLE	0x7f3a12340000ULL
#define NSLOT		2048

static const char *tool(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

/* A target for slot @i at @slot: limits, short hops, traps, random. */
static u64 pick(int i, u64 slot, u64 lo_off, u64 hi_off, u64 align,
		u64 *seed)
{
	switch (i % 16) {
	case 0:
		return 0;			/* trap */
	case 1:
		return slot + hi_off;		/* farthest forward */
	case 2:
		return slot - lo_off;		/* farthest back */
	case 3:
		return slot;			/* offset 0 */
	case 4:
		return slot + align;
	case 5:
		return slot - align;
	default:
		return (slot - lo_off +
			rnd_next(seed) % (lo_off + hi_off + 1)) & ~(align - 1);
	}
}

static bool line_is(struct __test_metadata *_metadata, const struct dis *d,
		    u64 addr, const char *want)
{
	const char *got = dis_at(d, addr);

	if (got && !strcmp(got, want))
		return true;
	TH_LOG("at 0x%llx: want \"%s\", objdump says \"%s\"",
	       (unsigned long long)addr, want, got ? got : "(no line)");
	return false;
}

TEST(x86_64_near_table)
{
	static u8 buf[NSLOT * 8];
	u64 want[NSLOT], seed = 0xd15a0001;
	struct dis d;
	int i, bad = 0;
	char s[64];

	for (i = 0; i < NSLOT; i++) {
		u64 slot = X86_TABLE + 8 * i, insn;

		/* rel32 limits, relative to slot + 5 */
		want[i] = pick(i, slot + 5, SZ_2G, SZ_2G - 1, 1, &seed);
		ASSERT_EQ(0, codeheap_x86_64_near_encode(slot, want[i],
							 &insn));
		store64(buf + 8 * i, insn);
	}
	ASSERT_EQ(0, disassemble(tool("OBJDUMP", "objdump"), "i386:x86-64",
				 X86_TABLE, buf, sizeof(buf), &d));
	ASSERT_EQ(0, d.status);
	for (i = 0; i < NSLOT && bad < 5; i++) {
		u64 slot = X86_TABLE + 8 * i;
		int j;

		if (!want[i]) {
			for (j = 0; j < 8; j++)
				bad += !line_is(_metadata, &d, slot + j, "int3");
			continue;
		}
		snprintf(s, sizeof(s), "jmp 0x%llx",
			 (unsigned long long)want[i]);
		bad += !line_is(_metadata, &d, slot, s);
		for (j = 5; j < 8; j++)
			bad += !line_is(_metadata, &d, slot + j, "int3");
	}
	/* No other instruction boundaries: 4 lines a jump, 8 a trap. */
	ASSERT_EQ(0, bad);
	ASSERT_EQ(NSLOT / 16 * 8 + (NSLOT - NSLOT / 16) * 4, d.n);
	dis_free(&d);
}

/* Each far slot alone: the 8 data bytes would desynchronise the rest. */
TEST(x86_64_far_slots)
{
	const u64 targets[] = {
		X86_TABLE + 0x10 + 5 + SZ_2G,	/* just past near reach */
		X86_TABLE + 0x10 + 5 - SZ_2G - 1,
		0x7ffffffff000ULL,
		0x1000,
		0x0123456789abcdefULL,
		0,
	};
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		u64 slot = X86_TABLE + 0x10 + 16 * i;
		struct codeheap_far_slot far;
		struct dis d;
		char s[64];
		u8 b[16];
		int j;

		ASSERT_EQ(0, codeheap_x86_64_far_encode(slot, targets[i],
							&far));
		store_far(b, &far);
		ASSERT_EQ(0, disassemble(tool("OBJDUMP", "objdump"),
					 "i386:x86-64", slot, b, 16, &d));
		ASSERT_EQ(0, d.status);
		if (!targets[i]) {
			for (j = 0; j < 16; j++)
				ASSERT_TRUE(line_is(_metadata, &d, slot + j,
						    "int3"));
			ASSERT_EQ(16, d.n);
		} else {
			/* objdump names the memory operand's address. */
			snprintf(s, sizeof(s), "jmp *0x2(%%rip) # 0x%llx",
				 (unsigned long long)slot + 8);
			ASSERT_TRUE(line_is(_metadata, &d, slot, s));
			ASSERT_TRUE(line_is(_metadata, &d, slot + 6,
					    "xchg %ax,%ax"));
			ASSERT_EQ(targets[i], get_le(b + 8, 8));
		}
		dis_free(&d);
	}
}

/* A near slot routed through its far slot, in one table. */
TEST(x86_64_route_via_far)
{
	u64 near_slot = X86_TABLE, far_slot = X86_TABLE + 16;
	u64 target = X86_TABLE + 3 * SZ_2G + 0x40;
	struct codeheap_x86_64_route r;
	struct dis d;
	char s[64];
	u8 b[32];

	ASSERT_EQ(0, codeheap_x86_64_route(near_slot, far_slot, target, &r));
	ASSERT_TRUE(r.via_far);
	ASSERT_EQ(0, codeheap_x86_64_trap_fill(b, sizeof(b)));
	store64(b, r.near);
	store_far(b + 16, &r.far);
	ASSERT_EQ(0, disassemble(tool("OBJDUMP", "objdump"), "i386:x86-64",
				 near_slot, b, sizeof(b), &d));
	ASSERT_EQ(0, d.status);
	snprintf(s, sizeof(s), "jmp 0x%llx", (unsigned long long)far_slot);
	ASSERT_TRUE(line_is(_metadata, &d, near_slot, s));
	ASSERT_TRUE(line_is(_metadata, &d, near_slot + 8, "int3"));
	snprintf(s, sizeof(s), "jmp *0x2(%%rip) # 0x%llx",
		 (unsigned long long)far_slot + 8);
	ASSERT_TRUE(line_is(_metadata, &d, far_slot, s));
	ASSERT_EQ(target, get_le(b + 24, 8));
	dis_free(&d);
}

TEST(arm64_near_table)
{
	static u8 buf[NSLOT * 4];
	u64 want[NSLOT], seed = 0xd15a0002;
	struct dis d;
	int i, bad = 0;
	char s[64];

	for (i = 0; i < NSLOT; i++) {
		u64 slot = A64_TABLE + 4 * i;
		u32 insn;

		want[i] = pick(i, slot, SZ_128M, SZ_128M - 4, 4, &seed);
		ASSERT_EQ(0, codeheap_arm64_near_encode(slot, want[i], &insn));
		store32(buf + 4 * i, insn);
	}
	ASSERT_EQ(0, disassemble(tool("OBJDUMP_AARCH64",
				      "aarch64-linux-gnu-objdump"),
				 "aarch64", A64_TABLE, buf, sizeof(buf), &d));
	ASSERT_EQ(0, d.status) {
		TH_LOG("install binutils-aarch64-linux-gnu (tools/deps.sh)");
	}
	for (i = 0; i < NSLOT && bad < 5; i++) {
		u64 slot = A64_TABLE + 4 * i;

		if (want[i])
			snprintf(s, sizeof(s), "b 0x%llx",
				 (unsigned long long)want[i]);
		else
			snprintf(s, sizeof(s), "brk #0x0");
		bad += !line_is(_metadata, &d, slot, s);
	}
	ASSERT_EQ(0, bad);
	ASSERT_EQ(NSLOT, d.n);
	dis_free(&d);
}

/* arm64 is fixed-width: a whole far table disassembles in step. */
TEST(arm64_far_table)
{
	const u64 targets[] = {
		A64_TABLE + SZ_128M,		/* just past near reach */
		A64_TABLE - SZ_128M - 4,
		0x7ffffffff000ULL,
		0x1000,
		0x0123456789abcdecULL,
		0,
		A64_TABLE + 8 * SZ_4G,
	};
	const size_t n = sizeof(targets) / sizeof(targets[0]);
	u8 b[sizeof(targets) * 2];
	struct dis d;
	char s[64];
	size_t i;

	for (i = 0; i < n; i++) {
		struct codeheap_far_slot far;

		ASSERT_EQ(0, codeheap_arm64_far_encode(A64_TABLE + 16 * i,
						       targets[i], &far));
		store_far(b + 16 * i, &far);
	}
	ASSERT_EQ(0, disassemble(tool("OBJDUMP_AARCH64",
				      "aarch64-linux-gnu-objdump"),
				 "aarch64", A64_TABLE, b, sizeof(b), &d));
	ASSERT_EQ(0, d.status);
	ASSERT_EQ(4 * n, d.n);
	for (i = 0; i < n; i++) {
		u64 slot = A64_TABLE + 16 * i;
		int j;

		if (!targets[i]) {
			for (j = 0; j < 16; j += 4)
				ASSERT_TRUE(line_is(_metadata, &d, slot + j,
						    "brk #0x0"));
			continue;
		}
		/* objdump resolves the literal's address. */
		snprintf(s, sizeof(s), "ldr x16, 0x%llx",
			 (unsigned long long)slot + 8);
		ASSERT_TRUE(line_is(_metadata, &d, slot, s));
		ASSERT_TRUE(line_is(_metadata, &d, slot + 4, "br x16"));
		ASSERT_EQ(targets[i], get_le(b + 16 * i + 8, 8));
	}
	dis_free(&d);
}

TEST(arm64_route_via_far)
{
	u64 near_slot = A64_TABLE, far_slot = A64_TABLE + 32;
	u64 target = A64_TABLE + 3 * SZ_128M;
	struct codeheap_arm64_route r;
	struct dis d;
	char s[64];
	u8 b[48];

	ASSERT_EQ(0, codeheap_arm64_route(near_slot, far_slot, target, &r));
	ASSERT_TRUE(r.via_far);
	ASSERT_EQ(0, codeheap_arm64_trap_fill(b, sizeof(b)));
	store32(b, r.near);
	store_far(b + 32, &r.far);
	ASSERT_EQ(0, disassemble(tool("OBJDUMP_AARCH64",
				      "aarch64-linux-gnu-objdump"),
				 "aarch64", near_slot, b, sizeof(b), &d));
	ASSERT_EQ(0, d.status);
	snprintf(s, sizeof(s), "b 0x%llx", (unsigned long long)far_slot);
	ASSERT_TRUE(line_is(_metadata, &d, near_slot, s));
	ASSERT_TRUE(line_is(_metadata, &d, near_slot + 4, "brk #0x0"));
	snprintf(s, sizeof(s), "ldr x16, 0x%llx",
		 (unsigned long long)far_slot + 8);
	ASSERT_TRUE(line_is(_metadata, &d, far_slot, s));
	ASSERT_TRUE(line_is(_metadata, &d, far_slot + 4, "br x16"));
	ASSERT_EQ(target, get_le(b + 40, 8));
	dis_free(&d);
}

TEST_HARNESS_MAIN
