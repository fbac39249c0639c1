#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installing codeheap as a user or a distribution does, without touching
# the host: everything goes into scratch directories under build/install.
#
#   tools/testing/install/run.sh
#
#  - make install DESTDIR=... PREFIX=/usr for the newest Debian 6.12 kernel
#    (its headers as the VM runner unpacks them): exactly the expected
#    files, the module built for that kernel; make uninstall removes them;
#  - one version for the library, DKMS and the Debian packages;
#  - DKMS: make install-dkms, then dkms add and dkms build against the
#    newest Debian 6.1 and 6.12 header trees (--kernelsourcedir, dkms's
#    state in a scratch --dkmstree: nothing installed system-wide), and the
#    .ko DKMS built for 6.12 booted in the VM, where "codeheap selftest"
#    passes;
#  - the Debian packages: dpkg-buildpackage -us -uc -b in a copy of the
#    tree, lintian (pedantic) without an error or a warning, and each
#    package unpacked into a scratch root (dpkg-deb -x) holding exactly
#    its expected files.
# TAP; the last line is "@@counts install PASS FAIL 0".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=$ROOT/build/install
"$ROOT/tools/deps.sh" build vm install deb || exit 1
pass=0 fail=0

ok() { # RC NAME [details...]
	local rc=$1 name=$2
	shift 2
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		echo "ok - install/$name"
	else
		fail=$((fail + 1))
		echo "not ok - install/$name"
	fi
	[ $# -gt 0 ] && [ "$rc" != 0 ] && printf '%s\n' "$@" | sed 's/^/# /'
	return 0
}
finish() { echo "@@counts install $pass $fail 0"; [ $fail = 0 ]; exit; }

rm -rf "$OUT"
mkdir -p "$OUT"
declare -A kdir rel
for k in 6.1 6.12; do
	kdir[$k]=$("$ROOT/tools/vm/run" --quiet --kernel $k --print-kdir) || kdir[$k]=
	rel[$k]=$(basename "${kdir[$k]}" | sed 's/^linux-headers-//')
	if [ ! -f "${kdir[$k]}/Makefile" ]; then
		ok 1 "kernel $k headers" "no headers tree for Debian $k (see tools/vm/run)"
		finish
	fi
done

# ------------------------------------------------------------ make install --

# A copy of the tree, so that the module build leaves this one alone.
src=$OUT/src
mkdir -p "$src"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
dest=$OUT/root
r=${rel[6.12]}
out=$(make -s -C "$src" install DESTDIR="$dest" PREFIX=/usr \
	KDIR="${kdir[6.12]}" KVER="$r" 2>&1)
ok $? "make install DESTDIR=... PREFIX=/usr KVER=$r" "$out"

# Every file make install writes, and nothing else.
expected=$( {
	cat <<LIST
lib/modules/$r/updates/codeheap.ko.xz
usr/bin/codeheap
usr/include/codeheap.h
usr/include/codeheap/linux/codeheap.h
usr/lib/libcodeheap.a
usr/lib/libcodeheap.so
usr/lib/libcodeheap.so.0
usr/lib/libcodeheap.so.0.2.0
usr/lib/pkgconfig/codeheap.pc
usr/lib/udev/rules.d/60-codeheap.rules
LIST
	(cd "$ROOT" && ls man/man*/* 2>/dev/null | sed 's|^|usr/share/|')
} | sort)
got=$(cd "$dest" 2>/dev/null && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
[ "$got" = "$expected" ]
ok $? "installed files are exactly the expected $(wc -l <<< "$expected")" \
	"$(diff <(echo "$expected") <(echo "$got") | grep '^[<>]')"

vm=$(modinfo -F vermagic "$dest/lib/modules/$r/updates/codeheap.ko.xz" 2>&1)
[ "${vm%% *}" = "$r" ]
ok $? "installed module is built for $r" "vermagic: $vm"

out=$(make -s -C "$src" uninstall DESTDIR="$dest" PREFIX=/usr KVER="$r" 2>&1)
rc=$?
left=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\./||')
[ $rc = 0 ] && [ -z "$left" ]
ok $? "make uninstall removes every file" "$out" "left: $left"

# ------------------------------------------------------------------ version --

lib=$(sed -n 's/^VERSION := //p' "$ROOT/tools/lib/Makefile")
dkv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/dkms.conf")
debv=$(sed -n '1s/^codeheap (\([^)-]*\).*/\1/p' "$ROOT/debian/changelog")
[ -n "$lib" ] && [ "$lib" = "$dkv" ] && [ "$lib" = "$debv" ]
ok $? "one version: library $lib, dkms.conf $dkv, debian/changelog $debv"

# --------------------------------------------------------------------- dkms --

img=$OUT/dkms-src
tree=$OUT/dkms
mkdir -p "$tree"
out=$(make -s -C "$ROOT" install-dkms DESTDIR="$img" 2>&1 &&
      dkms add --dkmstree "$tree" --sourcetree "$img/usr/src" "codeheap/$lib" 2>&1)
ok $? "make install-dkms; dkms add" "$out"
for k in 6.1 6.12; do
	r=${rel[$k]}
	out=$(dkms build "codeheap/$lib" -k "$r" --kernelsourcedir "${kdir[$k]}" \
		--dkmstree "$tree" --sourcetree "$img/usr/src" 2>&1)
	rc=$?
	ko=$(ls "$tree/codeheap/$lib/$r"/*/module/codeheap.ko* 2>/dev/null | head -n 1)
	vm=$( [ -n "$ko" ] && modinfo -F vermagic "$ko" 2>&1)
	[ $rc = 0 ] && [ "${vm%% *}" = "$r" ]
	ok $? "dkms build -k $r" "$out" "module: ${ko:-none}" "vermagic: $vm"
	log=$(ls "$tree/codeheap/$lib/$r"/*/log/make.log 2>/dev/null | head -n 1)
	[ -n "$log" ] && grep -E 'make|LD \[M\].*\.ko' "$log" | sed "s|^|# dkms $k: |"
	[ $k = 6.12 ] && ko612=$ko
done

sys=$(ls -d /var/lib/dkms/codeheap /lib/modules/*/updates/dkms/codeheap.ko* 2>/dev/null)
[ -z "$sys" ]
ok $? "dkms installed nothing system-wide" "found: $sys"

if [ -n "${ko612:-}" ]; then
	make -s -C "$ROOT" tools > /dev/null 2>&1
	out=$("$ROOT/tools/vm/run" --quiet --kernel 6.12 --module "$ko612" \
		--add "$ROOT/build/tools/codeheap" --cmd "codeheap selftest" 2>&1)
	ok $? "the module DKMS built loads in the 6.12 VM and passes codeheap selftest" "$out"
else
	ok 1 "the module DKMS built loads in the 6.12 VM" "dkms built no module for 6.12"
fi
# ------------------------------------------------------------------- debian --

debdir=$OUT/deb
mkdir -p "$debdir/src"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$debdir/src" -xf -
out=$(cd "$debdir/src" && dpkg-buildpackage -us -uc -b 2>&1)
ok $? "dpkg-buildpackage -us -uc -b" "$(tail -n 30 <<< "$out")"
changes=$(ls "$debdir"/codeheap_*.changes 2>/dev/null | head -n 1)
if [ -n "$changes" ]; then
	out=$(lintian --pedantic --info "$changes" 2>&1 | grep -v '^running with root')
	echo "$out" | sed 's/^/# lintian: /'
	! grep -qE '^[EW]: ' <<< "$out"
	ok $? "lintian --pedantic: no error, no warning ($(grep -c '^[A-Z]: ' <<< "$out") tags)"
fi

arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
darch=$(dpkg-architecture -qDEB_HOST_ARCH)
manpages() { (cd "$ROOT" && ls man/man$1/* 2>/dev/null | sed "s|^man/\(.*\)|usr/share/man/\1.gz|"); }
docs() { printf 'usr/share/doc/%s/changelog.gz\nusr/share/doc/%s/copyright\n' "$1" "$1"; }
declare -A want
want[codeheap-dkms_${lib}_all]=$( {
	docs codeheap-dkms
	(cd "$ROOT" && ls dkms.conf Kbuild module/*.[ch] module/arch/*.[ch] uapi/linux/*.h) |
		sed "s|^|usr/src/codeheap-$lib/|"
} | sort)
want[libcodeheap0_${lib}_$darch]=$( {
	docs libcodeheap0
	printf 'usr/lib/%s/libcodeheap.so.0\nusr/lib/%s/libcodeheap.so.%s\n' "$arch" "$arch" "$lib"
} | sort)
want[libcodeheap-dev_${lib}_$darch]=$( {
	docs libcodeheap-dev
	manpages 3
	printf '%s\n' usr/include/codeheap.h usr/include/codeheap/linux/codeheap.h \
		"usr/lib/$arch/libcodeheap.a" "usr/lib/$arch/libcodeheap.so" \
		"usr/lib/$arch/pkgconfig/codeheap.pc"
} | sort)
want[codeheap-tools_${lib}_$darch]=$( {
	docs codeheap-tools
	manpages 1
	manpages 4
	printf '%s\n' usr/bin/codeheap usr/lib/udev/rules.d/60-codeheap.rules
} | sort)
for p in "${!want[@]}"; do
	deb=$debdir/$p.deb
	root=$debdir/root/${p%%_*}
	rm -rf "$root"
	mkdir -p "$root"
	got=$( [ -f "$deb" ] && dpkg-deb -x "$deb" "$root" &&
	       cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
	[ "$got" = "${want[$p]}" ]
	ok $? "$p.deb unpacked holds exactly its $(wc -l <<< "${want[$p]}") files" \
		"$(diff <(echo "${want[$p]}") <(echo "$got") | grep '^[<>]')"
done
out=$(dpkg-deb -f "$debdir/libcodeheap-dev_${lib}_$darch.deb" Depends 2>&1)
[ "$out" = "libcodeheap0 (= $lib)" ]
ok $? "libcodeheap-dev depends on libcodeheap0 (= $lib)" "Depends: $out"
out=$(dpkg-deb -f "$debdir/codeheap-dkms_${lib}_all.deb" Depends 2>&1)
grep -q '^dkms' <<< "$out"
ok $? "codeheap-dkms depends on dkms" "Depends: $out"
finish
