// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi structs have one layout for every ABI.
 *
 * Built for -m64 and -m32 (and run under ASan+UBSan like every host test).
 * Each struct is checked field by field: the fields tile the struct with no
 * hole, every __u64 sits at a multiple of 8 and the size is a multiple of 8.
 * Those hold under the i386 ABI (where __u64 is only 4-aligned) exactly when
 * its layout equals the x86-64 one, so both builds passing means 32-bit
 * processes share the 64-bit layout and need no compat translation.  The
 * header is also compiled with -Wpadded as an error.
 */
#include <stddef.h>
#include <stdint.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"
#include <linux/codeheap.h>
#pragma GCC diagnostic pop

#include "kselftest_harness.h"

struct field {
	const char *name;
	size_t offset, size;
};

#define F(type, member) { #member, offsetof(type, member),		\
			   sizeof(((type *)0)->member) }

static void check_tiling(struct __test_metadata *_metadata,
			 const char *type, size_t type_size,
			 const struct field *f, size_t n)
{
	size_t i, next = 0;

	ASSERT_EQ(0, strcmp(f[0].name, "size")) TH_LOG("%s", type);
	ASSERT_EQ(4, f[0].size) TH_LOG("%s", type);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(next, f[i].offset)
			TH_LOG("%s.%s: hole before it", type, f[i].name);
		EXPECT_TRUE(f[i].size == 4 || f[i].size == 8)
			TH_LOG("%s.%s: not a __u32/__u64", type, f[i].name);
		EXPECT_EQ(0, f[i].offset % f[i].size)
			TH_LOG("%s.%s: misaligned", type, f[i].name);
		next = f[i].offset + f[i].size;
	}
	EXPECT_EQ(type_size, next) TH_LOG("%s: tail padding", type);
	EXPECT_EQ(0, type_size % 8) TH_LOG("%s: size not 8-multiple", type);
}

#define CHECK(type, ...) do {						\
	static const struct field fields[] = { __VA_ARGS__ };		\
	check_tiling(_metadata, #type, sizeof(type), fields,		\
		     sizeof(fields) / sizeof(fields[0]));		\
} while (0)

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
	      F(struct codeheap_version, __reserved));
	/* The first published size is part of the ABI. */
	EXPECT_EQ(72, sizeof(struct codeheap_version));
}

/* The ioctl numbers carry no size, so they are the same for every ABI. */
TEST(ioctl_numbers)
{
	EXPECT_EQ(0xBC00u, (unsigned int)CODEHEAP_IOC_VERSION);
}

TEST_HARNESS_MAIN
