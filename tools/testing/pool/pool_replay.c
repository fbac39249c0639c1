// SPDX-License-Identifier: GPL-2.0
/*
 * Fixed-seed replay of the pool's differential driver, for make test:
 * runs every file of the given corpus directories (or files), then a fixed
 * set of inputs generated from fixed seeds, and reports each as one TAP
 * test.  A disagreement between pool and model fails that test only.
 *
 *   pool_replay CORPUS_DIR_OR_FILE...
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_driver.h"

#define GEN_STREAMS	64
#define GEN_BYTES	4096
#define MAX_FILE	(1 << 20)

static jmp_buf out;
static const char *why;

static void replay_fail(const char *msg)
{
	why = msg;
	longjmp(out, 1);
}

static int pass, failed, total;
static size_t total_ops;

static void run(const char *name, const uint8_t *data, size_t size)
{
	total++;
	if (setjmp(out)) {
		printf("# %s: %s\n", name, why);
		printf("not ok %d %s\n", total, name);
		failed++;
		return;
	}
	total_ops += pool_driver_run(data, size);
	printf("ok %d %s\n", total, name);
	pass++;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Names of the files to replay: a directory's files sorted, or the file. */
static int list(const char *path, char ***names)
{
	struct dirent **ents;
	int n, i, k = 0;

	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		*names = malloc(sizeof(char *));
		(*names)[0] = strdup(path);
		return 1;
	}
	*names = calloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			size_t len = strlen(path) + strlen(ents[i]->d_name) + 2;

			(*names)[k] = malloc(len);
			snprintf((*names)[k], len, "%s/%s", path,
				 ents[i]->d_name);
			k++;
		}
		free(ents[i]);
	}
	free(ents);
	return k;
}

int main(int argc, char **argv)
{
	static uint8_t buf[MAX_FILE];
	char **names[64];
	int counts[64], nargs = argc - 1, planned = GEN_STREAMS, a, i;
	uint64_t seed;
	char name[64];

	pool_driver_fail = replay_fail;
	if (nargs > 64)
		nargs = 64;
	for (a = 0; a < nargs; a++) {
		counts[a] = list(argv[a + 1], &names[a]);
		planned += counts[a];
	}
	printf("TAP version 13\n1..%d\n", planned);
	for (a = 0; a < nargs; a++) {
		for (i = 0; i < counts[a]; i++) {
			const char *path = names[a][i];
			const char *base = strrchr(path, '/');
			FILE *f = fopen(path, "rb");
			size_t size = 0;

			snprintf(name, sizeof(name), "corpus/%s",
				 base ? base + 1 : path);
			if (!f) {
				total++;
				failed++;
				printf("not ok %d %s # cannot open\n", total,
				       name);
				free(names[a][i]);
				continue;
			}
			size = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			run(name, buf, size);
			free(names[a][i]);
		}
		free(names[a]);
	}
	for (i = 0; i < GEN_STREAMS; i++) {
		seed = 0x636f646568656170ULL + i;	/* "codeheap" + i */
		for (a = 0; a < GEN_BYTES; a += 8) {
			uint64_t r = splitmix64(&seed);

			memcpy(buf + a, &r, 8);
		}
		snprintf(name, sizeof(name), "generated/seed-%d", i);
		run(name, buf, GEN_BYTES);
	}
	printf("# %zu operations replayed\n", total_ops);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       pass, failed);
	return failed ? 1 : 0;
}
