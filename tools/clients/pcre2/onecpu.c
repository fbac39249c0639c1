// SPDX-License-Identifier: GPL-2.0
/*
 * onecpu COMMAND [ARG]...: run COMMAND on CPU 0 under SCHED_FIFO, so that a
 * process it forks runs only once its parent blocks.  RunGrepTest needs
 * that: pcre2grep flushes its output after fork() for a callout script,
 * not before, and in the VM the child's output often comes first
 * (run-tests.sh).  Needs CAP_SYS_NICE; status 127 if it cannot.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sched_param p = { .sched_priority = 1 };
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (argc < 2 || sched_setaffinity(0, sizeof(cpus), &cpus) ||
	    sched_setscheduler(0, SCHED_FIFO, &p)) {
		perror("onecpu");
		return 127;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
