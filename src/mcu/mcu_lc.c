/* MCU product lifecycle: state records, transitions, reset, OBK, regions, DHUK, debug access.
 *
 * Invariants (tested in tests/mcu):
 *  I1 The effective state only changes at reset, and only to the state recorded as pending.
 *     A pending state is written only by a forward option-byte program (rank strictly up), by the
 *     HDPL1 firmware request, or by a granted debug authentication (mcu_da.c).
 *  I2 LOCKED refuses every program and every regression request.
 *  I3 A lifecycle record decodes to a state only if its CRC, its marker byte, its code and its
 *     sparse word all agree; anything else is INVALID, which grants nothing.
 *  I4 A regression's erase, its new state and the clearing of its request code are one commit
 *     (the erased ranges as byte runs of one snapshot), so a power cut leaves the request, which
 *     the next reset completes, or everything done; likewise turning TrustZone off erases the
 *     secure world in the commit that writes TZEN.
 *  I5 OBK HDPL0 is never written after creation.
 *  I6 On an STM32H503 (no OBK) the bytes of OBK HDPL1 are its OTP: no OBK call reaches them, no
 *     regression erases them; only vsafe_mcu_otp_provision_password (mcu_da.c) writes them, and only
 *     while every one of them is erased.
 *
 *        program(fwd)           reset                        DA / HDPL1 request     reset
 *  STATE ------------> pending ------> new STATE     STATE ---------------------> REQ -----> erased, OPEN/TZ_CLOSED
 *                      (inert)                                                  (inert)
 */
#include <string.h>

#include "common/bytes.h"

#include "common/secure.h"
#include "mcu/mcu_core.h"
#include "vsafe/se_wire.h"

/* Sparse 32-bit words, one per code. Generator: xorshift32 (13, 17, 5) from seed 0x4C435354
 * ("LCST"); a candidate is kept if its popcount is in 12..20 (at least 12 bits from 0x00000000 and
 * 0xFFFFFFFF) and it is at least 12 bits from every word already kept; the first ten kept are
 * assigned in this order. tests/mcu/test_mcu_encoding.c re-runs the generator and checks the
 * distances (the spec requires >= 8). */
static const struct {
    uint8_t code;
    uint32_t word;
} sparse_table[] = {
    {VSAFE_MCU_STATE_OPEN, 0x992D0CCCu},
    {VSAFE_MCU_STATE_PROVISIONING, 0x2E268256u},
    {VSAFE_MCU_STATE_IROT_PROVISIONED, 0x33EB9160u},
    {VSAFE_MCU_STATE_TZ_CLOSED, 0x793181E3u},
    {VSAFE_MCU_STATE_CLOSED, 0xC7C724E9u},
    {VSAFE_MCU_STATE_LOCKED, 0x4818BDC4u},
    {VSAFE_MCU_STATE_REGRESSION, 0xABA25094u},
    {VSAFE_MCU_STATE_NS_REGRESSION, 0xD6A62BD0u},
    {VSAFE_MCU_TZEN_ON, 0xF815662Du},
    {VSAFE_MCU_TZEN_OFF, 0xFDB31F1Cu},
};

#define REC_MARKER 0x5Au

static const uint32_t obk_sizes[VSAFE_MCU_OBK_COUNT] = {256u, 2048u, 768u, 3072u, 2032u};
static const uint32_t mem_sizes[VSAFE_MCU_MEM_COUNT] = {MCU_FLASH_S_LEN, MCU_FLASH_NS_LEN, MCU_SRAM_S_LEN,
                                                        MCU_SRAM_NS_LEN};
static const uint8_t zeros[16u + 32u];

uint32_t mcu_sparse_word(uint8_t code)
{
    for (size_t i = 0; i < sizeof sparse_table / sizeof sparse_table[0]; i++) {
        if (sparse_table[i].code == code) {
            return sparse_table[i].word;
        }
    }
    return 0;
}

static void rec_encode(uint8_t rec[MCU_REC_LEN], uint8_t code)
{
    rec[0] = code;
    rec[1] = REC_MARKER;
    vsafe_put_be32(rec + 2, mcu_sparse_word(code));
    uint16_t crc = vsafe_crc16(rec, 6u);
    rec[6] = (uint8_t)(crc >> 8);
    rec[7] = (uint8_t)crc;
}

void mcu_stage_rec(vsafe_txn_t *txn, uint32_t off, uint8_t code)
{
    uint8_t rec[MCU_REC_LEN];
    rec_encode(rec, code);
    vsafe_txn_put(txn, off, rec, MCU_REC_LEN);
}

vsafe_mcu_state_t mcu_decode_rec(const uint8_t *rec)
{
    uint16_t crc = vsafe_crc16(rec, 6u);
    if (rec[6] != (uint8_t)(crc >> 8) || rec[7] != (uint8_t)crc || rec[1] != REC_MARKER) {
        return VSAFE_MCU_STATE_INVALID;
    }
    uint32_t want = mcu_sparse_word(rec[0]);
    if (want == 0u || mcu_get32(rec + 2) != want) {
        return VSAFE_MCU_STATE_INVALID;
    }
    /* Re-check after the branch: the word must map back to the same code. */
    for (size_t i = 0; i < sizeof sparse_table / sizeof sparse_table[0]; i++) {
        if (sparse_table[i].word == mcu_get32(rec + 2)) {
            return sparse_table[i].code == rec[0] ? (vsafe_mcu_state_t)rec[0] : VSAFE_MCU_STATE_INVALID;
        }
    }
    return VSAFE_MCU_STATE_INVALID;
}

static bool is_product_state(vsafe_mcu_state_t s)
{
    switch (s) {
    case VSAFE_MCU_STATE_OPEN:
    case VSAFE_MCU_STATE_PROVISIONING:
    case VSAFE_MCU_STATE_IROT_PROVISIONED:
    case VSAFE_MCU_STATE_TZ_CLOSED:
    case VSAFE_MCU_STATE_CLOSED:
    case VSAFE_MCU_STATE_LOCKED:
        return true;
    default:
        return false;
    }
}

static int rank(vsafe_mcu_state_t s)
{
    switch (s) {
    case VSAFE_MCU_STATE_OPEN: return 0;
    case VSAFE_MCU_STATE_PROVISIONING: return 1;
    case VSAFE_MCU_STATE_IROT_PROVISIONED: return 2;
    case VSAFE_MCU_STATE_TZ_CLOSED: return 3;
    case VSAFE_MCU_STATE_CLOSED: return 4;
    case VSAFE_MCU_STATE_LOCKED: return 5;
    default: return -1;
    }
}

static bool tzen_valid(const struct vsafe_mcu *m)
{
    uint8_t c = (uint8_t)mcu_decode_rec(m->image + MCU_OFF_TZEN);
    return c == VSAFE_MCU_TZEN_ON || c == VSAFE_MCU_TZEN_OFF;
}

bool mcu_tz_on(const struct vsafe_mcu *m)
{
    return (uint8_t)mcu_decode_rec(m->image + MCU_OFF_TZEN) == VSAFE_MCU_TZEN_ON;
}

vsafe_mcu_state_t vsafe_mcu_state(const vsafe_mcu_t *m)
{
    if (m == NULL || !tzen_valid(m)) {
        return VSAFE_MCU_STATE_INVALID;
    }
    vsafe_mcu_state_t s = mcu_decode_rec(m->image + MCU_OFF_LC);
    if (!is_product_state(s)) {
        return VSAFE_MCU_STATE_INVALID;
    }
    /* TZ_CLOSED exists only with TrustZone on. */
    if (s == VSAFE_MCU_STATE_TZ_CLOSED && !mcu_tz_on(m)) {
        return VSAFE_MCU_STATE_INVALID;
    }
    return s;
}

static bool pending_none(const struct vsafe_mcu *m)
{
    for (uint32_t i = 0; i < MCU_REC_LEN; i++) {
        if (m->image[MCU_OFF_LC_PENDING + i] != 0u) {
            return false;
        }
    }
    return true;
}

bool mcu_inert(const struct vsafe_mcu *m) { return !pending_none(m); }

uint32_t mcu_obk_off(vsafe_mcu_obk_t area)
{
    uint32_t off = MCU_OFF_OBK;
    for (unsigned i = 0; i < (unsigned)area; i++) {
        off += obk_sizes[i];
    }
    return off;
}

uint32_t mcu_mem_off(vsafe_mcu_mem_t r)
{
    uint32_t off = MCU_OFF_MEM;
    for (unsigned i = 0; i < (unsigned)r; i++) {
        off += mem_sizes[i];
    }
    return off;
}

uint32_t vsafe_mcu_obk_size(vsafe_mcu_obk_t area)
{
    return (unsigned)area < VSAFE_MCU_OBK_COUNT ? obk_sizes[area] : 0u;
}

uint32_t vsafe_mcu_mem_size(vsafe_mcu_mem_t region)
{
    return (unsigned)region < VSAFE_MCU_MEM_COUNT ? mem_sizes[region] : 0u;
}

uint32_t mcu_attempts(const struct vsafe_mcu *m)
{
    uint32_t a = mcu_get32(m->image + MCU_OFF_ATTEMPTS);
    uint32_t inv = mcu_get32(m->image + MCU_OFF_ATTEMPTS_INV);
    return (a ^ inv) == 0xFFFFFFFFu ? a : UINT32_MAX;
}

bool mcu_da_config_valid(const struct vsafe_mcu *m)
{
    const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
    uint8_t digest[32];
    vsafe_iov_t iov = {cfg + 32, VSAFE_DA_CONFIG_LEN - 32u};
    if (m->crypto->sha256(m->crypto->ctx, &iov, 1, digest) != VSAFE_OK) {
        return false;
    }
    uint8_t any = 0, all_ff = 0xFF;
    for (int i = 0; i < 32; i++) {
        any |= cfg[32 + i];
        all_ff &= cfg[32 + i];
    }
    bool same = vsafe_ct_equal(digest, cfg, 32);
    vsafe_wipe(digest, sizeof digest);
    return same && any != 0u && all_ff != 0xFFu;
}

static bool host_keys_present(const struct vsafe_mcu *m)
{
    const uint8_t *p = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL3_S);
    return memcmp(p, "HKEY", 4) == 0 && p[4] <= 1u;
}

/* ---- creation, start ---- */

static int build_image(struct vsafe_mcu *m, uint32_t attempt_limit, uint32_t soc_class)
{
    uint8_t *img = m->image;
    memset(img, 0, MCU_IMAGE_LEN);
    vsafe_put_be32(img + MCU_OFF_MAGIC, VSAFE_MCU_IMG_MAGIC);
    img[MCU_OFF_VERSION] = 0;
    img[MCU_OFF_VERSION + 1] = VSAFE_MCU_IMG_VERSION;
    vsafe_put_be32(img + MCU_OFF_SOC_CLASS, soc_class != 0u ? soc_class : MCU_SOC_CLASS);
    int rc = m->crypto->random(m->crypto->ctx, img + MCU_OFF_SOC_ID, 16u + 32u + 32u);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_put_be32(img + MCU_OFF_ATTEMPTS_INV, 0xFFFFFFFFu);
    vsafe_put_be32(img + MCU_OFF_ATTEMPT_LIMIT, attempt_limit != 0u ? attempt_limit : MCU_DEFAULT_ATTEMPT_LIMIT);
    rec_encode(img + MCU_OFF_LC, VSAFE_MCU_STATE_OPEN);
    rec_encode(img + MCU_OFF_TZEN, VSAFE_MCU_TZEN_OFF);
    img[MCU_OFF_HDPL] = 1u;
    /* OBK HDPL0: ST reserved content written by the ROM at manufacture, never erased. */
    uint8_t *h0 = img + mcu_obk_off(VSAFE_MCU_OBK_HDPL0);
    for (uint32_t i = 0; i < obk_sizes[0]; i++) {
        h0[i] = (uint8_t)(0x53u ^ i);
    }
    memset(img + mcu_obk_off(VSAFE_MCU_OBK_HDPL1), 0xFF, mcu_obk_off(VSAFE_MCU_OBK_COUNT) - mcu_obk_off(VSAFE_MCU_OBK_HDPL1));
    memset(img + mcu_mem_off(VSAFE_MCU_FLASH_S), 0xFF, mem_sizes[0] + mem_sizes[1]);
    return mcu_sfi_keygen(m, NULL);
}

/* Versions 1 and 2 -> 3 in one atomic step. From version 1 also what version 2 brought: the ADAC
 * context and SFI area (zero: no exchange under way, no SFI record), the debug grants and any
 * challenge dropped (their permission bits changed meaning with the ADAC bit assignment), a
 * provisioning key drawn. Then the memory block moves from 0x2100 to 0x3000 with the version-3
 * sizes: flash S bytes 0..511 (the iROT region) and flash NS 0..1023 (the non-secure region) stay
 * at their offsets, flash S 512..1023 (the secure region) moves to where the secure region now
 * begins (16 KiB), the rest of the flash reads erased, SRAM keeps its 512 + 512 bytes, and the old
 * block reads zero (reserved). The bytes past the old length are written into the image buffer
 * first (vsafe_store_commit_spans makes them part of the state); the changes below it are staged.
 * In place when nvm's halves hold the new image; else into grow_nvm (nvm is then never written).
 * A power cut leaves the old image, which the next open migrates again. */
static int migrate(struct vsafe_mcu *m, unsigned version, uint32_t stored_len, const vsafe_nvm_t *grow_nvm,
                   bool *moved)
{
    static const uint8_t none[16 + 32];
    const vsafe_store_span_t old_block = {MCU_OFF_MEM_V2, MCU_MEM_LEN_V2, NULL, 0x00};
    uint8_t *img = m->image;
    const uint8_t *old = img + MCU_OFF_MEM_V2;
    memset(img + stored_len, 0, MCU_IMAGE_LEN - stored_len);
    uint8_t *fs = img + mcu_mem_off(VSAFE_MCU_FLASH_S), *fns = img + mcu_mem_off(VSAFE_MCU_FLASH_NS);
    memset(fs, 0xFF, MCU_FLASH_S_LEN + MCU_FLASH_NS_LEN);
    memcpy(fs, old, 512u);
    memcpy(fs + vsafe_mcu_sfi_region_offset(VSAFE_MCU_SFI_SECURE), old + 512u, 512u);
    memcpy(fns, old + 1024u, 1024u);
    memcpy(img + mcu_mem_off(VSAFE_MCU_SRAM_S), old + 2048u, 512u);
    memcpy(img + mcu_mem_off(VSAFE_MCU_SRAM_NS), old + 2560u, 512u);
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_VERSION + 1u, VSAFE_MCU_IMG_VERSION);
    int rc = VSAFE_OK;
    if (version == 1u) {
        vsafe_txn_put_u8(&m->txn, MCU_OFF_CHAL_VALID, 0u);
        vsafe_txn_put(&m->txn, MCU_OFF_GRANT, none, sizeof none);
        rc = mcu_sfi_keygen(m, NULL); /* past the version-1 length: into the buffer */
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_store_commit_spans(&m->store, MCU_IMAGE_LEN, &m->txn, &old_block, 1u);
    }
    if (rc == VSAFE_ERR_STORE_FULL && grow_nvm != NULL) { /* nothing was written */
        vsafe_store_t ram;
        rc = vsafe_store_format(&ram, NULL, img, stored_len, VSAFE_STORE_TAG_MCU);
        if (rc == VSAFE_OK) { /* a volatile store only applies: the migrated image, in RAM */
            rc = vsafe_store_commit_spans(&ram, MCU_IMAGE_LEN, &m->txn, &old_block, 1u);
        }
        if (rc == VSAFE_OK) {
            rc = vsafe_store_format(&m->store, grow_nvm, img, MCU_IMAGE_LEN, VSAFE_STORE_TAG_MCU);
        }
        if (rc == VSAFE_OK && moved != NULL) {
            *moved = true;
        }
    }
    vsafe_txn_begin(&m->txn);
    return rc;
}

int vsafe_mcu_core_start(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                         uint32_t attempt_limit, int power_on_reset)
{
    return vsafe_mcu_core_start_grow(m, nvm, NULL, crypto, attempt_limit, 0, power_on_reset, NULL);
}

int vsafe_mcu_core_start_ex(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                            uint32_t attempt_limit, uint32_t soc_class, int power_on_reset)
{
    return vsafe_mcu_core_start_grow(m, nvm, NULL, crypto, attempt_limit, soc_class, power_on_reset, NULL);
}

int vsafe_mcu_core_start_grow(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_nvm_t *grow_nvm,
                              const vsafe_crypto_t *crypto, uint32_t attempt_limit, uint32_t soc_class,
                              int power_on_reset, bool *moved)
{
    if (moved != NULL) {
        *moved = false;
    }
    if (m == NULL || crypto == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    m->crypto = crypto;
    int rc = VSAFE_ERR_STORE_EMPTY;
    uint32_t stored_len = MCU_IMAGE_LEN, tag = 0;
    if (nvm != NULL) {
        rc = vsafe_store_probe(nvm, &stored_len, &tag);
        if (rc != VSAFE_ERR_STORE_EMPTY) {
            /* Only the layouts this code knows; anything else (or a probe that failed: the
             * mount corrects what it can and reports the rest) is mounted as version 3, which
             * refuses a foreign length with VSAFE_ERR_STORE_MISMATCH. */
            if (rc != VSAFE_OK || (stored_len != MCU_IMAGE_LEN_V1 && stored_len != MCU_IMAGE_LEN_V2)) {
                stored_len = MCU_IMAGE_LEN;
            }
            rc = vsafe_store_mount(&m->store, nvm, m->image, stored_len, VSAFE_STORE_TAG_MCU);
        }
    }
    if (rc == VSAFE_ERR_STORE_EMPTY) {
        stored_len = MCU_IMAGE_LEN;
        rc = build_image(m, attempt_limit, soc_class);
        if (rc == VSAFE_OK) {
            rc = vsafe_store_format(&m->store, nvm, m->image, MCU_IMAGE_LEN, VSAFE_STORE_TAG_MCU);
        }
    }
    if (rc != VSAFE_OK) {
        return rc;
    }
    unsigned version = m->image[MCU_OFF_VERSION + 1];
    uint32_t expect_len = version == 1u ? MCU_IMAGE_LEN_V1 : version == 2u ? MCU_IMAGE_LEN_V2 : MCU_IMAGE_LEN;
    if (mcu_get32(m->image + MCU_OFF_MAGIC) != VSAFE_MCU_IMG_MAGIC || m->image[MCU_OFF_VERSION] != 0u ||
        version < 1u || version > VSAFE_MCU_IMG_VERSION || stored_len != expect_len) {
        return VSAFE_ERR_STORE_MISMATCH; /* a newer or foreign layout: never guessed at */
    }
    if (version < VSAFE_MCU_IMG_VERSION) {
        rc = migrate(m, version, stored_len, grow_nvm, moved);
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    return power_on_reset ? vsafe_mcu_reset(m) : VSAFE_OK;
}

/* ---- queries ---- */

const char *vsafe_mcu_state_name(vsafe_mcu_state_t s)
{
    switch (s) {
    case VSAFE_MCU_STATE_OPEN: return "OPEN";
    case VSAFE_MCU_STATE_PROVISIONING: return "PROVISIONING";
    case VSAFE_MCU_STATE_IROT_PROVISIONED: return "iROT_PROVISIONED";
    case VSAFE_MCU_STATE_TZ_CLOSED: return "TZ_CLOSED";
    case VSAFE_MCU_STATE_CLOSED: return "CLOSED";
    case VSAFE_MCU_STATE_LOCKED: return "LOCKED";
    case VSAFE_MCU_STATE_REGRESSION: return "REGRESSION";
    case VSAFE_MCU_STATE_NS_REGRESSION: return "NS_REGRESSION";
    default: return "INVALID";
    }
}

static bool name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = (*a >= 'a' && *a <= 'z') ? (char)(*a - 32) : *a;
        char y = (*b >= 'a' && *b <= 'z') ? (char)(*b - 32) : *b;
        if (x == '-') {
            x = '_';
        }
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

int vsafe_mcu_state_parse(const char *name, vsafe_mcu_state_t *out)
{
    static const vsafe_mcu_state_t all[] = {
        VSAFE_MCU_STATE_OPEN,      VSAFE_MCU_STATE_PROVISIONING, VSAFE_MCU_STATE_IROT_PROVISIONED,
        VSAFE_MCU_STATE_TZ_CLOSED, VSAFE_MCU_STATE_CLOSED,       VSAFE_MCU_STATE_LOCKED};
    static const char *const upper[] = {"OPEN", "PROVISIONING", "IROT_PROVISIONED", "TZ_CLOSED", "CLOSED", "LOCKED"};
    if (name == NULL || out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (name_eq(name, upper[i])) {
            *out = all[i];
            return VSAFE_OK;
        }
    }
    return VSAFE_ERR_ARGUMENT;
}

const char *vsafe_mcu_obk_name(vsafe_mcu_obk_t area)
{
    static const char *const n[] = {"HDPL0", "HDPL1", "HDPL2", "HDPL3-S", "HDPL3-NS"};
    return (unsigned)area < VSAFE_MCU_OBK_COUNT ? n[area] : "?";
}

int vsafe_mcu_obk_parse(const char *name, vsafe_mcu_obk_t *out)
{
    static const char *const n[] = {"HDPL0", "HDPL1", "HDPL2", "HDPL3_S", "HDPL3_NS"};
    if (name == NULL || out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (unsigned i = 0; i < VSAFE_MCU_OBK_COUNT; i++) {
        if (name_eq(name, n[i])) {
            *out = (vsafe_mcu_obk_t)i;
            return VSAFE_OK;
        }
    }
    return VSAFE_ERR_ARGUMENT;
}

bool vsafe_mcu_debug_access(const vsafe_mcu_t *m, vsafe_mcu_domain_t domain, unsigned hdpl)
{
    if (m == NULL || hdpl < 1u || hdpl > 3u || mcu_inert(m)) {
        return false;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    bool tz = mcu_tz_on(m);
    if (domain == VSAFE_MCU_SECURE && !tz) {
        return s == VSAFE_MCU_STATE_OPEN; /* no secure world: only "all open" covers it */
    }
    bool base = false;
    switch (s) {
    case VSAFE_MCU_STATE_OPEN:
        base = true;
        break;
    case VSAFE_MCU_STATE_PROVISIONING:
    case VSAFE_MCU_STATE_IROT_PROVISIONED:
    case VSAFE_MCU_STATE_TZ_CLOSED:
        base = domain == VSAFE_MCU_NONSECURE && hdpl == 3u;
        break;
    default:
        base = false;
        break;
    }
    if (base) {
        return true;
    }
    if (s == VSAFE_MCU_STATE_INVALID || s == VSAFE_MCU_STATE_LOCKED) {
        return false;
    }
    /* A DA grant for (domain, L) programs DBG_AUTH_HDPL = L: debug opens when the HDPL equals L,
     * at that level only (SBS_DBGCR), until reset. */
    const uint8_t *g = m->image + MCU_OFF_GRANT;
    unsigned first = domain == VSAFE_MCU_SECURE ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1;
    return mcu_bit(g, first + hdpl - 1u);
}

uint32_t vsafe_mcu_psa_lifecycle(const vsafe_mcu_t *m)
{
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    switch (s) {
    case VSAFE_MCU_STATE_OPEN: return VSAFE_MCU_PSA_ASSEMBLY_AND_TEST;
    case VSAFE_MCU_STATE_PROVISIONING:
    case VSAFE_MCU_STATE_IROT_PROVISIONED: return VSAFE_MCU_PSA_ROT_PROVISIONING;
    case VSAFE_MCU_STATE_TZ_CLOSED:
    case VSAFE_MCU_STATE_CLOSED:
    case VSAFE_MCU_STATE_LOCKED: {
        unsigned h = m->image[MCU_OFF_HDPL];
        if (vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, h)) {
            return VSAFE_MCU_PSA_RECOVERABLE_PSA_ROT_DEBUG;
        }
        if (vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, h)) {
            return VSAFE_MCU_PSA_NON_PSA_ROT_DEBUG;
        }
        return VSAFE_MCU_PSA_SECURED;
    }
    default: return VSAFE_MCU_PSA_UNKNOWN;
    }
}

const char *vsafe_mcu_psa_name(uint32_t psa)
{
    switch (psa) {
    case VSAFE_MCU_PSA_ASSEMBLY_AND_TEST: return "ASSEMBLY_AND_TEST";
    case VSAFE_MCU_PSA_ROT_PROVISIONING: return "PSA_ROT_PROVISIONING";
    case VSAFE_MCU_PSA_SECURED: return "SECURED";
    case VSAFE_MCU_PSA_NON_PSA_ROT_DEBUG: return "NON_PSA_ROT_DEBUG";
    case VSAFE_MCU_PSA_RECOVERABLE_PSA_ROT_DEBUG: return "RECOVERABLE_PSA_ROT_DEBUG";
    default: return "UNKNOWN";
    }
}

int vsafe_mcu_info(const vsafe_mcu_t *m, vsafe_mcu_info_t *info)
{
    if (m == NULL || info == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(info, 0, sizeof *info);
    info->state = vsafe_mcu_state(m);
    info->pending_set = mcu_inert(m);
    info->pending = info->pending_set ? mcu_decode_rec(m->image + MCU_OFF_LC_PENDING) : VSAFE_MCU_STATE_INVALID;
    info->trustzone = mcu_tz_on(m);
    info->hdpl = m->image[MCU_OFF_HDPL];
    info->psa_lifecycle = vsafe_mcu_psa_lifecycle(m);
    info->da_provisioned = mcu_da_config_valid(m);
    if (info->da_provisioned) {
        memcpy(info->da_mask, m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1) + 64u, 16u);
    }
    info->da_attempts = mcu_attempts(m);
    info->da_attempt_limit = mcu_get32(m->image + MCU_OFF_ATTEMPT_LIMIT);
    memcpy(info->debug_grant, m->image + MCU_OFF_GRANT, 16u);
    info->soc_class = mcu_get32(m->image + MCU_OFF_SOC_CLASS);
    memcpy(info->soc_id, m->image + MCU_OFF_SOC_ID, 16u);
    info->dhuk_epoch = mcu_get32(m->image + MCU_OFF_DHUK_EPOCH);
    info->host_keys = host_keys_present(m);
    return VSAFE_OK;
}

/* ---- transitions ---- */

static bool forward_allowed(vsafe_mcu_state_t from, vsafe_mcu_state_t to, bool tz)
{
    if (!is_product_state(from) || !is_product_state(to)) {
        return false;
    }
    if (from == VSAFE_MCU_STATE_LOCKED || rank(to) <= rank(from)) {
        return false; /* T6, T10 */
    }
    if (from == VSAFE_MCU_STATE_OPEN && to != VSAFE_MCU_STATE_PROVISIONING && to != VSAFE_MCU_STATE_IROT_PROVISIONED) {
        return false; /* T3 */
    }
    if (to == VSAFE_MCU_STATE_TZ_CLOSED && !tz) {
        return false;
    }
    return true;
}

bool vsafe_mcu_transition_allowed(const vsafe_mcu_t *m, vsafe_mcu_state_t to)
{
    return m != NULL && !mcu_inert(m) && forward_allowed(vsafe_mcu_state(m), to, mcu_tz_on(m));
}

unsigned vsafe_mcu_footguns(const vsafe_mcu_t *m, vsafe_mcu_state_t to)
{
    unsigned w = 0;
    if (to == VSAFE_MCU_STATE_TZ_CLOSED || to == VSAFE_MCU_STATE_CLOSED) {
        if (!mcu_da_config_valid(m)) {
            w |= VSAFE_MCU_WARN_NO_DA_CONFIG;
        }
        if (mcu_attempts(m) >= mcu_get32(m->image + MCU_OFF_ATTEMPT_LIMIT)) {
            w |= VSAFE_MCU_WARN_DA_EXHAUSTED;
        }
    }
    if (to == VSAFE_MCU_STATE_LOCKED) {
        w |= VSAFE_MCU_WARN_LOCKING;
    }
    /* An STM32H503 has no OBK HDPL3-S to keep host keys in: nothing to warn about there. */
    if ((to == VSAFE_MCU_STATE_TZ_CLOSED || to == VSAFE_MCU_STATE_CLOSED || to == VSAFE_MCU_STATE_LOCKED) &&
        !host_keys_present(m) && !mcu_part_h503(m)) {
        w |= VSAFE_MCU_WARN_NO_HOST_KEYS;
    }
    return w;
}

static int gate(const struct vsafe_mcu *m)
{
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    if (vsafe_mcu_state(m) == VSAFE_MCU_STATE_INVALID) {
        return VSAFE_ERR_MCU_INVALID_STATE;
    }
    return VSAFE_OK;
}

int vsafe_mcu_program_state(vsafe_mcu_t *m, vsafe_mcu_state_t to)
{
    if (m == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_mcu_state_t from = vsafe_mcu_state(m);
    if (from == VSAFE_MCU_STATE_LOCKED) {
        return VSAFE_ERR_MCU_LOCKED;
    }
    if (!forward_allowed(from, to, mcu_tz_on(m))) {
        return VSAFE_ERR_MCU_TRANSITION;
    }
    /* Re-check the decision from the image before committing (glitch hardening). */
    if (vsafe_mcu_state(m) != from || rank(to) <= rank(mcu_decode_rec(m->image + MCU_OFF_LC))) {
        return VSAFE_ERR_CORRUPTION_DETECTED;
    }
    vsafe_txn_begin(&m->txn);
    mcu_stage_rec(&m->txn, MCU_OFF_LC_PENDING, (uint8_t)to);
    return vsafe_store_commit(&m->store, &m->txn);
}

int vsafe_mcu_fw_regression(vsafe_mcu_t *m, bool full)
{
    if (m == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    if (s == VSAFE_MCU_STATE_LOCKED) {
        return VSAFE_ERR_MCU_LOCKED;
    }
    if (s == VSAFE_MCU_STATE_PROVISIONING) {
        return VSAFE_ERR_MCU_NO_FIRMWARE;
    }
    if (m->image[MCU_OFF_HDPL] != 1u) {
        return VSAFE_ERR_MCU_HDPL;
    }
    if (full ? (s == VSAFE_MCU_STATE_OPEN) : (s != VSAFE_MCU_STATE_CLOSED || !mcu_tz_on(m))) {
        return VSAFE_ERR_MCU_TRANSITION;
    }
    vsafe_txn_begin(&m->txn);
    mcu_stage_rec(&m->txn, MCU_OFF_LC_PENDING, full ? VSAFE_MCU_STATE_REGRESSION : VSAFE_MCU_STATE_NS_REGRESSION);
    return vsafe_store_commit(&m->store, &m->txn);
}

int mcu_request_regression(struct vsafe_mcu *m, bool full, vsafe_txn_t *txn)
{
    mcu_stage_rec(txn, MCU_OFF_LC_PENDING, full ? VSAFE_MCU_STATE_REGRESSION : VSAFE_MCU_STATE_NS_REGRESSION);
    int rc = vsafe_store_commit(&m->store, txn);
    return rc != VSAFE_OK ? rc : vsafe_mcu_reset(m);
}

/* What an erase writes, gathered so that the whole erase goes to NVM in the commit that also
 * writes the new state (one snapshot: vsafe_store_commit_spans). Adjacent ranges of one value
 * merge (flash S + NS, SRAM S + NS, OBK HDPL1..HDPL3-NS are each contiguous): a full regression
 * is four byte runs, a partial one four. */
typedef struct {
    vsafe_store_span_t span[VSAFE_STORE_SPAN_MAX];
    unsigned n;
    bool changes; /* some planned byte does not read as its erased value yet */
} erase_plan_t;

/* Plans [off, off+len) = value. VSAFE_ERR_CORRUPTION_DETECTED when the plan is full (an erase set
 * that no longer fits VSAFE_STORE_SPAN_MAX: a build-time mistake, caught by every test). */
static int erase_range(const struct vsafe_mcu *m, erase_plan_t *p, uint32_t off, uint32_t len, uint8_t value)
{
    const uint8_t *a = m->image + off;
    for (uint32_t i = 0; i < len && !p->changes; i++) {
        p->changes = a[i] != value;
    }
    vsafe_store_span_t *last = p->n != 0u ? &p->span[p->n - 1u] : NULL;
    if (last != NULL && last->fill == value && last->off + last->len == off) {
        last->len += len;
        return VSAFE_OK;
    }
    if (p->n == VSAFE_STORE_SPAN_MAX) {
        return VSAFE_ERR_CORRUPTION_DETECTED;
    }
    p->span[p->n++] = (vsafe_store_span_t){off, len, NULL, value};
    return VSAFE_OK;
}

static int erase_mem(const struct vsafe_mcu *m, erase_plan_t *p, vsafe_mcu_mem_t r)
{
    return erase_range(m, p, mcu_mem_off(r), mem_sizes[r],
                       (r == VSAFE_MCU_FLASH_S || r == VSAFE_MCU_FLASH_NS) ? 0xFFu : 0x00u);
}

static int erase_obk(const struct vsafe_mcu *m, erase_plan_t *p, vsafe_mcu_obk_t a)
{
    if (a == VSAFE_MCU_OBK_HDPL0) {
        return VSAFE_ERR_CORRUPTION_DETECTED; /* I5 */
    }
    return erase_range(m, p, mcu_obk_off(a), obk_sizes[a], 0xFFu);
}

/* Commits m->txn together with the planned erase (a plain commit when nothing needs erasing). */
static int commit_with(struct vsafe_mcu *m, const erase_plan_t *p)
{
    if (!p->changes) {
        return vsafe_store_commit(&m->store, &m->txn);
    }
    return vsafe_store_commit_spans(&m->store, m->store.image_len, &m->txn, p->span, p->n);
}

static void stage_volatile_reset(vsafe_txn_t *txn)
{
    vsafe_txn_put_u8(txn, MCU_OFF_HDPL, 1u);
    vsafe_txn_put_u8(txn, MCU_OFF_CHAL_VALID, 0u);
    vsafe_txn_put(txn, MCU_OFF_GRANT, zeros, 16u);
    vsafe_txn_put(txn, MCU_OFF_NONCE, zeros, 32u);
}

int vsafe_mcu_reset(vsafe_mcu_t *m)
{
    if (m == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = VSAFE_OK;
    uint8_t target = 0;
    bool have_target = false;
    erase_plan_t plan = {.n = 0, .changes = false};
    if (!pending_none(m)) {
        vsafe_mcu_state_t p = mcu_decode_rec(m->image + MCU_OFF_LC_PENDING);
        vsafe_mcu_state_t cur = vsafe_mcu_state(m);
        have_target = true;
        if (cur == VSAFE_MCU_STATE_LOCKED) {
            target = VSAFE_MCU_STATE_LOCKED; /* I2: a stray request never leaves LOCKED */
        } else if (cur == VSAFE_MCU_STATE_INVALID) {
            target = 0x00; /* fail closed: nothing rescues an invalid state */
        } else if (p == VSAFE_MCU_STATE_REGRESSION) {
            static const vsafe_mcu_mem_t mems[] = {VSAFE_MCU_FLASH_S, VSAFE_MCU_FLASH_NS, VSAFE_MCU_SRAM_S, VSAFE_MCU_SRAM_NS};
            static const vsafe_mcu_obk_t obks[] = {VSAFE_MCU_OBK_HDPL1, VSAFE_MCU_OBK_HDPL2, VSAFE_MCU_OBK_HDPL3_S,
                                                   VSAFE_MCU_OBK_HDPL3_NS};
            for (size_t i = 0; i < 4u && rc == VSAFE_OK; i++) {
                rc = erase_mem(m, &plan, mems[i]);
            }
            for (size_t i = 0; i < 4u && rc == VSAFE_OK; i++) {
                /* On an STM32H503 the bytes of OBK HDPL1 are its OTP, which no regression erases. */
                if (obks[i] != MCU_OTP_AREA || !mcu_part_h503(m)) {
                    rc = erase_obk(m, &plan, obks[i]);
                }
            }
            if (rc == VSAFE_OK) { /* every SFI region is free again (its flash is erased) */
                rc = erase_range(m, &plan, MCU_OFF_SFI_REGIONS, 3u * MCU_SFI_REC_LEN, 0x00);
            }
            target = VSAFE_MCU_STATE_OPEN;
        } else if (p == VSAFE_MCU_STATE_NS_REGRESSION) {
            rc = erase_mem(m, &plan, VSAFE_MCU_FLASH_NS);
            if (rc == VSAFE_OK) {
                rc = erase_mem(m, &plan, VSAFE_MCU_SRAM_NS);
            }
            if (rc == VSAFE_OK) {
                rc = erase_obk(m, &plan, VSAFE_MCU_OBK_HDPL3_NS);
            }
            if (rc == VSAFE_OK) { /* the non-secure SFI region is free again */
                rc = erase_range(m, &plan, MCU_OFF_SFI_REGIONS + 2u * MCU_SFI_REC_LEN, MCU_SFI_REC_LEN, 0x00);
            }
            target = VSAFE_MCU_STATE_TZ_CLOSED;
        } else if (is_product_state(p) && rank(p) > rank(cur)) {
            target = (uint8_t)p;
        } else {
            target = 0x00; /* corrupted request: fail closed to INVALID */
        }
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    vsafe_txn_begin(&m->txn);
    if (have_target) {
        uint8_t rec[MCU_REC_LEN];
        if (target == 0x00) {
            memset(rec, 0, sizeof rec); /* decodes to INVALID */
            vsafe_txn_put(&m->txn, MCU_OFF_LC, rec, MCU_REC_LEN);
        } else {
            mcu_stage_rec(&m->txn, MCU_OFF_LC, target);
        }
        if (target == VSAFE_MCU_STATE_OPEN && mcu_decode_rec(m->image + MCU_OFF_LC_PENDING) == VSAFE_MCU_STATE_REGRESSION) {
            uint8_t salt[32];
            rc = m->crypto->random(m->crypto->ctx, salt, sizeof salt);
            if (rc != VSAFE_OK) {
                return rc;
            }
            vsafe_txn_put(&m->txn, MCU_OFF_DHUK_SALT, salt, sizeof salt);
            vsafe_txn_put_u32(&m->txn, MCU_OFF_DHUK_EPOCH, mcu_get32(m->image + MCU_OFF_DHUK_EPOCH) + 1u);
            vsafe_wipe(salt, sizeof salt);
        }
        memset(rec, 0, sizeof rec);
        vsafe_txn_put(&m->txn, MCU_OFF_LC_PENDING, rec, MCU_REC_LEN);
    }
    stage_volatile_reset(&m->txn);
    /* Skip the commit when nothing changes (a reset of an idle board). */
    if (!have_target && m->image[MCU_OFF_HDPL] == 1u && m->image[MCU_OFF_CHAL_VALID] == 0u &&
        memcmp(m->image + MCU_OFF_GRANT, zeros, 16u + 32u) == 0) {
        return VSAFE_OK;
    }
    return commit_with(m, &plan);
}

int vsafe_mcu_set_trustzone(vsafe_mcu_t *m, bool on)
{
    if (m == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_mcu_state_t st = vsafe_mcu_state(m);
    if (st != VSAFE_MCU_STATE_OPEN && st != VSAFE_MCU_STATE_PROVISIONING) {
        return VSAFE_ERR_MCU_TZEN_FROZEN; /* from iROT_PROVISIONED on */
    }
    if (mcu_tz_on(m) == on) {
        return VSAFE_OK;
    }
    if (on && mcu_part_h503(m)) {
        return VSAFE_ERR_MCU_NO_TRUSTZONE;
    }
    erase_plan_t plan = {.n = 0, .changes = false};
    if (!on) {
        /* Disabling TrustZone wipes the secure world, in the commit that flips TZEN. */
        rc = erase_mem(m, &plan, VSAFE_MCU_FLASH_S);
        if (rc == VSAFE_OK) {
            rc = erase_mem(m, &plan, VSAFE_MCU_SRAM_S);
        }
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    vsafe_txn_begin(&m->txn);
    mcu_stage_rec(&m->txn, MCU_OFF_TZEN, on ? VSAFE_MCU_TZEN_ON : VSAFE_MCU_TZEN_OFF);
    return commit_with(m, &plan);
}

int vsafe_mcu_hdpl_raise(vsafe_mcu_t *m, unsigned level)
{
    if (m == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (vsafe_mcu_state(m) == VSAFE_MCU_STATE_PROVISIONING) {
        return VSAFE_ERR_MCU_NO_FIRMWARE; /* the boot stages that raise the HDPL do not run */
    }
    if (level > 3u || level < m->image[MCU_OFF_HDPL]) {
        return VSAFE_ERR_MCU_HDPL;
    }
    if (level == m->image[MCU_OFF_HDPL]) {
        return VSAFE_OK;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_HDPL, (uint8_t)level);
    return vsafe_store_commit(&m->store, &m->txn);
}

/* ---- OBK ---- */

static int obk_check(const struct vsafe_mcu *m, vsafe_mcu_domain_t domain, vsafe_mcu_obk_t area, uint32_t offset,
                     size_t len)
{
    static const unsigned level[VSAFE_MCU_OBK_COUNT] = {0u, 1u, 2u, 3u, 3u};
    if (mcu_part_h503(m)) {
        return VSAFE_ERR_MCU_NO_OBK; /* its OBK HDPL1 bytes are the OTP: never reached through here */
    }
    if ((unsigned)area >= VSAFE_MCU_OBK_COUNT || offset > obk_sizes[area] || len > obk_sizes[area] - offset) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (vsafe_mcu_state(m) == VSAFE_MCU_STATE_OPEN) {
        return VSAFE_ERR_STATE; /* no DHUK: OBK cannot be used */
    }
    unsigned hdpl = m->image[MCU_OFF_HDPL];
    if (hdpl < 1u || hdpl > 3u || level[area] < hdpl) {
        return VSAFE_ERR_MCU_HDPL;
    }
    if (mcu_tz_on(m) && ((domain == VSAFE_MCU_NONSECURE) != (area == VSAFE_MCU_OBK_HDPL3_NS))) {
        return VSAFE_ERR_MCU_HDPL;
    }
    /* Re-check the level rule against the image once more. */
    if (level[area] < m->image[MCU_OFF_HDPL]) {
        return VSAFE_ERR_CORRUPTION_DETECTED;
    }
    return VSAFE_OK;
}

int vsafe_mcu_obk_write(vsafe_mcu_t *m, vsafe_mcu_domain_t domain, vsafe_mcu_obk_t area, uint32_t offset,
                        const uint8_t *data, size_t len)
{
    if (m == NULL || (data == NULL && len != 0u) || len > VSAFE_MCU_OBK_WRITE_MAX) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = obk_check(m, domain, area, offset, len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, mcu_obk_off(area) + offset, data, (uint32_t)len);
    return vsafe_store_commit(&m->store, &m->txn);
}

int vsafe_mcu_obk_read(const vsafe_mcu_t *m, vsafe_mcu_domain_t domain, vsafe_mcu_obk_t area, uint32_t offset,
                       uint8_t *out, size_t len)
{
    if (m == NULL || (out == NULL && len != 0u)) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = obk_check(m, domain, area, offset, len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    memcpy(out, m->image + mcu_obk_off(area) + offset, len);
    return VSAFE_OK;
}

/* ---- memory regions ---- */

static int mem_check(const struct vsafe_mcu *m, vsafe_mcu_mem_t r, uint32_t offset, size_t len)
{
    if ((unsigned)r >= VSAFE_MCU_MEM_COUNT || offset > mem_sizes[r] || len > mem_sizes[r] - offset) {
        return VSAFE_ERR_ARGUMENT;
    }
    return gate(m);
}

int vsafe_mcu_mem_write(vsafe_mcu_t *m, vsafe_mcu_mem_t r, uint32_t offset, const uint8_t *data, size_t len)
{
    if (m == NULL || (data == NULL && len != 0u) || len > VSAFE_MCU_OBK_WRITE_MAX) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = mem_check(m, r, offset, len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, mcu_mem_off(r) + offset, data, (uint32_t)len);
    return vsafe_store_commit(&m->store, &m->txn);
}

int vsafe_mcu_mem_read(const vsafe_mcu_t *m, vsafe_mcu_mem_t r, uint32_t offset, uint8_t *out, size_t len)
{
    if (m == NULL || (out == NULL && len != 0u)) {
        return VSAFE_ERR_ARGUMENT;
    }
    if ((unsigned)r >= VSAFE_MCU_MEM_COUNT || offset > mem_sizes[r] || len > mem_sizes[r] - offset) {
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(out, m->image + mcu_mem_off(r) + offset, len);
    return VSAFE_OK;
}

/* ---- DHUK ---- */

static int dhuk_keys(struct vsafe_mcu *m)
{
    if (gate(m) != VSAFE_OK || vsafe_mcu_state(m) == VSAFE_MCU_STATE_OPEN) {
        return VSAFE_ERR_STATE;
    }
    if (vsafe_mcu_state(m) == VSAFE_MCU_STATE_PROVISIONING) {
        return VSAFE_ERR_MCU_NO_FIRMWARE;
    }
    uint8_t info[16] = {'v', 's', 'a', 'f', 'e', ' ', 'D', 'H', 'U', 'K', ' ', 'v', 0, 0, 0, 0};
    memcpy(info + 12, m->image + MCU_OFF_DHUK_EPOCH, 4u);
    uint8_t k[64];
    int rc = m->crypto->hkdf_sha256(m->crypto->ctx, m->image + MCU_OFF_DHUK_SALT, 32u, m->image + MCU_OFF_HUK, 32u,
                                    info, sizeof info, k, sizeof k);
    if (rc == VSAFE_OK) {
        rc = m->crypto->key_set(m->crypto->ctx, VSAFE_KEY_SCRATCH0, k, 32u);
    }
    if (rc == VSAFE_OK) {
        rc = m->crypto->key_set(m->crypto->ctx, VSAFE_KEY_SCRATCH1, k + 32, 32u);
    }
    vsafe_wipe(k, sizeof k);
    return rc;
}

static void dhuk_clear(struct vsafe_mcu *m)
{
    m->crypto->key_clear(m->crypto->ctx, VSAFE_KEY_SCRATCH0);
    m->crypto->key_clear(m->crypto->ctx, VSAFE_KEY_SCRATCH1);
}

int vsafe_mcu_dhuk_wrap(vsafe_mcu_t *m, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len)
{
    if (m == NULL || in == NULL || out == NULL || out_len == NULL || in_len == 0u || in_len % 16u != 0u ||
        in_len > 256u) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (out_cap < in_len + 16u) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    int rc = dhuk_keys(m);
    if (rc == VSAFE_OK) {
        vsafe_iov_t iov = {in, in_len};
        rc = m->crypto->cmac(m->crypto->ctx, VSAFE_KEY_SCRATCH1, &iov, 1, out);
    }
    if (rc == VSAFE_OK) {
        rc = m->crypto->aes_cbc(m->crypto->ctx, VSAFE_KEY_SCRATCH0, 1, out, in, in_len, out + 16);
    }
    dhuk_clear(m);
    if (rc != VSAFE_OK) {
        vsafe_wipe(out, out_cap);
        return rc;
    }
    *out_len = in_len + 16u;
    return VSAFE_OK;
}

int vsafe_mcu_dhuk_unwrap(vsafe_mcu_t *m, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    if (m == NULL || in == NULL || out == NULL || out_len == NULL || in_len < 32u || in_len % 16u != 0u ||
        in_len > 272u) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t n = in_len - 16u;
    if (out_cap < n) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t tag[16];
    int rc = dhuk_keys(m);
    if (rc == VSAFE_OK) {
        rc = m->crypto->aes_cbc(m->crypto->ctx, VSAFE_KEY_SCRATCH0, 0, in, in + 16, n, out);
    }
    if (rc == VSAFE_OK) {
        vsafe_iov_t iov = {out, n};
        rc = m->crypto->cmac(m->crypto->ctx, VSAFE_KEY_SCRATCH1, &iov, 1, tag);
    }
    dhuk_clear(m);
    if (rc == VSAFE_OK) {
        rc = vsafe_ct_equal(tag, in, 16) ? VSAFE_OK : VSAFE_ERR_CRYPTO;
    }
    vsafe_wipe(tag, sizeof tag);
    if (rc != VSAFE_OK) {
        /* Never hand out the plaintext of a tag that did not verify. */
        vsafe_wipe(out, out_cap);
        return rc;
    }
    *out_len = n;
    return VSAFE_OK;
}
