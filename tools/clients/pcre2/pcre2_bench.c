// SPDX-License-Identifier: GPL-2.0
/*
 * PCRE2's JIT end to end, for make bench: JIT-compile + first match of a
 * fixed corpus of patterns, then the free, per pattern, with whichever
 * executable allocator this binary's libpcre2-8 was built with (stock
 * sljit, sljit's dual map, or codeheap: tools/clients/pcre2/build.sh).
 *
 *   pcre2_bench NAME TESTINPUT [ROUNDS]
 *
 * The corpus: the patterns of PCRE2's testdata/testinput1 written on one
 * line as /.../ with no modifier but i, m, s and x, each with the first
 * subject line after it, that compile and JIT-compile; the first
 * CORPUS_MAX of them.  pcre2_compile() is not timed (it is the same for
 * every allocator); pcre2_jit_compile() plus the first pcre2_match() is,
 * and pcre2_code_free() apart.  Under QEMU -icount shift=0 the clock
 * counts guest instructions (tools/bench/run), so the figures are
 * instruction counts.
 *
 * Prints "R key median min n" lines as codeheap_bench does, the keys
 * pcre2.NAME.{all,small,medium,large,free}: the mean per pattern over the
 * patterns of each JIT code size (small: under 1 KiB, medium: under
 * 4 KiB, large: the rest), median and minimum over ROUNDS rounds.  Each
 * pattern's code is freed before the next is compiled, so an allocator
 * that gives pages back pays for them every time; pcre2.NAME.live16.*
 * repeat the rows with the last 16 patterns kept (a program with a few
 * regexes alive).  Linked with codeheap_sljit.c, a second pass times the
 * allocator's own calls (pcre2.NAME.pub.*: allocation, shadow and
 * publication, the free apart as pcre2.NAME.pub.free).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcre2.h>

#define CORPUS_MAX 300
#define MAX_ROUNDS 9
#define LIVE 16

/* In codeheap_sljit.c; absent (NULL) in the other builds. */
extern int codeheap_sljit_timing __attribute__((weak));
extern uint64_t codeheap_sljit_alloc_ns __attribute__((weak));
extern uint64_t codeheap_sljit_free_ns __attribute__((weak));

struct pattern {
	char *re;
	uint32_t opts;
	char *subject;
	size_t jit_size;
};

static struct pattern corpus[CORPUS_MAX];
static int ncorpus;

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static pcre2_code *compile(const struct pattern *p)
{
	PCRE2_SIZE off;
	int err;

	return pcre2_compile((PCRE2_SPTR)p->re, PCRE2_ZERO_TERMINATED, p->opts,
			     &err, &off, NULL);
}

/* testinput1's one-line patterns and their first subjects. */
static void load(const char *path)
{
	char line[4096], *re = NULL;
	uint32_t opts = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(1);
	}
	while (ncorpus < CORPUS_MAX && fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		char *end, *m;

		line[n] = 0;
		if (line[0] == '/') {
			free(re);
			re = NULL;
			end = strrchr(line, '/');
			if (end == line)
				continue;
			opts = 0;
			for (m = end + 1; *m; m++) {
				if (*m == 'i')
					opts |= PCRE2_CASELESS;
				else if (*m == 'm')
					opts |= PCRE2_MULTILINE;
				else if (*m == 's')
					opts |= PCRE2_DOTALL;
				else if (*m == 'x')
					opts |= PCRE2_EXTENDED;
				else
					break;
			}
			if (*m)
				continue;
			*end = 0;
			re = strdup(line + 1);
		} else if (re && !strncmp(line, "    ", 4) && line[4] &&
			   line[4] != '\\') {
			struct pattern p = { re, opts, strdup(line + 4), 0 };
			pcre2_code *c = compile(&p);

			re = NULL;
			if (c && !pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) &&
			    !pcre2_pattern_info(c, PCRE2_INFO_JITSIZE,
						&p.jit_size) && p.jit_size) {
				corpus[ncorpus++] = p;
			} else {
				free(p.re);
				free(p.subject);
			}
			pcre2_code_free(c);
		} else if (line[0] == 0) {
			free(re);
			re = NULL;
		}
	}
	free(re);
	fclose(f);
}

static const char *size_class(size_t jit_size)
{
	return jit_size < 1024 ? "small" : jit_size < 4096 ? "medium" : "large";
}

static const char *const classes[] = { "all", "small", "medium", "large" };

/* One round: per-class mean instructions of JIT compile + first match. */
static void round_once(int live, double run[4], double *freed, double pub[4],
		       double *pub_free)
{
	double sum[4] = { 0 }, psum[4] = { 0 }, fsum = 0, pfsum = 0;
	pcre2_code *ring[LIVE] = { NULL };
	int cnt[4] = { 0 };
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);

	for (int i = 0; i < ncorpus + live; i++) {
		const struct pattern *p = &corpus[i % ncorpus];
		pcre2_code *c = compile(p);
		uint64_t t0, t1, t2, t3, a0 = 0, f0 = 0;
		int k;

		if (!c) {
			fprintf(stderr, "pcre2_bench: %s stopped compiling\n",
				p->re);
			exit(1);
		}
		if (&codeheap_sljit_alloc_ns) {
			a0 = codeheap_sljit_alloc_ns;
			f0 = codeheap_sljit_free_ns;
		}
		t0 = now();
		if (pcre2_jit_compile(c, PCRE2_JIT_COMPLETE)) {
			fprintf(stderr, "pcre2_bench: JIT of %s failed\n", p->re);
			exit(1);
		}
		pcre2_match(c, (PCRE2_SPTR)p->subject, PCRE2_ZERO_TERMINATED,
			    0, 0, md, NULL);
		t1 = now();
		if (live) {
			/* Free the code of LIVE patterns ago instead. */
			pcre2_code *old = ring[i % LIVE];

			ring[i % LIVE] = c;
			c = old;
		}
		t2 = now();
		pcre2_code_free(c);
		t3 = now();
		if (i < live)
			continue;	/* filling the ring */
		for (k = 0; k < 4; k++) {
			if (k && strcmp(classes[k], size_class(p->jit_size)))
				continue;
			sum[k] += t1 - t0;
			cnt[k]++;
			if (&codeheap_sljit_alloc_ns)
				psum[k] += codeheap_sljit_alloc_ns - a0;
		}
		fsum += t3 - t2;
		if (&codeheap_sljit_free_ns)
			pfsum += codeheap_sljit_free_ns - f0;
	}
	for (int i = 0; i < LIVE; i++)
		pcre2_code_free(ring[i]);
	for (int k = 0; k < 4; k++) {
		run[k] = cnt[k] ? sum[k] / cnt[k] : 0;
		pub[k] = cnt[k] ? psum[k] / cnt[k] : 0;
	}
	*freed = ncorpus ? fsum / ncorpus : 0;
	*pub_free = ncorpus ? pfsum / ncorpus : 0;
	pcre2_match_data_free(md);
}

static void emit(const char *name, const char *key, double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("R pcre2.%s.%s %.1f %.1f %d\n", name, key, v[n / 2], v[0], n);
}

int main(int argc, char **argv)
{
	double run[MAX_ROUNDS][4], freed[MAX_ROUNDS], pub[MAX_ROUNDS][4];
	double pfree[MAX_ROUNDS], col[MAX_ROUNDS];
	int rounds = argc > 3 ? atoi(argv[3]) : 5, pass, r, k;
	int cnt[4] = { 0 };
	char key[64];

	if (argc < 3 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: pcre2_bench NAME TESTINPUT [ROUNDS 1-%d]\n",
			MAX_ROUNDS);
		return 2;
	}
	load(argv[2]);
	for (int i = 0; i < ncorpus; i++) {
		cnt[0]++;
		for (k = 1; k < 4; k++)
			cnt[k] += !strcmp(classes[k], size_class(corpus[i].jit_size));
	}
	printf("N pcre2.%s: %d patterns (small %d, medium %d, large %d)\n",
	       argv[1], cnt[0], cnt[1], cnt[2], cnt[3]);
	/*
	 * Passes 0 and 1 untimed inside, alone and with LIVE patterns kept;
	 * 2 and 3 (codeheap only) the same, timing the allocator.
	 */
	for (pass = 0; pass < (&codeheap_sljit_timing ? 4 : 2); pass++) {
		int live = pass % 2 ? LIVE : 0, pub_pass = pass >= 2;
		const char *pre = live ? "live16." : "";

		if (pub_pass)
			codeheap_sljit_timing = 1;
		/* A warm-up round first. */
		round_once(live, run[0], &freed[0], pub[0], &pfree[0]);
		for (r = 0; r < rounds; r++)
			round_once(live, run[r], &freed[r], pub[r], &pfree[r]);
		for (k = 0; k < 4; k++) {
			if (!cnt[k])
				continue;
			for (r = 0; r < rounds; r++)
				col[r] = pub_pass ? pub[r][k] : run[r][k];
			snprintf(key, sizeof(key), "%s%s%s", pre,
				 pub_pass ? "pub." : "", classes[k]);
			emit(argv[1], key, col, rounds);
		}
		for (r = 0; r < rounds; r++)
			col[r] = pub_pass ? pfree[r] : freed[r];
		snprintf(key, sizeof(key), "%s%s", pre,
			 pub_pass ? "pub.free" : "free");
		emit(argv[1], key, col, rounds);
	}
	return 0;
}
