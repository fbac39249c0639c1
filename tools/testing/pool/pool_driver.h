/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differential driver of codeheap's pool against a reference model: one
 * input of bytes is one stream of operations.
 */
#ifndef _POOL_DRIVER_H
#define _POOL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Called with a description when the pool and the model disagree; must not
 * return (the fuzzer aborts, the replay longjmps out).
 */
extern void (*pool_driver_fail)(const char *msg);

/* Runs one input; returns the number of operations it performed. */
size_t pool_driver_run(const uint8_t *data, size_t size);

#endif /* _POOL_DRIVER_H */
