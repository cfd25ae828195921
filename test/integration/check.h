/* check.h: the one way the integration tests check things. CHECK() reports a failed condition
 * with its place and a message and counts it, without stopping the test; die() ends the test on
 * a failed set-up step; skip() ends it as skipped (automake's exit status 77). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int check_failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

/* Also used in forked children: flush, then _exit, so buffered output is written once. */
static inline __attribute__((noreturn)) void die(const char *what)
{
	perror(what);
	fflush(NULL);
	_exit(1);
}

static inline __attribute__((noreturn)) void skip(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(77);
}
