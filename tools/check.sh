#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything make check runs, in order:
#   1. host tests (tools/testing, under ASan+UBSan),
#   2. lint (checkpatch --strict, sparse, kernel-doc, man pages), the
#      install tests (make install/uninstall into a scratch root, DKMS
#      against the cached header trees, the Debian packages built, linted
#      and unpacked, tools/testing/install/run.sh) and
#      the VM runner's own judging of a guest that dies (tools/vm/selftest),
#   3. arm64: the module booted in qemu-system-aarch64 on each Debian
#      arm64 kernel and the whole selftest suite run there, the CLI's
#      selftest on the first (tools/vm/arm64-check),
#      then the VM suite on each kernel given (make check: every Debian kernel
#      series, and any EXTRA_KERNELS),
#   4. that /boot and the host's linux-* packages are as they were,
# then a summary per stage and, as the last line, "N passed, N failed"
# (", N skipped" when any were), counted from the TAP of every stage.  A
# stage that dies before it reports counts as one failure.
#
#   tools/check.sh KERNEL...
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LOGS=$ROOT/build/check
mkdir -p "$LOGS"

"$ROOT/tools/deps.sh" build host vm lint install deb chroot arm64 || exit 1

# What the host boots, before and after: no stage may install a kernel.
boot_state() {
	ls -l /boot 2>/dev/null
	dpkg-query -W -f='${Package} ${Version} ${Status}\n' 'linux-*' 2>/dev/null
}
boot_before=$(boot_state)

total_p=0 total_f=0 total_s=0
summary=()

stage() { # NAME LOGFILE COMMAND...
	local name=$1 logf=$2 p=0 f=0 s=0 seen=0 start=$SECONDS
	shift 2
	echo "=== $name"
	"$@" 2>&1 | tee "$logf"
	while read -r _ _ cp cf cs; do
		p=$((p + cp)) f=$((f + cf)) s=$((s + cs)) seen=1
	done < <(grep '^@@counts ' "$logf")
	if [ $seen = 0 ]; then
		f=1
		echo "not ok - $name: stage reported no results (see $logf)"
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	summary+=("$(printf '%-34s %4d passed, %d failed, %d skipped  (%ds)' \
		"$name" $p $f $s $((SECONDS - start)))")
}

stage host "$LOGS/host.log" make -s -C tools/testing test
stage lint "$LOGS/lint.log" tools/lint.sh
stage install "$LOGS/install.log" tools/testing/install/run.sh
stage "vm runner" "$LOGS/vm-runner.log" tools/vm/selftest 6.12
stage "vm arm64" "$LOGS/vm-arm64.log" tools/vm/arm64-check
for k in "$@"; do
	stage "vm $k" "$LOGS/vm-$(basename "$k").log" tools/vm/run --quiet --kernel "$k"
done

echo "=== host boot"
if [ "$(boot_state)" = "$boot_before" ]; then
	echo "ok - host: /boot and the linux-* packages are as before"
	total_p=$((total_p + 1))
	summary+=("$(printf '%-34s %4d passed, %d failed, %d skipped' "host boot" 1 0 0)")
else
	echo "not ok - host: a stage changed /boot or the linux-* packages:"
	diff <(echo "$boot_before") <(boot_state) | sed 's/^/# /'
	total_f=$((total_f + 1))
	summary+=("$(printf '%-34s %4d passed, %d failed, %d skipped' "host boot" 0 1 0)")
fi

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
if [ $total_s -gt 0 ]; then
	echo "$total_p passed, $total_f failed, $total_s skipped"
else
	echo "$total_p passed, $total_f failed"
fi
[ $total_f = 0 ]
