/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toyjit: a small lazy, tiering x86-64 JIT for a toy language, built only
 * on libcodeheap.  Walkthrough: Documentation/writing-a-jit.rst.
 *
 * The language: integer functions of up to four parameters,
 *
 *	# comment
 *	fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
 *
 * with + - *, comparisons (< <= == != > >=, giving 0 or 1), unary minus,
 * if/then/else, calls (also to functions defined later), parentheses and
 * trace(e), which returns e and records the JIT stack it was called from.
 *
 * One thread at a time per struct toyjit (compilation uses its scratch
 * buffer, and code is freed when the outermost toyjit_call() returns).
 */
#ifndef _TOYJIT_H
#define _TOYJIT_H

#include <stdint.h>
#include <stdio.h>

#include "codeheap.h"

#define TOYJIT_MAX_FNS 32
#define TOYJIT_MAX_PARAMS 4
#define TOYJIT_MAX_NODES 2048

/* Allocation tags: what LOOKUP tells a stack walker about an address. */
#define TOYJIT_TAG(tier, fn) (((uint64_t)(tier) << 16) | (fn))
#define TOYJIT_TAG_STUB 0xffff0001ULL	/* the lazy-compile stub */
#define TOYJIT_TAG_ENTRY 0xffff0002ULL	/* the C-to-JIT entry trampoline */

struct toyjit_node {
	int kind;
	int cc;				/* comparisons: x86 condition code */
	int64_t val;			/* number, or parameter index */
	int kid[3];			/* operands, if: cond/then/else */
	int args[TOYJIT_MAX_PARAMS];	/* call arguments */
	int nargs;
	int fn;				/* callee */
};

struct toyjit_fn {
	char name[32];
	int nparams;
	char params[TOYJIT_MAX_PARAMS][32];
	int body;			/* node index; -1 until defined */
	int tier;			/* 0 not compiled, 1 baseline, 2 optimized */
	void *code;			/* current code (what the slot targets) */
	size_t code_len;
	uint64_t calls;			/* counted by tier-1 code */
	void *retired;			/* replaced code, freed at the next safe point */
	size_t retired_len;
};

struct toyjit {
	struct codeheap *h;
	FILE *log;			/* events, or NULL */
	unsigned int tier_up_after;	/* tier-1 calls before recompiling */

	struct toyjit_fn fns[TOYJIT_MAX_FNS];
	int nfns;
	struct toyjit_node nodes[TOYJIT_MAX_NODES];
	int nnodes;

	struct codeheap_jt jt;		/* slot i calls function i */
	void *stub;			/* the slots' default: lazy compile */
	void *entry;			/* C -> JIT trampoline */

	int depth;			/* toyjit_call() nesting */
	void *stack_top;		/* of the outermost toyjit_call() */
	int error;			/* first -errno inside the JIT, or 0 */

	/* What happened, for the demo and the tests. */
	unsigned int compiled, tiered_up, freed;
	char trace[256];		/* the stack at the last trace() */

	uint8_t buf[16384];		/* scratch for code generation */
};

/*
 * Parse @src and set up the heap side: the lazy stub, the entry
 * trampoline and a jump table with every slot at the stub.  Nothing is
 * compiled yet.  0, or -errno with a message in @err.
 */
int toyjit_init(struct toyjit *j, struct codeheap *h, const char *src,
		unsigned int tier_up_after, FILE *log, char *err,
		size_t errlen);

/* Index of function @name, or -ENOENT. */
int toyjit_find(const struct toyjit *j, const char *name);

/* Call function @fn through its slot; 0 with *@result, or -errno. */
int toyjit_call(struct toyjit *j, int fn, const int64_t *args, int nargs,
		int64_t *result);

/* The same function, evaluated by a tree-walking interpreter. */
int64_t toyjit_interpret(const struct toyjit *j, int fn, const int64_t *args);

/* Free the JIT's code and its jump table (the heap stays open). */
void toyjit_fini(struct toyjit *j);

#endif /* _TOYJIT_H */
