/* A bounded cursor over an input buffer: the one way the device core parses request bytes.
 *
 * Invariants:
 *  1. pos[0 .. left) is the unread part of the input, and nothing outside the input is ever read:
 *     every take checks left first.
 *  2. A take that does not fit changes nothing (the cursor stays where it was) and reports false;
 *     its outputs are set to zero / NULL, so a caller that ignored the failure still reads no
 *     stale or uninitialised value. Every take is must-check.
 *  3. Big-endian values go through common/bytes.h, the one source for byte order.
 *
 * Leftover bytes are an error: a parser ends with vsafe_cursor_at_end (or takes the rest on
 * purpose with vsafe_cursor_rest). Header-only and freestanding, so the core can use it. */
#ifndef VSAFE_COMMON_CURSOR_H
#define VSAFE_COMMON_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "vsafe/status.h"

typedef struct {
    const uint8_t *pos; /* next unread byte */
    size_t left;        /* bytes not yet read */
} vsafe_cursor_t;

static inline vsafe_cursor_t vsafe_cursor(const uint8_t *data, size_t len)
{
    vsafe_cursor_t c = {data, data != NULL ? len : 0u};
    return c;
}

static inline size_t vsafe_cursor_left(const vsafe_cursor_t *c) { return c->left; }

/* true when every byte was read: the check that leftover bytes are an error. */
VSAFE_MUST_CHECK static inline bool vsafe_cursor_at_end(const vsafe_cursor_t *c) { return c->left == 0u; }

/* Takes n bytes; *p points at them inside the input (not copied). */
VSAFE_MUST_CHECK static inline bool vsafe_cursor_bytes(vsafe_cursor_t *c, size_t n, const uint8_t **p)
{
    if (n > c->left) {
        *p = NULL;
        return false;
    }
    *p = c->pos;
    c->pos += n;
    c->left -= n;
    return true;
}

VSAFE_MUST_CHECK static inline bool vsafe_cursor_u8(vsafe_cursor_t *c, uint8_t *v)
{
    const uint8_t *p;
    if (!vsafe_cursor_bytes(c, 1u, &p)) {
        *v = 0;
        return false;
    }
    *v = p[0];
    return true;
}

VSAFE_MUST_CHECK static inline bool vsafe_cursor_be16(vsafe_cursor_t *c, uint16_t *v)
{
    const uint8_t *p;
    if (!vsafe_cursor_bytes(c, 2u, &p)) {
        *v = 0;
        return false;
    }
    *v = vsafe_get_be16(p);
    return true;
}

VSAFE_MUST_CHECK static inline bool vsafe_cursor_be32(vsafe_cursor_t *c, uint32_t *v)
{
    const uint8_t *p;
    if (!vsafe_cursor_bytes(c, 4u, &p)) {
        *v = 0;
        return false;
    }
    *v = vsafe_get_be32(p);
    return true;
}

/* Takes n bytes as a cursor of their own (a fixed-size field parsed on its own). */
VSAFE_MUST_CHECK static inline bool vsafe_cursor_sub(vsafe_cursor_t *c, size_t n, vsafe_cursor_t *sub)
{
    const uint8_t *p;
    if (!vsafe_cursor_bytes(c, n, &p)) {
        *sub = vsafe_cursor(NULL, 0);
        return false;
    }
    *sub = vsafe_cursor(p, n);
    return true;
}

/* Takes the last n bytes (a trailer such as a MAC); the cursor keeps the bytes before them. */
VSAFE_MUST_CHECK static inline bool vsafe_cursor_tail(vsafe_cursor_t *c, size_t n, const uint8_t **p)
{
    if (n > c->left) {
        *p = NULL;
        return false;
    }
    c->left -= n;
    *p = c->pos + c->left;
    return true;
}

/* The next byte without taking it. */
VSAFE_MUST_CHECK static inline bool vsafe_cursor_peek_u8(const vsafe_cursor_t *c, uint8_t *v)
{
    if (c->left == 0u) {
        *v = 0;
        return false;
    }
    *v = c->pos[0];
    return true;
}

/* Takes everything that is left (a variable-length last field); *n may be 0. */
static inline void vsafe_cursor_rest(vsafe_cursor_t *c, const uint8_t **p, size_t *n)
{
    *p = c->pos;
    *n = c->left;
    c->pos += c->left;
    c->left = 0;
}

#endif
