/* The signature check of the authenticated variants of Start volatile KEK (1F 03), Establish
 * symmetric keys (1F 04) and Establish host key (1F 18): the host signs
 * TBS = CURVE_ID || host public key || device ECDHE public key (wire forms of the ECDHE curve)
 * with the key of a generic public key slot; ECDSA over SHA-256(TBS), Ed25519 over TBS. */
#ifndef VSAFE_SE_AUTH_H
#define VSAFE_SE_AUTH_H

#include "common/cursor.h"
#include "se/core.h"

/* Generic public key flag bits (byte 1 of the slot's flags) naming the command. */
#define VSAFE_SE_AUTH_SYM_ESTABLISH 0x0002u /* 1F 04 */
#define VSAFE_SE_AUTH_KEK 0x0004u           /* 1F 03 */
#define VSAFE_SE_AUTH_HOST_KEY 0x0010u      /* 1F 18 */

/* Parses the rest of the command, 00 SIG_SLOT HASH_ID(11; 00 00 for Ed25519) 00 LL R 00 LL S,
 * up to its end, and checks the signature over the TBS built from curve (enum vsafe_curve),
 * host_pub_wire and the device ECDHE public key core->ecdhe_pub. Returns VSAFE_SE_ST_OK,
 * 0x02 (malformed), 0x10 (slot not in the table), 0x03 (hash other than SHA-256), 0x11 (slot
 * empty, flag not set, or the signature does not verify: PD-16). Uses core->out as scratch (call
 * it before writing the response); writes nothing else. */
uint8_t vsafe_se_auth_check(vsafe_se_core_t *core, vsafe_cursor_t *in, uint16_t flag, unsigned curve,
                            const uint8_t *host_pub_wire, size_t host_pub_len);

#endif
