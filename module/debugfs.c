// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the debugfs view (Documentation/observability.rst, "debugfs"),
 * root only:
 *
 *   /sys/kernel/debug/codeheap/heaps        one line per live heap
 *   /sys/kernel/debug/codeheap/<id>/blocks  one line per allocation
 *
 * Every heap is on codeheap_debugfs_heaps from codeheap_heap_create() to
 * codeheap_heap_destroy(), which takes it off the list and removes its
 * directory before anything of the heap is freed: debugfs_remove() waits
 * for a read of "blocks" in progress (Documentation/filesystems/debugfs.rst),
 * and "heaps" reads every heap under codeheap_debugfs_lock, so neither
 * file ever reads a heap that is going away.  The module builds and works
 * without debugfs: every debugfs call then does nothing.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "heap.h"

static struct dentry *codeheap_debugfs_root;
/* Protects codeheap_debugfs_heaps; ranks outside every heap's lock. */
static DEFINE_MUTEX(codeheap_debugfs_lock);
static LIST_HEAD(codeheap_debugfs_heaps);

static int codeheap_debugfs_heaps_show(struct seq_file *m, void *unused)
{
	struct codeheap_stats st;
	struct codeheap_heap *heap;

	seq_puts(m, "# id pid reservations reserved committed allocated ");
	seq_puts(m, "allocations jump_tables peak_committed peak_allocated comm\n");
	mutex_lock(&codeheap_debugfs_lock);
	list_for_each_entry(heap, &codeheap_debugfs_heaps, debugfs_node) {
		codeheap_heap_stats(heap, &st);
		seq_printf(m, "%llu %d %u %llu %llu %llu %u %u %llu %llu %s\n",
			   codeheap_heap_id(heap), pid_nr(heap->owner_pid),
			   st.reservations, st.reserved_bytes,
			   st.committed_bytes, st.allocated_bytes,
			   st.allocations, st.jump_tables,
			   st.peak_committed_bytes, st.peak_allocated_bytes,
			   heap->owner_comm);
	}
	mutex_unlock(&codeheap_debugfs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(codeheap_debugfs_heaps);

static int codeheap_debugfs_blocks_show(struct seq_file *m, void *unused)
{
	struct codeheap_heap *heap = m->private;

	seq_puts(m, "# start len tag sealed table\n");
	codeheap_heap_show_blocks(heap, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(codeheap_debugfs_blocks);

/**
 * codeheap_debugfs_add() - show a new heap in debugfs
 * @heap: a heap codeheap_heap_create() has set up
 *
 * Records the opener's pid and comm, puts @heap on the list "heaps" reads
 * and creates its directory.  Cannot fail: without debugfs, or should a
 * directory not be created, the heap is simply not shown there.
 */
void codeheap_debugfs_add(struct codeheap_heap *heap)
{
	char name[24];

	heap->owner_pid = get_task_pid(current, PIDTYPE_TGID);
	get_task_comm(heap->owner_comm, current);
	snprintf(name, sizeof(name), "%llu", codeheap_heap_id(heap));
	heap->debugfs_dir = debugfs_create_dir(name, codeheap_debugfs_root);
	debugfs_create_file("blocks", 0400, heap->debugfs_dir, heap,
			    &codeheap_debugfs_blocks_fops);
	mutex_lock(&codeheap_debugfs_lock);
	list_add_tail(&heap->debugfs_node, &codeheap_debugfs_heaps);
	mutex_unlock(&codeheap_debugfs_lock);
}

/**
 * codeheap_debugfs_remove() - take a heap out of debugfs
 * @heap: a heap codeheap_debugfs_add() showed
 *
 * Returns once no debugfs reader can reach @heap any more.
 */
void codeheap_debugfs_remove(struct codeheap_heap *heap)
{
	mutex_lock(&codeheap_debugfs_lock);
	list_del(&heap->debugfs_node);
	mutex_unlock(&codeheap_debugfs_lock);
	debugfs_remove(heap->debugfs_dir);
	put_pid(heap->owner_pid);
}

/**
 * codeheap_debugfs_init() - create /sys/kernel/debug/codeheap/
 */
void codeheap_debugfs_init(void)
{
	codeheap_debugfs_root = debugfs_create_dir("codeheap", NULL);
	debugfs_create_file("heaps", 0400, codeheap_debugfs_root, NULL,
			    &codeheap_debugfs_heaps_fops);
}

/**
 * codeheap_debugfs_exit() - remove /sys/kernel/debug/codeheap/
 *
 * Context: no heap is left (the module cannot unload while one is open).
 */
void codeheap_debugfs_exit(void)
{
	debugfs_remove(codeheap_debugfs_root);
}
