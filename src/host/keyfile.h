/* Host key files: a strict parser, a canonical writer, and a durable two-step write.
 *
 * Text format (docs/CLI.md, "Key files"), one item per line, lines ended by "\n" (a "\r" before it
 * is allowed; the last line may lack its "\n"):
 *     # any comment                          (a line whose first character is '#')
 *                                            (an empty line)
 *     type aes128                            ("aes128" or "aes256")
 *     mac 00112233445566778899aabbccddeeff   (exactly 16 or 32 bytes as hex digits, as the type says)
 *     cipher 0123456789abcdef0123456789abcdef
 * The three items each appear exactly once, in any order, with exactly one space after the name.
 * Nothing else is accepted: no signs, no "0x", no separators inside the hex, no leading or trailing
 * blanks, no unknown names, no NUL bytes, at most VSAFE_KEYFILE_TEXT_MAX bytes.
 *
 * Durable write (the host key must never exist on a device without a complete key file):
 *   vsafe_keyfile_stage   writes the keys to a new temporary file in the target's directory
 *                         (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, then fsync);
 *   vsafe_keyfile_commit  gives it the target name: without replace by link() (fails with
 *                         VSAFE_ERR_EXISTS if anything, even a symlink, has that name), with replace
 *                         by rename() (replaces the name itself, never a symlink's target); then
 *                         fsyncs the directory. After it returns VSAFE_OK the file is complete and
 *                         durable under its name;
 *   vsafe_keyfile_abort   removes the temporary file (after a failure before commit).
 * A crash between stage and commit leaves at most a temporary file ".NAME.XXXXXX" (0600) beside
 * the target, never a partial file under the target's name. */
#ifndef VSAFE_HOST_KEYFILE_H
#define VSAFE_HOST_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#define VSAFE_KEYFILE_TEXT_MAX 4096u

typedef struct {
    unsigned type;      /* VSAFE_HOST_KEY_AES128 (0) or VSAFE_HOST_KEY_AES256 (1) */
    size_t key_len;     /* 16 or 32, as type says */
    uint8_t mac[32];    /* first key_len bytes used, the rest zero */
    uint8_t cipher[32];
    unsigned error_line; /* after VSAFE_ERR_PARSE: the 1-based line at fault (0: the file as a whole) */
    size_t error_key_len; /* after VSAFE_ERR_PARSE with error_line 0 because a key's length is not the one
                           * the type takes: that key's length in bytes (type is then kept); else 0 */
    int error_errno;     /* after VSAFE_ERR_NOT_FOUND / VSAFE_ERR_IO from vsafe_keyfile_load: the errno of the
                          * open, stat or read that failed; EISDIR for a directory, 0 for another file that
                          * is not a regular file */
} vsafe_keyfile_t;

/* Parses key-file text (need not be NUL-terminated). VSAFE_OK, or VSAFE_ERR_PARSE with every key
 * byte of *out wiped and out->error_line set; VSAFE_ERR_ARGUMENT for NULL out or NULL text with
 * len > 0. */
VSAFE_MUST_CHECK int vsafe_keyfile_parse(const char *text, size_t len, vsafe_keyfile_t *out);

/* Writes the canonical text of keys into out (NUL-terminated; *out_len excludes the NUL).
 * VSAFE_ERR_ARGUMENT for a bad type, VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_keyfile_format(const vsafe_keyfile_t *keys, char *out, size_t out_cap, size_t *out_len);

/* Reads and parses a key file (at most VSAFE_KEYFILE_TEXT_MAX bytes; must be a regular file).
 * VSAFE_ERR_NOT_FOUND (no such file or directory), VSAFE_ERR_IO (out->error_errno set for both),
 * VSAFE_ERR_PARSE (out->error_line set). Buffers are wiped. */
VSAFE_MUST_CHECK int vsafe_keyfile_load(const char *path, vsafe_keyfile_t *out);

typedef struct {
    int dir_fd;      /* the target's directory, -1 when nothing is staged */
    char name[256];  /* target base name */
    char tmp[280];   /* temporary base name */
} vsafe_keyfile_staged_t;

/* Checks, without writing, that a key file could be created at path: the directory exists and
 * (without replace) nothing has that name. VSAFE_OK, VSAFE_ERR_NOT_FOUND, VSAFE_ERR_EXISTS,
 * VSAFE_ERR_ARGUMENT, VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_keyfile_check_target(const char *path, int replace);

/* See the top of this file. stage: VSAFE_ERR_NOT_FOUND (no such directory), VSAFE_ERR_EXISTS
 * (the target exists and replace is 0: checked early so nothing is written), VSAFE_ERR_ARGUMENT
 * (empty name, name too long, or a path ending in '/'), VSAFE_ERR_IO. On failure nothing is left. */
VSAFE_MUST_CHECK int vsafe_keyfile_stage(const char *path, const vsafe_keyfile_t *keys, int replace,
                                         vsafe_keyfile_staged_t *st);
/* VSAFE_ERR_EXISTS (without replace, the name was taken meanwhile: the temporary file is removed),
 * VSAFE_ERR_IO. After a failure the temporary file is removed and st released. */
VSAFE_MUST_CHECK int vsafe_keyfile_commit(vsafe_keyfile_staged_t *st, int replace);
void vsafe_keyfile_abort(vsafe_keyfile_staged_t *st);
/* Removes a committed key file by name (unlink + directory fsync): used when the device refused
 * the keys for certain, so that no file names keys that exist nowhere. */
VSAFE_MUST_CHECK int vsafe_keyfile_remove(const char *path);

#endif
