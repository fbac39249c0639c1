# SPDX-License-Identifier: GPL-2.0
#
# libcodeheap as a user installs it: a DESTDIR install of tools/lib, then a
# one-file program built with pkg-config --cflags --libs codeheap (shared
# and static), the soname, the exported symbols, and the CLI's message on
# a machine without the module.  The library's behaviour is tested in the
# VM (selftests/codeheap/lib_test.c).
#
#   make -C tools/testing test      includes lib/install_test.sh

HOST_RUNS += $(CURDIR)/lib/install_test.sh+$(ROOT)+$(O)/lib
