# SPDX-License-Identifier: GPL-2.0
#
# heapfuzz: the model-checked ioctl fuzzer of /dev/codeheap, run in the VM
# (heapfuzz/heapfuzz.c).  With no arguments it makes a fixed-seed bounded
# run, so it is one of the VM suite's programs; make fuzz-vm at the top
# runs it long (SEED, OPS).

HEAPFUZZ_DIR := $(CURDIR)/heapfuzz
HEAPFUZZ_SRCS := $(HEAPFUZZ_DIR)/heapfuzz.c $(HEAPFUZZ_DIR)/model.c \
		 $(HEAPFUZZ_DIR)/threads.c $(HEAPFUZZ_DIR)/util.c
HEAPFUZZ_HDRS := $(HEAPFUZZ_DIR)/heapfuzz.h $(HEAPFUZZ_DIR)/model.h \
		 $(ROOT)/uapi/linux/codeheap.h

VM_PROGS += $(O)/vm/heapfuzz

$(O)/vm/heapfuzz: $(HEAPFUZZ_SRCS) $(HEAPFUZZ_HDRS)
	@mkdir -p $(O)/vm
	$(CC) -O2 -static -Wall -Werror -D_GNU_SOURCE -pthread \
		-I$(ROOT)/uapi $(HEAPFUZZ_SRCS) -o $@
