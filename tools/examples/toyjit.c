// SPDX-License-Identifier: GPL-2.0
/*
 * toyjit: a lazy, tiering x86-64 JIT on libcodeheap.
 *
 * How a call works:
 *
 *   C: toyjit_call(fn) -> entry trampoline (heap) -> jump slot fn
 *   slot fn -> lazy stub   (first call: the table's default target)
 *           -> tier 1 code (after the stub compiled it and patched the slot)
 *           -> tier 2 code (after tier_up_after calls of tier 1)
 *
 * Every caller (the trampoline and JIT code) puts the callee's index in r10
 * before jumping to its slot, so that the one stub every unpatched slot
 * jumps to knows what to compile.  The stub saves the argument registers,
 * calls toyjit_lazy() (C), which compiles and patches the slot and returns
 * the code's address, restores the registers and jumps there: the caller
 * never notices.
 *
 * Tier 1 code counts its calls; at the threshold it calls toyjit_tier_up()
 * (C), which compiles tier 2 (immediate operands, fused compare-and-branch,
 * constant folding, direct self-calls), patches the slot and retires the
 * tier 1 code.  Retired code may still have frames on the stack (the
 * caller of toyjit_tier_up() is one), so it is freed only when the
 * outermost toyjit_call() returns: the JIT's safe point.
 *
 * Frames: all JIT code keeps rbp frames (push rbp; mov rbp, rsp), so
 * trace() can walk them from C and name each return address with
 * codeheap_lookup() (the allocation's tag is the function and tier).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "toyjit.h"

enum { N_NUM, N_PARAM, N_ADD, N_SUB, N_MUL, N_CMP, N_NEG, N_IF, N_CALL,
	N_TRACE };

/* x86 condition codes (low nibble of jcc/setcc) */
#define CC_E 0x4
#define CC_NE 0x5
#define CC_L 0xc
#define CC_GE 0xd
#define CC_LE 0xe
#define CC_G 0xf

/* ------------------------------------------------------------ parser -- */

struct parser {
	struct toyjit *j;
	const char *p;
	int line;
	int fn;			/* function being parsed */
	char *err;
	size_t errlen;
	int failed;
};

static void perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed++)
		return;
	n = snprintf(ps->err, ps->errlen, "line %d: ", ps->line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ps->errlen)
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

static void skip_space(struct parser *ps)
{
	for (;;) {
		if (*ps->p == '\n')
			ps->line++;
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
		    *ps->p == '\r') {
			ps->p++;
		} else if (*ps->p == '#') {
			while (*ps->p && *ps->p != '\n')
				ps->p++;
		} else {
			return;
		}
	}
}

static bool is_ident(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Consume @tok (a word or punctuation) if it comes next. */
static bool accept(struct parser *ps, const char *tok)
{
	size_t n = strlen(tok);

	skip_space(ps);
	if (strncmp(ps->p, tok, n))
		return false;
	if (is_ident(tok[0], true) && is_ident(ps->p[n], false))
		return false;
	ps->p += n;
	return true;
}

static void expect(struct parser *ps, const char *tok)
{
	if (!accept(ps, tok))
		perr(ps, "expected '%s'", tok);
}

static bool ident(struct parser *ps, char out[32])
{
	int n = 0;

	skip_space(ps);
	if (!is_ident(*ps->p, true))
		return false;
	while (is_ident(*ps->p, false)) {
		if (n < 31)
			out[n++] = *ps->p;
		ps->p++;
	}
	out[n] = '\0';
	return true;
}

static int new_node(struct parser *ps, int kind)
{
	struct toyjit *j = ps->j;

	if (j->nnodes == TOYJIT_MAX_NODES) {
		perr(ps, "program too large");
		return 0;
	}
	memset(&j->nodes[j->nnodes], 0, sizeof(j->nodes[0]));
	j->nodes[j->nnodes].kind = kind;
	return j->nnodes++;
}

/* The function called @name, declared on first mention. */
static int fn_ref(struct parser *ps, const char *name)
{
	struct toyjit *j = ps->j;
	int i = toyjit_find(j, name);

	if (i >= 0)
		return i;
	if (j->nfns == TOYJIT_MAX_FNS) {
		perr(ps, "too many functions");
		return 0;
	}
	i = j->nfns++;
	snprintf(j->fns[i].name, sizeof(j->fns[i].name), "%s", name);
	j->fns[i].body = -1;
	j->fns[i].nparams = -1;
	return i;
}

static int expr(struct parser *ps);

static int binary(struct parser *ps, int kind, int cc, int a, int b)
{
	int n = new_node(ps, kind);

	ps->j->nodes[n].cc = cc;
	ps->j->nodes[n].kid[0] = a;
	ps->j->nodes[n].kid[1] = b;
	return n;
}

static int primary(struct parser *ps)
{
	struct toyjit *j = ps->j;
	struct toyjit_fn *f = &j->fns[ps->fn];
	char name[32];
	int n, i;

	if (ps->failed)
		return 0;
	skip_space(ps);
	if (*ps->p >= '0' && *ps->p <= '9') {
		n = new_node(ps, N_NUM);
		j->nodes[n].val = strtoll(ps->p, (char **)&ps->p, 10);
		return n;
	}
	if (accept(ps, "(")) {
		n = expr(ps);
		expect(ps, ")");
		return n;
	}
	if (accept(ps, "-")) {
		n = new_node(ps, N_NEG);
		j->nodes[n].kid[0] = primary(ps);
		return n;
	}
	if (!ident(ps, name)) {
		perr(ps, "expected an expression");
		return 0;
	}
	if (!accept(ps, "(")) {
		for (i = 0; i < f->nparams; i++)
			if (!strcmp(f->params[i], name))
				break;
		if (i == f->nparams)
			perr(ps, "unknown name '%s'", name);
		n = new_node(ps, N_PARAM);
		j->nodes[n].val = i;
		return n;
	}
	if (!strcmp(name, "trace")) {
		n = new_node(ps, N_TRACE);
		j->nodes[n].kid[0] = expr(ps);
		expect(ps, ")");
		return n;
	}
	n = new_node(ps, N_CALL);
	j->nodes[n].fn = fn_ref(ps, name);
	if (!accept(ps, ")")) {
		do {
			if (j->nodes[n].nargs == TOYJIT_MAX_PARAMS) {
				perr(ps, "too many arguments");
				return n;
			}
			i = expr(ps);
			j->nodes[n].args[j->nodes[n].nargs++] = i;
		} while (!ps->failed && accept(ps, ","));
		expect(ps, ")");
	}
	return n;
}

static int term(struct parser *ps)
{
	int n = primary(ps);

	while (!ps->failed && accept(ps, "*"))
		n = binary(ps, N_MUL, 0, n, primary(ps));
	return n;
}

static int sum(struct parser *ps)
{
	int n = term(ps);

	while (!ps->failed) {
		if (accept(ps, "+"))
			n = binary(ps, N_ADD, 0, n, term(ps));
		else if (accept(ps, "-"))
			n = binary(ps, N_SUB, 0, n, term(ps));
		else
			break;
	}
	return n;
}

static int comparison(struct parser *ps)
{
	static const struct { const char *tok; int cc; } ops[] = {
		{ "<=", CC_LE }, { ">=", CC_GE }, { "==", CC_E },
		{ "!=", CC_NE }, { "<", CC_L }, { ">", CC_G },
	};
	int n = sum(ps);
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (accept(ps, ops[i].tok))
			return binary(ps, N_CMP, ops[i].cc, n, sum(ps));
	return n;
}

static int expr(struct parser *ps)
{
	int n;

	if (!accept(ps, "if"))
		return comparison(ps);
	n = new_node(ps, N_IF);
	ps->j->nodes[n].kid[0] = expr(ps);
	expect(ps, "then");
	ps->j->nodes[n].kid[1] = expr(ps);
	expect(ps, "else");
	ps->j->nodes[n].kid[2] = expr(ps);
	return n;
}

/* fn NAME(PARAMS) = EXPR */
static void definition(struct parser *ps)
{
	struct toyjit *j = ps->j;
	struct toyjit_fn *f;
	char name[32];

	expect(ps, "fn");
	if (!ident(ps, name)) {
		perr(ps, "expected a function name");
		return;
	}
	ps->fn = fn_ref(ps, name);
	f = &j->fns[ps->fn];
	if (f->body >= 0) {
		perr(ps, "'%s' defined twice", name);
		return;
	}
	f->nparams = 0;
	expect(ps, "(");
	if (!accept(ps, ")")) {
		do {
			if (f->nparams == TOYJIT_MAX_PARAMS) {
				perr(ps, "more than %d parameters",
				     TOYJIT_MAX_PARAMS);
				return;
			}
			if (!ident(ps, f->params[f->nparams++]))
				perr(ps, "expected a parameter name");
		} while (!ps->failed && accept(ps, ","));
		expect(ps, ")");
	}
	expect(ps, "=");
	f->body = expr(ps);
}

static void check_calls(struct parser *ps)
{
	struct toyjit *j = ps->j;
	int i;

	for (i = 0; i < j->nfns && !ps->failed; i++)
		if (j->fns[i].body < 0)
			perr(ps, "'%s' is called but never defined",
			     j->fns[i].name);
	for (i = 0; i < j->nnodes && !ps->failed; i++) {
		struct toyjit_node *n = &j->nodes[i];

		if (n->kind == N_CALL && n->nargs != j->fns[n->fn].nparams)
			perr(ps, "'%s' takes %d arguments, not %d",
			     j->fns[n->fn].name, j->fns[n->fn].nparams,
			     n->nargs);
	}
}

int toyjit_find(const struct toyjit *j, const char *name)
{
	int i;

	for (i = 0; i < j->nfns; i++)
		if (!strcmp(j->fns[i].name, name))
			return i;
	return -ENOENT;
}

/* ------------------------------------------------------- interpreter -- */

static int64_t eval(const struct toyjit *j, int ni, const int64_t *args)
{
	const struct toyjit_node *n = &j->nodes[ni];
	int64_t a, b, v[TOYJIT_MAX_PARAMS] = { 0 };
	int i;

	switch (n->kind) {
	case N_NUM:
		return n->val;
	case N_PARAM:
		return args[n->val];
	case N_NEG:
		return -(uint64_t)eval(j, n->kid[0], args);
	case N_IF:
		return eval(j, n->kid[eval(j, n->kid[0], args) ? 1 : 2], args);
	case N_TRACE:
		return eval(j, n->kid[0], args);
	case N_CALL:
		for (i = 0; i < n->nargs; i++)
			v[i] = eval(j, n->args[i], args);
		return toyjit_interpret(j, n->fn, v);
	}
	a = eval(j, n->kid[0], args);
	b = eval(j, n->kid[1], args);
	switch (n->kind) {
	case N_ADD:
		return (uint64_t)a + b;
	case N_SUB:
		return (uint64_t)a - b;
	case N_MUL:
		return (uint64_t)a * b;
	}
	switch (n->cc) {
	case CC_L: return a < b;
	case CC_LE: return a <= b;
	case CC_E: return a == b;
	case CC_NE: return a != b;
	case CC_G: return a > b;
	default: return a >= b;
	}
}

int64_t toyjit_interpret(const struct toyjit *j, int fn, const int64_t *args)
{
	return eval(j, j->fns[fn].body, args);
}

/* ---------------------------------------------------- code generator -- */

struct gen {
	struct toyjit *j;
	int fn, tier;
	bool measure;		/* worst-case size: every call absolute */
	uint8_t *buf;
	size_t cap, len;
	uintptr_t addr;		/* where buf[0] will run */
	int depth;		/* 8-byte pushes outstanding in the body */
	bool overflow;
};

static void byte(struct gen *g, uint8_t b)
{
	if (g->len < g->cap)
		g->buf[g->len] = b;
	else
		g->overflow = true;
	g->len++;
}

static void bytes(struct gen *g, int n, ...)
{
	va_list ap;

	va_start(ap, n);
	while (n--)
		byte(g, (uint8_t)va_arg(ap, int));
	va_end(ap);
}

static void imm32(struct gen *g, int32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		byte(g, (uint32_t)v >> (8 * i));
}

static void imm64(struct gen *g, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		byte(g, v >> (8 * i));
}

static void patch32(struct gen *g, size_t at, int32_t v)
{
	int i;

	for (i = 0; i < 4 && at + i < g->cap; i++)
		g->buf[at + i] = (uint32_t)v >> (8 * i);
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* mov rax, v */
static void mov_rax(struct gen *g, int64_t v)
{
	if (fits32(v)) {
		bytes(g, 3, 0x48, 0xc7, 0xc0);
		imm32(g, v);
	} else {
		bytes(g, 2, 0x48, 0xb8);
		imm64(g, v);
	}
}

/* Parameter i lives at [rbp - 8 * (i + 1)]. */
static int8_t param_disp(int64_t i)
{
	return -8 * (int)(i + 1);
}

/* call a C function or absolute address (rdi.. already set) */
static void call_abs(struct gen *g, const void *target)
{
	bool pad = g->depth & 1;	/* keep rsp 16-byte aligned */

	if (pad)
		bytes(g, 4, 0x48, 0x83, 0xec, 0x08);	/* sub rsp, 8 */
	bytes(g, 2, 0x48, 0xb8);			/* mov rax, imm64 */
	imm64(g, (uintptr_t)target);
	bytes(g, 2, 0xff, 0xd0);			/* call rax */
	if (pad)
		bytes(g, 4, 0x48, 0x83, 0xc4, 0x08);	/* add rsp, 8 */
}

/* call target with rel32 when it reaches, else absolute */
static void call_near(struct gen *g, uintptr_t target)
{
	bool pad = g->depth & 1;
	/* the call ends after the optional 4-byte pad and its 5 bytes */
	int64_t rel = (int64_t)(target - (g->addr + g->len + 5 + (pad ? 4 : 0)));

	if (g->measure || !fits32(rel)) {
		call_abs(g, (const void *)target);
		return;
	}
	if (pad)
		bytes(g, 4, 0x48, 0x83, 0xec, 0x08);	/* sub rsp, 8 */
	byte(g, 0xe8);					/* call rel32 */
	imm32(g, (int32_t)rel);
	if (pad)
		bytes(g, 4, 0x48, 0x83, 0xc4, 0x08);	/* add rsp, 8 */
}

static bool const_value(const struct toyjit *j, int ni, int64_t *v)
{
	const struct toyjit_node *n = &j->nodes[ni];
	int64_t a, b;

	switch (n->kind) {
	case N_NUM:
		*v = n->val;
		return true;
	case N_NEG:
		if (!const_value(j, n->kid[0], &a))
			return false;
		*v = -(uint64_t)a;
		return true;
	case N_ADD:
	case N_SUB:
	case N_MUL:
		if (!const_value(j, n->kid[0], &a) ||
		    !const_value(j, n->kid[1], &b))
			return false;
		*v = n->kind == N_ADD ? (uint64_t)a + b :
		     n->kind == N_SUB ? (uint64_t)a - b : (uint64_t)a * b;
		return true;
	}
	return false;
}

static void gen_expr(struct gen *g, int ni);

/*
 * rax = rax OP operand.  Tier 2 takes a constant or a parameter operand
 * directly (imm32 or [rbp-d]); otherwise the operand is computed with rax
 * saved on the stack.
 */
static void gen_op(struct gen *g, int kind, int rhs)
{
	static const uint8_t imm_op[] = { [N_ADD] = 0x05, [N_SUB] = 0x2d,
					  [N_CMP] = 0x3d };
	static const uint8_t mem_op[] = { [N_ADD] = 0x03, [N_SUB] = 0x2b,
					  [N_CMP] = 0x3b };
	const struct toyjit_node *r = &g->j->nodes[rhs];
	int64_t v;

	if (g->tier == 2 && const_value(g->j, rhs, &v) && fits32(v)) {
		if (kind == N_MUL)
			bytes(g, 3, 0x48, 0x69, 0xc0);	/* imul rax, rax, imm32 */
		else
			bytes(g, 2, 0x48, imm_op[kind]);
		imm32(g, v);
		return;
	}
	if (g->tier == 2 && r->kind == N_PARAM) {
		if (kind == N_MUL)
			bytes(g, 5, 0x48, 0x0f, 0xaf, 0x45, param_disp(r->val));
		else
			bytes(g, 4, 0x48, mem_op[kind], 0x45, param_disp(r->val));
		return;
	}
	byte(g, 0x50);					/* push rax */
	g->depth++;
	gen_expr(g, rhs);
	bytes(g, 3, 0x48, 0x89, 0xc1);			/* mov rcx, rax */
	byte(g, 0x58);					/* pop rax */
	g->depth--;
	switch (kind) {
	case N_ADD:
		bytes(g, 3, 0x48, 0x01, 0xc8);		/* add rax, rcx */
		break;
	case N_SUB:
		bytes(g, 3, 0x48, 0x29, 0xc8);		/* sub rax, rcx */
		break;
	case N_MUL:
		bytes(g, 4, 0x48, 0x0f, 0xaf, 0xc1);	/* imul rax, rcx */
		break;
	case N_CMP:
		bytes(g, 3, 0x48, 0x39, 0xc8);		/* cmp rax, rcx */
		break;
	}
}

static void gen_call(struct gen *g, const struct toyjit_node *n)
{
	static const uint8_t pop_arg[] = { 0x5f, 0x5e, 0x5a, 0x59 };
	struct toyjit *j = g->j;
	int i;

	for (i = 0; i < n->nargs; i++) {
		gen_expr(g, n->args[i]);
		byte(g, 0x50);				/* push rax */
		g->depth++;
	}
	for (i = n->nargs - 1; i >= 0; i--) {
		byte(g, pop_arg[i]);			/* pop rdi/rsi/rdx/rcx */
		g->depth--;
	}
	bytes(g, 2, 0x41, 0xba);			/* mov r10d, callee */
	imm32(g, n->fn);
	if (g->tier == 2 && n->fn == g->fn)
		call_near(g, g->addr);			/* itself, directly */
	else
		call_near(g, (uintptr_t)codeheap_jt_slot(&j->jt, n->fn));
}

static int64_t toyjit_trace(struct toyjit *j, int64_t v, uintptr_t *fp);

static void gen_expr(struct gen *g, int ni)
{
	const struct toyjit_node *n = &g->j->nodes[ni];
	size_t at_else, at_end;
	int64_t v;

	if (g->tier == 2 && const_value(g->j, ni, &v)) {
		mov_rax(g, v);
		return;
	}
	switch (n->kind) {
	case N_NUM:
		mov_rax(g, n->val);
		break;
	case N_PARAM:
		bytes(g, 4, 0x48, 0x8b, 0x45, param_disp(n->val));
		break;
	case N_NEG:
		gen_expr(g, n->kid[0]);
		bytes(g, 3, 0x48, 0xf7, 0xd8);		/* neg rax */
		break;
	case N_ADD:
	case N_SUB:
	case N_MUL:
		gen_expr(g, n->kid[0]);
		gen_op(g, n->kind, n->kid[1]);
		break;
	case N_CMP:
		gen_expr(g, n->kid[0]);
		gen_op(g, N_CMP, n->kid[1]);
		bytes(g, 3, 0x0f, 0x90 | n->cc, 0xc0);	/* setcc al */
		bytes(g, 3, 0x0f, 0xb6, 0xc0);		/* movzx eax, al */
		break;
	case N_IF: {
		const struct toyjit_node *c = &g->j->nodes[n->kid[0]];

		if (g->tier == 2 && c->kind == N_CMP) {
			/* fused: cmp; j!cc else */
			gen_expr(g, c->kid[0]);
			gen_op(g, N_CMP, c->kid[1]);
			bytes(g, 2, 0x0f, 0x80 | (c->cc ^ 1));
		} else {
			gen_expr(g, n->kid[0]);
			bytes(g, 3, 0x48, 0x85, 0xc0);	/* test rax, rax */
			bytes(g, 2, 0x0f, 0x84);	/* je else */
		}
		at_else = g->len;
		imm32(g, 0);
		gen_expr(g, n->kid[1]);
		byte(g, 0xe9);				/* jmp end */
		at_end = g->len;
		imm32(g, 0);
		patch32(g, at_else, g->len - (at_else + 4));
		gen_expr(g, n->kid[2]);
		patch32(g, at_end, g->len - (at_end + 4));
		break;
	}
	case N_CALL:
		gen_call(g, n);
		break;
	case N_TRACE:
		gen_expr(g, n->kid[0]);
		bytes(g, 3, 0x48, 0x89, 0xc6);		/* mov rsi, rax */
		bytes(g, 3, 0x48, 0x89, 0xea);		/* mov rdx, rbp */
		bytes(g, 2, 0x48, 0xbf);		/* mov rdi, jit */
		imm64(g, (uintptr_t)g->j);
		call_abs(g, (const void *)toyjit_trace);
		break;
	}
}

static void toyjit_tier_up(struct toyjit *j, uint32_t fn);

/*
 * A function: the frame, tier 1's call counter, the body, the return.
 * Parameters are spilled to the frame, where the body reads them.
 */
static ssize_t gen_function(void *buf, size_t cap, void *addr, void *arg)
{
	static const uint8_t spill[] = { 0x7d, 0x75, 0x55, 0x4d };
	struct gen *g = arg;
	struct toyjit_fn *f = &g->j->fns[g->fn];
	size_t at_skip;
	int i;

	g->buf = buf;
	g->cap = cap;
	g->len = 0;
	g->addr = (uintptr_t)addr;
	g->depth = 0;
	g->overflow = false;

	bytes(g, 4, 0x55, 0x48, 0x89, 0xe5);		/* push rbp; mov rbp, rsp */
	bytes(g, 4, 0x48, 0x83, 0xec, 0x20);		/* sub rsp, 32 */
	for (i = 0; i < f->nparams; i++)		/* mov [rbp-d], reg */
		bytes(g, 4, 0x48, 0x89, spill[i], param_disp(i));
	if (g->tier == 1) {
		bytes(g, 2, 0x48, 0xb8);		/* mov rax, &f->calls */
		imm64(g, (uintptr_t)&f->calls);
		bytes(g, 4, 0x48, 0x83, 0x00, 0x01);	/* add qword [rax], 1 */
		bytes(g, 3, 0x48, 0x81, 0x38);		/* cmp qword [rax], N */
		imm32(g, g->j->tier_up_after);
		bytes(g, 2, 0x75, 0);			/* jne skip */
		at_skip = g->len;
		bytes(g, 2, 0x48, 0xbf);		/* mov rdi, jit */
		imm64(g, (uintptr_t)g->j);
		byte(g, 0xbe);				/* mov esi, fn */
		imm32(g, g->fn);
		call_abs(g, (const void *)toyjit_tier_up);
		if (at_skip <= g->cap)
			g->buf[at_skip - 1] = g->len - at_skip;
	}
	gen_expr(g, f->body);
	bytes(g, 2, 0xc9, 0xc3);			/* leave; ret */
	return g->overflow ? -ENOSPC : (ssize_t)g->len;
}

static void jit_log(struct toyjit *j, const char *fmt, ...)
{
	va_list ap;

	if (!j->log)
		return;
	va_start(ap, fmt);
	vfprintf(j->log, fmt, ap);
	va_end(ap);
}

/*
 * Compile @fn at @tier into a new allocation and point its slot there.
 * The size is measured first (every call in its longest form), then
 * codeheap_emit() allocates that much and has gen_function() produce the
 * code for the address it got, with rel32 calls where they reach.
 */
static int compile(struct toyjit *j, int fn, int tier)
{
	struct toyjit_fn *f = &j->fns[fn];
	struct gen g = { .j = j, .fn = fn, .tier = tier, .measure = true };
	char name[64];
	ssize_t cap, len;
	void *code;
	int ret;

	cap = gen_function(j->buf, sizeof(j->buf), NULL, &g);
	if (cap < 0)
		return cap;
	g.measure = false;
	len = codeheap_emit(j->h, j->buf, cap, TOYJIT_TAG(tier, fn),
			    gen_function, &g, &code);
	if (len < 0)
		return len;
	ret = codeheap_jt_patch(j->h, &j->jt, fn, code);
	if (ret) {
		codeheap_free(j->h, code);
		return ret;
	}
	snprintf(name, sizeof(name), "toy:%s [tier %d]", f->name, tier);
	codeheap_perf_name(j->h, code, len, name);
	if (f->tier) {
		f->retired = f->code;
		f->retired_len = f->code_len;
	}
	f->tier = tier;
	f->code = code;
	f->code_len = len;
	return 0;
}

/* Code that returns 0: where a failed lazy compile sends its caller. */
static int64_t lazy_failed(void)
{
	return 0;
}

/* Called by the lazy stub with the callee's index (from r10). */
static void *toyjit_lazy(struct toyjit *j, uint32_t fn)
{
	struct toyjit_fn *f = &j->fns[fn];
	int ret = compile(j, fn, 1);

	if (ret) {
		if (!j->error)
			j->error = ret;
		return (void *)lazy_failed;
	}
	j->compiled++;
	jit_log(j, "  compile  %-6s tier 1  %4zu bytes at %p (first call)\n",
		f->name, f->code_len, f->code);
	return f->code;
}

/* Called by tier 1 code on its tier_up_after-th call. */
static void toyjit_tier_up(struct toyjit *j, uint32_t fn)
{
	struct toyjit_fn *f = &j->fns[fn];
	int ret = compile(j, fn, 2);

	if (ret) {
		if (!j->error)
			j->error = ret;
		return;
	}
	j->tiered_up++;
	jit_log(j, "  tier-up  %-6s tier 2  %4zu bytes at %p (after %u calls)\n",
		f->name, f->code_len, f->code, j->tier_up_after);
}

/* Name code at @pc from its allocation's tag. */
static const char *code_name(struct toyjit *j, uint64_t tag)
{
	if (tag == TOYJIT_TAG_STUB)
		return "<lazy stub>";
	if (tag == TOYJIT_TAG_ENTRY)
		return "<entry>";
	if ((tag & 0xffff) < (uint64_t)j->nfns)
		return j->fns[tag & 0xffff].name;
	return "?";
}

/*
 * trace(v): walk the JIT's frames from the caller's rbp (@fp) and name
 * each return address with LOOKUP.  Crash-free: LOOKUP never touches the
 * address; the walk stops at the first address outside the heap (the C
 * code that entered the JIT) and only reads frames between here and the
 * outermost toyjit_call().
 */
static int64_t toyjit_trace(struct toyjit *j, int64_t v, uintptr_t *fp)
{
	uintptr_t pc = (uintptr_t)__builtin_return_address(0);
	uintptr_t lo = (uintptr_t)&pc, hi = (uintptr_t)j->stack_top;
	struct codeheap_lookup l;
	size_t n = 0;
	int frames;

	j->trace[0] = '\0';
	for (frames = 0; frames < 64; frames++) {
		if (codeheap_lookup(j->h, (void *)pc, &l))
			break;
		n += snprintf(j->trace + n, sizeof(j->trace) - n, "%s%s",
			      frames ? " <- " : "", code_name(j, l.tag));
		if (n >= sizeof(j->trace))
			break;
		if ((uintptr_t)fp < lo || (uintptr_t)fp + 16 > hi ||
		    ((uintptr_t)fp & 7))
			break;
		lo = (uintptr_t)fp + 16;
		pc = fp[1];
		fp = (uintptr_t *)fp[0];
	}
	jit_log(j, "  trace    %s\n", j->trace);
	return v;
}

/* ------------------------------------------------------------ set-up -- */

/* Put a little-endian value in a code template. */
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/*
 * The lazy stub, the default target of every slot.  Position-independent
 * (absolute addresses only), so codeheap_alloc_write() places it.
 */
static int make_stub(struct toyjit *j)
{
	uint8_t code[] = {
		0x55,				/* push rbp */
		0x48, 0x89, 0xe5,		/* mov rbp, rsp */
		0x57, 0x56, 0x52, 0x51,		/* push rdi, rsi, rdx, rcx */
		0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rdi, jit */
		0x44, 0x89, 0xd6,		/* mov esi, r10d */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rax, toyjit_lazy */
		0xff, 0xd0,			/* call rax */
		0x59, 0x5a, 0x5e, 0x5f,		/* pop rcx, rdx, rsi, rdi */
		0x5d,				/* pop rbp */
		0xff, 0xe0,			/* jmp rax: the compiled code */
	};

	int ret;

	put64(&code[10], (uintptr_t)j);
	put64(&code[23], (uintptr_t)toyjit_lazy);
	ret = codeheap_alloc_write(j->h, code, sizeof(code), TOYJIT_TAG_STUB,
				   &j->stub);
	if (!ret)
		codeheap_perf_name(j->h, j->stub, sizeof(code), "toy:<lazy stub>");
	return ret;
}

/*
 * int64_t entry(fn, a0, a1, a2, a3): r10 = fn, shift the arguments into
 * place and jump to slot fn.
 */
static int make_entry(struct toyjit *j)
{
	uint8_t code[] = {
		0x49, 0x89, 0xfa,		/* mov r10, rdi */
		0x48, 0x89, 0xf7,		/* mov rdi, rsi */
		0x48, 0x89, 0xd6,		/* mov rsi, rdx */
		0x48, 0x89, 0xca,		/* mov rdx, rcx */
		0x4c, 0x89, 0xc1,		/* mov rcx, r8 */
		0x4d, 0x69, 0xda, 0, 0, 0, 0,	/* imul r11, r10, slot_size */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rax, jt base */
		0x4c, 0x01, 0xd8,		/* add rax, r11 */
		0xff, 0xe0,			/* jmp rax */
	};

	int ret;

	put32(&code[18], j->jt.slot_size);
	put64(&code[24], (uintptr_t)j->jt.base);
	ret = codeheap_alloc_write(j->h, code, sizeof(code), TOYJIT_TAG_ENTRY,
				   &j->entry);
	if (!ret)
		codeheap_perf_name(j->h, j->entry, sizeof(code), "toy:<entry>");
	return ret;
}

int toyjit_init(struct toyjit *j, struct codeheap *h, const char *src,
		unsigned int tier_up_after, FILE *log, char *err,
		size_t errlen)
{
	struct parser ps = {
		.j = j, .p = src, .line = 1, .err = err, .errlen = errlen,
	};
	int ret;

	memset(j, 0, sizeof(*j));
	j->h = h;
	j->log = log;
	j->tier_up_after = tier_up_after;
	if (errlen)
		err[0] = '\0';
	skip_space(&ps);
	while (!ps.failed && *ps.p) {
		definition(&ps);
		skip_space(&ps);
	}
	if (!ps.failed && !j->nfns)
		perr(&ps, "no functions");
	if (!ps.failed)
		check_calls(&ps);
	if (ps.failed)
		return -EINVAL;

	ret = make_stub(j);
	if (!ret)
		ret = codeheap_jt_create(h, j->nfns, j->stub, &j->jt);
	if (!ret)
		ret = make_entry(j);
	if (ret) {
		snprintf(err, errlen, "codeheap: %s", strerror(-ret));
		toyjit_fini(j);
		return ret;
	}
	return 0;
}

/* The safe point: no JIT frame is live, so retired code can go. */
static void free_retired(struct toyjit *j)
{
	int i;

	for (i = 0; i < j->nfns; i++) {
		struct toyjit_fn *f = &j->fns[i];

		if (!f->retired)
			continue;
		if (!codeheap_free(j->h, f->retired)) {
			j->freed++;
			jit_log(j, "  free     %-6s tier 1  %4zu bytes at %p (replaced, no frame uses it)\n",
				f->name, f->retired_len, f->retired);
		}
		f->retired = NULL;
	}
}

int toyjit_call(struct toyjit *j, int fn, const int64_t *args, int nargs,
		int64_t *result)
{
	int64_t (*entry)(int64_t fn, int64_t a0, int64_t a1, int64_t a2,
			 int64_t a3);
	int64_t a[TOYJIT_MAX_PARAMS] = { 0 };
	void *top = __builtin_frame_address(0);
	int i;

	if (fn < 0 || fn >= j->nfns || nargs != j->fns[fn].nparams)
		return -EINVAL;
	for (i = 0; i < nargs; i++)
		a[i] = args[i];
	if (!j->depth++)
		j->stack_top = top;
	entry = j->entry;
	*result = entry(fn, a[0], a[1], a[2], a[3]);
	if (!--j->depth)
		free_retired(j);
	return j->error;
}

void toyjit_fini(struct toyjit *j)
{
	int i;

	if (j->jt.nr_slots)
		codeheap_jt_destroy(j->h, &j->jt);
	j->jt.nr_slots = 0;
	for (i = 0; i < j->nfns; i++) {
		if (j->fns[i].retired)
			codeheap_free(j->h, j->fns[i].retired);
		if (j->fns[i].code)
			codeheap_free(j->h, j->fns[i].code);
		j->fns[i].retired = NULL;
		j->fns[i].code = NULL;
	}
	if (j->entry)
		codeheap_free(j->h, j->entry);
	if (j->stub)
		codeheap_free(j->h, j->stub);
	j->entry = NULL;
	j->stub = NULL;
}
