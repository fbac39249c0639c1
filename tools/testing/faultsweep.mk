# SPDX-License-Identifier: GPL-2.0
#
# The fault-injection sweep (faultsweep/faultsweep.c): an nth-failure sweep
# of every codeheap command through /proc/thread-self/fail-nth.  It needs
# CONFIG_FAULT_INJECTION and its debugfs knobs, which only the debug kernel
# has: it is in VM_PROGS, and on another kernel it reports one skip.  The
# top-level "make fault-vm" runs it alone.
#
#   make -C tools/testing faultsweep-prog   build $(O)/vm/faultsweep

# Rules here must not take over the default goal of the Makefile.
FAULTSWEEP_GOAL := $(.DEFAULT_GOAL)

VM_PROGS += $(O)/vm/faultsweep

$(O)/vm/faultsweep: faultsweep/faultsweep.c $(ROOT)/uapi/linux/codeheap.h
	@mkdir -p $(O)/vm
	$(CC) -O2 -static -Wall -Werror -D_GNU_SOURCE -I$(ROOT)/uapi $< -o $@

faultsweep-prog: $(O)/vm/faultsweep

.DEFAULT_GOAL := $(FAULTSWEEP_GOAL)

.PHONY: faultsweep-prog
