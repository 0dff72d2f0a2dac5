/* Secure firmware install (SFI) and the three parties' image steps (formats in docs/LIFECYCLE.md).
 *
 * An image for one region of one device: a header (region, version, the owner's public key), a
 * license (the image key wrapped to this device's provisioning public key: ECDH with an ephemeral
 * key, HKDF-SHA-256, AES-256-GCM), the image encrypted under the image key (AES-256-GCM, header
 * as AAD), and the owner's ECDSA P-256 signature over everything before it. All crypto goes
 * through the port.
 *
 * Invariants:
 *  S1 A region is written only by an image signed by the key that owns it; the first image
 *     installed into a free region makes its signer the owner (recorded in the same commit).
 *  S2 An image is installed only if its version is above the region's installed version: a
 *     replayed (or older) image is refused.
 *  S3 Nothing is decrypted before the license unwraps and nothing is committed before the image
 *     tag verifies (the plaintext waits in the MCU object's stage, wiped on every exit); the
 *     region, its version and its owner change in one commit, so a power cut leaves the region
 *     wholly old or wholly new.
 *  S4 The iROT region takes images only in PROVISIONING, the secure region also in
 *     iROT_PROVISIONED, the non-secure region also in TZ_CLOSED: each party's step or update
 *     happens in the states of the lifecycle where that party's world is still open.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "mcu/mcu_core.h"

#define SFI_CHUNK 4096u

static const struct {
    vsafe_mcu_mem_t mem;
    uint32_t off, size;
} regions[4] = {{VSAFE_MCU_FLASH_S, 0, 0},
                {VSAFE_MCU_FLASH_S, 0, 0x4000u},
                {VSAFE_MCU_FLASH_S, 0x4000u, 0x10000u},
                {VSAFE_MCU_FLASH_NS, 0, 0x10000u}};
_Static_assert(0x4000u + 0x10000u == MCU_FLASH_S_LEN && 0x10000u == MCU_FLASH_NS_LEN,
               "the SFI regions fill the flash");
_Static_assert(VSAFE_SFI_PAYLOAD_MAX == MCU_SFI_STAGE_LEN, "the stage holds the largest region");

uint32_t vsafe_mcu_sfi_region_size(unsigned region)
{
    return region >= 1u && region <= 3u ? regions[region].size : 0u;
}

uint32_t vsafe_mcu_sfi_region_offset(unsigned region)
{
    return region >= 1u && region <= 3u ? regions[region].off : 0u;
}

vsafe_mcu_mem_t vsafe_mcu_sfi_region_mem(unsigned region)
{
    return region == VSAFE_MCU_SFI_NONSECURE ? VSAFE_MCU_FLASH_NS : VSAFE_MCU_FLASH_S;
}

static uint32_t rec_off(unsigned region) { return MCU_OFF_SFI_REGIONS + (region - 1u) * MCU_SFI_REC_LEN; }

int mcu_sfi_keygen(struct vsafe_mcu *m, vsafe_txn_t *txn)
{
    uint8_t priv[32], pub[64];
    if (m->crypto->ec_keygen == NULL) {
        return VSAFE_OK; /* a port without EC key generation: no SFI on this device */
    }
    int rc = m->crypto->ec_keygen(m->crypto->ctx, VSAFE_CURVE_P256, priv, pub);
    if (rc == VSAFE_OK) {
        if (txn != NULL) {
            vsafe_txn_put(txn, MCU_OFF_SFI_PRIV, priv, 32);
            vsafe_txn_put(txn, MCU_OFF_SFI_PUB, pub, 64);
        } else {
            memcpy(m->image + MCU_OFF_SFI_PRIV, priv, 32);
            memcpy(m->image + MCU_OFF_SFI_PUB, pub, 64);
        }
    }
    vsafe_wipe(priv, sizeof priv);
    return rc;
}

int vsafe_mcu_sfi_pubkey(const vsafe_mcu_t *m, uint8_t pub[64])
{
    static const uint8_t zero[64];
    if (m == NULL || pub == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (memcmp(m->image + MCU_OFF_SFI_PUB, zero, 64) == 0) {
        return VSAFE_ERR_UNSUPPORTED;
    }
    memcpy(pub, m->image + MCU_OFF_SFI_PUB, 64);
    return VSAFE_OK;
}

int vsafe_mcu_sfi_region_info(const vsafe_mcu_t *m, unsigned region, uint8_t owner_hash[32], uint32_t *version)
{
    if (m == NULL || region < 1u || region > 3u || owner_hash == NULL || version == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(owner_hash, m->image + rec_off(region), 32);
    *version = mcu_get32(m->image + rec_off(region) + 32u);
    return VSAFE_OK;
}

static bool state_allows(vsafe_mcu_state_t s, unsigned region)
{
    switch (region) {
    case VSAFE_MCU_SFI_IROT: return s == VSAFE_MCU_STATE_PROVISIONING;
    case VSAFE_MCU_SFI_SECURE: return s == VSAFE_MCU_STATE_PROVISIONING || s == VSAFE_MCU_STATE_IROT_PROVISIONED;
    case VSAFE_MCU_SFI_NONSECURE:
        return s == VSAFE_MCU_STATE_PROVISIONING || s == VSAFE_MCU_STATE_IROT_PROVISIONED ||
               s == VSAFE_MCU_STATE_TZ_CLOSED;
    default: return false;
    }
}

static int sha256(const struct vsafe_mcu *m, const uint8_t *p, size_t n, uint8_t out[32])
{
    vsafe_iov_t iov = {p, n};
    return m->crypto->sha256(m->crypto->ctx, &iov, 1, out);
}

/* KEK = HKDF-SHA-256(salt = SoC ID, ikm = ECDH(device, ephemeral), info = label || header 0..15). */
static int license_kek(struct vsafe_mcu *m, const uint8_t *img, uint8_t kek[32])
{
    uint8_t secret[32], info[16 + 16] = "vsafe SFI v1 KEK";
    memcpy(info + 16, img, 16);
    int rc = m->crypto->ec_ecdh(m->crypto->ctx, VSAFE_CURVE_P256, m->image + MCU_OFF_SFI_PRIV,
                                img + VSAFE_SFI_OFF_EPHEMERAL, secret);
    if (rc == VSAFE_OK) {
        rc = m->crypto->hkdf_sha256(m->crypto->ctx, m->image + MCU_OFF_SOC_ID, 16, secret, sizeof secret, info,
                                    sizeof info, kek, 32);
    }
    vsafe_wipe(secret, sizeof secret);
    return rc;
}

int vsafe_mcu_sfi_install(vsafe_mcu_t *m, const uint8_t *img, size_t img_len)
{
    if (m == NULL || img == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    if (m->crypto->ec_ecdh == NULL || m->crypto->aead_start == NULL || m->crypto->aead_decrypt == NULL) {
        return VSAFE_ERR_UNSUPPORTED;
    }
    /* Header first: everything below depends on it. */
    if (img_len < VSAFE_SFI_HEADER_LEN || memcmp(img, "VSFI", 4) != 0 || img[4] != 1u) {
        return VSAFE_ERR_PARSE;
    }
    unsigned region = img[5];
    uint32_t version = mcu_get32(img + 8), len = mcu_get32(img + 12);
    if (region < 1u || region > 3u || len == 0u || len > regions[region].size ||
        img_len != (size_t)VSAFE_SFI_HEADER_LEN + len + 16u + 64u) {
        return VSAFE_ERR_PARSE;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    if (!state_allows(s, region)) {
        return VSAFE_ERR_SFI_STATE;
    }
    uint8_t h[32], owner[32], kek[32], key[32];
    uint32_t rec = rec_off(region);
    static const uint8_t zero[32];
    int rc = sha256(m, img + VSAFE_SFI_OFF_OWNER, 64, owner);
    if (rc != VSAFE_OK) {
        return rc;
    }
    /* S1: a region owned by another key is never written. */
    bool owned = memcmp(m->image + rec, zero, 32) != 0;
    if (owned && !vsafe_ct_equal(m->image + rec, owner, 32)) {
        return VSAFE_ERR_SFI_FOREIGN_REGION;
    }
    size_t signed_len = img_len - 64u;
    rc = sha256(m, img, signed_len, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (m->crypto->ecdsa_verify(m->crypto->ctx, img + VSAFE_SFI_OFF_OWNER, h, img + signed_len) != VSAFE_OK) {
        return VSAFE_ERR_SFI_SIGNATURE;
    }
    /* S2 */
    if (version <= mcu_get32(m->image + rec + 32u)) {
        return VSAFE_ERR_SFI_REPLAY;
    }
    /* The license: only this device's provisioning key unwraps the image key. */
    static const uint8_t wrap_iv[12];
    int verified = 0;
    rc = license_kek(m, img, kek);
    if (rc == VSAFE_OK) {
        rc = m->crypto->aead_decrypt(m->crypto->ctx, VSAFE_AEAD_GCM, kek, 32, wrap_iv, sizeof wrap_iv, img,
                                     VSAFE_SFI_OFF_EPHEMERAL, img + VSAFE_SFI_OFF_WRAPPED, 32,
                                     img + VSAFE_SFI_OFF_WRAPPED + 32, 16, key, &verified);
    }
    vsafe_wipe(kek, sizeof kek);
    if (rc == VSAFE_OK && !verified) {
        rc = VSAFE_ERR_SFI_WRONG_DEVICE;
    }
    /* The image, decrypted in chunks into the stage (S3: not committed until the tag verifies). */
    uint8_t *stage = m->sfi_stage;
    if (rc == VSAFE_OK) {
        rc = m->crypto->aead_start(m->crypto->ctx, VSAFE_AEAD_GCM, 0, key, 32, img + VSAFE_SFI_OFF_IV, 12,
                                   VSAFE_SFI_OFF_EPHEMERAL, len, 16);
    }
    vsafe_wipe(key, sizeof key);
    if (rc == VSAFE_OK) {
        rc = m->crypto->aead_update(m->crypto->ctx, img, VSAFE_SFI_OFF_EPHEMERAL, NULL, 0, NULL);
    }
    for (uint32_t done = 0; rc == VSAFE_OK && done < len;) {
        uint32_t n = len - done < SFI_CHUNK ? len - done : SFI_CHUNK;
        rc = m->crypto->aead_update(m->crypto->ctx, NULL, 0, img + VSAFE_SFI_HEADER_LEN + done, n, stage + done);
        done += n;
    }
    if (rc == VSAFE_OK) {
        uint8_t tag[16];
        memcpy(tag, img + VSAFE_SFI_HEADER_LEN + len, sizeof tag);
        rc = m->crypto->aead_finish(m->crypto->ctx, tag, sizeof tag, &verified);
        if (rc == VSAFE_OK && !verified) {
            rc = VSAFE_ERR_SFI_TAMPERED;
        }
    } else if (m->crypto->aead_clear != NULL) {
        m->crypto->aead_clear(m->crypto->ctx);
    }
    /* Re-check after branching: the decision from the image once more. */
    if (rc == VSAFE_OK && (!state_allows(vsafe_mcu_state(m), region) || version <= mcu_get32(m->image + rec + 32u) ||
                           (owned && !vsafe_ct_equal(m->image + rec, owner, 32)))) {
        rc = VSAFE_ERR_CORRUPTION_DETECTED;
    }
    if (rc == VSAFE_OK) {
        /* The payload, the rest of the region erased, owner and version: one commit (S3). The
         * record is a snapshot (up to 64 KiB of payload does not fit a transaction). */
        uint32_t base = mcu_mem_off(regions[region].mem) + regions[region].off;
        const vsafe_store_span_t spans[2] = {{base, len, stage, 0},
                                             {base + len, regions[region].size - len, NULL, 0xFFu}};
        vsafe_txn_begin(&m->txn);
        vsafe_txn_put(&m->txn, rec, owner, 32);
        vsafe_txn_put_u32(&m->txn, rec + 32u, version);
        rc = vsafe_store_commit_spans(&m->store, m->store.image_len, &m->txn, spans,
                                      len < regions[region].size ? 2u : 1u);
        vsafe_txn_begin(&m->txn);
    }
    vsafe_wipe(stage, len);
    return rc;
}
