# SPDX-License-Identifier: GPL-2.0
#
# The free-region pool (module/pool.c): unit tests, a fixed-seed replay of
# the differential fuzzer, the fuzzer itself and a micro-benchmark.
#
#   make -C tools/testing test                  includes pool_test, pool_replay
#   make -C tools/testing fuzz [FUZZ_SECONDS=N] libFuzzer, clang-14 (default 60 s)
#   make -C tools/testing bench-host            ops/s and instructions/op table

POOL_SRC := $(ROOT)/module/pool.c
POOL_HDR := $(ROOT)/module/pool.h
POOL_DIR := $(CURDIR)/pool
RBTREE_C := $(KSRC)/tools/lib/rbtree.c
# The kernel's tools/include stands in for the kernel headers pool.c uses.
POOL_CPPFLAGS := -I$(KSRC)/tools/include -I$(ROOT)/module -I$(POOL_DIR)

FUZZ_SECONDS ?= 60
FUZZ_CC := clang-14
FUZZ_CFLAGS := -O1 -g -Wall -Werror -fno-omit-frame-pointer \
	       -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all
BENCH_CFLAGS := -O2 -g -Wall -Werror -DNDEBUG

HOST_TESTS += $(O)/pool_test
HOST_RUNS += $(O)/pool_replay+$(POOL_DIR)/corpus
HOST_RUN_DEPS += $(O)/pool_replay

POOL_TEST_SRCS := $(POOL_DIR)/pool_test.c $(POOL_DIR)/pool_check.c \
		  $(POOL_SRC) $(RBTREE_C)
POOL_DRIVER_SRCS := $(POOL_DIR)/pool_driver.c $(POOL_DIR)/pool_check.c \
		    $(POOL_SRC) $(RBTREE_C)
POOL_DEPS := $(POOL_HDR) $(POOL_DIR)/pool_check.h
POOL_DRIVER_DEPS := $(POOL_DEPS) $(POOL_DIR)/pool_driver.h

$(O)/pool_test: $(POOL_TEST_SRCS) $(POOL_DEPS)
	@mkdir -p $(O)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(POOL_CPPFLAGS) $(POOL_TEST_SRCS) -o $@

$(O)/pool_replay: $(POOL_DIR)/pool_replay.c $(POOL_DRIVER_SRCS) $(POOL_DRIVER_DEPS)
	@mkdir -p $(O)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(POOL_CPPFLAGS) \
		$(POOL_DIR)/pool_replay.c $(POOL_DRIVER_SRCS) -o $@

$(O)/fuzz/pool_fuzz: $(POOL_DIR)/pool_fuzz.c $(POOL_DRIVER_SRCS) $(POOL_DRIVER_DEPS)
	@$(ROOT)/tools/deps.sh fuzz
	@mkdir -p $(O)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(POOL_CPPFLAGS) \
		$(POOL_DIR)/pool_fuzz.c $(POOL_DRIVER_SRCS) -o $@

# The working corpus lives under $(O); the committed seeds are read-only
# input.  -fork is not used: one job, so the exec count is exact.
fuzz: $(O)/fuzz/pool_fuzz
	@mkdir -p $(O)/fuzz/corpus
	$(O)/fuzz/pool_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 -artifact_prefix=$(O)/fuzz/ \
		$(O)/fuzz/corpus $(POOL_DIR)/corpus

$(O)/bench/pool_bench: $(POOL_DIR)/pool_bench.c $(POOL_SRC) $(RBTREE_C) \
		$(POOL_HDR)
	@mkdir -p $(O)/bench
	$(CC) $(BENCH_CFLAGS) $(POOL_CPPFLAGS) $(POOL_DIR)/pool_bench.c \
		$(POOL_SRC) $(RBTREE_C) -o $@

bench-host: $(O)/bench/pool_bench
	$(POOL_DIR)/bench.sh $(O)/bench/pool_bench

.PHONY: fuzz bench-host
