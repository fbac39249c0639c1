#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host micro-benchmark of the pool: first-fit allocate+free at 1k, 100k and
# 1M free ranges, for codeheap's pool and a linear-scan baseline (V8's
# algorithm).  Wall-clock ns/op from a native run; instructions/op from
# callgrind counting only the timed loop (setup excluded).  The linear
# baseline runs fewer operations at large sizes, each scanning every range.
#
#   bench.sh PATH/TO/pool_bench
set -euo pipefail
bench=$1
command -v valgrind >/dev/null || { echo "bench-host: valgrind missing (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sizes=(1000 100000 1000000)
declare -A ns ir

# Operations per run: KIND is native or callgrind.  The linear baseline
# scans every range per operation, so it runs fewer at large sizes.
ops_for() { # KIND IMPL NRANGES
	case $1,$2,$3 in
	native,pool,*)		echo 1000000 ;;
	callgrind,pool,*)	echo 100000 ;;
	native,linear,1000)	echo 100000 ;;
	native,linear,100000)	echo 1000 ;;
	native,linear,*)	echo 100 ;;
	callgrind,linear,1000)	echo 1000 ;;
	callgrind,linear,100000) echo 10 ;;
	callgrind,linear,*)	echo 3 ;;
	esac
}

for impl in pool linear; do
	for n in "${sizes[@]}"; do
		o=$(ops_for native "$impl" "$n")
		ns[$impl,$n]=$("$bench" "$impl" "$n" "$o" | awk '{print $4}')
		o=$(ops_for callgrind "$impl" "$n")
		valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
			--callgrind-out-file="$tmp/cg" "$bench" "$impl" "$n" "$o" \
			>/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
		ir[$impl,$n]=$(awk -v o="$o" '/^totals:/ { printf "%.0f", $2 / o }' "$tmp/cg")
	done
done

read -r node_bytes pool_bytes < <("$bench" meta)
echo "pool metadata: $node_bytes bytes per free range (struct codeheap_pool_node), $pool_bytes bytes per pool"
echo "op: first-fit alloc of 128 bytes aligned to 64 (only the top range fits) + free of it"
echo
printf '%-12s %12s %12s %14s %14s %16s\n' "free ranges" "pool ns/op" "pool Mops/s" "pool instr/op" "linear ns/op" "linear instr/op"
for n in "${sizes[@]}"; do
	printf '%-12s %12s %12.2f %14s %14s %16s\n' "$n" "${ns[pool,$n]}" \
		"$(awk -v t="${ns[pool,$n]}" 'BEGIN { print 1000 / t }')" \
		"${ir[pool,$n]}" "${ns[linear,$n]}" "${ir[linear,$n]}"
done
g() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
printf '%-12s %12s %12s %14s %14s %16s\n' "1k->1M" \
	"$(g "${ns[pool,1000]}" "${ns[pool,1000000]}")" "" \
	"$(g "${ir[pool,1000]}" "${ir[pool,1000000]}")" \
	"$(g "${ns[linear,1000]}" "${ns[linear,1000000]}")" \
	"$(g "${ir[linear,1000]}" "${ir[linear,1000000]}")"
echo
growth=$(awk -v a="${ir[pool,1000]}" -v b="${ir[pool,1000000]}" 'BEGIN { print b / a }')
if awk -v g="$growth" 'BEGIN { exit !(g <= 1.5) }'; then
	echo "pool instr/op growth 1k->1M: ${growth}x (target <= 1.5x: met)"
else
	echo "pool instr/op growth 1k->1M: ${growth}x (target <= 1.5x: NOT met; O(log n): log2(1M)/log2(1k) = 2)"
fi
