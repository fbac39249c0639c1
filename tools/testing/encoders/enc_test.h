/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the host tests of the jump-slot encoders
 * (module/arch/x86_64.c and module/arch/arm64.c): a seeded PRNG, explicit
 * little-endian byte access (so expected bytes never come from the
 * encoders' own u64 arithmetic), and a runner that feeds bytes to objdump
 * and returns its disassembly line by line.
 */
#ifndef _ENC_TEST_H
#define _ENC_TEST_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "encode.h"

#define SZ_2G		(1ULL << 31)
#define SZ_4G		(1ULL << 32)
#define SZ_128M		(1ULL << 27)

/* splitmix64: small, seeded, the same sequence on every run. */
static inline u64 rnd_next(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Little-endian byte access, one byte at a time. */
static inline void put_le(u8 *p, u64 v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

static inline u64 get_le(const u8 *p, int n)
{
	u64 v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The bytes a native store of @v puts in memory, as the kernel will. */
static inline void store64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void store32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void store_far(u8 *p, const struct codeheap_far_slot *far)
{
	store64(p, far->code);
	store64(p + 8, far->target);
}

static inline void load_far(struct codeheap_far_slot *far, const u8 *p)
{
	memcpy(&far->code, p, 8);
	memcpy(&far->target, p + 8, 8);
}

struct dis_line {
	u64 addr;
	char text[96];
};

struct dis {
	struct dis_line *line;
	size_t n;
	int status;	/* objdump's exit status as from pclose() */
};

/* Collapse runs of blanks to one space and drop trailing blanks. */
static inline void squeeze(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	int blank = 0;

	for (; *src && *src != '\n'; src++) {
		if (isspace((unsigned char)*src)) {
			blank = 1;
			continue;
		}
		if (blank && n && n + 1 < size)
			dst[n++] = ' ';
		blank = 0;
		if (n + 1 < size)
			dst[n++] = *src;
	}
	dst[n] = '\0';
}

/*
 * Disassemble @len bytes loaded at @vma with "@objdump -D -b binary -m
 * @machine --adjust-vma=@vma".  Returns 0 and fills @d (free with
 * dis_free()), or -1 if the tool could not be run at all.
 */
static inline int disassemble(const char *objdump, const char *machine,
			      u64 vma, const void *buf, size_t len,
			      struct dis *d)
{
	char path[] = "/tmp/codeheap-enc-XXXXXX";
	char cmd[512], raw[512];
	size_t cap = 0;
	FILE *f;
	int fd;

	memset(d, 0, sizeof(*d));
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "%s -D -b binary -m %s --adjust-vma=0x%llx --no-show-raw-insn %s 2>&1",
		 objdump, machine, (unsigned long long)vma, path);
	f = popen(cmd, "r");
	if (!f) {
		unlink(path);
		return -1;
	}
	while (fgets(raw, sizeof(raw), f)) {
		unsigned long long addr;
		char *colon, *end;

		/* Instruction lines: "<blanks>hexaddr:<tab>text". */
		addr = strtoull(raw, &end, 16);
		colon = end;
		if (end == raw || *colon != ':' || colon[1] != '\t')
			continue;
		if (d->n == cap) {
			cap = cap ? 2 * cap : 1024;
			d->line = realloc(d->line, cap * sizeof(*d->line));
			if (!d->line)
				abort();
		}
		d->line[d->n].addr = addr;
		squeeze(d->line[d->n].text, sizeof(d->line[d->n].text),
			colon + 2);
		d->n++;
	}
	d->status = pclose(f);
	unlink(path);
	return 0;
}

static inline void dis_free(struct dis *d)
{
	free(d->line);
	memset(d, 0, sizeof(*d));
}

/* The text of the instruction at @addr, or NULL if no line starts there. */
static inline const char *dis_at(const struct dis *d, u64 addr)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->line[mid].addr == addr)
			return d->line[mid].text;
		if (d->line[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

#endif /* _ENC_TEST_H */
