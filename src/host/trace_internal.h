/* Trace decoder internals shared by trace.c and trace_services.c: the bounded text buffer the
 * decoders write into, and the key-service decoders. Not installed. */
#ifndef VSAFE_HOST_TRACE_INTERNAL_H
#define VSAFE_HOST_TRACE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Text output that never overruns: once full, it stays terminated and marked truncated. */
typedef struct {
    char *out;
    size_t cap;
    size_t len;
    int truncated;
} sbuf_t;

static inline void sb_printf(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_printf(sbuf_t *sb, const char *fmt, ...)
{
    if (sb->truncated) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->out + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sb->cap - sb->len) {
        sb->truncated = 1;
        sb->len = sb->cap - 1;
        sb->out[sb->len] = '\0';
        return;
    }
    sb->len += (size_t)n;
}

static inline void sb_hex(sbuf_t *sb, const uint8_t *p, size_t n, size_t masked_from, size_t masked_to)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 32 == 0) {
            sb_printf(sb, "\n          ");
        } else if (i > 0) {
            sb_printf(sb, " ");
        }
        if (i >= masked_from && i < masked_to) {
            sb_printf(sb, "**");
        } else {
            sb_printf(sb, "%02X", p[i]);
        }
    }
}

static inline void sb_data(sbuf_t *sb, const char *label, const uint8_t *p, size_t n)
{
    sb_printf(sb, " %s=", label);
    if (n == 0) {
        sb_printf(sb, "(none)");
        return;
    }
    size_t show = n > 48 ? 48 : n;
    for (size_t i = 0; i < show; i++) {
        sb_printf(sb, "%02x", p[i]);
    }
    if (show < n) {
        sb_printf(sb, "...");
    }
    sb_printf(sb, " (%zu bytes)", n);
}

/* " label=<N bytes, secret>": a secret shown by its length only. */
void host_trace_secret(sbuf_t *sb, const char *label, size_t n);

/* Fields of a key-service command / response payload (plaintext); 1 when the frame was one of
 * them and was decoded (secrets shown by their length only), 0 otherwise. */
int host_trace_service_command(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *p, size_t n);
int host_trace_service_response(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *cmd, size_t cmd_n,
                                const uint8_t *p, size_t n);

/* Bytes [*from, *to) of a plaintext command payload that are secret (keys written, passwords,
 * input key material, payloads to wrap); 0 when none are. */
int host_trace_cmd_secret_range(uint8_t code, uint8_t ext, const uint8_t *p, size_t n, size_t *from, size_t *to);
/* 1 when the whole response payload of this command is secret (shared secret, unwrapped payload,
 * derived keys). */
int host_trace_rsp_secret(uint8_t code, uint8_t ext);

#endif
