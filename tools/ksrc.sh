#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract the few files codeheap builds with from Debian's linux-source
# package into a cache, and print the directory they landed in.
#
#   tools/ksrc.sh [SERIES]       SERIES defaults to 6.12
#
# What is taken: the kselftest harness headers and lib.mk, the kernel's
# tools/include and tools/lib/rbtree.c (for host builds of the module's pure
# logic), checkpatch.pl with its data files, and ioctl-number.rst.  Nothing
# of it is ever copied into the codeheap tree: it lives under
# $CODEHEAP_CACHE (default ~/.cache/codeheap) and is keyed by the package
# version, so a new linux-source upload is picked up by itself.
set -euo pipefail

series=${1:-6.12}
pkg=linux-source-$series
tarball=/usr/src/$pkg.tar.xz
cache=${CODEHEAP_CACHE:-${HOME:-/root}/.cache/codeheap}

if [ ! -r "$tarball" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "ksrc: installing $pkg (kselftest harness, tools/include, checkpatch)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "$pkg" >&2
	else
		echo "ksrc: missing $tarball: run as root: apt-get install --no-install-recommends $pkg" >&2
		exit 1
	fi
fi

ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo unknown)
dest=$cache/$pkg-$ver
if [ ! -e "$dest/.complete" ]; then
	rm -rf "$dest"
	mkdir -p "$dest"
	echo "ksrc: extracting from $tarball (once per package version)" >&2
	tar -xJf "$tarball" -C "$dest" --strip-components=1 --wildcards \
		"$pkg/tools/include" \
		"$pkg/tools/arch/x86/include" \
		"$pkg/tools/arch/arm64/include" \
		"$pkg/tools/lib/rbtree.c" \
		"$pkg/tools/testing/selftests/kselftest.h" \
		"$pkg/tools/testing/selftests/kselftest_harness.h" \
		"$pkg/tools/testing/selftests/lib.mk" \
		"$pkg/scripts/checkpatch.pl" \
		"$pkg/scripts/spelling.txt" \
		"$pkg/scripts/const_structs.checkpatch" \
		"$pkg/scripts/kernel-doc" \
		"$pkg/Documentation/userspace-api/ioctl/ioctl-number.rst"
	touch "$dest/.complete"
fi
echo "$dest"
