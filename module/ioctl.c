// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the ioctl dispatcher.
 *
 * Each command is described by one entry of codeheap_ioctl_ops[]: its
 * struct, the smallest size user space may pass, and whether only the
 * heap's owner may call it.  The dispatcher runs every command through
 * one codeheap_ioctl_run(): it reads the struct, checks that a command
 * with output fields can answer, and hands it to the command,
 * which calls into the heap's parts (block.c, space.c, pages.c, write.c,
 * jumptable.c).  Each command that changes the heap fires its tracepoint
 * (trace.h) once it has taken effect and answered (WRITE and JT_PATCH, which
 * answer nothing, at the end of their engines: Documentation/design.rst);
 * codeheap_fops_ioctl() fires the error event for every command that fails.
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/codeheap.h>

#include "heap.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/**
 * struct codeheap_ucmd - one ioctl call in flight
 * @heap: the heap of the file the call was made on
 * @ubuffer: the user's argument struct
 * @user_size: the size user space says @ubuffer has
 * @cmd: kernel copy of the argument, zero-extended to the kernel's size
 */
struct codeheap_ucmd {
	struct codeheap_heap *heap;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/*
 * Copy @words u64 words in from user memory in one user-access section:
 * unrolled up to 8 words (every entry and most structs), since a loop
 * costs several times the load and store of each word.
 *
 * Return: true, or false on a fault.
 */
static __always_inline bool codeheap_get_words(u64 *dst,
					       const u64 __user *src,
					       unsigned int words)
{
	unsigned int i;

	if (!user_read_access_begin(src, words * 8))
		return false;
	switch (words) {
	default:
		for (i = 8; i < words; i++)
			unsafe_get_user(dst[i], &src[i], fault);
		fallthrough;
	case 8:
		unsafe_get_user(dst[7], &src[7], fault);
		fallthrough;
	case 7:
		unsafe_get_user(dst[6], &src[6], fault);
		fallthrough;
	case 6:
		unsafe_get_user(dst[5], &src[5], fault);
		fallthrough;
	case 5:
		unsafe_get_user(dst[4], &src[4], fault);
		fallthrough;
	case 4:
		unsafe_get_user(dst[3], &src[3], fault);
		fallthrough;
	case 3:
		unsafe_get_user(dst[2], &src[2], fault);
		fallthrough;
	case 2:
		unsafe_get_user(dst[1], &src[1], fault);
		fallthrough;
	case 1:
		unsafe_get_user(dst[0], &src[0], fault);
		fallthrough;
	case 0:
		break;
	}
	user_read_access_end();
	return true;

fault:
	user_read_access_end();
	return false;
}

/* The same out, @words u64 words from @src to user memory at @dst. */
static __always_inline bool codeheap_put_words(u64 __user *dst,
					       const u64 *src,
					       unsigned int words)
{
	unsigned int i;

	if (!user_write_access_begin(dst, words * 8))
		return false;
	switch (words) {
	default:
		for (i = 8; i < words; i++)
			unsafe_put_user(src[i], &dst[i], fault);
		fallthrough;
	case 8:
		unsafe_put_user(src[7], &dst[7], fault);
		fallthrough;
	case 7:
		unsafe_put_user(src[6], &dst[6], fault);
		fallthrough;
	case 6:
		unsafe_put_user(src[5], &dst[5], fault);
		fallthrough;
	case 5:
		unsafe_put_user(src[4], &dst[4], fault);
		fallthrough;
	case 4:
		unsafe_put_user(src[3], &dst[3], fault);
		fallthrough;
	case 3:
		unsafe_put_user(src[2], &dst[2], fault);
		fallthrough;
	case 2:
		unsafe_put_user(src[1], &dst[1], fault);
		fallthrough;
	case 1:
		unsafe_put_user(src[0], &dst[0], fault);
		fallthrough;
	case 0:
		break;
	}
	user_write_access_end();
	return true;

fault:
	user_write_access_end();
	return false;
}

/*
 * Copy a command's output back, no more than user space said it has room
 * for.  The usual caller passes the kernel's size: the struct (a multiple
 * of 8 bytes) is then written word by word in one user-access section,
 * which costs a fraction of copy_to_user()'s variable-length copy and its
 * hardened-usercopy check of the stack buffer.
 */
static int codeheap_respond(struct codeheap_ucmd *ucmd, size_t cmd_len)
{
	u64 __user *dst = ucmd->ubuffer;
	const u64 *src = ucmd->cmd;

	if (ucmd->user_size == cmd_len)
		return codeheap_put_words(dst, src, cmd_len / 8) ? 0 : -EFAULT;
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static int codeheap_cmd_version(struct codeheap_ucmd *ucmd)
{
	struct codeheap_version *cmd = ucmd->cmd;
	struct codeheap_limits limits;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;

	codeheap_limits_get(&limits);
	cmd->api_version = CODEHEAP_API_VERSION;
	cmd->arch = CODEHEAP_ARCH;
	cmd->features = 0;
	cmd->page_size = PAGE_SIZE;
	cmd->code_align = CODEHEAP_CODE_ALIGN;
	cmd->jt_near_slot_size = CODEHEAP_JT_NEAR_SLOT_SIZE;
	cmd->jt_far_slot_size = CODEHEAP_JT_FAR_SLOT_SIZE;
	cmd->max_reservation_size = limits.max_reservation_size;
	cmd->max_heap_committed = limits.max_heap_committed;
	cmd->max_total_committed = limits.max_total_committed;
	cmd->max_batch = limits.max_batch;
	cmd->max_user_committed = limits.max_user_committed;
	return codeheap_respond(ucmd, sizeof(*cmd));
}

/*
 * Answer a command that created something; if the answer cannot be
 * written, the caller can never name what was created, so @destroy it
 * and, for an allocation, take back the rest of what the call changed
 * (@undo, or NULL).
 */
static int codeheap_respond_or_undo(struct codeheap_ucmd *ucmd,
				    size_t cmd_len,
				    int (*destroy)(struct codeheap_heap *heap,
						   unsigned long handle),
				    unsigned long handle,
				    const struct codeheap_undo *undo)
{
	int ret = codeheap_respond(ucmd, cmd_len);

	/* Unless another thread of the owner got to it first. */
	if (ret && !destroy(ucmd->heap, handle) && undo)
		codeheap_heap_undo(ucmd->heap, undo);
	return ret;
}

/* The commands that take one address: RELEASE, SEAL, FREE. */
static int codeheap_addr_cmd(struct codeheap_ucmd *ucmd, u32 flags, u64 addr,
			     int (*op)(struct codeheap_heap *heap,
				       unsigned long addr))
{
	if (flags)
		return -EINVAL;
	if (addr > ULONG_MAX)
		return -ENOENT;
	return op(ucmd->heap, addr);
}

static int codeheap_cmd_reserve(struct codeheap_ucmd *ucmd)
{
	struct codeheap_reserve *cmd = ucmd->cmd;
	int ret;

	ret = codeheap_heap_reserve(ucmd->heap, cmd);
	if (ret)
		return ret;
	ret = codeheap_respond_or_undo(ucmd, sizeof(*cmd),
				       codeheap_heap_release, cmd->addr, NULL);
	trace_codeheap_reserve(ucmd->heap, cmd, ret);
	return ret;
}

static int codeheap_cmd_release(struct codeheap_ucmd *ucmd)
{
	struct codeheap_release *cmd = ucmd->cmd;
	int ret = codeheap_addr_cmd(ucmd, cmd->flags, cmd->addr,
				    codeheap_heap_release);

	trace_codeheap_release(ucmd->heap, cmd->addr, ret);
	return ret;
}

/* Checks shared by COMMIT, DECOMMIT and PROTECT. */
static int codeheap_range_valid(const struct codeheap_range *cmd)
{
	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	if (!cmd->len || !PAGE_ALIGNED(cmd->addr) || !PAGE_ALIGNED(cmd->len))
		return -EINVAL;
	if (cmd->addr + cmd->len < cmd->addr)
		return -EOVERFLOW;
	if (cmd->addr + cmd->len > TASK_SIZE)
		return -ENOENT;
	return 0;
}

static int codeheap_cmd_commit(struct codeheap_ucmd *ucmd)
{
	struct codeheap_range *cmd = ucmd->cmd;
	int ret = codeheap_range_valid(cmd);

	if (!ret && cmd->prot)
		ret = -EINVAL;
	if (ret)
		return ret;
	ret = codeheap_heap_commit(ucmd->heap, cmd->addr, cmd->len);
	trace_codeheap_commit(ucmd->heap, cmd, ret);
	return ret;
}

static int codeheap_cmd_decommit(struct codeheap_ucmd *ucmd)
{
	struct codeheap_range *cmd = ucmd->cmd;
	int ret = codeheap_range_valid(cmd);

	if (!ret && cmd->prot)
		ret = -EINVAL;
	if (ret)
		return ret;
	ret = codeheap_heap_decommit(ucmd->heap, cmd->addr, cmd->len);
	trace_codeheap_decommit(ucmd->heap, cmd, ret);
	return ret;
}

static int codeheap_cmd_protect(struct codeheap_ucmd *ucmd)
{
	struct codeheap_range *cmd = ucmd->cmd;
	int ret = codeheap_range_valid(cmd);

	if (ret)
		return ret;
	if (cmd->prot & PROT_WRITE)
		return -EACCES;
	if (cmd->prot && cmd->prot != (PROT_READ | PROT_EXEC))
		return -EINVAL;
	ret = codeheap_heap_protect(ucmd->heap, cmd->addr, cmd->len,
				    cmd->prot);
	trace_codeheap_protect(ucmd->heap, cmd, ret);
	return ret;
}

static int codeheap_cmd_seal(struct codeheap_ucmd *ucmd)
{
	struct codeheap_addr *cmd = ucmd->cmd;
	int ret = codeheap_addr_cmd(ucmd, cmd->flags, cmd->addr,
				    codeheap_heap_seal);

	trace_codeheap_seal(ucmd->heap, cmd->addr, ret);
	return ret;
}

static int codeheap_cmd_alloc(struct codeheap_ucmd *ucmd)
{
	struct codeheap_alloc *cmd = ucmd->cmd;
	struct codeheap_undo undo;
	int ret;

	ret = codeheap_heap_alloc(ucmd->heap, cmd, &undo);
	if (ret)
		return ret;
	ret = codeheap_respond_or_undo(ucmd, sizeof(*cmd), codeheap_heap_free,
				       cmd->addr, &undo);
	trace_codeheap_alloc(ucmd->heap, cmd, ret);
	return ret;
}

static int codeheap_cmd_free(struct codeheap_ucmd *ucmd)
{
	struct codeheap_addr *cmd = ucmd->cmd;
	int ret = codeheap_addr_cmd(ucmd, cmd->flags, cmd->addr,
				    codeheap_heap_free);

	trace_codeheap_free(ucmd->heap, cmd->addr, ret);
	return ret;
}

static int codeheap_cmd_lookup(struct codeheap_ucmd *ucmd)
{
	struct codeheap_lookup *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	ret = codeheap_heap_lookup(ucmd->heap, cmd);
	if (ret)
		return ret;
	return codeheap_respond(ucmd, sizeof(*cmd));
}

/* Give a batch buffer back to the heap (keeping the newer of two). */
static void codeheap_batch_put(struct codeheap_heap *heap, void *stack,
			       void *buf)
{
	struct codeheap_batch *old;

	if (buf == stack)
		return;
	old = xchg(&heap->batch,
		   container_of(buf, struct codeheap_batch, data));
	if (old)
		kvfree(old);
}

/* Entries copied in by one __copy_from_user() of constant length. */
#define CODEHEAP_BATCH_CHUNK 16

/*
 * A batch of @count entries of @size bytes copied in from @uptr, followed
 * in the buffer by @count times @scratch bytes of scratch room for the
 * command.  A single entry (the usual call) is read word by word in one
 * user-access section into @stack, room for one entry (the command keeps
 * a single entry's scratch in its own locals); a
 * batch goes to the heap's batch buffer, kept
 * between calls (a JIT sends batch after batch), or to a fresh one if that
 * is in use by another thread or too small.  Inlined so that @size is a
 * constant: the entries are copied in pieces of constant length, which
 * need no hardened-usercopy object check (for a batch in a slab object it
 * would cost more than the copy).
 */
static __always_inline void *codeheap_batch_get(struct codeheap_heap *heap,
						void *stack, u32 count,
						size_t size, size_t scratch,
						u64 uptr, int *err)
{
	const void __user *from = u64_to_user_ptr(uptr);
	size_t bytes = array_size(count, size + scratch);
	struct codeheap_batch *batch = NULL;
	void *buf;
	u32 i = 0;

	if (count == 1) {
		/* The usual call: one entry, read word by word. */
		const u64 __user *src = from;
		u64 *dst = stack;

		if (!codeheap_get_words(dst, src, size / 8))
			goto efault;
		return stack;
	}
	if (!access_ok(from, array_size(count, size))) {
		*err = -EFAULT;
		return NULL;
	}
	batch = xchg(&heap->batch, NULL);
	if (!batch || batch->size < bytes) {
		kvfree(batch);
		batch = kvmalloc(struct_size(batch, data, 0) + bytes,
				 CODEHEAP_GFP);
		if (!batch) {
			*err = -ENOMEM;
			return NULL;
		}
		batch->size = bytes;
	}
	buf = batch->data;
	for (; i + CODEHEAP_BATCH_CHUNK <= count; i += CODEHEAP_BATCH_CHUNK)
		if (__copy_from_user(buf + i * size, from + i * size,
				     CODEHEAP_BATCH_CHUNK * size))
			goto efault;
	for (; i < count; i++)
		if (__copy_from_user(buf + i * size, from + i * size, size))
			goto efault;
	return buf;

efault:
	if (batch)
		codeheap_batch_put(heap, stack, buf);
	*err = -EFAULT;
	return NULL;
}

/*
 * Inlined into its case of codeheap_fops_ioctl(), as is
 * codeheap_cmd_jt_patch(): called, with its struct codeheap_ucmd in
 * memory, the single WRITE cost 46 instructions more (tools/bench/profile),
 * a sixth of its budget.
 */
static __always_inline int codeheap_cmd_write(struct codeheap_ucmd *ucmd)
{
	u64 stack[sizeof(struct codeheap_write_entry) / 8] __uninitialized;
	struct codeheap_write *cmd = ucmd->cmd;
	struct codeheap_write_entry *entries;
	int ret;

	if (cmd->flags || cmd->__reserved || !cmd->count)
		return -EINVAL;
	if (cmd->count > READ_ONCE(codeheap_max_batch))
		return -E2BIG;

	entries = codeheap_batch_get(ucmd->heap, stack, cmd->count,
				     sizeof(*entries), CODEHEAP_WRITE_SCRATCH,
				     cmd->entries, &ret);
	if (!entries)
		return ret;
	ret = codeheap_heap_write(ucmd->heap, entries, entries + cmd->count,
				  cmd->count);
	codeheap_batch_put(ucmd->heap, stack, entries);
	return ret;
}

static int codeheap_cmd_stats(struct codeheap_ucmd *ucmd)
{
	struct codeheap_stats *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	codeheap_heap_stats(ucmd->heap, cmd);
	return codeheap_respond(ucmd, sizeof(*cmd));
}

static int codeheap_jt_destroy_id(struct codeheap_heap *heap,
				  unsigned long id)
{
	return codeheap_heap_jt_destroy(heap, id);
}

static int codeheap_cmd_jt_create(struct codeheap_ucmd *ucmd)
{
	struct codeheap_jt_create *cmd = ucmd->cmd;
	struct codeheap_undo undo;
	int ret;

	ret = codeheap_heap_jt_create(ucmd->heap, cmd, &undo);
	if (ret)
		return ret;
	ret = codeheap_respond_or_undo(ucmd, sizeof(*cmd),
				       codeheap_jt_destroy_id, cmd->id, &undo);
	trace_codeheap_jt_create(ucmd->heap, cmd, ret);
	return ret;
}

static __always_inline int codeheap_cmd_jt_patch(struct codeheap_ucmd *ucmd)
{
	u64 stack[sizeof(struct codeheap_jt_patch_entry) / 8] __uninitialized;
	struct codeheap_jt_patch *cmd = ucmd->cmd;
	struct codeheap_jt_patch_entry *entries;
	int ret;

	if (cmd->flags || !cmd->count)
		return -EINVAL;
	if (cmd->count > READ_ONCE(codeheap_max_batch))
		return -E2BIG;
	entries = codeheap_batch_get(ucmd->heap, stack, cmd->count,
				     sizeof(*entries), CODEHEAP_JT_PATCH_SCRATCH,
				     cmd->entries, &ret);
	if (!entries)
		return ret;
	ret = codeheap_heap_jt_patch(ucmd->heap, cmd->id, entries,
				     entries + cmd->count, cmd->count);
	codeheap_batch_put(ucmd->heap, stack, entries);
	return ret;
}

static int codeheap_cmd_jt_query(struct codeheap_ucmd *ucmd)
{
	struct codeheap_jt_query *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = codeheap_heap_jt_query(ucmd->heap, cmd);
	if (ret)
		return ret;
	return codeheap_respond(ucmd, sizeof(*cmd));
}

static int codeheap_cmd_jt_destroy(struct codeheap_ucmd *ucmd)
{
	struct codeheap_jt_destroy *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	ret = codeheap_heap_jt_destroy(ucmd->heap, cmd->id);
	trace_codeheap_jt_destroy(ucmd->heap, cmd->id, ret);
	return ret;
}

/* Big enough for the argument of every command. */
union codeheap_ucmd_buffer {
	struct codeheap_version version;
	struct codeheap_reserve reserve;
	struct codeheap_release release;
	struct codeheap_range range;
	struct codeheap_alloc alloc;
	struct codeheap_addr addr;
	struct codeheap_lookup lookup;
	struct codeheap_write write;
	struct codeheap_stats stats;
	struct codeheap_jt_create jt_create;
	struct codeheap_jt_patch jt_patch;
	struct codeheap_jt_query jt_query;
	struct codeheap_jt_destroy jt_destroy;
};

/**
 * struct codeheap_ioctl_op - how to run one command
 * @size: the kernel's size of the command's struct
 * @min_size: the size of the struct's first published version
 * @owner_only: the command changes the heap, so only its owner mm may call
 * @output: the command writes output fields back into the struct
 * @execute: the command
 */
struct codeheap_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	bool owner_only;
	bool output;
	int (*execute)(struct codeheap_ucmd *ucmd);
};

/*
 * Indexed by command number.  Every command is _IO(CODEHEAP_TYPE, nr): the
 * size travels in the struct, not in the ioctl number.
 */
#define CODEHEAP_IOCTL_OP(_nr, _fn, _struct, _last, _owner_only, _output) \
	[_nr] = {							\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union codeheap_ucmd_buffer) < \
					  sizeof(_struct)) +		\
			BUILD_BUG_ON_ZERO(sizeof(_struct) % 8),		\
		.min_size = offsetofend(_struct, _last),		\
		.owner_only = _owner_only,				\
		.output = _output,					\
		.execute = _fn,						\
	}

static const struct codeheap_ioctl_op codeheap_ioctl_ops[] = {
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_VERSION, codeheap_cmd_version,
			  struct codeheap_version, __reserved, false, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_RESERVE, codeheap_cmd_reserve,
			  struct codeheap_reserve, addr, true, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_RELEASE, codeheap_cmd_release,
			  struct codeheap_release, addr, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_COMMIT, codeheap_cmd_commit,
			  struct codeheap_range, __reserved, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_DECOMMIT, codeheap_cmd_decommit,
			  struct codeheap_range, __reserved, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_PROTECT, codeheap_cmd_protect,
			  struct codeheap_range, __reserved, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_SEAL, codeheap_cmd_seal,
			  struct codeheap_addr, addr, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_ALLOC, codeheap_cmd_alloc,
			  struct codeheap_alloc, addr, true, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_FREE, codeheap_cmd_free,
			  struct codeheap_addr, addr, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_LOOKUP, codeheap_cmd_lookup,
			  struct codeheap_lookup, __reserved, false, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_WRITE, codeheap_cmd_write,
			  struct codeheap_write, entries, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_STATS, codeheap_cmd_stats,
			  struct codeheap_stats, __reserved, false, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_JT_CREATE, codeheap_cmd_jt_create,
			  struct codeheap_jt_create, slot_size, true, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_JT_PATCH, codeheap_cmd_jt_patch,
			  struct codeheap_jt_patch, entries, true, false),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_JT_QUERY, codeheap_cmd_jt_query,
			  struct codeheap_jt_query, target, false, true),
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_JT_DESTROY, codeheap_cmd_jt_destroy,
			  struct codeheap_jt_destroy, __reserved, true, false),
};

/*
 * The usual call: user space passes the kernel's size of the struct (the
 * one its header was built with).  Read the kernel's size of it word by
 * word in one user-access section and check its size field: a small
 * fraction of the cost of get_user() and copy_struct_from_user(), whose
 * variable-length copy is checked by hardened usercopy and copies byte
 * runs.
 *
 * Return: 0 with @buf filled, or 1 for any other size or a fault, which
 * the caller then handles with copy_struct_from_user() and its exact
 * errors.
 */
static __always_inline int
codeheap_read_cmd(union codeheap_ucmd_buffer *buf, unsigned int ksize,
		  const void __user *ubuf)
{
	u64 *dst = (u64 *)buf;

	/* The size is the low half of the first word (little-endian). */
	BUILD_BUG_ON(IS_ENABLED(CONFIG_CPU_BIG_ENDIAN));
	if (!codeheap_get_words(dst, ubuf, ksize / 8) ||
	    lower_32_bits(dst[0]) != ksize)
		return 1;
	return 0;
}

/*
 * Any other size: the exact errors of copy_struct_from_user() (a field
 * past the kernel's struct that is not zero: -E2BIG).  Takes no pointer
 * to the caller's struct codeheap_ucmd, which then stays in registers.
 *
 * Return: the size user space passed, or an error.
 */
static noinline long codeheap_read_cmd_sized(void *buf, unsigned int ksize,
					     const void __user *ubuf,
					     unsigned int min_size)
{
	u32 user_size;
	int ret;

	ret = get_user(user_size, (const u32 __user *)ubuf);
	if (ret)
		return ret;
	if (user_size < min_size)
		return -EINVAL;
	ret = copy_struct_from_user(buf, ksize, ubuf, user_size);
	if (ret)
		return ret;
	return user_size;
}

/*
 * A command with output fields writes its answer only on success, all of
 * it: check before the command runs that both ends of the struct can be
 * written, by storing back the bytes just read there (a store that
 * changes nothing).  Only another thread changing the struct's mapping
 * during the call can make the answer fail after this (see
 * Documentation/codeheap.rst, "Failed calls").
 *
 * Return: 0 or -EFAULT.
 */
static int codeheap_probe_output(void __user *ubuf, const void *kbuf,
				 unsigned int len)
{
	u8 __user *dst = ubuf;
	const u8 *src = kbuf;

	if (!user_write_access_begin(dst, len))
		return -EFAULT;
	unsafe_put_user(src[0], dst, efault);
	unsafe_put_user(src[len - 1], dst + len - 1, efault);
	user_write_access_end();
	return 0;

efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * Run command @op of the table: read its struct, check that a command
 * with output fields can answer, and call it.  The one path of every
 * command, inlined into the dispatcher's case for it, where @op is a
 * constant: its size and flags fold, and the call is direct.
 */
static __always_inline long
codeheap_ioctl_run(struct codeheap_heap *heap, void __user *arg,
		   const struct codeheap_ioctl_op *op)
{
	/* Filled before use: skip CONFIG_INIT_STACK_ALL_ZERO's zeroing. */
	union codeheap_ucmd_buffer buf __uninitialized;
	struct codeheap_ucmd ucmd __uninitialized;
	long size = op->size;

	if (op->owner_only && !codeheap_heap_owned(heap))
		return -EPERM;
	if (codeheap_read_cmd(&buf, op->size, arg)) {
		size = codeheap_read_cmd_sized(&buf, op->size, arg,
					       op->min_size);
		if (size < 0)
			return size;
	}
	ucmd.heap = heap;
	ucmd.ubuffer = arg;
	ucmd.cmd = &buf;
	ucmd.user_size = size;
	if (op->output &&
	    codeheap_probe_output(arg, &buf, min_t(u32, size, op->size)))
		return -EFAULT;
	return op->execute(&ucmd);
}

/**
 * codeheap_fops_ioctl() - the device's unlocked_ioctl (and compat_ioctl)
 * @filp: an open /dev/codeheap
 * @cmd: the command number
 * @arg: the user's argument struct
 *
 * Return: the command's result, or -ENOTTY for a command number it does
 * not know (see uapi/linux/codeheap.h for every command's errors).
 */
long codeheap_fops_ioctl(struct file *filp, unsigned int cmd,
			 unsigned long arg)
{
	struct codeheap_heap *heap = filp->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	/*
	 * One case per entry of the table, each running the same
	 * codeheap_ioctl_run() with a constant entry (no index into the table
	 * with the user's number, so nothing to speculate past).  The cases
	 * are whole command numbers: any other number, the same command
	 * number with direction or size bits included, is -ENOTTY.  WRITE,
	 * what a JIT calls most, is tested first.
	 */
	switch (__builtin_expect(cmd, CODEHEAP_IOC_WRITE)) {
	case CODEHEAP_IOC_VERSION:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_VERSION]);
		break;
	case CODEHEAP_IOC_RESERVE:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_RESERVE]);
		break;
	case CODEHEAP_IOC_RELEASE:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_RELEASE]);
		break;
	case CODEHEAP_IOC_COMMIT:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_COMMIT]);
		break;
	case CODEHEAP_IOC_DECOMMIT:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_DECOMMIT]);
		break;
	case CODEHEAP_IOC_PROTECT:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_PROTECT]);
		break;
	case CODEHEAP_IOC_SEAL:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_SEAL]);
		break;
	case CODEHEAP_IOC_ALLOC:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_ALLOC]);
		break;
	case CODEHEAP_IOC_FREE:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_FREE]);
		break;
	case CODEHEAP_IOC_LOOKUP:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_LOOKUP]);
		break;
	case CODEHEAP_IOC_WRITE:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_WRITE]);
		break;
	case CODEHEAP_IOC_STATS:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_STATS]);
		break;
	case CODEHEAP_IOC_JT_CREATE:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_JT_CREATE]);
		break;
	case CODEHEAP_IOC_JT_PATCH:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_JT_PATCH]);
		break;
	case CODEHEAP_IOC_JT_QUERY:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_JT_QUERY]);
		break;
	case CODEHEAP_IOC_JT_DESTROY:
		ret = codeheap_ioctl_run(heap, argp,
					 &codeheap_ioctl_ops[CODEHEAP_CMD_JT_DESTROY]);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	/* The one error event of every command, known or not. */
	trace_codeheap_error(heap, cmd, ret);
	return ret;
}
