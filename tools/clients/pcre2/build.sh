#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build PCRE2, static, for running its JIT test suites against codeheap.
#
#   tools/clients/pcre2/build.sh [stock|sealloc|codeheap]...
#                                           default: stock codeheap
#
#   stock      sljit's own executable allocator (RWX pages): the control
#   sealloc    PCRE2's --enable-jit-sealloc: sljit's dual-map allocator (a
#              shared file mapped RW and RX), for make bench
#   codeheap   sljit's allocator replaced by codeheap_sljit.c (built with
#              -DSLJIT_HAVE_CONFIG_PRE=1, so that sljit reads
#              sljitConfigPre.h from this directory) and linked with
#              build/lib/libcodeheap.a; it needs /dev/codeheap to run
#
# PCRE2 is Debian bookworm's pcre2 source package, fetched with apt-get
# source --download-only through package lists of its own in the cache (the
# machine needs no deb-src line) and unpacked with dpkg-source into
# $CODEHEAP_CACHE/pcre2-<version> (default ~/.cache/codeheap), once per
# version; when the archive cannot be reached, the newest version there is
# used.  No file of PCRE2 is changed and none enters the tree.
#
# Each variant is configured (--enable-jit, 8-, 16- and 32-bit libraries)
# and built with make -j2 in build/clients/pcre2/<variant>, and its test
# directory made: build/clients/pcre2/pcre2-<variant>/ (pcre2test,
# pcre2_jit_test, pcre2grep, RunTest, RunGrepTest, testdata/, run-tests.sh
# and onecpu) and the same as pcre2-<variant>.tar, for tools/vm/run --add.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$ROOT/tools/clients/pcre2
CACHE=${CODEHEAP_CACHE:-${HOME:-/root}/.cache/codeheap}
OUT=$ROOT/build/clients/pcre2
variants=("$@")
[ $# -gt 0 ] || variants=(stock codeheap)

die() { echo "pcre2: $*" >&2; exit 1; }
for v in "${variants[@]}"; do
	case $v in stock|sealloc|codeheap) ;;
	*) die "unknown variant $v (stock, sealloc or codeheap)" ;;
	esac
done
"$ROOT/tools/deps.sh" build clients

# ------------------------------------------------------------- the source --

# A private apt configuration that knows bookworm's source packages only.
apt=$CACHE/apt/bookworm-src
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
	> "$apt/sources.list"
aptopts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=-
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
	-o APT::Sandbox::User="$(id -un)")
if [ -z "$(find "$apt/lists" -maxdepth 1 -name '*_Sources*' -mmin -1440 2>/dev/null)" ]; then
	# Failed downloads are warnings to apt-get update.
	if ! apt-get "${aptopts[@]}" update -qq > "$apt/update.log" 2>&1 ||
		grep -q '^[WE]: ' "$apt/update.log"; then
		echo "pcre2: cannot update the source lists of bookworm:" >&2
		sed 's/^/  /' "$apt/update.log" >&2
	fi
fi
ver=$(apt-cache "${aptopts[@]}" showsrc --only-source pcre2 2>/dev/null |
	sed -n 's/^Version: //p' | sort -V | tail -n 1) || ver=
src=
if [ -n "$ver" ]; then
	dest=$CACHE/pcre2-$ver
	if [ ! -e "$dest/.complete" ]; then
		echo "pcre2: fetching Debian's pcre2 $ver source (once per version)" >&2
		rm -rf "$dest"
		mkdir -p "$dest"
		if (cd "$dest" && apt-get "${aptopts[@]}" source --download-only -qq "pcre2=$ver" > fetch.log 2>&1); then
			(cd "$dest" && dpkg-source -x pcre2_*.dsc src > extract.log 2>&1) ||
				die "dpkg-source -x of pcre2 $ver failed (see $dest/extract.log)"
			touch "$dest/.complete"
		else
			echo "pcre2: cannot download pcre2 $ver from deb.debian.org:" >&2
			sed 's/^/  /' "$dest/fetch.log" >&2
			rm -rf "$dest"
		fi
	fi
	[ -e "$dest/.complete" ] && src=$dest/src
fi
if [ -z "$src" ]; then
	# The archive is out of reach: take what an earlier run fetched.
	# shellcheck disable=SC2012
	done=$(ls -d "$CACHE"/pcre2-*/.complete 2>/dev/null | sort -V | tail -n 1) || true
	[ -n "$done" ] || die "no PCRE2 source: Debian's pcre2 source package (bookworm, .dsc and tarballs) could not be fetched from deb.debian.org and $CACHE holds no pcre2-<version>/.complete from an earlier run"
	src=$(dirname "$done")/src
	echo "pcre2: the archive cannot be reached: using $src" >&2
fi
[ -x "$src/configure" ] || die "$src has no configure script"
pver=$(basename "$(dirname "$src")")

# ------------------------------------------------------------------ build --

# Fully static programs, for the VM's initramfs: libtool takes -static for
# "no shared libtool libraries" and wants -all-static at link time, which
# the compiler itself, in configure's tests, does not know.
conf=(--disable-shared --enable-static --enable-jit --enable-pcre2-16
	--enable-pcre2-32 LDFLAGS=-static)
progs=(pcre2test pcre2_jit_test pcre2grep)

build() { # VARIANT
	local v=$1 obj=$OUT/$1 args=("${conf[@]}") cpp=() start shim stamp sym syms
	start=$(date +%s)
	mkdir -p "$obj"
	if [ "$v" = codeheap ]; then
		make -s -C "$ROOT/tools/lib" >&2 || die "libcodeheap build failed"
		# Read whole first: grep -q would close the pipe on nm (pipefail).
		syms=$(nm -g --defined-only "$ROOT/build/lib/libcodeheap.a")
		for sym in codeheap_default codeheap_shadow_alloc codeheap_shadow_publish \
			   codeheap_shadow_destroy codeheap_free; do
			grep -q " T $sym\$" <<< "$syms" ||
				die "build/lib/libcodeheap.a has no $sym (the shim needs it)"
		done
		cpp=(-DSLJIT_HAVE_CONFIG_PRE=1 "-I$HERE" "-I$ROOT/tools/lib" "-I$ROOT/uapi")
		shim=$obj/codeheap_sljit.o
		${CC:-gcc} "${cpp[@]}" -O2 -g -Wall -Wextra -c "$HERE/codeheap_sljit.c" -o "$shim" ||
			die "the shim, $HERE/codeheap_sljit.c, does not compile"
		args+=(CPPFLAGS="${cpp[*]}" LIBS="$shim $ROOT/build/lib/libcodeheap.a")
	fi
	[ "$v" = sealloc ] && args+=(--enable-jit-sealloc)
	# Configured again when the source or the options change.
	stamp="$src ${args[*]}"
	if [ "$(cat "$obj/.configured" 2>/dev/null)" != "$stamp" ]; then
		echo "pcre2: configuring $pver, $v" >&2
		find "$obj" -mindepth 1 -maxdepth 1 ! -name codeheap_sljit.o -exec rm -rf {} +
		(cd "$obj" && "$src/configure" -q "${args[@]}") > "$obj/configure.log" 2>&1 ||
			{ tail -n 20 "$obj/configure.log" >&2; die "configure of $v failed (see $obj/config.log)"; }
		echo "$stamp" > "$obj/.configured"
	fi
	# LIBS is no dependency of the programs' rules: link them anew.
	rm -f "${progs[@]/#/$obj/}"
	echo "pcre2: building $pver, $v (make -j2)" >&2
	# The libraries without LIBS, which libtool would pack into them.
	{ make -C "$obj" -s -j2 LIBS= libpcre2-8.la libpcre2-16.la libpcre2-32.la \
		libpcre2-posix.la && make -C "$obj" -s -j2 LDFLAGS=-all-static; } \
		> "$obj/make.log" 2>&1 ||
		{ tail -n 30 "$obj/make.log" >&2; die "make of $v failed (see $obj/make.log)"; }
	echo "pcre2: $v configured and built in $(( $(date +%s) - start )) s" >&2

	local t=$OUT/pcre2-$v
	rm -rf "$t"
	mkdir -p "$t"
	cp "${progs[@]/#/$obj/}" "$src/RunTest" "$src/RunGrepTest" "$HERE/run-tests.sh" "$t/"
	cp -r "$src/testdata" "$t/"
	${CC:-gcc} -O2 -Wall -Wextra -Werror -static "$HERE/onecpu.c" -o "$t/onecpu"
	# make bench's end-to-end row: the same program on each allocator.
	${CC:-gcc} -O2 -Wall -Wextra -Werror -static -I"$obj/src" "$HERE/pcre2_bench.c" \
		"$obj/.libs/libpcre2-8.a" ${shim:+"$shim" "$ROOT/build/lib/libcodeheap.a"} \
		-o "$t/pcre2_bench" || die "pcre2_bench does not build against $v"
	tar -C "$OUT" -cf "$t.tar" "pcre2-$v"
}

for v in "${variants[@]}"; do build "$v"; done
