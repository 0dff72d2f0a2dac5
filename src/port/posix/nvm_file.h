/* Durable file-backed NVM (vsafe_nvm_t): page-granular pwrite, fdatasync on sync, an exclusive
 * lock so that a second writer gets VSAFE_ERR_LOCKED. */
#ifndef VSAFE_NVM_FILE_H
#define VSAFE_NVM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/se_port.h"

typedef struct vsafe_file_nvm vsafe_file_nvm_t;

enum {
    VSAFE_FILE_NVM_CREATE = 1,    /* create (or truncate to) size bytes, all erased */
    VSAFE_FILE_NVM_READ_ONLY = 2  /* no lock, prog/erase fail */
};

#define VSAFE_FILE_NVM_PAGE 4096u
#define VSAFE_FILE_NVM_PROG_UNIT 16u

/* Opens path, never through a symlink, and reads the whole file once into RAM (every later read
 * is served from that copy, kept equal to the file by prog and erase). Without CREATE the file
 * must exist and its size be a whole number of pages (else VSAFE_ERR_STORE_TRUNCATED).
 * Errors: VSAFE_ERR_NOT_FOUND, VSAFE_ERR_SYMLINK (path is a symbolic link), VSAFE_ERR_LOCKED,
 * VSAFE_ERR_NVM_READ, VSAFE_ERR_NO_MEMORY, VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_file_nvm_open(vsafe_file_nvm_t **out, const char *path, int flags, uint32_t size);
vsafe_nvm_t *vsafe_file_nvm_port(vsafe_file_nvm_t *f);
void vsafe_file_nvm_close(vsafe_file_nvm_t *f);
/* read calls made on the file itself since open (1 after open: the whole file at once). */
uint64_t vsafe_file_nvm_reads(const vsafe_file_nvm_t *f);
/* The file descriptor (for a server that syncs many files in one round, src/server). The handle
 * keeps ownership; -1 for NULL. */
int vsafe_file_nvm_fd(const vsafe_file_nvm_t *f);
/* Bytes the handle holds (the RAM copy of the file); 0 for NULL. For vsafe_se_memory. */
size_t vsafe_file_nvm_memory(const vsafe_file_nvm_t *f);

#endif
