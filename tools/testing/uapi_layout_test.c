// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi structs have one layout for every ABI.
 *
 * Built for -m64 and -m32 (and run under ASan+UBSan like every host test).
 * Each struct is checked field by field: the fields tile the struct with no
 * hole, every 64-bit field is an __aligned_u64 (8-aligned even under the
 * i386 ABI, where a plain __u64 is only 4-aligned) at a multiple of 8, and
 * the size is a multiple of 8.  Both builds passing means 32-bit processes
 * share the 64-bit layout and need no compat translation.  The header is
 * also compiled with -Wpadded as an error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"
#include <linux/codeheap.h>
#pragma GCC diagnostic pop

#include "kselftest_harness.h"

struct field {
	const char *name;
	size_t offset, size, align;
};

#define F(type, member) { #member, offsetof(type, member),		\
			   sizeof(((type *)0)->member),			\
			   __alignof__(((type *)0)->member) }

/*
 * Argument structs start with __u32 size (@size_first); batch array
 * elements have no size field but follow the same no-hole rules.
 */
static void check_tiling(struct __test_metadata *_metadata,
			 const char *type, size_t type_size,
			 const struct field *f, size_t n, bool size_first)
{
	size_t i, next = 0;

	if (size_first) {
		ASSERT_EQ(0, strcmp(f[0].name, "size")) TH_LOG("%s", type);
		ASSERT_EQ(4, f[0].size) TH_LOG("%s", type);
	}
	for (i = 0; i < n; i++) {
		EXPECT_EQ(next, f[i].offset)
			TH_LOG("%s.%s: hole before it", type, f[i].name);
		EXPECT_TRUE(f[i].size == 4 || f[i].size == 8)
			TH_LOG("%s.%s: not a __u32/__u64", type, f[i].name);
		EXPECT_EQ(0, f[i].offset % f[i].size)
			TH_LOG("%s.%s: misaligned", type, f[i].name);
		EXPECT_EQ(f[i].size, f[i].align)
			TH_LOG("%s.%s: not __u32 or __aligned_u64", type,
			       f[i].name);
		next = f[i].offset + f[i].size;
	}
	EXPECT_EQ(type_size, next) TH_LOG("%s: tail padding", type);
	EXPECT_EQ(0, type_size % 8) TH_LOG("%s: size not 8-multiple", type);
}

#define CHECK_LAYOUT(size_first, type, ...) do {			\
	static const struct field fields[] = { __VA_ARGS__ };		\
	check_tiling(_metadata, #type, sizeof(type), fields,		\
		     sizeof(fields) / sizeof(fields[0]), size_first);	\
} while (0)
#define CHECK(type, ...) CHECK_LAYOUT(true, type, __VA_ARGS__)
#define CHECK_ENTRY(type, ...) CHECK_LAYOUT(false, type, __VA_ARGS__)

TEST(version)
{
	CHECK(struct codeheap_version,
	      F(struct codeheap_version, size),
	      F(struct codeheap_version, flags),
	      F(struct codeheap_version, api_version),
	      F(struct codeheap_version, arch),
	      F(struct codeheap_version, features),
	      F(struct codeheap_version, page_size),
	      F(struct codeheap_version, code_align),
	      F(struct codeheap_version, jt_near_slot_size),
	      F(struct codeheap_version, jt_far_slot_size),
	      F(struct codeheap_version, max_reservation_size),
	      F(struct codeheap_version, max_heap_committed),
	      F(struct codeheap_version, max_total_committed),
	      F(struct codeheap_version, max_batch),
	      F(struct codeheap_version, __reserved),
	      F(struct codeheap_version, max_user_committed));
	/* The first published size is part of the ABI; fields only append. */
	EXPECT_EQ(72, offsetof(struct codeheap_version, __reserved) + 4);
	EXPECT_EQ(80, sizeof(struct codeheap_version));
}

#define S(type) struct codeheap_##type
#define FF(type, m) F(S(type), m)

TEST(heap_core)
{
	CHECK(S(reserve), FF(reserve, size), FF(reserve, flags),
	      FF(reserve, len), FF(reserve, hint), FF(reserve, near),
	      FF(reserve, range), FF(reserve, addr));
	CHECK(S(release), FF(release, size), FF(release, flags),
	      FF(release, addr));
	CHECK(S(range), FF(range, size), FF(range, flags), FF(range, addr),
	      FF(range, len), FF(range, prot), FF(range, __reserved));
	CHECK(S(alloc), FF(alloc, size), FF(alloc, flags), FF(alloc, len),
	      FF(alloc, align), FF(alloc, lo), FF(alloc, hi), FF(alloc, tag),
	      FF(alloc, addr));
	CHECK(S(addr), FF(addr, size), FF(addr, flags), FF(addr, addr));
	CHECK(S(lookup), FF(lookup, size), FF(lookup, flags),
	      FF(lookup, addr), FF(lookup, start), FF(lookup, len),
	      FF(lookup, tag), FF(lookup, alloc_flags),
	      FF(lookup, __reserved));
	CHECK(S(write), FF(write, size), FF(write, flags), FF(write, count),
	      FF(write, __reserved), FF(write, entries));
	CHECK(S(stats), FF(stats, size), FF(stats, flags),
	      FF(stats, reserved_bytes), FF(stats, committed_bytes),
	      FF(stats, allocated_bytes), FF(stats, freed_bytes),
	      FF(stats, peak_allocated_bytes), FF(stats, peak_committed_bytes),
	      FF(stats, largest_free), FF(stats, allocations),
	      FF(stats, reservations), FF(stats, jump_tables),
	      FF(stats, __reserved));
	CHECK(S(jt_create), FF(jt_create, size), FF(jt_create, flags),
	      FF(jt_create, nr_slots), FF(jt_create, __reserved),
	      FF(jt_create, default_target), FF(jt_create, lo),
	      FF(jt_create, hi), FF(jt_create, base), FF(jt_create, id),
	      FF(jt_create, slot_size));
	CHECK(S(jt_patch), FF(jt_patch, size), FF(jt_patch, flags),
	      FF(jt_patch, id), FF(jt_patch, count), FF(jt_patch, entries));
	CHECK(S(jt_query), FF(jt_query, size), FF(jt_query, flags),
	      FF(jt_query, id), FF(jt_query, slot), FF(jt_query, target));
	CHECK(S(jt_destroy), FF(jt_destroy, size), FF(jt_destroy, flags),
	      FF(jt_destroy, id), FF(jt_destroy, __reserved));
}

TEST(batch_entries)
{
	CHECK_ENTRY(S(write_entry), FF(write_entry, dst), FF(write_entry, src),
		    FF(write_entry, len));
	CHECK_ENTRY(S(jt_patch_entry), FF(jt_patch_entry, slot),
		    FF(jt_patch_entry, __reserved),
		    FF(jt_patch_entry, target));
}

/* The ioctl numbers carry no size, so they are the same for every ABI. */
TEST(ioctl_numbers)
{
	EXPECT_EQ(0xBC00u, (unsigned int)CODEHEAP_IOC_VERSION);
	EXPECT_EQ(0xBC0Fu, (unsigned int)CODEHEAP_IOC_JT_DESTROY);
}

TEST_HARNESS_MAIN
