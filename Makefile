# SPDX-License-Identifier: GPL-2.0
#
# codeheap: kernel-managed code heap for user-space JIT compilers.
#
#   make                  the module (against KDIR) and the user-space tools
#   make tools            libcodeheap, the codeheap CLI and the toyjit example
#   make install          the module (for KVER, into updates/, then depmod),
#                         libcodeheap, its headers, codeheap.pc, the CLI, the
#                         man pages and the udev rule (PREFIX=/usr/local,
#                         DESTDIR, LIBDIR, INCLUDEDIR, BINDIR, MANDIR,
#                         UDEVRULESDIR); install-module and install-user do
#                         one half each; make uninstall takes it all back
#   make install-dkms     the module's source and dkms.conf for DKMS, into
#                         DESTDIR/usr/src/codeheap-<version>
#   make demo             boot the 6.12 VM, load the module, run the CLI and
#                         the example JIT
#   make check            host tests, lint, install tests, the VM suite on every
#                         kernel Debian ships (KERNELS; plus EXTRA_KERNELS=<dir>
#                         ...); last line
#                         "N passed, N failed"
#   make test-host        host tests only
#   make test-install     make install/uninstall and DKMS, into scratch roots
#   make test-vm          the VM suite on one kernel (KVER=6.1|6.12|trixie|
#                         trixie-backports|sid|<release>|<dir>)
#   make lint             checkpatch --strict and sparse
#   make fuzz             the pool's differential fuzzer (FUZZ_SECONDS=60)
#   make fuzz-vm          the model-checked ioctl fuzzer in the 6.12 VM
#                         (SEED=1 OPS=1000000 FUZZ_VM_SECONDS=1800; KVER)
#   make fault-vm         the fault-injection sweep of every command on the
#                         debug kernel (DEBUG_KERNEL=../shared/kernels/6.12-debug)
#   make clients          PCRE2's JIT on codeheap: its own test suites in the VM
#                         on 6.1, 6.12 and EXTRA_KERNELS, against the stock
#                         build on the host (CI runs it after make check)
#   make bench-host       the pool's host micro-benchmark
#   make bench            codeheap vs mprotect/memfd/RWX in the VM (BENCH_KERNELS),
#                         tables in build/bench/
#   make clean            remove everything the build made in this tree

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
# Every kernel Debian ships, the newest of each series at run time (SPEC 9).
KERNELS ?= 6.1 6.12 trixie trixie-backports sid
BENCH_KERNELS ?= 6.1 6.12
EXTRA_KERNELS ?=
FUZZ_SECONDS ?= 60
SEED ?= 1
OPS ?= 1000000
FUZZ_VM_SECONDS ?= 1800
DEBUG_KERNEL ?= ../shared/kernels/6.12-debug

# test-vm boots Debian 6.12 unless KVER is given on the command line.
VM_KERNEL := $(if $(filter command line,$(origin KVER)),$(KVER),6.12)

CFLAGS ?= -O2 -g
TOOLS_CFLAGS := $(CPPFLAGS) $(CFLAGS) -Wall -Wextra -Werror -D_GNU_SOURCE -Iuapi -Itools/lib
LIBA := build/lib/libcodeheap.a
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# udev reads rules from /usr/lib and /etc only, whatever PREFIX is.
UDEVRULESDIR ?= /usr/lib/udev/rules.d
INSTALL_MOD_DIR ?= updates
DKMSSRCDIR ?= /usr/src
# One version for the library, the DKMS package and the Debian packages
# (tools/testing/install checks that they agree).
VERSION := $(shell sed -n 's/^VERSION := //p' tools/lib/Makefile)
MAN_PAGES := $(wildcard man/man1/*.1 man/man3/*.3 man/man4/*.4)
# What DKMS builds from: the Kbuild tree, nothing else.
DKMS_FILES := dkms.conf Kbuild $(wildcard module/*.c module/*.h \
	module/arch/*.c module/arch/*.h uapi/linux/*.h)

all: module tools

module:
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "codeheap: no kernel build tree at $(KDIR)."; \
		echo "  Install linux-headers-$(KVER), or pick a kernel with KVER=<release>"; \
		echo "  (installed: $$(ls /lib/modules 2>/dev/null | tr '\n' ' ')) or KDIR=<dir>."; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	@$(MAKE) -s --no-print-directory -C tools/lib O=$(CURDIR)/build/lib

$(LIBA): lib

tools: build/tools/codeheap build/tools/toyjit

# Static, so that they run in the test VM's initramfs, which has no
# libraries; the Debian package links the CLI with the shared library
# (CLI_STATIC= CLI_LIBS="-Lbuild/lib -lcodeheap").
CLI_STATIC ?= -static
CLI_LIBS ?= $(LIBA)
build/tools/codeheap: tools/cli/codeheap.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) $(LDFLAGS) $(CLI_STATIC) $< $(CLI_LIBS) -o $@

TOYJIT_SRCS := tools/examples/toyjit.c tools/examples/demo.c
build/tools/toyjit: $(TOYJIT_SRCS) tools/examples/toyjit.h \
		tools/examples/demo.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -static $(TOYJIT_SRCS) $(LIBA) -o $@

install: install-module install-user

# Kbuild's modules_install, unsigned (signing for Secure Boot is DKMS's or
# the distribution's business: Documentation/install.rst); depmod only for
# the running system, a DESTDIR image leaves it to its package.
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) CONFIG_MODULE_SIG_ALL= \
		modules_install
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

install-user: lib tools
	$(MAKE) -C tools/lib O=$(CURDIR)/build/lib install
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UDEVRULESDIR)
	install -m 755 build/tools/codeheap $(DESTDIR)$(BINDIR)/
	install -m 644 packaging/60-codeheap.rules $(DESTDIR)$(UDEVRULESDIR)/
	for p in $(MAN_PAGES); do \
		d=$(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$p)); \
		install -d $$d && install -m 644 $$p $$d/ || exit 1; \
	done

install-dkms:
	install -d $(DESTDIR)$(DKMSSRCDIR)/codeheap-$(VERSION)
	for f in $(DKMS_FILES); do \
		install -D -m 644 $$f $(DESTDIR)$(DKMSSRCDIR)/codeheap-$(VERSION)/$$f || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/codeheap.ko*
	@if [ -z "$(DESTDIR)" ] && [ -d /lib/modules/$(KVER) ]; then depmod -a $(KVER); fi
	$(MAKE) -C tools/lib O=$(CURDIR)/build/lib uninstall
	rm -f $(DESTDIR)$(BINDIR)/codeheap $(DESTDIR)$(UDEVRULESDIR)/60-codeheap.rules
	for p in $(MAN_PAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$p))/$$(basename $$p); \
	done

test-host:
	tools/deps.sh host
	$(MAKE) -C tools/testing test

test-install:
	tools/testing/install/run.sh

test-vm:
	tools/vm/run --kernel $(VM_KERNEL)

lint:
	tools/lint.sh

check:
	tools/check.sh $(KERNELS) $(EXTRA_KERNELS)

demo: tools
	tools/vm/run --quiet --kernel 6.12 --add build/tools/codeheap \
		--add build/tools/toyjit \
		--cmd "codeheap info && echo && toyjit && echo && codeheap stats"

fuzz:
	tools/deps.sh fuzz
	$(MAKE) -C tools/testing fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# Only the debug kernel has CONFIG_FAULT_INJECTION and its debugfs knobs.
fault-vm:
	$(MAKE) -C tools/testing faultsweep-prog
	tools/vm/run --kernel $(DEBUG_KERNEL) --add build/host/vm/faultsweep \
		--cmd "faultsweep"

# tools/testing/heapfuzz: stops at OPS ops or FUZZ_VM_SECONDS, whichever
# comes first; the VM's limit leaves room for the boot and the final check.
fuzz-vm:
	$(MAKE) -C tools/testing vm-progs
	tools/vm/run --kernel $(VM_KERNEL) \
		--timeout $$(( $(FUZZ_VM_SECONDS) + 900 )) \
		--add build/host/vm/heapfuzz \
		--cmd "heapfuzz --seed $(SEED) --ops $(OPS) --seconds $(FUZZ_VM_SECONDS)"

# Over five minutes for the three kernels CI has: not part of make check.
clients:
	tools/clients/pcre2/run $(foreach k,6.1 6.12 $(EXTRA_KERNELS),--kernel $(k))

bench:
	tools/bench/run $(BENCH_KERNELS)

bench-arm64:
	tools/bench/run --arch arm64 $(BENCH_KERNELS)

bench-host:
	tools/deps.sh bench
	$(MAKE) -C tools/testing bench-host

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf build
	rm -f codeheap.ko codeheap.o codeheap.mod codeheap.mod.c codeheap.mod.o \
		Module.symvers modules.order .codeheap* .module-common.o \
		module/*.o module/.*.cmd
	$(MAKE) -s -C selftests/codeheap clean OUTPUT=$(CURDIR)/selftests/codeheap

.PHONY: all module lib tools install install-module install-user install-dkms uninstall test-host test-install test-vm lint check clients demo fuzz fuzz-vm fault-vm bench bench-arm64 bench-host clean
