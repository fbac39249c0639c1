# SPDX-License-Identifier: GPL-2.0
#
# Judge the TAP output of one kselftest-harness program.
#
#   awk -v name=NAME -v rc=EXIT_STATUS -f tap.awk OUTPUT
#
# Counts the top-level "ok"/"not ok" lines, checks them against the "1..N"
# plan, and treats a missing plan, a short plan and a non-zero exit status
# with no failed test as one failure each, so a crash or a timeout never
# passes.  Prints "@@problem NAME: ..." for each failure and, last,
# "@@counts NAME PASS FAIL SKIP".

BEGIN { plan = -1; pass = 0; fail = 0; skip = 0 }

/^1\.\.[0-9]+/ {
	if (plan < 0) {
		plan = substr($1, 4) + 0
	}
	next
}

/^ok [0-9]+/ {
	if ($0 ~ /# (SKIP|skip)/)
		skip++
	else
		pass++
	next
}

/^not ok [0-9]+/ {
	if ($0 ~ /# (SKIP|skip)/) {
		skip++
	} else {
		fail++
		sub(/^not ok [0-9]+ */, "")
		printf "@@problem %s: not ok: %s\n", name, $0
	}
	next
}

END {
	seen = pass + fail + skip
	if (plan < 0) {
		fail++
		printf "@@problem %s: no TAP plan (crashed or never ran?)\n", name
	} else if (seen != plan) {
		fail += (plan > seen) ? plan - seen : 1
		printf "@@problem %s: plan 1..%d but %d results\n", name, plan, seen
	}
	if (rc != "" && rc != 0) {
		printf "@@problem %s: exit status %s\n", name, rc
		if (fail == 0)
			fail++
	}
	printf "@@counts %s %d %d %d\n", name, pass, fail, skip
}
