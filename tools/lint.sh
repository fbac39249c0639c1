#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel-style checks of the module and the uapi header:
#  - checkpatch.pl --no-tree --strict on every file of module/ and uapi/
#    (checkpatch comes from Debian's linux-source package, see ksrc.sh);
#  - kernel-doc and locking conventions: scripts/kernel-doc -Wall finds
#    nothing wrong in the comments, every function a file of module/ does
#    not keep static has one, and every *_locked function asserts its lock
#    (tools/lint-module.pl);
#  - the man pages: one per library function, each clean under
#    mandoc -T lint -W warning and groff -ww;
#  - the module cross-built for Debian's arm64 6.1, 6.12 and 7.x kernels
#    (tools/vm/run --arch arm64 --build-only), no warning;
#  - sparse (make C=2) of the module against the newest Debian 6.12
#    headers (installed as the VM runner installs them), or KDIR if given.
# Each file and the sparse build count as one check; prints
# "@@counts lint PASS FAIL SKIP" last and fails if any check failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/deps.sh" build lint || exit 1
ksrc=$("$ROOT/tools/ksrc.sh") || exit 1
pass=0 fail=0 skipped=0

# One row: ok when RC is 0 and OUT empty, else not ok with OUT as comments.
row() { # NAME RC OUT
	if [ "$2" = 0 ] && [ -z "$3" ]; then
		pass=$((pass + 1))
		echo "ok - lint/$1"
	else
		fail=$((fail + 1))
		echo "not ok - lint/$1"
		[ -z "$3" ] || echo "$3" | sed 's/^/# /'
	fi
}

for f in $(cd "$ROOT" && ls module/*.[ch] module/*/*.[ch] uapi/linux/*.h 2>/dev/null); do
	out=$(cd "$ROOT" && perl "$ksrc/scripts/checkpatch.pl" --no-tree --strict \
		--quiet --show-types -f "$f" 2>&1)
	row "checkpatch/$f" $? "$out"
done

files=$(cd "$ROOT" && ls module/*.[ch] module/*/*.[ch] uapi/linux/*.h)
out=$(cd "$ROOT" && perl "$ksrc/scripts/kernel-doc" -none -Wall $files 2>&1 &&
	perl tools/lint-module.pl $files 2>&1)
row kernel-doc+locks $? "$out"

kdir=${KDIR:-}
if [ -z "$kdir" ]; then
	kdir=$("$ROOT/tools/vm/run" --quiet --kernel 6.12 --print-kdir) || kdir=none
fi
kname=$(basename "$kdir")
[ "$kname" = build ] && kname=$(basename "$(dirname "$kdir")")
if [ -f "$kdir/Makefile" ]; then
	tmp=$ROOT/build/sparse
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cp -a "$ROOT/Kbuild" "$ROOT/module" "$ROOT/uapi" "$tmp/"
	out=$(make -s -C "$kdir" M="$tmp" C=2 modules 2>&1)
	rc=$?
	# The kernel's own headers trigger nothing with Debian's sparse; any
	# line naming one of our files is ours.
	if [ $rc = 0 ] && ! grep -qE '(warning|error):' <<< "$out"; then
		pass=$((pass + 1))
		echo "ok - lint/sparse ($kname)"
	else
		fail=$((fail + 1))
		echo "not ok - lint/sparse ($kname)"
		echo "$out" | sed 's/^/# /'
	fi
else
	fail=$((fail + 1))
	echo "not ok - lint/sparse: no kernel build tree at $kdir"
fi

# arm64: the module cross-built for Debian's arm64 kernels (the VM runs
# x86-64 only so far), no warning allowed.
for k in 6.1 6.12 trixie-backports sid; do
	out=$("$ROOT/tools/vm/run" --quiet --arch arm64 --kernel "$k" --build-only 2>&1)
	rc=$?
	if [ $rc = 0 ] && grep -q '^ok - ' <<< "$out"; then
		if grep -q '# SKIP' <<< "$out"; then
			skipped=$((skipped + 1))
			echo "ok - lint/arm64/$k # SKIP $(sed -n 's/.*# SKIP //p' <<< "$out" | head -n 1)"
		else
			pass=$((pass + 1))
			echo "ok - lint/arm64/$k: $(sed -n 's|^ok - vm/\(.*\)/build$|\1|p' <<< "$out")"
		fi
	else
		fail=$((fail + 1))
		echo "not ok - lint/arm64/$k"
		echo "$out" | grep -v '^@@counts' | sed 's/^/# /'
	fi
done

# The manual: a page per function of the library (static inlines too),
# the CLI's and the device's, each clean under mandoc's and groff's
# warnings.
fns=$(grep -E -o '^([a-z][^;(]*[^a-z_0-9])?codeheap_[a-z_0-9]+\(' "$ROOT/tools/lib/codeheap.h" |
	sed -E 's/.*(codeheap_[a-z_0-9]+)\($/\1/' | sort -u)
missing=
for f in $fns; do
	[ -f "$ROOT/man/man3/$f.3" ] || missing+=" man3/$f.3"
done
for f in man1/codeheap.1 man4/codeheap.4; do
	[ -f "$ROOT/man/$f" ] || missing+=" $f"
done
if [ -z "$missing" ]; then
	pass=$((pass + 1))
	echo "ok - lint/man: a page for each of the $(wc -w <<< "$fns") functions, the CLI and the device"
else
	fail=$((fail + 1))
	echo "not ok - lint/man: missing pages:$missing"
fi
for f in $(cd "$ROOT" && ls man/man*/* 2>/dev/null); do
	out=$(cd "$ROOT" && mandoc -T lint -W warning "$f" 2>&1 &&
		groff -man -ww -z "$f" 2>&1)
	row "$f" $? "$out"
done

echo "@@counts lint $pass $fail $skipped"
[ $fail = 0 ]
