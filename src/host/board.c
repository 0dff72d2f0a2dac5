/* The board: the MCU's OBK HDPL3-S holds the host keys of the secure element's channel. */
#include <string.h>

#include <openssl/rand.h>

#include "common/secure.h"

#include "vsafe/host.h"
#include "vsafe/mcu.h"

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

int vsafe_board_provision_hostkeys(vsafe_mcu_t *mcu, struct vsafe_host *host, bool aes256)
{
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_board_hostkeys_generate(aes256, rec);
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_obk_write(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, sizeof rec);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_board_hostkeys_to_se(host, rec);
    }
    vsafe_wipe(rec, sizeof rec); /* a memset here was a dead store at -O2 (tests/wipe) */
    return rc;
}

int vsafe_board_session_open(vsafe_mcu_t *mcu, struct vsafe_host *host)
{
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int rc = vsafe_mcu_obk_read(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, sizeof rec);
    if (rc == VSAFE_OK) {
        rc = rec_valid(rec) ? vsafe_host_session_open(host, rec + 8, rec + 40, rec[4]) : VSAFE_ERR_NOT_FOUND;
    }
    vsafe_wipe(rec, sizeof rec); /* a memset here was a dead store at -O2 (tests/wipe) */
    return rc;
}
