# SPDX-License-Identifier: GPL-2.0
#
# The jump-slot encoders (module/arch/x86_64.c, module/arch/arm64.c): unit
# tests of each architecture, which on an x86-64 host also execute x86-64
# slots, and the disassembler check of both against objdump and
# aarch64-linux-gnu-objdump (Debian binutils-aarch64-linux-gnu).
#
#   make -C tools/testing test      includes enc_x86_64_test,
#                                   enc_arm64_test, enc_objdump_test

ENC_MOD := $(ROOT)/module/arch
ENC_DIR := $(CURDIR)/encoders
ENC_SRCS := $(ENC_MOD)/x86_64.c $(ENC_MOD)/arm64.c
ENC_DEPS := $(ENC_MOD)/encode.h $(ENC_DIR)/enc_test.h
# The kernel's tools/include stands in for the kernel headers they use.
ENC_CPPFLAGS := -I$(KSRC)/tools/include -I$(ENC_MOD) -I$(ENC_DIR)

ENC_TESTS := $(O)/enc_x86_64_test $(O)/enc_arm64_test $(O)/enc_objdump_test
HOST_TESTS += $(ENC_TESTS)

$(O)/enc_%_test: $(ENC_DIR)/%_test.c $(ENC_SRCS) $(ENC_DEPS)
	@mkdir -p $(O)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(ENC_CPPFLAGS) $< $(ENC_SRCS) -o $@
