/* SPDX-License-Identifier: GPL-2.0 */
/*
 * codeheap: tracepoints, one per command that changes a heap and one for
 * the error return of every command (Documentation/trace/tracepoints.rst,
 * Documentation/observability.rst).  Every event fires once the command
 * has taken effect and user space has its answer, so a trace holds
 * exactly what user space saw happen: an ALLOC whose answer could not be
 * written (and was undone) shows as an error, not as an alloc.
 *
 * @heap in every event is the heap's id, codeheap_heap_id(), which the
 * heap fd's fdinfo shows.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM codeheap

#if !defined(_CODEHEAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CODEHEAP_TRACE_H

#include <linux/tracepoint.h>

#include "heap.h"

/*
 * The command numbers are built from an enum: export its values, so that
 * tools reading the events' formats (libtraceevent: perf, trace-cmd) can
 * resolve codeheap_error's names (Documentation/trace/events.rst).
 */
TRACE_DEFINE_ENUM(CODEHEAP_CMD_VERSION);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_RESERVE);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_RELEASE);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_COMMIT);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_DECOMMIT);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_PROTECT);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_SEAL);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_ALLOC);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_FREE);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_LOOKUP);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_WRITE);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_STATS);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_JT_CREATE);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_JT_PATCH);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_JT_QUERY);
TRACE_DEFINE_ENUM(CODEHEAP_CMD_JT_DESTROY);

/*
 * The success events take the command's result @ret and record only when
 * it is 0: the test sits inside the disabled tracepoint's static branch,
 * so a disabled event costs the command one no-op, not a compare.
 */
TRACE_EVENT_CONDITION(codeheap_reserve,
		      TP_PROTO(const struct codeheap_heap *heap,
			       const struct codeheap_reserve *cmd, int ret),
		      TP_ARGS(heap, cmd, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u64, addr)
				       __field(u64, len)
				       __field(u32, flags)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->addr = cmd->addr;
				     __entry->len = cmd->len;
				     __entry->flags = cmd->flags;),
		      TP_printk("heap=%llu addr=0x%llx len=0x%llx flags=0x%x",
				__entry->heap, __entry->addr, __entry->len,
				__entry->flags));

/* The commands on one allocation or reservation, named by its address. */
DECLARE_EVENT_CLASS(codeheap_addr_class,
		    TP_PROTO(const struct codeheap_heap *heap, u64 addr, int ret),
		    TP_ARGS(heap, addr, ret),
		    TP_STRUCT__entry(__field(u64, heap)
				     __field(u64, addr)),
		    TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				   __entry->addr = addr;),
		    TP_printk("heap=%llu addr=0x%llx", __entry->heap, __entry->addr));

DEFINE_EVENT_CONDITION(codeheap_addr_class, codeheap_release,
		       TP_PROTO(const struct codeheap_heap *heap, u64 addr, int ret),
		       TP_ARGS(heap, addr, ret),
		       TP_CONDITION(!ret));

DEFINE_EVENT_CONDITION(codeheap_addr_class, codeheap_seal,
		       TP_PROTO(const struct codeheap_heap *heap, u64 addr, int ret),
		       TP_ARGS(heap, addr, ret),
		       TP_CONDITION(!ret));

DEFINE_EVENT_CONDITION(codeheap_addr_class, codeheap_free,
		       TP_PROTO(const struct codeheap_heap *heap, u64 addr, int ret),
		       TP_ARGS(heap, addr, ret),
		       TP_CONDITION(!ret));

/* COMMIT, DECOMMIT and PROTECT: a page range (@prot for PROTECT). */
DECLARE_EVENT_CLASS(codeheap_range_class,
		    TP_PROTO(const struct codeheap_heap *heap,
			     const struct codeheap_range *cmd, int ret),
		    TP_ARGS(heap, cmd, ret),
		    TP_STRUCT__entry(__field(u64, heap)
				     __field(u64, addr)
				     __field(u64, len)
				     __field(u32, prot)),
		    TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				   __entry->addr = cmd->addr;
				   __entry->len = cmd->len;
				   __entry->prot = cmd->prot;),
		    TP_printk("heap=%llu addr=0x%llx len=0x%llx prot=0x%x",
			      __entry->heap, __entry->addr, __entry->len,
			      __entry->prot));

DEFINE_EVENT_CONDITION(codeheap_range_class, codeheap_commit,
		       TP_PROTO(const struct codeheap_heap *heap,
				const struct codeheap_range *cmd, int ret),
		       TP_ARGS(heap, cmd, ret),
		       TP_CONDITION(!ret));

DEFINE_EVENT_CONDITION(codeheap_range_class, codeheap_decommit,
		       TP_PROTO(const struct codeheap_heap *heap,
				const struct codeheap_range *cmd, int ret),
		       TP_ARGS(heap, cmd, ret),
		       TP_CONDITION(!ret));

DEFINE_EVENT_CONDITION(codeheap_range_class, codeheap_protect,
		       TP_PROTO(const struct codeheap_heap *heap,
				const struct codeheap_range *cmd, int ret),
		       TP_ARGS(heap, cmd, ret),
		       TP_CONDITION(!ret));

TRACE_EVENT_CONDITION(codeheap_alloc,
		      TP_PROTO(const struct codeheap_heap *heap,
			       const struct codeheap_alloc *cmd, int ret),
		      TP_ARGS(heap, cmd, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u64, addr)
				       __field(u64, len)
				       __field(u64, tag)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->addr = cmd->addr;
				     __entry->len = cmd->len;
				     __entry->tag = cmd->tag;),
		      TP_printk("heap=%llu addr=0x%llx len=0x%llx tag=0x%llx",
				__entry->heap, __entry->addr, __entry->len,
				__entry->tag));

/* One event per WRITE: its entries and the bytes they hold in all. */
TRACE_EVENT_CONDITION(codeheap_write,
		      TP_PROTO(const struct codeheap_heap *heap, u32 count,
			       u64 bytes, int ret),
		      TP_ARGS(heap, count, bytes, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u64, bytes)
				       __field(u32, count)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->bytes = bytes;
				     __entry->count = count;),
		      TP_printk("heap=%llu count=%u bytes=%llu",
				__entry->heap, __entry->count, __entry->bytes));

TRACE_EVENT_CONDITION(codeheap_jt_create,
		      TP_PROTO(const struct codeheap_heap *heap,
			       const struct codeheap_jt_create *cmd, int ret),
		      TP_ARGS(heap, cmd, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u64, base)
				       __field(u32, id)
				       __field(u32, nr_slots)
				       __field(u32, slot_size)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->id = cmd->id;
				     __entry->nr_slots = cmd->nr_slots;
				     __entry->slot_size = cmd->slot_size;
				     __entry->base = cmd->base;),
		      TP_printk("heap=%llu id=%u nr_slots=%u slot_size=%u base=0x%llx",
				__entry->heap, __entry->id, __entry->nr_slots,
				__entry->slot_size, __entry->base));

/* One event per JT_PATCH: the table and how many slots it patched. */
TRACE_EVENT_CONDITION(codeheap_jt_patch,
		      TP_PROTO(const struct codeheap_heap *heap, u32 id, u32 count,
			       int ret),
		      TP_ARGS(heap, id, count, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u32, id)
				       __field(u32, count)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->id = id;
				     __entry->count = count;),
		      TP_printk("heap=%llu id=%u count=%u",
				__entry->heap, __entry->id, __entry->count));

TRACE_EVENT_CONDITION(codeheap_jt_destroy,
		      TP_PROTO(const struct codeheap_heap *heap, u32 id, int ret),
		      TP_ARGS(heap, id, ret),
		      TP_CONDITION(!ret),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(u32, id)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->id = id;),
		      TP_printk("heap=%llu id=%u", __entry->heap, __entry->id));

/*
 * Every command's error return, whatever the command: @cmd is the ioctl
 * number, shown by name, or in hex for a number the module does not know
 * (-ENOTTY).
 */
TRACE_EVENT_CONDITION(codeheap_error,
		      TP_PROTO(const struct codeheap_heap *heap, unsigned int cmd,
			       long ret),
		      TP_ARGS(heap, cmd, ret),
		      TP_CONDITION(ret < 0),
		      TP_STRUCT__entry(__field(u64, heap)
				       __field(unsigned int, cmd)
				       __field(int, err)),
		      TP_fast_assign(__entry->heap = codeheap_heap_id(heap);
				     __entry->cmd = cmd;
				     __entry->err = ret;),
		      TP_printk("heap=%llu cmd=%s err=%d", __entry->heap,
				__print_symbolic(__entry->cmd,
						 { CODEHEAP_IOC_VERSION, "VERSION" },
						 { CODEHEAP_IOC_RESERVE, "RESERVE" },
						 { CODEHEAP_IOC_RELEASE, "RELEASE" },
						 { CODEHEAP_IOC_COMMIT, "COMMIT" },
						 { CODEHEAP_IOC_DECOMMIT, "DECOMMIT" },
						 { CODEHEAP_IOC_PROTECT, "PROTECT" },
						 { CODEHEAP_IOC_SEAL, "SEAL" },
						 { CODEHEAP_IOC_ALLOC, "ALLOC" },
						 { CODEHEAP_IOC_FREE, "FREE" },
						 { CODEHEAP_IOC_LOOKUP, "LOOKUP" },
						 { CODEHEAP_IOC_WRITE, "WRITE" },
						 { CODEHEAP_IOC_STATS, "STATS" },
						 { CODEHEAP_IOC_JT_CREATE, "JT_CREATE" },
						 { CODEHEAP_IOC_JT_PATCH, "JT_PATCH" },
						 { CODEHEAP_IOC_JT_QUERY, "JT_QUERY" },
						 { CODEHEAP_IOC_JT_DESTROY, "JT_DESTROY" }),
				__entry->err));

#endif /* _CODEHEAP_TRACE_H */

/* This header lies outside include/trace/events: see Kbuild's -I. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
