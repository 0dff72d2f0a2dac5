/* The MCU on a POSIX host: file-backed (or caller) NVM and OpenSSL crypto around the freestanding
 * MCU core (src/mcu). */
#include <stdlib.h>
#include <string.h>

#include "common/secure.h"
#include "mcu/mcu_core.h"
#include "port/posix/crypto_openssl.h"
#include "port/posix/nvm_file.h"

/* Journal space per half: a regression writes ~11 chunk commits of 1 KiB. */
#define MCU_FILE_JOURNAL_BYTES (16u * 1024u)

typedef struct {
    vsafe_file_nvm_t *file;
    vsafe_openssl_crypto_t *crypto;
} mcu_owner_t;

void vsafe_mcu_close(vsafe_mcu_t *mcu)
{
    if (mcu == NULL) {
        return;
    }
    mcu_owner_t *o = mcu->owner;
    if (o != NULL) {
        vsafe_openssl_crypto_free(o->crypto);
        vsafe_file_nvm_close(o->file);
        free(o);
    }
    /* The object holds the image: hardware unique key, DHUK salt and OBK contents. vsafe_wipe,
     * because a memset before free is removed by the optimiser (tests/wipe). */
    vsafe_wipe(mcu, sizeof *mcu);
    free(mcu);
}

int vsafe_mcu_open(vsafe_mcu_t **out, const vsafe_mcu_options_t *opt)
{
    if (out == NULL || opt == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    vsafe_mcu_t *m = calloc(1, sizeof *m);
    mcu_owner_t *o = calloc(1, sizeof *o);
    if (m == NULL || o == NULL) {
        free(m);
        free(o);
        return VSAFE_ERR_NO_MEMORY;
    }
    m->owner = o;
    int rc = vsafe_openssl_crypto_new(&o->crypto, opt->rng_seed);
    const vsafe_nvm_t *nvm = opt->nvm;
    if (rc == VSAFE_OK && nvm == NULL && opt->state_path != NULL) {
        rc = vsafe_file_nvm_open(&o->file, opt->state_path, 0, 0);
        if (rc == VSAFE_ERR_NOT_FOUND) {
            uint32_t size = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, MCU_FILE_JOURNAL_BYTES, VSAFE_FILE_NVM_PAGE);
            rc = vsafe_file_nvm_open(&o->file, opt->state_path, VSAFE_FILE_NVM_CREATE, size);
        }
        if (rc == VSAFE_OK) {
            nvm = vsafe_file_nvm_port(o->file);
        }
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_core_start_ex(m, nvm, vsafe_openssl_crypto_port(o->crypto), opt->da_attempt_limit, opt->soc_class,
                                  opt->power_on_reset);
    }
    if (rc != VSAFE_OK) {
        vsafe_mcu_close(m);
        return rc;
    }
    *out = m;
    return VSAFE_OK;
}
