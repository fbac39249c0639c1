/* SPDX-License-Identifier: GPL-2.0 */
/* toyjit's demo, shared by the toyjit program and selftests/example_test. */
#ifndef _TOYJIT_DEMO_H
#define _TOYJIT_DEMO_H

#include <stdio.h>

#include "codeheap.h"

extern const char toyjit_demo_program[];

/* Run the demo on heap @h, printing to @out; 0 if every check held. */
int toyjit_demo(struct codeheap *h, FILE *out);

#endif /* _TOYJIT_DEMO_H */
