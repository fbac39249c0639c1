// SPDX-License-Identifier: GPL-2.0
/*
 * The example JIT (tools/examples/toyjit), linked in from source: lazy
 * compilation through the jump table's default stub, tier-up, freeing of
 * replaced code at the safe point, the LOOKUP-named stack walk, results
 * equal to an interpreter's, teardown leaving the heap empty, and the
 * demo's output as `make demo` shows it.  x86-64 only (the JIT emits
 * x86-64 code), so the Makefile builds it for 64-bit only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "codeheap.h"
#include "toyjit.h"
#include "demo.h"

static struct toyjit jit;

FIXTURE(toy) {
	struct codeheap *h;
	struct toyjit *j;
};

FIXTURE_SETUP(toy)
{
	char err[128];

	ASSERT_EQ(0, codeheap_open(&self->h, 0));
	self->j = &jit;
	ASSERT_EQ(0, toyjit_init(self->j, self->h, toyjit_demo_program, 100,
				 NULL, err, sizeof(err))) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(toy)
{
	toyjit_fini(self->j);
	codeheap_close(self->h);
}

static void *slot_target(struct toyjit *j, int fn)
{
	void *t = (void *)-1;

	if (codeheap_jt_query(j->h, &j->jt, fn, &t))
		return (void *)-1;
	return t;
}

TEST_F(toy, lazy_compile_on_first_call)
{
	struct toyjit *j = self->j;
	int sq = toyjit_find(j, "sq"), hyp = toyjit_find(j, "hyp");
	int64_t args[2] = { 5, 12 }, r;
	int i;

	/* Nothing compiled: every slot at the lazy stub. */
	for (i = 0; i < j->nfns; i++) {
		EXPECT_EQ(j->stub, slot_target(j, i));
		EXPECT_EQ(0, j->fns[i].tier);
	}
	ASSERT_EQ(0, toyjit_call(j, hyp, args, 2, &r));
	EXPECT_EQ(169, r);
	/* hyp and sq compiled (sq through the stub from hyp's code). */
	EXPECT_EQ(2, j->compiled);
	EXPECT_EQ(1, j->fns[sq].tier);
	EXPECT_EQ(j->fns[hyp].code, slot_target(j, hyp));
	EXPECT_EQ(j->fns[sq].code, slot_target(j, sq));
	EXPECT_EQ(j->stub, slot_target(j, toyjit_find(j, "fib")));
	ASSERT_EQ(0, toyjit_call(j, hyp, args, 2, &r));
	EXPECT_EQ(169, r);
	EXPECT_EQ(2, j->compiled);
}

TEST_F(toy, tier_up_patches_and_frees_old_code)
{
	struct toyjit *j = self->j;
	int fib = toyjit_find(j, "fib");
	struct codeheap_lookup l;
	struct codeheap_stats st;
	int64_t n = 10, r;
	void *tier1;

	/* fib(10) makes 177 calls: tier-up at the 100th, mid-recursion. */
	ASSERT_EQ(0, toyjit_call(j, fib, &(int64_t){ 1 }, 1, &r));
	tier1 = j->fns[fib].code;
	ASSERT_EQ(0, codeheap_lookup(j->h, tier1, &l));
	EXPECT_EQ(TOYJIT_TAG(1, fib), l.tag);
	ASSERT_EQ(0, toyjit_call(j, fib, &n, 1, &r));
	EXPECT_EQ(55, r);
	EXPECT_EQ(1, j->tiered_up);
	EXPECT_EQ(2, j->fns[fib].tier);
	EXPECT_NE(tier1, j->fns[fib].code);
	EXPECT_EQ(j->fns[fib].code, slot_target(j, fib));
	ASSERT_EQ(0, codeheap_lookup(j->h, j->fns[fib].code, &l));
	EXPECT_EQ(TOYJIT_TAG(2, fib), l.tag);
	/* Tier 1 was freed at the safe point: gone from the heap. */
	EXPECT_EQ(1, j->freed);
	EXPECT_EQ(NULL, j->fns[fib].retired);
	EXPECT_EQ(-ENOENT, codeheap_lookup(j->h, tier1, &l));
	ASSERT_EQ(0, codeheap_stats(j->h, &st));
	EXPECT_LT(0, st.freed_bytes);
	/* Tier 2 does not count calls and stays. */
	ASSERT_EQ(0, toyjit_call(j, fib, &n, 1, &r));
	EXPECT_EQ(55, r);
	EXPECT_EQ(100, j->fns[fib].calls);
	EXPECT_EQ(1, j->tiered_up);
}

TEST_F(toy, matches_interpreter)
{
	struct toyjit *j = self->j;
	int hyp = toyjit_find(j, "hyp"), fib = toyjit_find(j, "fib");
	int64_t a[2], r;
	int i;

	/* 300 calls of hyp: both tiers, large and negative values. */
	for (i = 0; i < 300; i++) {
		a[0] = (i * 7919LL) - 1000000;
		a[1] = -(int64_t)i * 3037000499LL;
		ASSERT_EQ(0, toyjit_call(j, hyp, a, 2, &r));
		ASSERT_EQ(toyjit_interpret(j, hyp, a), r) TH_LOG("i %d", i);
	}
	EXPECT_EQ(2, j->fns[hyp].tier);
	for (a[0] = -3; a[0] <= 22; a[0]++) {
		ASSERT_EQ(0, toyjit_call(j, fib, a, 1, &r));
		ASSERT_EQ(toyjit_interpret(j, fib, a), r);
	}
	EXPECT_EQ(0, j->error);
}

TEST_F(toy, stack_walk_names_frames)
{
	struct toyjit *j = self->j;
	int walk = toyjit_find(j, "walk");
	int64_t n = 3, r;

	ASSERT_EQ(0, toyjit_call(j, walk, &n, 1, &r));
	EXPECT_EQ(3, r);
	EXPECT_STREQ("walk <- walk <- walk <- walk", j->trace);
	ASSERT_EQ(0, toyjit_call(j, toyjit_find(j, "main"), NULL, 0, &r));
	EXPECT_STREQ("walk <- walk <- walk <- main", j->trace);
}

TEST_F(toy, teardown_empties_the_heap)
{
	struct codeheap_stats st;
	int64_t r;

	ASSERT_EQ(0, toyjit_call(self->j, toyjit_find(self->j, "main"), NULL,
				 0, &r));
	ASSERT_EQ(0, codeheap_stats(self->h, &st));
	EXPECT_EQ(1, st.jump_tables);
	/* stub, entry, table, main, hyp, sq, fib (tier 2), walk */
	EXPECT_EQ(8, st.allocations);
	toyjit_fini(self->j);
	ASSERT_EQ(0, codeheap_stats(self->h, &st));
	EXPECT_EQ(0, st.allocations);
	EXPECT_EQ(0, st.jump_tables);
}

TEST(bad_programs)
{
	static const struct { const char *src, *err; } bad[] = {
		{ "fn f(x) = g(x)", "line 1: 'g' is called but never defined" },
		{ "fn f(x) = x +", "line 1: expected an expression" },
		{ "fn f(x) = y", "line 1: unknown name 'y'" },
		{ "fn f(x) = x\nfn g() = f()", "line 2: 'f' takes 1 arguments, not 0" },
		{ "fn f(a, b, c, d, e) = a", "line 1: more than 4 parameters" },
		{ "fn f() = 1\nfn f() = 2", "line 2: 'f' defined twice" },
		{ "", "line 1: no functions" },
	};
	struct codeheap *h;
	char err[128];
	unsigned int i;

	ASSERT_EQ(0, codeheap_open(&h, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, toyjit_init(&jit, h, bad[i].src, 100, NULL,
					       err, sizeof(err)));
		EXPECT_STREQ(bad[i].err, err);
	}
	codeheap_close(h);
}

/* What `make demo` prints, checked line by line where it is stable. */
TEST(demo_output)
{
	static const char * const want[] = {
		"toyjit program:\n",
		"  fn main()    = hyp(3, 4) + fib(20) + walk(2)\n",
		"  fn hyp(a, b) = ",
		"  fn sq(x)     = ",
		"  fn fib(n)    = ",
		"  fn walk(n)   = ",
		"  fn unused(x) = ",
		"toyjit: 6 functions, 6 jump slots at ",
		"call main()\n",
		"  compile  main   tier 1 ",
		"  compile  hyp    tier 1 ",
		"  compile  sq     tier 1 ",
		"  compile  fib    tier 1 ",
		"  tier-up  fib    tier 2 ",
		"  compile  walk   tier 1 ",
		"  trace    walk <- walk <- walk <- main\n",
		"  free     fib    tier 1 ",
		"main() = 6792 (interpreter: 6792)\n",
		"  trace    walk <- walk <- walk <- main\n",
		"main() again = 6792, 0 compiled (every slot patched)\n",
		"fib(0..25) in tier 2 match the interpreter; fib(25) = 75025\n",
		"unused: never called, never compiled, slot -> lazy stub\n",
		"heap stats: 8 allocations (",
		"            committed ",
	};
	struct codeheap *h;
	char *out = NULL, *p;
	size_t len = 0;
	unsigned int i;
	FILE *f;

	ASSERT_EQ(0, codeheap_open(&h, 0));
	f = open_memstream(&out, &len);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(0, toyjit_demo(h, f));
	fclose(f);
	codeheap_close(h);
	p = out;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ASSERT_EQ(0, strncmp(p, want[i], strlen(want[i])))
			TH_LOG("line %u: want '%s', got:\n%s", i, want[i], p);
		p = strchr(p, '\n');
		ASSERT_NE(NULL, p);
		p++;
	}
	EXPECT_EQ('\0', *p);
	free(out);
}

TEST_HARNESS_MAIN
