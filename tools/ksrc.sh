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
cache=${CODEHEAP_CACHE:-${HOME:-/root}/.cache/codeheap}

# The package is fetched with apt-get download, never installed.
ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
if [ -z "$ver" ]; then
	[ "$(id -u)" = 0 ] && apt-get update -qq >&2
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
fi
if [ -z "$ver" ]; then
	# No package lists: take what an earlier run extracted.
	dest=$(ls -d "$cache/$pkg"-*/.complete 2>/dev/null | sort -V | tail -n 1)
	[ -n "$dest" ] || { echo "ksrc: no $pkg in the package lists: run apt-get update as root" >&2; exit 1; }
	dirname "$dest"
	exit 0
fi
dest=$cache/$pkg-$ver
if [ ! -e "$dest/.complete" ]; then
	rm -rf "$dest"
	mkdir -p "$dest"
	tmp=$(mktemp -d)
	chmod 0777 "$tmp"	# apt's _apt user downloads into it
	echo "ksrc: fetching $pkg $ver (apt-get download, once per version)" >&2
	(cd "$tmp" && apt-get download -qq "$pkg" >&2) ||
		{ rm -rf "$tmp"; echo "ksrc: cannot download $pkg" >&2; exit 1; }
	dpkg-deb --fsys-tarfile "$tmp"/*.deb |
		tar -x -C "$tmp" "./usr/src/$pkg.tar.xz"
	tar -xJf "$tmp/usr/src/$pkg.tar.xz" -C "$dest" --strip-components=1 --wildcards \
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
	rm -rf "$tmp"
	touch "$dest/.complete"
fi
echo "$dest"
