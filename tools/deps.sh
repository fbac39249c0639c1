#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make sure the Debian packages a codeheap task needs are installed.
#
#   tools/deps.sh GROUP...
#
# Groups: build (module and tools; dwarves for the BTF of the module), host (host tests), fuzz (libFuzzer),
# vm (QEMU runner), compat32 (the 32-bit x86 selftests the x86-64 VM
# runs), lint (checkpatch, sparse, mandoc, the arm64 cross compiler), install (DKMS,
# depmod and modinfo for the install tests), deb (building and linting
# the Debian packages), chroot (the build chroots of trixie's and sid's
# kernels), arm64 (cross compilers, AArch64 and AArch32, and QEMU for the
# arm64 VM), bench (valgrind for
# instruction counts), clients (PCRE2's source unpacked with dpkg-source and
# built with its autotools build).  Run as root, it installs
# what is missing with apt-get (no recommends); otherwise it names exactly
# what is missing and the command that installs it, and fails.
set -euo pipefail

# gcc-multilib is not in the host group: it conflicts with every cross
# compiler (gcc-aarch64-linux-gnu, for the arm64 module).  What it adds to
# gcc-12-multilib is the /usr/include/asm link; 32-bit builds pass
# -idirafter /usr/include/x86_64-linux-gnu instead (tools/testing/Makefile,
# tools/vm/run).

declare -A pkgs=(
	[build]="gcc make libc6-dev dwarves"
	[host]="gcc make libc6-dev gcc-12-multilib libc6-dev-i386 binutils binutils-aarch64-linux-gnu pkgconf"
	[fuzz]="clang libclang-rt-14-dev"
	[vm]="qemu-system-x86 busybox-static cpio xz-utils gzip"
	[compat32]="gcc-12-multilib libc6-dev-i386"
	[lint]="sparse perl mandoc gcc-aarch64-linux-gnu"
	[install]="dkms kmod xz-utils"
	[deb]="dpkg-dev debhelper dh-dkms lintian"
	[chroot]="debootstrap zstd"
	[arm64]="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
	[bench]="valgrind"
	[clients]="dpkg-dev gcc make libc6-dev"
)

need=()
for group in "$@"; do
	[ -n "${pkgs[$group]+x}" ] || { echo "deps: unknown group '$group'" >&2; exit 2; }
	for p in ${pkgs[$group]}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			need+=("$p")
	done
done
[ ${#need[@]} -eq 0 ] && exit 0

# Deduplicate, keep order.
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++')

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages: ${need[*]}" >&2
	echo "deps: install them as root: apt-get install --no-install-recommends ${need[*]}" >&2
	exit 1
fi

apt_fresh() {
	# Package lists older than a day may name versions the archive dropped.
	local newest
	newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)
	[ -n "$newest" ] || apt-get update -qq >&2
}
apt_fresh
echo "deps: installing ${need[*]}" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
