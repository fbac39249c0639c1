/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapfuzz: the user-space model of one heap, shared by the model run and
 * the quiescent check of the threads run.
 */
#ifndef _HEAPFUZZ_MODEL_H
#define _HEAPFUZZ_MODEL_H

#include "heapfuzz.h"

#define MAX_SPACES	24
#define MAX_BLOCKS	320	/* the threads run: 16 x (16 + 1) */
#define MAX_JTS		16	/* and at most 16 threads */

#define PG_COMMIT	1
#define PG_NONE		2

struct mspace {
	u64 start, len;
	u8 *shadow;		/* expected bytes of committed pages */
	u8 *pst;		/* PG_* per page */
};

struct mblock {
	u64 start, len, tag;
	bool sealed;
	u32 jt;			/* table id if this is a table's block */
};

struct mjt {
	u32 id, nr;
	u64 base, far, def, len;
	u64 def_block;		/* block holding def at creation, or ~0 */
	u64 *tgt;
	u8 *far_used;
};

struct heap {
	int fd;
	int nsp, nbl, njt;
	struct mspace sp[MAX_SPACES];	/* sorted by start */
	struct mblock bl[MAX_BLOCKS];	/* sorted by start */
	struct mjt jt[MAX_JTS];
	u64 freed, peak_alloc, peak_commit;
	bool peaks_known;
};

int m_space(struct heap *h, u64 addr);
int m_block(struct heap *h, u64 addr);
int m_jt(struct heap *h, u32 id);
u64 m_allocated(struct heap *h);
u64 m_committed(struct heap *h);
u64 m_reserved(struct heap *h);
u64 m_largest_free(struct heap *h);
u8 *m_shadow(struct heap *h, u64 addr);
u8 m_pst(struct heap *h, u64 addr);
void m_add_space(struct heap *h, u64 start, u64 len);
void m_del_space(struct heap *h, int i);
int m_insert_block(struct heap *h, u64 start, u64 len, u64 tag);
void m_commit(struct heap *h, u64 start, u64 end);
void m_decommit(struct heap *h, u64 start, u64 end);
void m_jt_encode(struct heap *h, struct mjt *t, u32 i);
void m_free_block(struct heap *h, int bi);
void m_update_peaks(struct heap *h);
void m_reset(struct heap *h);
u64 jt_len(u32 nr);

/* checks */
void check_stats(struct heap *h, const char *when);
void check_space_mem(struct heap *h, int si);
void check_blocks(struct heap *h);
void check_jts(struct heap *h, bool all);
int predict_exec(struct heap *h, u64 t, u32 *val);

#endif /* _HEAPFUZZ_MODEL_H */
