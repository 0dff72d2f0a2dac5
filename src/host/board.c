/* The board: the MCU's OBK HDPL3-S holds the host keys of the secure element's channel.
 *
 * Invariants:
 *  B1 Installing host keys is all or nothing across the two parts: the keys go to OBK first (so
 *     they are never only in the secure element, where nobody could read them back), then to the
 *     secure element; when the secure element refuses them, OBK gets its previous bytes back.
 *  B2 "Same keys" is decided by the secure element itself: an authenticated command under the OBK
 *     keys must pass its C-MAC check and return a valid R-MAC. */
#include <string.h>

#include <openssl/rand.h>

#include "common/secure.h"
#include "vsafe/host.h"
#include "vsafe/mcu.h"
#include "vsafe/se_wire.h"

int vsafe_board_hostkeys_generate(bool aes256, uint8_t rec[VSAFE_MCU_HOSTKEY_LEN])
{
    if (rec == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(rec, 0, VSAFE_MCU_HOSTKEY_LEN);
    memcpy(rec, "HKEY", 4);
    rec[4] = aes256 ? VSAFE_HOST_KEY_AES256 : VSAFE_HOST_KEY_AES128;
    size_t n = aes256 ? 32u : 16u;
    if (RAND_bytes(rec + 8, (int)n) != 1 || RAND_bytes(rec + 40, (int)n) != 1) {
        vsafe_wipe(rec, VSAFE_MCU_HOSTKEY_LEN);
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

static bool rec_valid(const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN])
{
    return memcmp(rec, "HKEY", 4) == 0 && rec[4] <= VSAFE_HOST_KEY_AES256;
}

int vsafe_board_hostkeys_to_se(struct vsafe_host *host, const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN])
{
    if (host == NULL || rec == NULL || !rec_valid(rec)) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_host_provision_plaintext(host, rec[4], rec + 8, rec + 40);
}

/* B2: one authenticated Read of one byte of the first readable data zone. */
static int se_accepts(struct vsafe_host *host, const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN])
{
    vsafe_host_zone_t zones[16];
    size_t count = 0;
    int rc = vsafe_host_zones(host, zones, sizeof zones / sizeof zones[0], &count);
    if (rc != VSAFE_OK && rc != VSAFE_ERR_BUFFER_TOO_SMALL) {
        return rc;
    }
    int zone = -1;
    for (size_t i = 0; i < count && i < sizeof zones / sizeof zones[0] && zone < 0; i++) {
        if (zones[i].type == VSAFE_SE_ZONE_DATA && zones[i].length > 0u &&
            (zones[i].read_ac == VSAFE_SE_AC_ALWAYS || zones[i].read_ac == VSAFE_SE_AC_HOST)) {
            zone = zones[i].index;
        }
    }
    if (zone < 0) {
        return VSAFE_ERR_NOT_FOUND;
    }
    rc = vsafe_host_session_open(host, rec + 8, rec + 40, rec[4]);
    if (rc == VSAFE_OK) {
        uint8_t b[1];
        rc = vsafe_host_read_zone(host, VSAFE_HOST_PROT_MAC, (uint8_t)zone, 0, b, sizeof b);
        vsafe_host_session_close(host);
    }
    return rc;
}

/* The device answered with a status: the command was refused and committed nothing. */
static bool device_refused(int rc)
{
    return vsafe_status_wire(rc) > 0;
}

int vsafe_board_install_hostkeys(vsafe_mcu_t *mcu, struct vsafe_host *host, const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN])
{
    if (mcu == NULL || host == NULL || rec == NULL || !rec_valid(rec)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t old[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_mcu_obk_read(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, old, sizeof old);
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_obk_write(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, VSAFE_MCU_HOSTKEY_LEN);
    }
    if (rc != VSAFE_OK) {
        vsafe_wipe(old, sizeof old);
        return rc;
    }
    rc = vsafe_board_hostkeys_to_se(host, rec);
    if (rc != VSAFE_OK) {
        /* B1. Unless the device refused outright, it may have stored the keys (a lost answer):
         * then they stay in OBK too. */
        bool absent = device_refused(rc);
        if (!absent) {
            int v = se_accepts(host, rec);
            if (v == VSAFE_OK) {
                rc = VSAFE_OK;
            }
            absent = v == VSAFE_ERR_DEV_KEY_NOT_FOUND || v == VSAFE_ERR_DEV_INVALID_C_MAC ||
                     v == VSAFE_ERR_DEV_WRONG_KEY_TYPE;
        }
        if (absent) {
            int wrc = vsafe_mcu_obk_write(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, old, sizeof old);
            if (wrc != VSAFE_OK) {
                rc = wrc;
            }
        }
    }
    vsafe_wipe(old, sizeof old);
    return rc;
}

int vsafe_board_provision_hostkeys(vsafe_mcu_t *mcu, struct vsafe_host *host, bool aes256)
{
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_board_hostkeys_generate(aes256, rec);
    if (rc == VSAFE_OK) {
        rc = vsafe_board_install_hostkeys(mcu, host, rec);
    }
    vsafe_wipe(rec, sizeof rec);
    return rc;
}

int vsafe_board_hostkeys_verify(vsafe_mcu_t *mcu, struct vsafe_host *host)
{
    if (mcu == NULL || host == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_mcu_obk_read(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, sizeof rec);
    if (rc == VSAFE_OK) {
        rc = rec_valid(rec) ? se_accepts(host, rec) : VSAFE_ERR_NOT_FOUND;
    }
    vsafe_wipe(rec, sizeof rec);
    return rc;
}

int vsafe_board_session_open(vsafe_mcu_t *mcu, struct vsafe_host *host)
{
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_mcu_obk_read(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, sizeof rec);
    if (rc == VSAFE_OK) {
        rc = rec_valid(rec) ? vsafe_host_session_open(host, rec + 8, rec + 40, rec[4]) : VSAFE_ERR_NOT_FOUND;
    }
    vsafe_wipe(rec, sizeof rec);
    return rc;
}
