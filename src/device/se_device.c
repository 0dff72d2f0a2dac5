/* vsafe_se_open and friends: the device as a process-local object. Joins a profile, the store
 * on a durable file (or in RAM), OpenSSL crypto and the device core. Everything here may
 * allocate and do I/O; the core it wraps does neither.
 *
 * Invariants:
 *  1. An existing state file is never reformatted: a file that does not mount is refused with
 *     the store's reason. Only a missing file (or an all-erased one, i.e. creation was cut short
 *     before the first snapshot) is created from the profile.
 *  2. The write lock is held from open to close (file NVM), so a second writer is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/secure.h"
#include "device/identity.h"
#include "se/layout.h"
#include "port/posix/crypto_openssl.h"
#include "port/posix/nvm_file.h"
#include "profile/profile_file.h"
#include "se/core.h"
#include "vsafe/se.h"

/* Journal bytes per half for file-backed devices: keeps write amplification low (a snapshot
 * rewrite every ~1000 small commands). */
#define SE_FILE_JOURNAL_BYTES (64u * 1024u)

struct vsafe_se {
    vsafe_se_core_t core;
    uint8_t *image;
    uint32_t image_len;
    vsafe_file_nvm_t *file;
    vsafe_openssl_crypto_t *crypto;
};

static void set_error(const vsafe_se_open_ext_t *ext, const char *fmt, ...)
{
    if (ext == NULL || ext->error_message == NULL || ext->error_message_cap == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ext->error_message, ext->error_message_cap, fmt, ap);
    va_end(ap);
}

/* A new device's own identity: a P-256 key generated through the port into slot 0 and a leaf
 * certificate for it, signed by the CA of ext (or the local vsafe CA), in zone 0. Its 11-byte
 * serial (02 09 20 and 8 random bytes) is the device ID hosts read at offset 15 of zone 0. */
static int install_identity(vsafe_se_t *se, const vsafe_se_open_ext_t *ext)
{
    const vsafe_crypto_t *c = vsafe_openssl_crypto_port(se->crypto);
    uint8_t priv[VSAFE_EC_MAX_KEY], pub[VSAFE_EC_MAX_PUB], serial[11] = {0x02, 0x09, 0x20};
    uint8_t cert[2048];
    size_t cert_len = 0;
    char msg[512] = "";
    vsafe_identity_ca_t *ca = NULL;
    int rc = vsafe_identity_ca_load(&ca, ext != NULL ? ext->ca_cert_path : NULL, ext != NULL ? ext->ca_key_path : NULL,
                                    msg, sizeof msg);
    if (rc != VSAFE_OK) {
        set_error(ext, "device identity: %s", msg);
        return rc;
    }
    rc = c->ec_keygen != NULL && c->random != NULL ? c->ec_keygen(c->ctx, VSAFE_CURVE_P256, priv, pub)
                                                   : VSAFE_ERR_UNSUPPORTED;
    if (rc == VSAFE_OK) {
        rc = c->random(c->ctx, serial + 3, sizeof serial - 3);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_identity_issue(ca, pub, serial, cert, sizeof cert, &cert_len);
    }
    int placed = 0;
    if (rc == VSAFE_OK) {
        rc = vsafe_se_core_image_set_identity(se->image, se->image_len, priv, pub, cert, cert_len);
        placed = 1;
    }
    if (rc != VSAFE_OK && placed && rc == VSAFE_ERR_ARGUMENT) {
        /* The only way the image refuses a fresh identity: zone 0 cannot hold the certificate. */
        set_error(ext, "device identity: the profile has no data zone 0 of at least %zu bytes for the device "
                       "certificate (make zone 0 that large)", cert_len);
        rc = VSAFE_ERR_BAD_PROFILE;
    } else if (rc != VSAFE_OK) {
        set_error(ext, "device identity: %s", vsafe_status_message(rc));
    }
    vsafe_wipe(priv, sizeof priv);
    vsafe_identity_ca_free(ca);
    return rc;
}

static int build_from_profile(vsafe_se_t *se, const char *profile, const vsafe_se_open_ext_t *ext)
{
    char err[512] = "";
    vsafe_profile_t *p = NULL;
    int rc = vsafe_profile_load(profile != NULL ? profile : "spl05", &p, err, sizeof err);
    if (rc != VSAFE_OK) {
        set_error(ext, "%s", err[0] ? err : vsafe_status_message(rc));
        return rc;
    }
    se->image_len = vsafe_se_core_image_size(p);
    se->image = se->image_len ? calloc(1, se->image_len) : NULL;
    if (se->image == NULL) {
        vsafe_profile_free(p);
        return se->image_len ? VSAFE_ERR_NO_MEMORY : VSAFE_ERR_BAD_PROFILE;
    }
    rc = vsafe_se_core_build_image(p, se->image, se->image_len);
    vsafe_profile_free(p);
    if (rc != VSAFE_OK) {
        set_error(ext, "profile cannot be laid out: %s", vsafe_status_message(rc));
        return rc;
    }
    if (ext != NULL && ext->no_identity) {
        return VSAFE_OK;
    }
    return install_identity(se, ext);
}

/* Mounts an NVM that already holds state, or formats it from the profile when it is blank. */
static int start_on_nvm(vsafe_se_t *se, const vsafe_nvm_t *nvm, const char *profile, const char *what,
                        const vsafe_se_open_ext_t *ext)
{
    uint32_t len = 0, tag = 0;
    int rc = vsafe_store_probe(nvm, &len, &tag);
    if (rc == VSAFE_ERR_STORE_EMPTY) {
        rc = build_from_profile(se, profile, ext);
        if (rc == VSAFE_OK) {
            rc = vsafe_se_core_create(&se->core, nvm, vsafe_openssl_crypto_port(se->crypto), se->image,
                                      se->image_len);
        }
        return rc;
    }
    if (rc != VSAFE_OK) {
        set_error(ext, "%s: %s", what, vsafe_status_message(rc));
        return rc;
    }
    if (tag != VSAFE_STORE_TAG_SE) {
        set_error(ext, "%s: holds another kind of state (not a secure element)", what);
        return VSAFE_ERR_STORE_MISMATCH;
    }
    /* Room for a migration of an older image version (done by the core at mount). */
    uint32_t cap = vsafe_se_core_mount_capacity(len);
    se->image_len = cap;
    se->image = cap != 0u ? calloc(1, cap) : NULL;
    if (se->image == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    rc = vsafe_se_core_mount_ex(&se->core, nvm, vsafe_openssl_crypto_port(se->crypto), se->image, cap,
                                ext != NULL && ext->read_only);
    if (rc == VSAFE_ERR_STORE_DAMAGED || rc == VSAFE_ERR_STORE_CORRUPT) {
        char where[400];
        (void)vsafe_store_describe(&se->core.store.recovery, where, sizeof where);
        set_error(ext, "%s: %s: %s", what, vsafe_status_message(rc), where);
    } else if (rc != VSAFE_OK) {
        set_error(ext, "%s: %s", what, vsafe_status_message(rc));
    }
    return rc;
}

static int open_file_backed(vsafe_se_t *se, const vsafe_se_options_t *o, const vsafe_se_open_ext_t *ext)
{
    struct stat sb;
    bool exists = stat(o->state_path, &sb) == 0;
    int rc;
    if (!exists && ext != NULL && ext->read_only) {
        set_error(ext, "%s: no such device state file", o->state_path);
        return VSAFE_ERR_NOT_FOUND;
    }
    if (exists) {
        int flags = ext != NULL && ext->read_only ? VSAFE_FILE_NVM_READ_ONLY : 0;
        rc = vsafe_file_nvm_open(&se->file, o->state_path, flags, 0);
        if (rc != VSAFE_OK) {
            set_error(ext, "%s: %s", o->state_path, vsafe_status_message(rc));
            return rc;
        }
        return start_on_nvm(se, vsafe_file_nvm_port(se->file), o->profile, o->state_path, ext);
    }
    rc = build_from_profile(se, o->profile, ext);
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint32_t size = vsafe_store_nvm_bytes(se->image_len, SE_FILE_JOURNAL_BYTES, VSAFE_FILE_NVM_PAGE);
    rc = vsafe_file_nvm_open(&se->file, o->state_path, VSAFE_FILE_NVM_CREATE, size);
    if (rc != VSAFE_OK) {
        set_error(ext, "%s: cannot create: %s", o->state_path, vsafe_status_message(rc));
        return rc;
    }
    rc = vsafe_se_core_create(&se->core, vsafe_file_nvm_port(se->file), vsafe_openssl_crypto_port(se->crypto),
                              se->image, se->image_len);
    if (rc != VSAFE_OK) {
        set_error(ext, "%s: cannot format: %s", o->state_path, vsafe_status_message(rc));
    }
    return rc;
}

int vsafe_se_open_ex(vsafe_se_t **out, const vsafe_se_options_t *options, const vsafe_se_open_ext_t *ext)
{
    static const vsafe_se_options_t defaults = {NULL, NULL};
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    const vsafe_se_options_t *o = options != NULL ? options : &defaults;
    vsafe_se_t *se = calloc(1, sizeof *se);
    if (se == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    int rc = vsafe_openssl_crypto_new(&se->crypto, ext != NULL ? ext->rng_seed : 0);
    if (rc == VSAFE_OK) {
        if (ext != NULL && ext->nvm != NULL) {
            rc = start_on_nvm(se, ext->nvm, o->profile, "NVM", ext);
        } else if (o->state_path != NULL) {
            rc = open_file_backed(se, o, ext);
        } else {
            rc = build_from_profile(se, o->profile, ext);
            if (rc == VSAFE_OK) {
                rc = vsafe_se_core_create(&se->core, NULL, vsafe_openssl_crypto_port(se->crypto), se->image,
                                          se->image_len);
            }
        }
    }
    if (rc != VSAFE_OK) {
        vsafe_se_close(se);
        return rc;
    }
    if (se->file != NULL || (ext != NULL && ext->nvm != NULL && ext->one_sync)) {
        /* One fdatasync per command: the record's commit word goes last and a commit word that
         * reaches the file without its body fails the body checksum (docs/NVM-FORMAT.md), so a
         * second sync between them buys nothing; proven under reordered cuts in tests/store. */
        vsafe_store_set_one_sync(&se->core.store, true);
    }
    se->core.timing = ext != NULL && ext->timing != 0;
    se->core.read_only = ext != NULL && ext->read_only != 0;
    *out = se;
    return VSAFE_OK;
}

int vsafe_se_open(vsafe_se_t **se, const vsafe_se_options_t *options)
{
    return vsafe_se_open_ex(se, options, NULL);
}

void vsafe_se_close(vsafe_se_t *se)
{
    if (se == NULL) {
        return;
    }
    vsafe_se_core_reset(&se->core);
    /* The image holds the host keys and zone contents; the object holds the core's buffers
     * (decrypted payload, response, staged transaction, KEK material). A plain memset before
     * free is a dead store the optimiser deletes (tests/wipe), hence vsafe_wipe. */
    if (se->image != NULL) {
        vsafe_wipe(se->image, se->image_len);
        free(se->image);
    }
    vsafe_file_nvm_close(se->file);
    vsafe_openssl_crypto_free(se->crypto);
    vsafe_wipe(se, sizeof *se);
    free(se);
}

int vsafe_se_i2c_write(vsafe_se_t *se, uint8_t addr7, const uint8_t *buf, size_t len)
{
    if (se == NULL || (buf == NULL && len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_se_core_i2c_write(&se->core, addr7, buf, len);
}

int vsafe_se_i2c_read(vsafe_se_t *se, uint8_t addr7, uint8_t *buf, size_t len)
{
    if (se == NULL || (buf == NULL && len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_se_core_i2c_read(&se->core, addr7, buf, len);
}

int vsafe_se_transceive(vsafe_se_t *se, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                        size_t *rsp_len)
{
    if (se == NULL || cmd == NULL || rsp == NULL || rsp_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = vsafe_se_core_i2c_write(&se->core, se->core.addr7, cmd, cmd_len);
    if (rc != 0) {
        return rc;
    }
    if (!se->core.have_response) {
        return VSAFE_I2C_NACK;
    }
    if (rsp_cap < se->core.rsp_len) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(rsp, se->core.rsp, se->core.rsp_len);
    *rsp_len = se->core.rsp_len;
    return 0;
}

int vsafe_se_profile_name(const vsafe_se_t *se, char *out, size_t cap)
{
    if (se == NULL || out == NULL || cap == 0 || se->image_len < SE_OFF_PROFILE_NAME + 32u) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t n = 0;
    while (n < 31u && n + 1 < cap && se->image[SE_OFF_PROFILE_NAME + n] != 0) {
        char c = (char)se->image[SE_OFF_PROFILE_NAME + n];
        out[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out[n] = '\0';
    return VSAFE_OK;
}

bool vsafe_se_power_lost(const vsafe_se_t *se)
{
    return se != NULL && se->core.power_lost;
}

int vsafe_se_stats(const vsafe_se_t *se, vsafe_se_stats_t *stats)
{
    if (se == NULL || stats == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const vsafe_store_t *st = &se->core.store;
    stats->commits = st->counters.commits;
    stats->bytes_programmed = st->counters.bytes_programmed;
    stats->program_ops = st->counters.program_ops;
    stats->erase_ops = st->counters.erase_ops;
    stats->compactions = st->counters.compactions;
    stats->sequence = st->seq;
    stats->image_bytes = se->core.image_len;
    return VSAFE_OK;
}

size_t vsafe_se_memory(const vsafe_se_t *se)
{
    if (se == NULL) {
        return 0;
    }
    return sizeof *se + se->image_len + vsafe_openssl_crypto_memory(se->crypto) + vsafe_file_nvm_memory(se->file);
}

unsigned vsafe_se_command_time_ms(const uint8_t *frame, size_t len)
{
    return frame == NULL ? 0u : (unsigned)vsafe_se_core_command_time_ms(frame, len);
}

int vsafe_se_set_timing(vsafe_se_t *se, int on)
{
    if (se == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    se->core.timing = on != 0;
    se->core.busy_until_us = 0;
    return VSAFE_OK;
}
