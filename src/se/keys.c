/* Private key slots: Query 0x14 (the slot table), Generate key 0x11 tag 0x13, Generate
 * signature 0x16, Verify signature 0x17, Establish key 0x18, Decompress public key 1F 1A.
 *
 * Invariants:
 *  1. Static slots 0..priv_count-1 live in the image (se/layout_svc.h); the ephemeral slot 0xFF
 *     lives in core->eph_* only (RAM), never in core->txn.
 *  2. A static slot's key, curve, usage limit and remaining count are staged together in one
 *     patch set: Generate key lands whole in the command's commit or not at all. A use that
 *     counts (signature, key establishment) stages the new remaining count in the same commit as
 *     its response; a refused or failed use stages nothing.
 *  3. The ephemeral key is single-use: after one Establish key, successful or not, it is wiped
 *     and the slot reads empty.
 *  4. Private keys copied out of the image for an operation and every secret produced (shared
 *     secrets) are wiped on every exit path; the response buffer holding a shared secret is
 *     wiped by the core (core.c invariant 6).
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/curves.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"

#define EPH_SLOT 0xFFu

static const uint8_t *svc_region(const vsafe_se_core_t *core) { return core->image + core->svc; }

static unsigned priv_count(const vsafe_se_core_t *core) { return svc_region(core)[SVC_OFF_PRIV_COUNT]; }

/* 14 14 -> COUNT 00 GLOBAL_LIMIT(2) then per slot SLOT PRESENT MODE(2) [CURVE_ID] */
uint8_t vsafe_se_cmd_query_priv_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    (void)in;
    const uint8_t *r = svc_region(core);
    uint8_t *o = core->out;
    size_t n = 0;
    unsigned count = priv_count(core);
    o[n++] = (uint8_t)(count + 1u);
    o[n++] = 0x00;
    o[n++] = r[SVC_OFF_GLOBAL_LIMIT];
    o[n++] = r[SVC_OFF_GLOBAL_LIMIT + 1];
    for (unsigned i = 0; i <= count; i++) {
        bool eph = i == count;
        const uint8_t *p = eph ? NULL : core->image + svc_priv_rec(core->svc, i);
        bool present = eph ? core->eph_present : p[SVC_PREC_PRESENT] == 1u;
        unsigned curve = eph ? core->eph_curve : p[SVC_PREC_CURVE];
        o[n++] = eph ? (uint8_t)EPH_SLOT : (uint8_t)i;
        o[n++] = present ? 1u : 0u;
        o[n++] = eph ? r[SVC_OFF_EPH_MODE] : p[SVC_PREC_MODE];
        o[n++] = eph ? r[SVC_OFF_EPH_MODE + 1] : p[SVC_PREC_MODE + 1];
        const vsafe_se_curve_t *cv = present ? vsafe_se_curve(curve) : NULL;
        if (cv != NULL) {
            memcpy(o + n, cv->id, cv->id_len);
            n += cv->id_len;
        }
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}
