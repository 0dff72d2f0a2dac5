/* The wire table of curves (se/curves.h).
 *
 * Invariants:
 *  1. The CURVE_ID bytes are byte-exact as STSELib sends and matches them: 00 LL then the OID
 *     value without its ASN.1 tag; a curve is recognised only by all of its bytes.
 *  2. Every take either consumes a whole element or, when the input is too short, nothing. */
#include "se/curves.h"

#include <string.h>

#include "common/bytes.h"

static const vsafe_se_curve_t curves[VSAFE_CURVE_COUNT] = {
    [VSAFE_CURVE_P256] = {10, {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, 32, false, true, true},
    [VSAFE_CURVE_P384] = {7, {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22}, 48, false, true, true},
    [VSAFE_CURVE_P521] = {7, {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23}, 66, false, true, true},
    [VSAFE_CURVE_BP256] = {11, {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07}, 32, false, true, true},
    [VSAFE_CURVE_BP384] = {11, {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B}, 48, false, true, true},
    [VSAFE_CURVE_BP512] = {11, {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D}, 64, false, true, true},
    [VSAFE_CURVE_X25519] = {5, {0x00, 0x03, 0x2B, 0x65, 0x6E}, 32, true, false, true},
    [VSAFE_CURVE_ED25519] = {5, {0x00, 0x03, 0x2B, 0x65, 0x70}, 32, true, true, false},
};

const vsafe_se_curve_t *vsafe_se_curve(unsigned c)
{
    if (c == VSAFE_CURVE_NONE || c >= VSAFE_CURVE_COUNT) {
        return NULL;
    }
    return &curves[c];
}

int vsafe_se_curve_take(vsafe_cursor_t *in)
{
    vsafe_cursor_t probe = *in;
    uint16_t n;
    const uint8_t *oid;
    if (!vsafe_cursor_be16(&probe, &n) || !vsafe_cursor_bytes(&probe, n, &oid)) {
        return -1;
    }
    *in = probe;
    for (unsigned c = 1; c < VSAFE_CURVE_COUNT; c++) {
        const vsafe_se_curve_t *cv = &curves[c];
        if ((size_t)n + 2u == cv->id_len && memcmp(oid, cv->id + 2, n) == 0) {
            return (int)c;
        }
    }
    return VSAFE_CURVE_NONE;
}

size_t vsafe_se_curve_pub_len(const vsafe_se_curve_t *cv)
{
    return cv->edwards_or_montgomery ? 32u : 2u * cv->coord;
}

size_t vsafe_se_curve_point_wire_len(const vsafe_se_curve_t *cv)
{
    return cv->edwards_or_montgomery ? 34u : 5u + 2u * cv->coord;
}

bool vsafe_se_curve_take_pub(vsafe_cursor_t *in, const vsafe_se_curve_t *cv, bool short_form, uint8_t *pub)
{
    vsafe_cursor_t c = *in;
    uint8_t form;
    uint16_t xl, yl;
    const uint8_t *x, *y;
    if (cv->edwards_or_montgomery && short_form) {
        if (!vsafe_cursor_be16(&c, &xl) || xl != 32u || !vsafe_cursor_bytes(&c, 32u, &x)) {
            return false;
        }
        memcpy(pub, x, 32);
        *in = c;
        return true;
    }
    if (!vsafe_cursor_u8(&c, &form) || form != 0x04u || !vsafe_cursor_be16(&c, &xl) || xl != cv->coord ||
        !vsafe_cursor_bytes(&c, xl, &x) || !vsafe_cursor_be16(&c, &yl) || yl != cv->coord ||
        !vsafe_cursor_bytes(&c, yl, &y)) {
        return false;
    }
    memcpy(pub, x, cv->coord);
    if (!cv->edwards_or_montgomery) {
        memcpy(pub + cv->coord, y, cv->coord);
    }
    *in = c;
    return true;
}

size_t vsafe_se_curve_put_pub(uint8_t *out, const vsafe_se_curve_t *cv, bool short_form, const uint8_t *pub)
{
    if (cv->edwards_or_montgomery && short_form) {
        vsafe_put_be16(out, 32u);
        memcpy(out + 2, pub, 32);
        return 34u;
    }
    size_t l = cv->coord;
    out[0] = 0x04;
    vsafe_put_be16(out + 1, (uint16_t)l);
    memcpy(out + 3, pub, l);
    vsafe_put_be16(out + 3 + l, (uint16_t)l);
    if (cv->edwards_or_montgomery) {
        memset(out + 5 + l, 0, l); /* K has no Y: the point form's second coordinate is zero */
    } else {
        memcpy(out + 5 + l, pub + l, l);
    }
    return 5u + 2u * l;
}

size_t vsafe_se_curve_put_sig(uint8_t *out, const vsafe_se_curve_t *cv, const uint8_t *sig)
{
    size_t l = cv->coord;
    vsafe_put_be16(out, (uint16_t)l);
    memcpy(out + 2, sig, l);
    vsafe_put_be16(out + 2 + l, (uint16_t)l);
    memcpy(out + 4 + l, sig + l, l);
    return 4u + 2u * l;
}

bool vsafe_se_curve_take_sig(vsafe_cursor_t *in, const vsafe_se_curve_t *cv, uint8_t *sig)
{
    vsafe_cursor_t c = *in;
    uint16_t rl, sl;
    const uint8_t *r, *s;
    if (!vsafe_cursor_be16(&c, &rl) || rl != cv->coord || !vsafe_cursor_bytes(&c, rl, &r) ||
        !vsafe_cursor_be16(&c, &sl) || sl != cv->coord || !vsafe_cursor_bytes(&c, sl, &s)) {
        return false;
    }
    memcpy(sig, r, rl);
    memcpy(sig + rl, s, sl);
    *in = c;
    return true;
}
