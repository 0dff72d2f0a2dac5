/* The MCU on a POSIX host: file-backed (or caller) NVM and OpenSSL crypto around the freestanding
 * MCU core (src/mcu). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/secure.h"
#include "mcu/mcu_core.h"
#include "port/posix/crypto_openssl.h"
#include "port/posix/nvm_file.h"

/* Journal space per half: a regression writes ~11 chunk commits of 1 KiB (an SFI install is a
 * snapshot of its own). */
#define MCU_FILE_JOURNAL_BYTES (16u * 1024u)

/* Makes a rename in path's directory durable. */
static int sync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0u : (size_t)(slash - path);
    if (n >= sizeof dir) {
        return VSAFE_ERR_IO;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    int fd = open(slash == NULL ? "." : (n == 0u ? "/" : dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return VSAFE_ERR_IO;
    }
    int rc = fsync(fd) == 0 ? VSAFE_OK : VSAFE_ERR_IO;
    close(fd);
    return rc;
}

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
    const vsafe_nvm_t *nvm = opt->nvm, *grow = opt->grow_nvm;
    uint32_t size = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, MCU_FILE_JOURNAL_BYTES, VSAFE_FILE_NVM_PAGE);
    vsafe_file_nvm_t *grow_file = NULL;
    char grow_path[4200];
    if (rc == VSAFE_OK && nvm == NULL && opt->state_path != NULL) {
        rc = vsafe_file_nvm_open(&o->file, opt->state_path, 0, 0);
        if (rc == VSAFE_ERR_NOT_FOUND) {
            rc = vsafe_file_nvm_open(&o->file, opt->state_path, VSAFE_FILE_NVM_CREATE, size);
        }
        if (rc == VSAFE_OK) {
            nvm = vsafe_file_nvm_port(o->file);
            /* A file made for a smaller, older image: its migration is written to a new file of
             * the size this version needs, which then replaces the old one by rename (the old file
             * is never written, so a crash before the rename leaves it to be migrated again; a
             * leftover new file is truncated by the next try). */
            if ((uint64_t)nvm->geo.page_count * nvm->geo.page_size < size) {
                int n = snprintf(grow_path, sizeof grow_path, "%s.migrate", opt->state_path);
                rc = n > 0 && (size_t)n < sizeof grow_path
                         ? vsafe_file_nvm_open(&grow_file, grow_path, VSAFE_FILE_NVM_CREATE, size)
                         : VSAFE_ERR_ARGUMENT;
                grow = grow_file != NULL ? vsafe_file_nvm_port(grow_file) : NULL;
            }
        }
    }
    bool moved = false;
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_core_start_grow(m, nvm, grow, vsafe_openssl_crypto_port(o->crypto), opt->da_attempt_limit,
                                       opt->soc_class, opt->power_on_reset, &moved);
    }
    if (grow_file != NULL) {
        if (rc == VSAFE_OK && moved) {
            rc = rename(grow_path, opt->state_path) == 0 ? sync_parent(opt->state_path) : VSAFE_ERR_IO;
            if (rc == VSAFE_OK) {
                vsafe_file_nvm_close(o->file);
                o->file = grow_file;
                grow_file = NULL;
            }
        }
        if (grow_file != NULL) {
            vsafe_file_nvm_close(grow_file);
            unlink(grow_path);
        }
    }
    if (rc != VSAFE_OK) {
        vsafe_mcu_close(m);
        return rc;
    }
    *out = m;
    return VSAFE_OK;
}

/* Part names are the host's concern (choosing the part of an MCU being created), not the core's:
 * the core only keeps the device ID. */
int vsafe_mcu_part_parse(const char *name, uint32_t *soc_class)
{
    static const struct {
        const char *part;
        uint32_t id;
    } parts[] = {{"H573", VSAFE_MCU_DEVID_H56X_H57X}, {"H563", VSAFE_MCU_DEVID_H56X_H57X},
                 {"H562", VSAFE_MCU_DEVID_H56X_H57X}, {"H533", VSAFE_MCU_DEVID_H52X_H53X},
                 {"H523", VSAFE_MCU_DEVID_H52X_H53X}, {"H503", VSAFE_MCU_DEVID_H503}};
    if (name == NULL || soc_class == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const char *p = name;
    if ((p[0] == 'S' || p[0] == 's') && (p[1] == 'T' || p[1] == 't') && (p[2] == 'M' || p[2] == 'm') && p[3] == '3' &&
        p[4] == '2') {
        p += 5;
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *q = parts[i].part;
        if ((p[0] == q[0] || p[0] == 'h') && p[1] == q[1] && p[2] == q[2] && p[3] == q[3] && p[4] == '\0') {
            *soc_class = parts[i].id;
            return VSAFE_OK;
        }
    }
    return VSAFE_ERR_ARGUMENT;
}

const char *vsafe_mcu_part_name(uint32_t soc_class)
{
    switch (soc_class) {
    case VSAFE_MCU_DEVID_H56X_H57X: return "STM32H562/H563/H573";
    case VSAFE_MCU_DEVID_H52X_H53X: return "STM32H523/H533";
    case VSAFE_MCU_DEVID_H503: return "STM32H503";
    default: return "unknown part";
    }
}
