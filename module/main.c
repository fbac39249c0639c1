// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: a kernel-managed code heap for user-space JIT compilers.
 *
 * This file holds the misc device /dev/codeheap, its file operations and
 * the global counters in sysfs.  The ioctls are dispatched by ioctl.c,
 * the mappings' operations are in mmap.c, and the module parameters, the
 * limits they set and the counters charged against them in account.c.
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "heap.h"

/* ---------------------------------------------------------------------- */
/* The device                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Which tasks may use the device.  A 32-bit x86 task on x86-64 runs the
 * heap's code as it is (int3, jmp rel32: the 32-bit tables in
 * jumptable.c).  An AArch32 task on arm64 cannot: the trap fill (brk #0)
 * and the jump slots are A64 code, which A32 reads as stores.  So an
 * AArch32 open is ENODEV, as KVM refuses compat tasks, and on arm64 the
 * device has no compat_ioctl, so a passed fd's ioctls are ENOTTY
 * (Documentation/arm64.rst, "AArch32 tasks").
 */
static bool codeheap_task_supported(void)
{
	return !IS_ENABLED(CONFIG_ARM64) || !in_compat_syscall();
}

static int codeheap_fops_open(struct inode *inode, struct file *filp)
{
	struct codeheap_heap *heap;
	int ret;

	if (!codeheap_task_supported())
		return -ENODEV;
	ret = nonseekable_open(inode, filp);
	if (ret)
		return ret;

	heap = codeheap_heap_create(filp);
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

/*
 * /proc/<pid>/fdinfo/<fd>: the heap's id, the one its tracepoints name
 * (Documentation/observability.rst).
 */
static void codeheap_fops_show_fdinfo(struct seq_file *m, struct file *filp)
{
	seq_printf(m, "codeheap-id:\t%llu\n",
		   codeheap_heap_id(filp->private_data));
}

static const struct file_operations codeheap_fops = {
	.owner = THIS_MODULE,
	.open = codeheap_fops_open,
	.release = codeheap_fops_release,
	.unlocked_ioctl = codeheap_fops_ioctl,
#if defined(CONFIG_X86_64)
	.compat_ioctl = compat_ptr_ioctl,
#endif
	.mmap = codeheap_fops_mmap,
	.show_fdinfo = codeheap_fops_show_fdinfo,
};

/* ---------------------------------------------------------------------- */
/* Global counters: /sys/class/misc/codeheap/                             */
/* ---------------------------------------------------------------------- */

static ssize_t heaps_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&codeheap_nr_heaps));
}
static DEVICE_ATTR_RO(heaps);

static ssize_t committed_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&codeheap_total_committed));
}
static DEVICE_ATTR_RO(committed_bytes);

static ssize_t reserved_bytes_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&codeheap_total_reserved));
}
static DEVICE_ATTR_RO(reserved_bytes);

static struct attribute *codeheap_attrs[] = {
	&dev_attr_heaps.attr,
	&dev_attr_committed_bytes.attr,
	&dev_attr_reserved_bytes.attr,
	NULL,
};
ATTRIBUTE_GROUPS(codeheap);

/*
 * World-usable, like /dev/null: a JIT runs unprivileged.  What one user can
 * take is bounded by the per-heap, per-user and global limits, and every
 * page is charged to the caller's memory cgroup.
 */
static struct miscdevice codeheap_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "codeheap",
	.fops = &codeheap_fops,
	.groups = codeheap_groups,
	.mode = 0666,
};

static int __init codeheap_init(void)
{
	int ret;

	ret = codeheap_mapping_init();
	if (ret)
		return ret;
	/* Before the device: every heap is shown from its open on. */
	codeheap_debugfs_init();
	ret = misc_register(&codeheap_misc);
	if (ret)
		goto exit_debugfs;
	return 0;

exit_debugfs:
	codeheap_debugfs_exit();
	codeheap_mapping_exit();
	return ret;
}
module_init(codeheap_init);

static void __exit codeheap_exit(void)
{
	misc_deregister(&codeheap_misc);
	codeheap_debugfs_exit();
	codeheap_mapping_exit();
}
module_exit(codeheap_exit);

MODULE_DESCRIPTION("Kernel-managed code heap for user-space JIT compilers");
MODULE_LICENSE("GPL");
