// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: arm64 jump-table slots, as V8's jump-table-assembler-arm64.
 *
 * Near slot, 4 bytes, 4-byte aligned:
 *
 *   000101 imm26		b slot + imm26 * 4	(+-128 MiB)
 *
 * patched by one 4-byte store, then I-cache maintenance.
 *
 * Far slot, 16 bytes, 16-byte aligned:
 *
 *   0x58000050		ldr x16, #8	(loads the target at slot + 8)
 *   0xd61f0200		br x16
 *   .quad target
 *
 * patched by one aligned 8-byte store of the target.  A trap slot is all
 * brk #0 (0xd4200000).  Instructions are little-endian words.  Pure logic:
 * built in the module on arm64 and in the host tests on any architecture.
 */
#include <linux/errno.h>
#include <linux/types.h>

#include "encode.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the arm64 slot encoders assume a little-endian CPU"
#endif

#define A64_B			0x14000000U
#define A64_B_MASK		0xfc000000U
#define A64_IMM26_MASK		0x03ffffffU
/* ldr x16, #8: LDR (literal), 64-bit, imm19 = 2, Rt = 16. */
#define A64_LDR_X16_8		0x58000050U
/* br x16: BR, Rn = 16. */
#define A64_BR_X16		0xd61f0200U
#define A64_FAR_CODE		((u64)A64_BR_X16 << 32 | A64_LDR_X16_8)
#define A64_TRAP2		((u64)CODEHEAP_ARM64_BRK << 32 | \
				 CODEHEAP_ARM64_BRK)

/**
 * codeheap_arm64_near_in_range() - whether a b imm26 reaches a target
 * @slot: address of the near slot, 4-byte aligned
 * @target: address to branch to
 *
 * Return: true if @target is 4-byte aligned and @target - @slot lies in
 * [-128 MiB, 128 MiB).
 */
bool codeheap_arm64_near_in_range(u64 slot, u64 target)
{
	/* Modulo 2^64, as the CPU adds the offset to the pc. */
	u64 off = target - slot;

	if (target % 4 || slot % 4)
		return false;
	return off + CODEHEAP_ARM64_NEAR_RANGE < 2 * CODEHEAP_ARM64_NEAR_RANGE;
}

/**
 * codeheap_arm64_near_encode() - encode an arm64 near slot
 * @slot: address of the slot, 4-byte aligned
 * @target: address to branch to, 4-byte aligned, or 0 for the trap slot
 * @insn: output: the slot's instruction, to be written with one 4-byte store
 *
 * Return: 0; -EINVAL if @slot or @target is misaligned (a far slot cannot
 * help: the pc is always 4-byte aligned); -ERANGE if @target is beyond
 * +-128 MiB (use a far slot).  @insn is written only on success.
 */
int codeheap_arm64_near_encode(u64 slot, u64 target, u32 *insn)
{
	u64 off;

	if (slot % CODEHEAP_ARM64_NEAR_SLOT_SIZE || target % 4)
		return -EINVAL;
	if (!target) {
		*insn = CODEHEAP_ARM64_BRK;
		return 0;
	}
	if (!codeheap_arm64_near_in_range(slot, target))
		return -ERANGE;
	off = target - slot;
	*insn = A64_B | ((u32)(off >> 2) & A64_IMM26_MASK);
	return 0;
}

/**
 * codeheap_arm64_near_decode() - the target of an arm64 near slot
 * @slot: address of the slot, 4-byte aligned
 * @insn: the slot's instruction
 * @target: output: the target, 0 for a trap slot
 *
 * Return: 0; -EINVAL if @slot is misaligned or @insn is not a near slot that
 * codeheap_arm64_near_encode() produces.
 */
int codeheap_arm64_near_decode(u64 slot, u32 insn, u64 *target)
{
	u64 off, t;

	if (slot % CODEHEAP_ARM64_NEAR_SLOT_SIZE)
		return -EINVAL;
	if (insn == CODEHEAP_ARM64_BRK) {
		*target = 0;
		return 0;
	}
	if ((insn & A64_B_MASK) != A64_B)
		return -EINVAL;
	/* Sign-extend imm26 from bit 25, without a signed shift. */
	off = insn & A64_IMM26_MASK;
	off = (off ^ 0x02000000ULL) - 0x02000000ULL;
	t = slot + off * 4;
	/* A branch to address 0 is never encoded: 0 is the trap slot. */
	if (!t)
		return -EINVAL;
	*target = t;
	return 0;
}

/**
 * codeheap_arm64_far_encode() - encode an arm64 far slot
 * @slot: address of the slot, 16-byte aligned
 * @target: address to branch to (any distance), 4-byte aligned, or 0 for
 *          the trap slot
 * @far: output: the slot's two words
 *
 * Return: 0; -EINVAL if @slot or @target is misaligned.  @far is written
 * only on success.
 */
int codeheap_arm64_far_encode(u64 slot, u64 target,
			      struct codeheap_far_slot *far)
{
	if (slot % CODEHEAP_ARM64_FAR_SLOT_SIZE || target % 4)
		return -EINVAL;
	if (!target) {
		far->code = A64_TRAP2;
		far->target = A64_TRAP2;
	} else {
		far->code = A64_FAR_CODE;
		far->target = target;
	}
	return 0;
}

/**
 * codeheap_arm64_far_decode() - the target of an arm64 far slot
 * @slot: address of the slot, 16-byte aligned
 * @far: the slot's two words
 * @target: output: the target, 0 for a trap slot
 *
 * Return: 0; -EINVAL if @slot is misaligned or @far is not a far slot that
 * codeheap_arm64_far_encode() produces.
 */
int codeheap_arm64_far_decode(u64 slot, const struct codeheap_far_slot *far,
			      u64 *target)
{
	if (slot % CODEHEAP_ARM64_FAR_SLOT_SIZE)
		return -EINVAL;
	if (far->code == A64_TRAP2 && far->target == A64_TRAP2) {
		*target = 0;
		return 0;
	}
	if (far->code != A64_FAR_CODE || !far->target || far->target % 4)
		return -EINVAL;
	*target = far->target;
	return 0;
}

/**
 * codeheap_arm64_route() - how a near slot and its far slot reach a target
 * @near_slot: address of the near slot, 4-byte aligned
 * @far_slot: address of the far slot that serves it, 16-byte aligned and
 *            within +-128 MiB of @near_slot
 * @target: address to branch to, 4-byte aligned, or 0 for the trap slot
 * @route: output: a near branch to @target when in reach (or the trap for
 *         0); otherwise a near branch to @far_slot and a far slot branching
 *         to @target, with @route->via_far set
 *
 * When @route->via_far is set, the caller first makes @far_slot hold
 * @route->far (storing the target word alone if the slot already holds the
 * far code; else the target word, then the code word, then I-cache
 * maintenance), then stores @route->near and does I-cache maintenance.
 * Documentation/jumptable-encoding.rst has the protocol.
 *
 * Return: 0; -EINVAL if a slot or @target is misaligned; -ERANGE if
 * @far_slot is beyond +-128 MiB of @near_slot.  @route is written only on
 * success.
 */
int codeheap_arm64_route(u64 near_slot, u64 far_slot, u64 target,
			 struct codeheap_arm64_route *route)
{
	struct codeheap_far_slot far;
	u32 near;
	int err;

	if (far_slot % CODEHEAP_ARM64_FAR_SLOT_SIZE)
		return -EINVAL;
	err = codeheap_arm64_near_encode(near_slot, target, &near);
	if (err != -ERANGE) {
		if (err)
			return err;
		route->near = near;
		route->via_far = false;
		return 0;
	}
	err = codeheap_arm64_near_encode(near_slot, far_slot, &near);
	if (err)
		return err;
	err = codeheap_arm64_far_encode(far_slot, target, &far);
	if (err)
		return err;
	route->near = near;
	route->far = far;
	route->via_far = true;
	return 0;
}

/**
 * codeheap_arm64_resolve() - the target a near slot leads to
 * @near_slot: address of the near slot, 4-byte aligned
 * @insn: the near slot's instruction
 * @far_slot: address of the far slot that serves the near slot
 * @far: the far slot's two words
 * @target: output: where a call through the near slot ends up: the near
 *          target, or the far slot's target if the near slot branches to
 *          @far_slot; 0 for a trap
 *
 * Return: 0; -EINVAL if either slot that is looked at does not decode.
 */
int codeheap_arm64_resolve(u64 near_slot, u32 insn, u64 far_slot,
			   const struct codeheap_far_slot *far, u64 *target)
{
	u64 t;
	int err;

	err = codeheap_arm64_near_decode(near_slot, insn, &t);
	if (err)
		return err;
	if (t && t == far_slot)
		return codeheap_arm64_far_decode(far_slot, far, target);
	*target = t;
	return 0;
}

/**
 * codeheap_arm64_trap_fill() - fill code memory with brk #0
 * @buf: first byte, 4-byte aligned
 * @len: bytes to fill, a multiple of 4
 *
 * Return: 0; -EINVAL if @buf or @len is not a multiple of 4 (nothing is
 * written).
 */
int codeheap_arm64_trap_fill(void *buf, size_t len)
{
	u32 *p = buf;
	size_t i;

	if ((unsigned long)buf % 4 || len % 4)
		return -EINVAL;
	for (i = 0; i < len / 4; i++)
		p[i] = CODEHEAP_ARM64_BRK;
	return 0;
}
