// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer entry point of the pool's differential driver: any
 * disagreement between the pool and the model aborts with a description.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pool_driver.h"

static void fuzz_fail(const char *msg)
{
	fprintf(stderr, "pool mismatch: %s\n", msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pool_driver_fail = fuzz_fail;
	pool_driver_run(data, size);
	return 0;
}
