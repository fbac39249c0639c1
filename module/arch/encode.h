/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codeheap: per-architecture jump-table slot encoders (V8's
 * jump-table-assembler), as pure functions.
 *
 * arch/x86_64.c and arch/arm64.c depend on nothing but <linux/types.h>,
 * <linux/errno.h> and <linux/string.h>, so the module builds the file of its
 * target architecture and the host tests build both, against the kernel's
 * tools/include.  Documentation/jumptable-encoding.rst gives the bytes of
 * every slot, the range rules and the patching protocol.
 *
 * Conventions shared by both architectures:
 *
 * - Addresses are u64 user addresses.  Arithmetic is modulo 2^64, as the
 *   CPU's own pc-relative arithmetic.
 * - Target 0 means "trap": the slot is filled with trap instructions
 *   (x86-64 int3, arm64 brk #0), the default of a jump table.
 * - Every slot is aligned to its own size; an encoder refuses a misaligned
 *   slot with -EINVAL.
 * - A near encoder returns the value of the single store that patches the
 *   slot (u64 on x86-64, u32 on arm64), to be stored with one naturally
 *   aligned store of that size in the CPU's byte order (little-endian: both
 *   encoders refuse to build for a big-endian target).
 * - A far slot is two aligned 8-byte words, struct codeheap_far_slot.  Once
 *   a far slot holds code, it is repatched by storing its target word alone.
 * - Decoders return 0 and the target (0 for a trap slot), or -EINVAL for
 *   anything these encoders do not produce.
 */
#ifndef _CODEHEAP_ARCH_ENCODE_H
#define _CODEHEAP_ARCH_ENCODE_H

#include <linux/errno.h>
#include <linux/types.h>

/* x86-64: code alignment as V8 (kCodeAlignment), slot sizes. */
#define CODEHEAP_X86_64_CODE_ALIGN		64U
/* A jump reaches any byte. */
#define CODEHEAP_X86_64_TARGET_ALIGN		1U
#define CODEHEAP_X86_64_NEAR_SLOT_SIZE		8U
#define CODEHEAP_X86_64_FAR_SLOT_SIZE		16U
/* int3, the trap filling every unused byte. */
#define CODEHEAP_X86_64_TRAP_BYTE		0xccU
/* A near slot holding the trap: eight int3. */
#define CODEHEAP_X86_64_NEAR_TRAP		0xccccccccccccccccULL
/* Bytes of a near slot's jmp rel32; rel32 is relative to slot + this. */
#define CODEHEAP_X86_64_JMP_REL32_LEN		5U

/* arm64: code alignment as V8 (kCodeAlignment), slot sizes. */
#define CODEHEAP_ARM64_CODE_ALIGN		32U
/* A branch target is an instruction: 4-byte aligned. */
#define CODEHEAP_ARM64_TARGET_ALIGN		4U
#define CODEHEAP_ARM64_NEAR_SLOT_SIZE		4U
#define CODEHEAP_ARM64_FAR_SLOT_SIZE		16U
/* brk #0, the trap filling every unused word. */
#define CODEHEAP_ARM64_BRK			0xd4200000U
/* Reach of b imm26: a near target lies in [slot - 128 MiB, slot + 128 MiB). */
#define CODEHEAP_ARM64_NEAR_RANGE		(128ULL << 20)

/**
 * struct codeheap_far_slot - a far jump slot as two aligned 8-byte words
 * @code: bytes 0-7, the jump that loads @target: x86-64 ``jmp [rip+2]`` and
 *        a 2-byte nop; arm64 ``ldr x16, #8`` and ``br x16``.  All traps in
 *        a trap slot.
 * @target: bytes 8-15, the absolute target, read by the jump as data; all
 *          traps in a trap slot.
 *
 * Both words are stored in the CPU's byte order at a 16-byte aligned
 * address, so each is patched by one single-copy atomic 8-byte store.  A far
 * slot is only ever reached through a near slot of the same table (a direct
 * jump), as in V8.
 */
struct codeheap_far_slot {
	u64 code;
	u64 target;
};

/**
 * struct codeheap_x86_64_route - how an x86-64 near slot reaches a target
 * @near: value of the near slot's 8-byte store
 * @far: the far slot to write first when @via_far
 * @via_far: the target is beyond rel32 reach of the near slot: @near jumps
 *           to the far slot, which jumps to the target
 */
struct codeheap_x86_64_route {
	u64 near;
	struct codeheap_far_slot far;
	bool via_far;
};

/**
 * struct codeheap_arm64_route - how an arm64 near slot reaches a target
 * @near: value of the near slot's 4-byte store
 * @far: the far slot to write first when @via_far
 * @via_far: the target is beyond b imm26 reach of the near slot: @near
 *           branches to the far slot, which branches to the target
 */
struct codeheap_arm64_route {
	u32 near;
	struct codeheap_far_slot far;
	bool via_far;
};

/* The opcode of jmp rel32, byte 0 of a near slot. */
#define CODEHEAP_X86_64_JMP_REL32		0xe9ULL
/* The three int3 after the jmp rel32, in bytes 5-7 of the near slot. */
#define CODEHEAP_X86_64_NEAR_PAD		0xcccccc0000000000ULL

/*
 * The near encoder is inline: JT_PATCH runs it for every slot of a batch,
 * and most targets are in near reach.
 */
/**
 * codeheap_x86_64_near_in_range() - whether a jmp rel32 reaches a target
 * @slot: address of the near slot
 * @target: address to jump to
 *
 * Return: true if @target - (@slot + 5) fits in a signed 32-bit integer.
 */
static inline bool codeheap_x86_64_near_in_range(u64 slot, u64 target)
{
	/* Modulo 2^64, as the CPU adds rel32 to the next instruction's rip. */
	u64 rel = target - (slot + CODEHEAP_X86_64_JMP_REL32_LEN);

	/* rel lies in [-2^31, 2^31) iff rel + 2^31 lies in [0, 2^32). */
	return rel + (1ULL << 31) < (1ULL << 32);
}

/**
 * codeheap_x86_64_near_encode() - encode an x86-64 near slot
 * @slot: address of the slot, 8-byte aligned
 * @target: address to jump to, or 0 for the trap slot
 * @insn: output: the slot's eight bytes as one little-endian u64, to be
 *        written with one aligned 8-byte store
 *
 * Return: 0; -EINVAL if @slot is misaligned; -ERANGE if @target is beyond
 * rel32 reach (use a far slot).  @insn is written only on success.
 */
static inline int codeheap_x86_64_near_encode(u64 slot, u64 target, u64 *insn)
{
	u64 rel;

	if (slot % CODEHEAP_X86_64_NEAR_SLOT_SIZE)
		return -EINVAL;
	if (!target) {
		*insn = CODEHEAP_X86_64_NEAR_TRAP;
		return 0;
	}
	if (!codeheap_x86_64_near_in_range(slot, target))
		return -ERANGE;
	rel = target - (slot + CODEHEAP_X86_64_JMP_REL32_LEN);
	*insn = CODEHEAP_X86_64_NEAR_PAD | (rel & 0xffffffffULL) << 8 |
		CODEHEAP_X86_64_JMP_REL32;
	return 0;
}

int codeheap_x86_64_near_encode_ia32(u64 slot, u64 target, u64 *insn);
int codeheap_x86_64_near_decode(u64 slot, u64 insn, u64 *target);
int codeheap_x86_64_far_encode(u64 slot, u64 target,
			       struct codeheap_far_slot *far);
int codeheap_x86_64_far_decode(u64 slot, const struct codeheap_far_slot *far,
			       u64 *target);
int codeheap_x86_64_route(u64 near_slot, u64 far_slot, u64 target,
			  struct codeheap_x86_64_route *route);
int codeheap_x86_64_resolve(u64 near_slot, u64 insn, u64 far_slot,
			    const struct codeheap_far_slot *far, u64 *target);
int codeheap_x86_64_trap_fill(void *buf, size_t len);

bool codeheap_arm64_near_in_range(u64 slot, u64 target);
int codeheap_arm64_near_encode(u64 slot, u64 target, u32 *insn);
int codeheap_arm64_near_decode(u64 slot, u32 insn, u64 *target);
int codeheap_arm64_far_encode(u64 slot, u64 target,
			      struct codeheap_far_slot *far);
int codeheap_arm64_far_decode(u64 slot, const struct codeheap_far_slot *far,
			      u64 *target);
int codeheap_arm64_route(u64 near_slot, u64 far_slot, u64 target,
			 struct codeheap_arm64_route *route);
int codeheap_arm64_resolve(u64 near_slot, u32 insn, u64 far_slot,
			   const struct codeheap_far_slot *far, u64 *target);
int codeheap_arm64_trap_fill(void *buf, size_t len);

/*
 * codeheap_arch_*: the encoders of the architecture the module is built
 * for.  Host tests, which build both, name the functions directly.
 */
#if defined(CONFIG_X86_64)
#define CODEHEAP_ARCH_CODE_ALIGN	CODEHEAP_X86_64_CODE_ALIGN
#define CODEHEAP_ARCH_TARGET_ALIGN	CODEHEAP_X86_64_TARGET_ALIGN
#define CODEHEAP_ARCH_NEAR_SLOT_SIZE	CODEHEAP_X86_64_NEAR_SLOT_SIZE
#define CODEHEAP_ARCH_FAR_SLOT_SIZE	CODEHEAP_X86_64_FAR_SLOT_SIZE
#define codeheap_arch_route		codeheap_x86_64_route
#define codeheap_arch_near_in_range	codeheap_x86_64_near_in_range
#define codeheap_arch_near_encode	codeheap_x86_64_near_encode
#define codeheap_arch_near_decode	codeheap_x86_64_near_decode
#define codeheap_arch_far_encode	codeheap_x86_64_far_encode
#define codeheap_arch_far_decode	codeheap_x86_64_far_decode
#define codeheap_arch_resolve		codeheap_x86_64_resolve
#define codeheap_arch_trap_fill		codeheap_x86_64_trap_fill
#elif defined(CONFIG_ARM64)
#define CODEHEAP_ARCH_CODE_ALIGN	CODEHEAP_ARM64_CODE_ALIGN
#define CODEHEAP_ARCH_TARGET_ALIGN	CODEHEAP_ARM64_TARGET_ALIGN
#define CODEHEAP_ARCH_NEAR_SLOT_SIZE	CODEHEAP_ARM64_NEAR_SLOT_SIZE
#define CODEHEAP_ARCH_FAR_SLOT_SIZE	CODEHEAP_ARM64_FAR_SLOT_SIZE
#define codeheap_arch_route		codeheap_arm64_route
#define codeheap_arch_near_in_range	codeheap_arm64_near_in_range
#define codeheap_arch_near_encode	codeheap_arm64_near_encode
#define codeheap_arch_near_decode	codeheap_arm64_near_decode
#define codeheap_arch_far_encode	codeheap_arm64_far_encode
#define codeheap_arch_far_decode	codeheap_arm64_far_decode
#define codeheap_arch_resolve		codeheap_arm64_resolve
#define codeheap_arch_trap_fill		codeheap_arm64_trap_fill
#endif

#endif /* _CODEHEAP_ARCH_ENCODE_H */
