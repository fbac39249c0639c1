// SPDX-License-Identifier: GPL-2.0
/*
 * codeheap: committed bytes per user.
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
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "codeheap.h"

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
