/*
 * utf8.h -- strict UTF-8 validation (no overlongs, no surrogates, nothing
 * above U+10FFFF), used on every request before anything else looks at it.
 */
#ifndef LH_UTF8_H
#define LH_UTF8_H

#include <stddef.h>

/* Length of the valid sequence starting at s (1-4), or 0 if invalid. */
size_t lh_utf8_seq(const char *s, size_t n);

/* Offset of the first invalid byte, or n when all of s[0..n) is valid. */
size_t lh_utf8_check(const char *s, size_t n);

#endif
