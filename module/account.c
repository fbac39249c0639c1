// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: the limits and what is charged against them.
 *
 * The module parameters set the limits (read with codeheap_limits_get());
 * the global counters hold what all heaps reserved and committed (shown in
 * sysfs by main.c); and committed bytes are charged per user.
 *
 * /dev/codeheap is world-usable, so the global limit (max_total_committed)
 * alone would let one unprivileged user take all of it and deny everyone
 * else.  Every heap is therefore charged to the user that opened it (its
 * real uid, as the kernel's own per-user counters are kept) as well, up to
 * max_user_committed.  The pages themselves are charged to the opener's
 * memory cgroup (GFP_KERNEL_ACCOUNT), which bounds a container however
 * many users it has.
 */

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "heap.h"

/* ---------------------------------------------------------------------- */
/* Module parameters                                                      */
/* ---------------------------------------------------------------------- */

static unsigned long codeheap_max_reservation_size =
	CODEHEAP_DEFAULT_MAX_RESERVATION;
static unsigned long codeheap_max_heap_committed = 512UL << 20;
static unsigned long codeheap_max_total_committed = 2048UL << 20;
static unsigned long codeheap_max_user_committed = 1024UL << 20;
unsigned int codeheap_max_batch = 1024;

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
module_param_cb(max_user_committed, &codeheap_bytes_param_ops,
		&codeheap_max_user_committed, 0644);
MODULE_PARM_DESC(max_user_committed,
		 "Most bytes the heaps of one user may have committed (page multiple)");
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
	limits->max_user_committed = READ_ONCE(codeheap_max_user_committed);
	limits->max_batch = READ_ONCE(codeheap_max_batch);
}

/* ---------------------------------------------------------------------- */
/* Global counters                                                        */
/* ---------------------------------------------------------------------- */

atomic_long_t codeheap_total_committed = ATOMIC_LONG_INIT(0);
atomic_long_t codeheap_total_reserved = ATOMIC_LONG_INIT(0);
atomic_t codeheap_nr_heaps = ATOMIC_INIT(0);

/* ---------------------------------------------------------------------- */
/* Committed bytes per user                                               */
/* ---------------------------------------------------------------------- */

/**
 * struct codeheap_user - the committed bytes of one user, over its heaps
 * @node: link in codeheap_users
 * @uid: the user
 * @refs: heaps charged to the user; with @node, protected by
 *        codeheap_users_lock (taken at open and at the heap's end only)
 * @committed: bytes committed by all its heaps (atomic: charged under each
 *             heap's own lock)
 */
struct codeheap_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int refs;
	atomic_long_t committed;
};

static DEFINE_HASHTABLE(codeheap_users, 6);
/* Protects codeheap_users and each entry's @node; taken alone. */
static DEFINE_SPINLOCK(codeheap_users_lock);

static struct codeheap_user *codeheap_user_find_locked(kuid_t uid)
{
	struct codeheap_user *user;

	lockdep_assert_held(&codeheap_users_lock);
	hash_for_each_possible(codeheap_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid)) {
			user->refs++;
			return user;
		}
	return NULL;
}

/**
 * codeheap_user_get() - the calling user's account, with a reference
 *
 * Return: the account of current_uid(), created if need be, or NULL when
 * out of memory.
 */
struct codeheap_user *codeheap_user_get(void)
{
	kuid_t uid = current_uid();
	struct codeheap_user *user, *found;

	spin_lock(&codeheap_users_lock);
	user = codeheap_user_find_locked(uid);
	spin_unlock(&codeheap_users_lock);
	if (user)
		return user;

	user = kzalloc(sizeof(*user), CODEHEAP_GFP);
	if (!user)
		return NULL;
	user->uid = uid;
	user->refs = 1;
	atomic_long_set(&user->committed, 0);

	spin_lock(&codeheap_users_lock);
	found = codeheap_user_find_locked(uid);
	if (!found)
		hash_add(codeheap_users, &user->node, __kuid_val(uid));
	spin_unlock(&codeheap_users_lock);
	if (found) {
		kfree(user);
		user = found;
	}
	return user;
}

/**
 * codeheap_user_put() - drop a heap's reference to its user's account
 * @user: the account; freed with its last reference
 */
void codeheap_user_put(struct codeheap_user *user)
{
	bool last;

	spin_lock(&codeheap_users_lock);
	last = !--user->refs;
	if (last)
		hash_del(&user->node);
	spin_unlock(&codeheap_users_lock);
	if (!last)
		return;
	/* Every heap gives back what it charged before its last put. */
	WARN_ON_ONCE(atomic_long_read(&user->committed));
	kfree(user);
}

/**
 * codeheap_user_charge() - charge committed bytes to a user
 * @user: the account
 * @bytes: bytes to add
 * @limit: the most the user may have committed (max_user_committed)
 *
 * Return: 0, or -ENOMEM with nothing charged when @limit would be passed.
 */
int codeheap_user_charge(struct codeheap_user *user, unsigned long bytes,
			 unsigned long limit)
{
	if (atomic_long_add_return(bytes, &user->committed) > limit) {
		atomic_long_sub(bytes, &user->committed);
		return -ENOMEM;
	}
	return 0;
}

/**
 * codeheap_user_uncharge() - give committed bytes back
 * @user: the account
 * @bytes: bytes charged with codeheap_user_charge()
 */
void codeheap_user_uncharge(struct codeheap_user *user, unsigned long bytes)
{
	atomic_long_sub(bytes, &user->committed);
}
