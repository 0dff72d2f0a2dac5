/* Small helpers shared by the C tests: hex parsing and frame building. */
#ifndef VSAFE_TEST_UTIL_H
#define VSAFE_TEST_UTIL_H

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vsafe/se_wire.h"

/* Parses hex with optional spaces into out; returns the byte count (asserts on bad input via -1). */
static inline size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p)) {
            continue;
        }
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            if (n < cap) {
                out[n] = (uint8_t)(hi << 4 | v);
            }
            n++;
            hi = -1;
        }
    }
    return n;
}

/* Appends the CRC (high byte first) to a frame of len bytes; returns the new length. */
static inline size_t tu_crc(uint8_t *frame, size_t len)
{
    uint16_t c = vsafe_crc16(frame, len);
    frame[len] = (uint8_t)(c >> 8);
    frame[len + 1] = (uint8_t)c;
    return len + 2;
}

#endif
