// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: x86-64 jump-table slots, as V8's jump-table-assembler-x64.
 *
 * Near slot, 8 bytes, 8-byte aligned:
 *
 *   e9 r0 r1 r2 r3	jmp rel32	(rel32 relative to slot + 5)
 *   cc cc cc		int3 padding
 *
 * patched by one aligned 8-byte store of all eight bytes.
 *
 * Far slot, 16 bytes, 16-byte aligned:
 *
 *   ff 25 02 00 00 00	jmp [rip + 2]	(reads the target at slot + 8)
 *   66 90		2-byte nop, never executed
 *   t0 ... t7		absolute target
 *
 * patched by one aligned 8-byte store of the target.  A trap slot is all
 * int3.  Pure logic: built in the module on x86-64 and in the host tests.
 */
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>

#include "encode.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the x86-64 slot encoders assume a little-endian CPU"
#endif

/* Bytes 5-7 of a near slot, which hold CODEHEAP_X86_64_NEAR_PAD. */
#define X86_NEAR_PAD_MASK	0xffffff0000000000ULL
/* ff 25 02 00 00 00 66 90: jmp [rip + 2]; xchg %ax, %ax. */
#define X86_FAR_CODE		0x90660000000225ffULL

/**
 * codeheap_x86_64_near_encode_ia32() - encode a near slot run in 32-bit mode
 * @slot: address of the slot, 8-byte aligned, below 4 GiB
 * @target: address to jump to, below 4 GiB, or 0 for the trap slot
 * @insn: output: the slot's eight bytes as one little-endian u64
 *
 * A 32-bit process executes the same ``jmp rel32``, but its instruction
 * pointer wraps at 4 GiB, so every 32-bit target is in near reach and a far
 * slot (x86-64 code: ``jmp [rip+2]`` means something else in 32-bit mode)
 * must never be used.
 *
 * Return: 0; -EINVAL if @slot is misaligned or an address is not 32-bit.
 */
int codeheap_x86_64_near_encode_ia32(u64 slot, u64 target, u64 *insn)
{
	u64 rel;

	if (slot % CODEHEAP_X86_64_NEAR_SLOT_SIZE || slot >> 32 || target >> 32)
		return -EINVAL;
	if (!target) {
		*insn = CODEHEAP_X86_64_NEAR_TRAP;
		return 0;
	}
	rel = target - (slot + CODEHEAP_X86_64_JMP_REL32_LEN);
	*insn = CODEHEAP_X86_64_NEAR_PAD | (rel & 0xffffffffULL) << 8 |
		CODEHEAP_X86_64_JMP_REL32;
	return 0;
}

/**
 * codeheap_x86_64_near_decode() - the target of an x86-64 near slot
 * @slot: address of the slot, 8-byte aligned
 * @insn: the slot's eight bytes as one little-endian u64
 * @target: output: the target, 0 for a trap slot
 *
 * Return: 0; -EINVAL if @slot is misaligned or @insn is not a near slot that
 * codeheap_x86_64_near_encode() produces.
 */
int codeheap_x86_64_near_decode(u64 slot, u64 insn, u64 *target)
{
	u64 rel, t;

	if (slot % CODEHEAP_X86_64_NEAR_SLOT_SIZE)
		return -EINVAL;
	if (insn == CODEHEAP_X86_64_NEAR_TRAP) {
		*target = 0;
		return 0;
	}
	if ((insn & 0xff) != CODEHEAP_X86_64_JMP_REL32 ||
	    (insn & X86_NEAR_PAD_MASK) != CODEHEAP_X86_64_NEAR_PAD)
		return -EINVAL;
	/* Sign-extend rel32 from bit 31, without a signed shift. */
	rel = (insn >> 8) & 0xffffffffULL;
	rel = (rel ^ 0x80000000ULL) - 0x80000000ULL;
	t = slot + CODEHEAP_X86_64_JMP_REL32_LEN + rel;
	/* A jump to address 0 is never encoded: 0 is the trap slot. */
	if (!t)
		return -EINVAL;
	*target = t;
	return 0;
}

/**
 * codeheap_x86_64_far_encode() - encode an x86-64 far slot
 * @slot: address of the slot, 16-byte aligned
 * @target: address to jump to (any, no range limit), or 0 for the trap slot
 * @far: output: the slot's two words
 *
 * Return: 0; -EINVAL if @slot is misaligned.  @far is written only on
 * success.
 */
int codeheap_x86_64_far_encode(u64 slot, u64 target,
			       struct codeheap_far_slot *far)
{
	if (slot % CODEHEAP_X86_64_FAR_SLOT_SIZE)
		return -EINVAL;
	if (!target) {
		far->code = CODEHEAP_X86_64_NEAR_TRAP;
		far->target = CODEHEAP_X86_64_NEAR_TRAP;
	} else {
		far->code = X86_FAR_CODE;
		far->target = target;
	}
	return 0;
}

/**
 * codeheap_x86_64_far_decode() - the target of an x86-64 far slot
 * @slot: address of the slot, 16-byte aligned
 * @far: the slot's two words
 * @target: output: the target, 0 for a trap slot
 *
 * Return: 0; -EINVAL if @slot is misaligned or @far is not a far slot that
 * codeheap_x86_64_far_encode() produces.
 */
int codeheap_x86_64_far_decode(u64 slot, const struct codeheap_far_slot *far,
			       u64 *target)
{
	if (slot % CODEHEAP_X86_64_FAR_SLOT_SIZE)
		return -EINVAL;
	if (far->code == CODEHEAP_X86_64_NEAR_TRAP &&
	    far->target == CODEHEAP_X86_64_NEAR_TRAP) {
		*target = 0;
		return 0;
	}
	if (far->code != X86_FAR_CODE || !far->target)
		return -EINVAL;
	*target = far->target;
	return 0;
}

/**
 * codeheap_x86_64_route() - how a near slot and its far slot reach a target
 * @near_slot: address of the near slot, 8-byte aligned
 * @far_slot: address of the far slot that serves it, 16-byte aligned and
 *            within rel32 reach of @near_slot
 * @target: address to jump to, or 0 for the trap slot
 * @route: output: a near jump to @target when in reach (or the trap for 0);
 *         otherwise a near jump to @far_slot and a far slot jumping to
 *         @target, with @route->via_far set
 *
 * When @route->via_far is set, the caller first makes @far_slot hold
 * @route->far (storing the target word alone if the slot already holds the
 * far jump, else the target word, then the code word), then stores
 * @route->near.  Documentation/jumptable-encoding.rst has the protocol.
 *
 * Return: 0; -EINVAL if a slot is misaligned; -ERANGE if @far_slot is beyond
 * rel32 reach of @near_slot.  @route is written only on success.
 */
int codeheap_x86_64_route(u64 near_slot, u64 far_slot, u64 target,
			  struct codeheap_x86_64_route *route)
{
	struct codeheap_far_slot far;
	u64 near;
	int err;

	if (far_slot % CODEHEAP_X86_64_FAR_SLOT_SIZE)
		return -EINVAL;
	err = codeheap_x86_64_near_encode(near_slot, target, &near);
	if (err != -ERANGE) {
		if (err)
			return err;
		route->near = near;
		route->via_far = false;
		return 0;
	}
	err = codeheap_x86_64_near_encode(near_slot, far_slot, &near);
	if (err)
		return err;
	err = codeheap_x86_64_far_encode(far_slot, target, &far);
	if (err)
		return err;
	route->near = near;
	route->far = far;
	route->via_far = true;
	return 0;
}

/**
 * codeheap_x86_64_resolve() - the target a near slot leads to
 * @near_slot: address of the near slot, 8-byte aligned
 * @insn: the near slot's eight bytes as one little-endian u64
 * @far_slot: address of the far slot that serves the near slot
 * @far: the far slot's two words
 * @target: output: where a call through the near slot ends up: the near
 *          target, or the far slot's target if the near slot jumps to
 *          @far_slot; 0 for a trap
 *
 * Return: 0; -EINVAL if either slot that is looked at does not decode.
 */
int codeheap_x86_64_resolve(u64 near_slot, u64 insn, u64 far_slot,
			    const struct codeheap_far_slot *far, u64 *target)
{
	u64 t;
	int err;

	err = codeheap_x86_64_near_decode(near_slot, insn, &t);
	if (err)
		return err;
	if (t && t == far_slot)
		return codeheap_x86_64_far_decode(far_slot, far, target);
	*target = t;
	return 0;
}

/**
 * codeheap_x86_64_trap_fill() - fill code memory with int3
 * @buf: first byte, any alignment
 * @len: bytes to fill, any length
 *
 * Return: 0.
 */
int codeheap_x86_64_trap_fill(void *buf, size_t len)
{
	memset(buf, CODEHEAP_X86_64_TRAP_BYTE, len);
	return 0;
}
