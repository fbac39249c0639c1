#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run PCRE2's test suites in the directory this script is in, which holds
# pcre2test, pcre2_jit_test, pcre2grep, onecpu, RunTest, RunGrepTest and
# testdata/ (tools/clients/pcre2/build.sh makes it).  POSIX sh: it runs on
# the host and in the test VM, whose userland is busybox.
#
#   sh run-tests.sh [--suites "jit_test RunTest jitverify RunGrepTest"]
#                   [--jit-only] [TEST...]
#
#   --suites L   the suites to run, default all four
#   --jit-only   RunTest's tests that run JIT code only: 0-5 9-12 17 21 22 26
#                (the others test the interpreter, the DFA matcher, the
#                POSIX API, serialisation and pattern conversion, never JIT)
#   TEST...      RunTest's test numbers or ranges (3-6); default 0-26
#
# Every check is a line "ok - NAME" or "not ok - NAME": jit_test,
# RunTest/<bits>/<test>[-jit|-dfa] (RunTest runs most tests with and
# without JIT, for the 8-, 16- and 32-bit libraries), jitverify/<bits>/<test>
# and RunGrepTest; the output of a failure follows as "# " lines.  Then a
# summary:
#
#   pcre2_jit_test: ok (6 s)
#   RunTest: 91 passed of 91, 20 skipped (1 s)
#   jitverify: 33 inputs run (1 s)
#   RunGrepTest: ok (0 s)
#
# and the exit status is 1 if anything failed.
#
# RunTest's "-jit" runs pass even where JIT compilation fails: pcre2test
# then matches with the interpreter, silently.  Only pcre2_jit_test and
# test 17 notice.  jitverify runs the JIT tests' inputs once more with
# pcre2test -jitverify, which marks each match done by JIT code "(JIT)",
# and reports the number of such matches and a digest of the output: the
# same as on the host with sljit's own allocator means the same patterns
# ran as JIT code, with the same results (tools/clients/pcre2/run compares).
#
# RunTest stops at the first failure of a library width; it is then
# restarted at the next test, so a failure hides no other.  Test 3 needs a
# French locale (none on Debian by default, none in the VM) and "locale
# -a", which busybox lacks: where it is missing, a stand-in lists the C
# locale only, so the test is skipped in both places alike.  RunGrepTest
# runs on one CPU (see below).
set -u

cd "$(dirname "$0")" || exit 1
unset srcdir
suites="jit_test RunTest jitverify RunGrepTest"
tests=
while [ $# -gt 0 ]; do
	case $1 in
	--suites) suites=$2; shift ;;
	--jit-only) tests="$tests 0-5 9-12 17 21 22 26" ;;
	*) tests="$tests $1" ;;
	esac
	shift
done
[ -n "$tests" ] || tests=0-26
if ! command -v locale > /dev/null 2>&1; then
	mkdir -p .bin
	printf '#!/bin/sh\necho C\necho POSIX\n' > .bin/locale
	chmod +x .bin/locale
	PATH=$PWD/.bin:$PATH
fi

failed=0
summary=
note() { summary="$summary$*
"; }
show() { sed "s/^/# /"; } # < FAILURE OUTPUT
status() { # RC: "exit status N" or the signal
	if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"; else echo "exit status $1"; fi
}

whole() { # NAME SUMMARY-NAME COMMAND...: a suite that passes or fails as one
	name=$1 sname=$2
	shift 2
	start=$(date +%s)
	"$@" > "$name.out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc = 0 ]; then
		echo "ok - $name"
		note "$sname: ok ($secs s)"
	else
		failed=1
		echo "not ok - $name: $(status $rc)"
		grep -v '^\.*$' "$name.out" | tail -n 60 | show
		note "$sname: FAIL, $(status $rc) ($secs s)"
	fi
}

# The records of one run of RunTest: "ok|fail|skip NAME", then "last TEST".
parse() { # RC < OUTPUT
	awk -v rc="$1" '
	function next_mode() { return seen == "" ? "" : seen == "-jit" ? "-dfa" : "-jit" }
	/^Test [0-9]+:/ { t = $2; sub(":", "", t); seen = ""; next }
	/^Cannot test locale-specific features/ { t = 3; seen = ""; print "skip", t; next }
	/^  OK( with (JIT|DFA))?$/ {
		seen = /JIT/ ? "-jit" : /DFA/ ? "-dfa" : "+"
		print "ok", t (seen == "+" ? "" : seen)
		next
	}
	/^  Skipped/ { print "skip", t; next }
	/^\*\* / && !bad { bad = /with JIT/ ? "-jit" : /with DFA/ ? "-dfa" : next_mode() }
	END {
		if (rc != 0) print "fail", t bad
		print "last", t
	}'
}

runtest() { # BITS TEST...
	bits=$1
	shift
	todo=$*
	while [ -n "$todo" ]; do
		# shellcheck disable=SC2086
		sh ./RunTest "-$bits" $todo > RunTest.out 2>&1
		rc=$?
		last=
		while read -r what t; do
			case $what in
			ok) rt_pass=$((rt_pass + 1)); echo "ok - RunTest/$bits/$t" ;;
			skip) rt_skip=$((rt_skip + 1)); echo "ok - RunTest/$bits/$t # SKIP" ;;
			fail)
				rt_fail=$((rt_fail + 1))
				echo "not ok - RunTest/$bits/${t:-start}: $(status $rc)"
				# The failed test's output (the diff), and what pcre2test
				# printed last.
				awk -v t="${t%-*}" '$1 == "Test" && $2 == t ":" { p = 1 } p' RunTest.out |
					head -n 80 | show
				grep -q 'check testtry' RunTest.out && tail -n 15 testtry | sed 's/^/# testtry: /'
				;;
			last) last=$t ;;
			esac
		done <<EOF
$(parse $rc < RunTest.out)
EOF
		[ $rc = 0 ] && break
		# Failed before its first test: nothing after it can run either.
		[ -n "$last" ] || break
		next=
		for n in $todo; do [ "$n" -gt "$last" ] && next="$next $n"; done
		todo=$next
	done
}

expand() { # TEST-OR-RANGE...
	for a in "$@"; do
		case $a in
		*-*)
			i=${a%-*} j=${a#*-}
			while [ "$i" -le "$j" ]; do echo "$i"; i=$((i + 1)); done ;;
		*) echo "$a" ;;
		esac
	done
}

# shellcheck disable=SC2086
list=$(expand $tests | sort -nu | tr '\n' ' ')
for s in $suites; do
	case $s in
	jit_test) whole jit_test pcre2_jit_test ./pcre2_jit_test ;;
	jitverify)
		start=$(date +%s)
		n=0
		cp testdata/testbtables .	# test 2 loads it, as in RunTest
		for bits in 8 16 32; do
			./pcre2test -C "pcre2-$bits" > /dev/null
			[ $? = 1 ] || continue
			for t in $list; do
				case $bits/$t in
				*/1|*/2|*/4|*/5|8/9|8/10|16/1[12]|32/1[12]|*/2[126]) ;;
				*) continue ;;
				esac
				./pcre2test -q "-$bits" -jitverify "testdata/testinput$t" jitverify.out > /dev/null 2>&1
				rc=$?
				n=$((n + 1))
				if [ $rc != 0 ]; then
					failed=1
					echo "not ok - jitverify/$bits/$t: $(status $rc)"
					tail -n 15 jitverify.out | show
				else
					echo "ok - jitverify/$bits/$t: $(grep -c '(JIT)' jitverify.out) matches by JIT, output $(md5sum < jitverify.out | cut -c1-12)"
				fi
			done
		done
		note "jitverify: $n inputs run ($(( $(date +%s) - start )) s)"
		;;
	RunGrepTest)
		# pcre2grep flushes its output after fork() for a callout
		# script, not before, so the child's output may come first (8
		# runs in 10 in the VM, on one CPU too).  Under SCHED_FIFO on
		# one CPU (onecpu, where allowed) a child runs only once its
		# parent waits for it.
		pin=
		./onecpu true 2> /dev/null && pin=./onecpu
		# shellcheck disable=SC2086
		whole RunGrepTest RunGrepTest $pin sh ./RunGrepTest ;;
	RunTest)
		rt_pass=0 rt_fail=0 rt_skip=0
		start=$(date +%s)
		for bits in 8 16 32; do
			./pcre2test -C "pcre2-$bits" > /dev/null
			[ $? = 1 ] || continue
			# shellcheck disable=SC2086
			runtest "$bits" $list
		done
		[ $rt_fail = 0 ] || failed=1
		note "RunTest: $rt_pass passed of $((rt_pass + rt_fail)), $rt_skip skipped ($(( $(date +%s) - start )) s)"
		;;
	*) echo "run-tests: unknown suite $s" >&2; exit 2 ;;
	esac
done
printf '%s' "$summary"
exit $failed
