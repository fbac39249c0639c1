/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the codeheap selftests.
 */
#ifndef _CODEHEAP_UTIL_H
#define _CODEHEAP_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/codeheap.h>

#define CODEHEAP_DEV "/dev/codeheap"
#define CODEHEAP_PARAMS "/sys/module/codeheap/parameters/"

/* ioctl() that returns 0 or -errno, so a test can compare one value. */
static inline int ch_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int ch_version(int fd, struct codeheap_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	return ch_ioctl(fd, CODEHEAP_IOC_VERSION, v);
}

/* Read a module parameter as an unsigned number; -1 on error. */
static inline long long ch_param_read(const char *name)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), CODEHEAP_PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

/* Write a module parameter; 0 or -errno. */
static inline int ch_param_write(const char *name, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), CODEHEAP_PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

#endif /* _CODEHEAP_UTIL_H */
