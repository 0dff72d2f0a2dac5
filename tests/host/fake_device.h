/* A fake device for host-library tests: it records every command frame the host writes and
 * answers each with the next canned response the test queued (or COMMAND_CODE_NOT_SUPPORTED when
 * none is left). Responses are built by hand from a status and a payload; the frame's LEN and CRC
 * are added here. Expected command bytes are typed by the tests as hex text. */
#ifndef VSAFE_TESTS_FAKE_DEVICE_H
#define VSAFE_TESTS_FAKE_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

#define FAKE_MAX 16
#define FAKE_FRAME 800

typedef struct {
    uint8_t cmd[FAKE_MAX][FAKE_FRAME];
    size_t cmd_len[FAKE_MAX];
    size_t ncmd;
    uint8_t rsp[FAKE_MAX][FAKE_FRAME];
    size_t rsp_len[FAKE_MAX];
    size_t nrsp, next;
    uint8_t cur[FAKE_FRAME];
    size_t cur_len;
} fake_t;

/* Parses hex text ("11 13 01", spaces ignored) into out; returns the byte count. */
static inline size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    int hi = -1;
    for (; *s != '\0'; s++) {
        int v;
        if (*s >= '0' && *s <= '9') {
            v = *s - '0';
        } else if (*s >= 'A' && *s <= 'F') {
            v = *s - 'A' + 10;
        } else if (*s >= 'a' && *s <= 'f') {
            v = *s - 'a' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

/* Queues a response: STATUS, LEN = n + 2, payload, CRC over STATUS and the payload. */
static inline void fake_answer(fake_t *f, uint8_t status, const uint8_t *payload, size_t n)
{
    uint8_t *r = f->rsp[f->nrsp];
    r[0] = status;
    r[1] = (uint8_t)((n + 2) >> 8);
    r[2] = (uint8_t)(n + 2);
    if (n > 0) {
        memcpy(r + 3, payload, n);
    }
    uint16_t crc = vsafe_crc16(r, 1);
    crc = vsafe_crc16_continue(crc, r + 3, n);
    r[3 + n] = (uint8_t)(crc >> 8);
    r[4 + n] = (uint8_t)crc;
    f->rsp_len[f->nrsp++] = n + 5;
}

static inline void fake_answer_hex(fake_t *f, uint8_t status, const char *payload_hex)
{
    uint8_t p[FAKE_FRAME];
    size_t n = hex(payload_hex, p);
    fake_answer(f, status, p, n);
}

static inline int fake_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    fake_t *f = ctx;
    (void)addr;
    if (f->ncmd < FAKE_MAX && len <= FAKE_FRAME) {
        memcpy(f->cmd[f->ncmd], buf, len);
        f->cmd_len[f->ncmd++] = len;
    }
    if (f->next < f->nrsp) {
        memcpy(f->cur, f->rsp[f->next], f->rsp_len[f->next]);
        f->cur_len = f->rsp_len[f->next++];
    } else {
        const uint8_t unsupported[5] = {0x04, 0x00, 0x02, 0x00, 0x00};
        memcpy(f->cur, unsupported, 5);
        uint16_t crc = vsafe_crc16(f->cur, 1);
        f->cur[3] = (uint8_t)(crc >> 8);
        f->cur[4] = (uint8_t)crc;
        f->cur_len = 5;
    }
    return 0;
}

static inline int fake_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    fake_t *f = ctx;
    (void)addr;
    memset(buf, 0xFF, len); /* an idle bus reads high past the response */
    memcpy(buf, f->cur, len < f->cur_len ? len : f->cur_len);
    return 0;
}

static inline vsafe_host_t *fake_open(fake_t *f)
{
    memset(f, 0, sizeof *f);
    vsafe_host_transport_t t = {.write = fake_write, .read = fake_read, .ctx = f};
    vsafe_host_t *h = NULL;
    if (vsafe_host_open(&h, &t) != VSAFE_OK) {
        return NULL;
    }
    return h;
}

/* 1 when command frame i is exactly the bytes of want_hex (CRC included when typed). */
static inline int fake_cmd_is(const fake_t *f, size_t i, const char *want_hex)
{
    uint8_t w[FAKE_FRAME];
    size_t n = hex(want_hex, w);
    return i < f->ncmd && f->cmd_len[i] == n && memcmp(f->cmd[i], w, n) == 0;
}

/* 1 when command frame i, without its 2 CRC bytes, is want_hex, and its CRC is right. */
static inline int fake_body_is(const fake_t *f, size_t i, const char *want_hex)
{
    uint8_t w[FAKE_FRAME];
    size_t n = hex(want_hex, w);
    if (i >= f->ncmd || f->cmd_len[i] != n + 2 || memcmp(f->cmd[i], w, n) != 0) {
        return 0;
    }
    uint16_t crc = vsafe_crc16(f->cmd[i], n);
    return f->cmd[i][n] == (uint8_t)(crc >> 8) && f->cmd[i][n + 1] == (uint8_t)crc;
}

/* Builders for expected frames and canned payloads: hex text, a repeated byte, a byte sequence.
 * assert_body needs cmocka.h included before this header. */
typedef struct {
    uint8_t b[FAKE_FRAME];
    size_t n;
} bld_t;

static inline bld_t *bld(bld_t *x)
{
    x->n = 0;
    return x;
}
static inline void bh(bld_t *x, const char *h) { x->n += hex(h, x->b + x->n); }
static inline void brep(bld_t *x, uint8_t v, size_t n)
{
    memset(x->b + x->n, v, n);
    x->n += n;
}
static inline void bseq(bld_t *x, uint8_t start, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        x->b[x->n++] = (uint8_t)(start + i);
    }
}

/* Command frame i without its CRC equals x, and the CRC is right. */
static inline void assert_body(const fake_t *f, size_t i, const bld_t *x)
{
    assert_true(i < f->ncmd);
    assert_int_equal(f->cmd_len[i], x->n + 2);
    assert_memory_equal(f->cmd[i], x->b, x->n);
    uint16_t crc = vsafe_crc16(f->cmd[i], x->n);
    assert_int_equal(f->cmd[i][x->n], (uint8_t)(crc >> 8));
    assert_int_equal(f->cmd[i][x->n + 1], (uint8_t)crc);
}

#endif
