/* The curves of the key services as the wire names them: CURVE_ID bytes (00 LL and the OID value
 * bytes), coordinate, signature and shared-secret sizes, and the public-key forms of each command.
 * The device knows a curve only by its CURVE_ID bytes; enum vsafe_curve (vsafe/se_port.h) is what
 * the image and the port use. */
#ifndef VSAFE_SE_CURVES_H
#define VSAFE_SE_CURVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cursor.h"
#include "vsafe/se_port.h"

#define VSAFE_SE_CURVE_ID_MAX 11u /* 00 09 and 9 OID bytes (Brainpool) */

typedef struct {
    uint8_t id_len;                    /* bytes of the CURVE_ID element, 00 LL included */
    uint8_t id[VSAFE_SE_CURVE_ID_MAX];
    uint8_t coord;                     /* coordinate / private key size */
    bool edwards_or_montgomery;        /* X25519, Ed25519: 32-byte key K, short form 00 20 K */
    bool can_sign;                     /* not X25519 */
    bool can_ecdh;                     /* not Ed25519 */
} vsafe_se_curve_t;

/* The curve of enum value c, or NULL for VSAFE_CURVE_NONE and values out of range. */
const vsafe_se_curve_t *vsafe_se_curve(unsigned c);

/* Takes a CURVE_ID element from in: reads 00 LL then LL bytes and looks the whole element up.
 * Returns the enum value, VSAFE_CURVE_NONE for an unknown curve (the element was still taken),
 * or -1 when in is too short for the element (nothing taken). */
int vsafe_se_curve_take(vsafe_cursor_t *in);

/* Public-key sizes: the host form X||Y or K, and the wire forms. */
size_t vsafe_se_curve_pub_len(const vsafe_se_curve_t *cv);        /* 2 x coord, or 32 */
size_t vsafe_se_curve_point_wire_len(const vsafe_se_curve_t *cv); /* 04 00 LL X 00 LL Y, or 00 20 K */

/* Takes a public key in wire form: for a Weierstrass curve always the point form; for X25519 and
 * Ed25519 the short form 00 20 K when short_form, else the point form with coordinate 32 in
 * which only X is the key (Y must be 32 bytes and is ignored). Writes X||Y or K into pub.
 * Returns false when the bytes are not that form (a malformed key: 0x19 for the caller). */
bool vsafe_se_curve_take_pub(vsafe_cursor_t *in, const vsafe_se_curve_t *cv, bool short_form, uint8_t *pub);

/* Writes the wire form of pub (X||Y or K) at out; returns the bytes written. */
size_t vsafe_se_curve_put_pub(uint8_t *out, const vsafe_se_curve_t *cv, bool short_form, const uint8_t *pub);
/* Writes the signature R||S as 00 LL R 00 LL S (LL = coord); returns the bytes written. */
size_t vsafe_se_curve_put_sig(uint8_t *out, const vsafe_se_curve_t *cv, const uint8_t *sig);
/* Takes 00 LL R 00 LL S with LL = coord into sig (R||S). false if malformed. */
bool vsafe_se_curve_take_sig(vsafe_cursor_t *in, const vsafe_se_curve_t *cv, uint8_t *sig);

#endif
