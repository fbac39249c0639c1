// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the reservations' mappings.
 *
 * A reservation is a MAP_SHARED mapping of the /dev/codeheap file itself,
 * read+exec, made by RESERVE through vm_mmap(); the device's .mmap accepts
 * no other.  It is VM_MIXEDMAP: committed pages are ordinary kernel pages,
 * inserted with vm_insert_page() when they are committed (so code runs
 * without a page fault) and found again by the fault handler when a mapping
 * lost its page-table entry (after fork, madvise(MADV_DONTNEED) or PROTECT
 * back to read+exec).  Only two page states are ever visible: read+exec
 * (the VMA's protection) and absent.  A page PROTECTed to none or not
 * committed has no page-table entry and its fault is SIGSEGV; there is no
 * per-page protection, so a VMA never mixes read-only and read+exec PTEs.
 *
 * The VMA never has VM_MAYWRITE, so mprotect() cannot add write, and GUP
 * for write (/proc/pid/mem, ptrace, process_vm_writev, O_DIRECT reads into
 * it) fails: the mapping is shared, not copy-on-write.  Reads through GUP
 * work, so a debugger can read code that is mapped.  VM_DONTEXPAND and the
 * may_split, mremap and mprotect operations refuse growing, moving,
 * splitting and reprotecting it; unmapping all of it is the owner's right,
 * and ends the reservation with everything in it, as RELEASE would after
 * freeing its allocations (codeheap_space_end_locked()).
 *
 * Each heap has its own inode, on a private pseudo filesystem as
 * mm/secretmem.c has, and its file's f_mapping is that inode's
 * address_space (as DRM gives every device one): the mappings of one heap
 * are all in one i_mmap tree and no other heap's, so revocation
 * (unmap_mapping_range()) walks only them, and the heap's file offsets are
 * its own (Documentation/design.rst, "Mapping model").
 */

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "heap.h"

/* The pseudo filesystem the heaps' inodes live on ("code" "heap"). */
#define CODEHEAP_FS_MAGIC	0xc0de4ea9

static struct vfsmount *codeheap_mnt;

static int codeheap_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, CODEHEAP_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type codeheap_fs = {
	.name = "codeheap",
	.init_fs_context = codeheap_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * codeheap_mapping_init() - mount the heaps' pseudo filesystem
 *
 * Kernel-internal, as mm/secretmem.c's: never registered, so it cannot be
 * mounted from user space.
 *
 * Return: 0 or a negative errno of kern_mount().
 */
int codeheap_mapping_init(void)
{
	codeheap_mnt = kern_mount(&codeheap_fs);
	return PTR_ERR_OR_ZERO(codeheap_mnt);
}

/**
 * codeheap_mapping_exit() - unmount it, once every heap is gone
 */
void codeheap_mapping_exit(void)
{
	kern_unmount(codeheap_mnt);
}

/**
 * codeheap_mapping_create() - give a new heap its own inode
 * @heap: the heap, with @heap->file set, before anything maps the file
 *
 * The file's f_mapping becomes the inode's address_space, so every
 * mapping of the file is linked there (mm/vma.c links a mapping into
 * vm_file->f_mapping->i_mmap).
 *
 * Return: 0 or -ENOMEM.
 */
int codeheap_mapping_create(struct codeheap_heap *heap)
{
	struct inode *inode = alloc_anon_inode(codeheap_mnt->mnt_sb);

	if (IS_ERR(inode))
		return PTR_ERR(inode);
	heap->inode = inode;
	heap->file->f_mapping = inode->i_mapping;
	return 0;
}

/**
 * codeheap_mapping_destroy() - drop a heap's inode
 * @heap: the heap, which nothing maps any more; from its file's release
 *
 * The file, freed after its release, gets its own mapping back first.
 */
void codeheap_mapping_destroy(struct codeheap_heap *heap)
{
	heap->file->f_mapping = file_inode(heap->file)->i_mapping;
	iput(heap->inode);
}

/**
 * codeheap_trap_fill() - fill code memory with trap instructions
 * @dst: kernel address, aligned to 4 bytes on arm64
 * @len: bytes, a multiple of 4 on arm64
 */
void codeheap_trap_fill(void *dst, size_t len)
{
	WARN_ON_ONCE(codeheap_arch_trap_fill(dst, len));
}

static vm_fault_t codeheap_vm_fault(struct vm_fault *vmf)
{
	struct codeheap_heap *heap = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->flags & FAULT_FLAG_WRITE)
		return VM_FAULT_SIGSEGV;

	rcu_read_lock();
	page = xa_load(&heap->pages, vmf->pgoff);
	if (!page || xa_get_mark(&heap->pages, vmf->pgoff, CODEHEAP_MARK_NONE) ||
	    !get_page_unless_zero(page)) {
		rcu_read_unlock();
		return VM_FAULT_SIGSEGV;
	}
	/*
	 * Freed and reused between the load and the reference: not ours, so
	 * not to be locked either (the page cache re-checks the same way).
	 */
	if (unlikely(xa_load(&heap->pages, vmf->pgoff) != page)) {
		rcu_read_unlock();
		put_page(page);
		return VM_FAULT_SIGSEGV;
	}
	rcu_read_unlock();

	/*
	 * Revocation erases or marks the entry under the heap lock, then takes
	 * and drops the page lock before zapping: holding the page lock while
	 * the entry is still valid guarantees the zap comes after our PTE.
	 */
	lock_page(page);
	if (xa_load(&heap->pages, vmf->pgoff) != page ||
	    xa_get_mark(&heap->pages, vmf->pgoff, CODEHEAP_MARK_NONE)) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_SIGSEGV;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

static void codeheap_vm_close(struct vm_area_struct *vma)
{
	struct codeheap_heap *heap = vma->vm_file->private_data;
	struct codeheap_space *space;

	/* Views of the heap in other mms (fork children) come and go. */
	if (vma->vm_mm != heap->mm)
		return;
	/* munmap() may have downgraded it to read (mm/vma.c). */
	mmap_assert_locked(vma->vm_mm);

	mutex_lock(&heap->lock);
	space = codeheap_space_find(heap, vma->vm_start);
	if (space && space->start == vma->vm_start &&
	    space->end == vma->vm_end && space->pgoff == vma->vm_pgoff) {
		codeheap_space_end_locked(heap, space);
		/* RELEASE and RESERVE free the space they hold themselves. */
		if (space->releasing || heap->reserving == space)
			space = NULL;
	} else {
		space = NULL;
	}
	codeheap_heap_unlock(heap);
	kfree(space);
}

/* Partial munmap() and mprotect() would split the mapping. */
static int codeheap_vm_may_split(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return -EINVAL;
}

/* Called when mremap() moved the mapping: refusing makes it move back. */
static int codeheap_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static int codeheap_vm_mprotect(struct vm_area_struct *vma,
				unsigned long start, unsigned long end,
				unsigned long newflags)
{
	const unsigned long prot = VM_READ | VM_WRITE | VM_EXEC;

	/* Only PROTECT changes what a page allows. */
	if ((newflags & prot) != (vma->vm_flags & prot))
		return -EACCES;
	return 0;
}

static const struct vm_operations_struct codeheap_vm_ops = {
	.close = codeheap_vm_close,
	.may_split = codeheap_vm_may_split,
	.mremap = codeheap_vm_mremap,
	.mprotect = codeheap_vm_mprotect,
	.fault = codeheap_vm_fault,
};

/**
 * codeheap_fops_mmap() - the device's .mmap: accepts RESERVE's mapping only
 * @file: the /dev/codeheap file
 * @vma: the new mapping
 *
 * RESERVE records the space it is mapping in &codeheap_heap.reserving,
 * with its task, file offset and length; any other mmap() of the device
 * (another thread, another process, another offset or length) is refused.
 * On success the space is linked into the heap; RESERVE adds its range to
 * the pool once the mapping is complete.
 *
 * Context: called by the mm with mmap_lock held for write.
 * Return: 0, -EPERM for an mmap() that is not RESERVE's, -EACCES for a
 * writable or private request.
 */
int codeheap_fops_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct codeheap_heap *heap = file->private_data;
	struct codeheap_space *space;
	int ret = -EPERM;

	mutex_lock(&heap->lock);
	space = heap->reserving;
	if (!space || space->task != current || vma->vm_mm != heap->mm ||
	    vma->vm_pgoff != space->pgoff ||
	    vma_pages(vma) != (space->end - space->start) >> PAGE_SHIFT)
		goto out_unlock;

	ret = -EACCES;
	if ((vma->vm_flags & VM_WRITE) || !(vma->vm_flags & VM_MAYSHARE) ||
	    !(vma->vm_flags & VM_EXEC))
		goto out_unlock;

	vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
	vm_flags_clear(vma, VM_MAYWRITE);
	vma->vm_ops = &codeheap_vm_ops;

	space->start = vma->vm_start;
	space->end = vma->vm_end;
	codeheap_space_link_locked(heap, space);
	ret = 0;
out_unlock:
	codeheap_heap_unlock(heap);
	return ret;
}

/**
 * codeheap_default_ok() - may a jump table's default lie at @addr?
 * @heap: the heap, owned by the caller
 * @addr: a non-zero default target below TASK_SIZE
 *
 * A default outside the heap is the caller's own code: it must lie in an
 * executable mapping of the owner that is no code heap's (another heap's
 * code may be freed without this table knowing).  A default inside this
 * heap is checked by codeheap_jt_prepare_locked() (a live allocation).
 * Checked once, at JT_CREATE: what the owner maps there later is its own.
 *
 * Return: true if @addr may be the default.
 */
bool codeheap_default_ok(struct codeheap_heap *heap, unsigned long addr)
{
	struct vm_area_struct *vma;
	bool ok;

	mmap_read_lock(heap->mm);
	vma = vma_lookup(heap->mm, addr);
	if (vma && vma->vm_ops == &codeheap_vm_ops)
		ok = vma->vm_file == heap->file;
	else
		ok = vma && (vma->vm_flags & VM_EXEC);
	mmap_read_unlock(heap->mm);
	return ok;
}

/**
 * codeheap_map_pages() - map committed pages into the owner's mapping
 * @heap: the heap
 * @space: the reservation holding [@start, @end)
 * @start: first address, page-aligned
 * @end: one past the last address, page-aligned
 *
 * Inserts every committed, accessible page of the range into the owner's
 * page tables, so that code runs without a page fault.  Best effort: a page
 * that cannot be inserted now is mapped by the fault handler on first use.
 *
 * Context: mmap_lock of @heap->mm held for read, then @heap->lock.
 */
void codeheap_map_pages(struct codeheap_heap *heap,
			struct codeheap_space *space, unsigned long start,
			unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr;
	pgoff_t pgoff;

	mmap_assert_locked(heap->mm);
	lockdep_assert_held(&heap->lock);

	vma = vma_lookup(heap->mm, start);
	if (!vma || vma->vm_ops != &codeheap_vm_ops ||
	    vma->vm_file != heap->file || vma->vm_start != space->start)
		return;

	pgoff = space->pgoff + ((start - space->start) >> PAGE_SHIFT);
	for (addr = start; addr < end; addr += PAGE_SIZE, pgoff++) {
		struct page *page = xa_load(&heap->pages, pgoff);

		if (!page || (heap->nr_none &&
			      xa_get_mark(&heap->pages, pgoff,
					  CODEHEAP_MARK_NONE)))
			continue;
		/* -EBUSY: a fault mapped it first. */
		vm_insert_page(vma, addr, page);
	}
}

/**
 * codeheap_revoke_pages() - remove pages from every mapping
 * @heap: the heap
 * @first: file offset (page index) of the first page
 * @nr: number of pages
 * @pages: the pages of the range, linked through page->lru, that the caller
 *         has just erased from @heap->pages or marked %CODEHEAP_MARK_NONE
 *
 * Waits for faults that found one of @pages before it was erased or marked
 * (they hold its page lock until their PTE is in), then zaps the range in
 * every mm that maps it: the owner's and those of fork children.
 *
 * Context: @heap->lock held.
 */
void codeheap_revoke_pages(struct codeheap_heap *heap, pgoff_t first,
			   unsigned long nr, struct list_head *pages)
{
	struct page *page;

	lockdep_assert_held(&heap->lock);

	list_for_each_entry(page, pages, lru) {
		lock_page(page);
		unlock_page(page);
	}
	unmap_mapping_range(heap->file->f_mapping, (loff_t)first << PAGE_SHIFT,
			    (loff_t)nr << PAGE_SHIFT, 1);
}
