// SPDX-License-Identifier: GPL-2.0
/*
 * toyjit's demo: what `make demo` runs in the VM.
 *
 *   toyjit [--perf-map] [FILE]
 *
 * Without FILE it runs the built-in program below and shows lazy
 * compilation, tier-up, freeing of replaced code, a stack walk named by
 * LOOKUP and the heap's STATS.  With FILE it compiles FILE's functions and
 * prints main().  --perf-map writes /tmp/perf-<pid>.map for perf.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "toyjit.h"
#include "demo.h"

const char toyjit_demo_program[] =
	"fn main()    = hyp(3, 4) + fib(20) + walk(2)\n"
	"fn hyp(a, b) = sq(a) + sq(b)\n"
	"fn sq(x)     = x * x\n"
	"fn fib(n)    = if n < 2 then n else fib(n - 1) + fib(n - 2)\n"
	"fn walk(n)   = if n == 0 then trace(0) else walk(n - 1) + 1\n"
	"fn unused(x) = unused(x - 1)\n";

static void print_kib(FILE *out, const char *what, unsigned long long n)
{
	fprintf(out, "%s %llu KiB", what, n >> 10);
}

static void print_stats(FILE *out, struct codeheap *h)
{
	struct codeheap_stats st;
	int ret = codeheap_stats(h, &st);

	if (ret) {
		fprintf(out, "heap stats: %s\n", strerror(-ret));
		return;
	}
	fprintf(out, "heap stats: %u allocations (%llu bytes), %llu bytes freed, %u jump table%s\n",
		st.allocations, (unsigned long long)st.allocated_bytes,
		(unsigned long long)st.freed_bytes, st.jump_tables,
		st.jump_tables == 1 ? "" : "s");
	print_kib(out, "            committed", st.committed_bytes);
	print_kib(out, " of", st.reserved_bytes);
	fprintf(out, " reserved in %u code space%s\n", st.reservations,
		st.reservations == 1 ? "" : "s");
}

int toyjit_demo(struct codeheap *h, FILE *out)
{
	static struct toyjit j;
	const char *src, *eol;
	int64_t r, want, n;
	void *target;
	char err[128];
	int ret, fn, i;

	ret = toyjit_init(&j, h, toyjit_demo_program, 100, out, err,
			  sizeof(err));
	if (ret) {
		fprintf(out, "toyjit: %s\n", err);
		return 1;
	}
	fprintf(out, "toyjit program:\n");
	for (src = toyjit_demo_program; *src; src = eol + 1) {
		eol = strchr(src, '\n');
		fprintf(out, "  %.*s\n", (int)(eol - src), src);
	}
	fprintf(out, "toyjit: %d functions, %u jump slots at %p, all -> lazy stub %p\n",
		j.nfns, j.jt.nr_slots, j.jt.base, j.stub);

	fn = toyjit_find(&j, "main");
	fprintf(out, "call main()\n");
	ret = toyjit_call(&j, fn, NULL, 0, &r);
	want = toyjit_interpret(&j, fn, NULL);
	fprintf(out, "main() = %" PRId64 " (interpreter: %" PRId64 ")%s\n",
		r, want, ret ? " ERROR" : "");
	if (ret || r != want)
		goto fail;

	i = j.compiled;
	ret = toyjit_call(&j, fn, NULL, 0, &r);
	fprintf(out, "main() again = %" PRId64 ", %u compiled (every slot patched)\n",
		r, j.compiled - i);
	if (ret || r != want || j.compiled != (unsigned int)i)
		goto fail;

	fn = toyjit_find(&j, "fib");
	for (n = 0; n <= 25; n++) {
		ret = toyjit_call(&j, fn, &n, 1, &r);
		if (ret || r != toyjit_interpret(&j, fn, &n))
			goto fail;
	}
	fprintf(out, "fib(0..25) in tier %d match the interpreter; fib(25) = %" PRId64 "\n",
		j.fns[fn].tier, r);

	fn = toyjit_find(&j, "unused");
	ret = codeheap_jt_query(h, &j.jt, fn, &target);
	fprintf(out, "unused: never called, never compiled, slot -> %s\n",
		ret ? strerror(-ret) : target == j.stub ? "lazy stub" : "?");
	if (ret || target != j.stub)
		goto fail;

	print_stats(out, h);
	toyjit_fini(&j);
	return 0;
fail:
	fprintf(out, "toyjit: FAILED\n");
	toyjit_fini(&j);
	return 1;
}

#ifndef TOYJIT_NO_MAIN
static int run_file(struct codeheap *h, const char *path)
{
	static struct toyjit j;
	static char src[65536];
	char err[128];
	int64_t r;
	size_t n;
	FILE *f;
	int ret, fn;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "toyjit: %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(src, 1, sizeof(src) - 1, f);
	fclose(f);
	src[n] = '\0';
	ret = toyjit_init(&j, h, src, 100, NULL, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "toyjit: %s: %s\n", path, err);
		return 1;
	}
	fn = toyjit_find(&j, "main");
	if (fn < 0 || j.fns[fn].nparams) {
		fprintf(stderr, "toyjit: %s: no main()\n", path);
		toyjit_fini(&j);
		return 1;
	}
	ret = toyjit_call(&j, fn, NULL, 0, &r);
	if (!ret)
		printf("%" PRId64 "\n", r);
	else
		fprintf(stderr, "toyjit: %s\n", strerror(-ret));
	toyjit_fini(&j);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int flags = 0;
	struct codeheap *h;
	int ret, i = 1;

	if (argc > 1 && !strcmp(argv[1], "--perf-map")) {
		flags |= CODEHEAP_OPEN_PERF_MAP;
		i++;
	}
	if (argc - i > 1 || (argc > i && argv[i][0] == '-')) {
		fprintf(stderr, "usage: toyjit [--perf-map] [FILE]\n");
		return 2;
	}
	ret = codeheap_open(&h, flags);
	if (ret) {
		fprintf(stderr, "toyjit: cannot open %s: %s\n", CODEHEAP_DEVICE,
			ret == -ENOENT ? "the codeheap module is not loaded" :
			strerror(-ret));
		return 1;
	}
	if (argc > i)
		ret = run_file(h, argv[i]);
	else
		ret = toyjit_demo(h, stdout);
	codeheap_close(h);
	return ret;
}
#endif
