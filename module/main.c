// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: a kernel-managed code heap for user-space JIT compilers.
 *
 * This file holds the module parameters, the misc device /dev/codeheap, and
 * the ioctl dispatcher.  Each command is described by one entry of
 * codeheap_ioctl_ops[]: its struct, the smallest size user space may pass,
 * and whether only the heap's owner may call it.  The dispatcher reads the
 * struct with copy_struct_from_user() and hands it to the command.
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include <linux/codeheap.h>

#include "codeheap.h"

/* ---------------------------------------------------------------------- */
/* Module parameters                                                      */
/* ---------------------------------------------------------------------- */

static unsigned long codeheap_max_reservation_size =
	CODEHEAP_DEFAULT_MAX_RESERVATION;
static unsigned long codeheap_max_heap_committed = 512UL << 20;
static unsigned long codeheap_max_total_committed = 2048UL << 20;
static unsigned int codeheap_max_batch = 1024;

/*
 * Byte limits: a non-zero multiple of the page size.  Writers are serialised
 * by the kernel's parameter lock; readers use codeheap_limits_get().
 */
static int codeheap_param_set_bytes(const char *val,
				    const struct kernel_param *kp)
{
	unsigned long bytes;
	int ret;

	ret = kstrtoul(val, 0, &bytes);
	if (ret)
		return ret;
	if (!bytes || !PAGE_ALIGNED(bytes))
		return -EINVAL;
	WRITE_ONCE(*(unsigned long *)kp->arg, bytes);
	return 0;
}

static const struct kernel_param_ops codeheap_bytes_param_ops = {
	.set = codeheap_param_set_bytes,
	.get = param_get_ulong,
};

/* Batch length: 1 to CODEHEAP_BATCH_HARD_MAX. */
static int codeheap_param_set_batch(const char *val,
				    const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (!n || n > CODEHEAP_BATCH_HARD_MAX)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, n);
	return 0;
}

static const struct kernel_param_ops codeheap_batch_param_ops = {
	.set = codeheap_param_set_batch,
	.get = param_get_uint,
};

module_param_cb(max_reservation_size, &codeheap_bytes_param_ops,
		&codeheap_max_reservation_size, 0644);
MODULE_PARM_DESC(max_reservation_size,
		 "Largest single code-space reservation in bytes (page multiple)");
module_param_cb(max_heap_committed, &codeheap_bytes_param_ops,
		&codeheap_max_heap_committed, 0644);
MODULE_PARM_DESC(max_heap_committed,
		 "Most bytes one heap may have committed (page multiple)");
module_param_cb(max_total_committed, &codeheap_bytes_param_ops,
		&codeheap_max_total_committed, 0644);
MODULE_PARM_DESC(max_total_committed,
		 "Most bytes all heaps together may have committed (page multiple)");
module_param_cb(max_batch, &codeheap_batch_param_ops,
		&codeheap_max_batch, 0644);
MODULE_PARM_DESC(max_batch,
		 "Most entries one batched ioctl may carry (1 to 65536)");

/**
 * codeheap_limits_get() - snapshot the limits in force
 * @limits: filled with the current value of each module parameter
 */
void codeheap_limits_get(struct codeheap_limits *limits)
{
	limits->max_reservation_size = READ_ONCE(codeheap_max_reservation_size);
	limits->max_heap_committed = READ_ONCE(codeheap_max_heap_committed);
	limits->max_total_committed = READ_ONCE(codeheap_max_total_committed);
	limits->max_batch = READ_ONCE(codeheap_max_batch);
}

/* ---------------------------------------------------------------------- */
/* Commands                                                               */
/* ---------------------------------------------------------------------- */

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

/* Copy a command's output back, no more than user space said it has room for. */
static int codeheap_respond(struct codeheap_ucmd *ucmd, size_t cmd_len)
{
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
	return codeheap_respond(ucmd, sizeof(*cmd));
}

/* Big enough for the argument of every command. */
union codeheap_ucmd_buffer {
	struct codeheap_version version;
};

/**
 * struct codeheap_ioctl_op - how to run one command
 * @size: the kernel's size of the command's struct
 * @min_size: the size of the struct's first published version
 * @owner_only: the command changes the heap, so only its owner mm may call
 * @execute: the command
 */
struct codeheap_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	bool owner_only;
	int (*execute)(struct codeheap_ucmd *ucmd);
};

/*
 * Indexed by command number.  Every command is _IO(CODEHEAP_TYPE, nr): the
 * size travels in the struct, not in the ioctl number.
 */
#define CODEHEAP_IOCTL_OP(_nr, _fn, _struct, _last, _owner_only)	\
	[_nr] = {							\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union codeheap_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.owner_only = _owner_only,				\
		.execute = _fn,						\
	}

static const struct codeheap_ioctl_op codeheap_ioctl_ops[] = {
	CODEHEAP_IOCTL_OP(CODEHEAP_CMD_VERSION, codeheap_cmd_version,
			  struct codeheap_version, __reserved, false),
};

static long codeheap_fops_ioctl(struct file *filp, unsigned int cmd,
				unsigned long arg)
{
	struct codeheap_heap *heap = filp->private_data;
	const struct codeheap_ioctl_op *op;
	union codeheap_ucmd_buffer buf;
	struct codeheap_ucmd ucmd = {};
	unsigned int nr;
	int ret;

	nr = _IOC_NR(cmd);
	if (cmd != _IO(CODEHEAP_TYPE, nr) ||
	    nr >= ARRAY_SIZE(codeheap_ioctl_ops))
		return -ENOTTY;
	op = &codeheap_ioctl_ops[array_index_nospec(nr,
				ARRAY_SIZE(codeheap_ioctl_ops))];
	if (!op->execute)
		return -ENOTTY;

	if (op->owner_only && !codeheap_heap_owned(heap))
		return -EPERM;

	ucmd.heap = heap;
	ucmd.ubuffer = (void __user *)arg;
	ret = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (ret)
		return ret;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	ucmd.cmd = &buf;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;

	return op->execute(&ucmd);
}

/* ---------------------------------------------------------------------- */
/* The device                                                             */
/* ---------------------------------------------------------------------- */

static int codeheap_fops_open(struct inode *inode, struct file *filp)
{
	struct codeheap_heap *heap;
	int ret;

	ret = nonseekable_open(inode, filp);
	if (ret)
		return ret;

	heap = codeheap_heap_create();
	if (IS_ERR(heap))
		return PTR_ERR(heap);
	filp->private_data = heap;
	return 0;
}

static int codeheap_fops_release(struct inode *inode, struct file *filp)
{
	codeheap_heap_destroy(filp->private_data);
	return 0;
}

static const struct file_operations codeheap_fops = {
	.owner = THIS_MODULE,
	.open = codeheap_fops_open,
	.release = codeheap_fops_release,
	.unlocked_ioctl = codeheap_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * World-usable, like /dev/null: a JIT runs unprivileged.  What one user can
 * take is bounded by the per-heap and global limits, and every page is
 * charged to the caller's memory cgroup.
 */
static struct miscdevice codeheap_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "codeheap",
	.fops = &codeheap_fops,
	.mode = 0666,
};

module_misc_device(codeheap_misc);

MODULE_DESCRIPTION("Kernel-managed code heap for user-space JIT compilers");
MODULE_LICENSE("GPL");
