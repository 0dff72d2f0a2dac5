/* Host key files: strict parser, canonical writer, durable staged write. Contract: keyfile.h.
 *
 * Invariants:
 *  K1 The parser accepts exactly the grammar of keyfile.h: every byte of the input is either part
 *     of an accepted line or rejected; a rejected file leaves no key byte in the output.
 *  K2 A key file is only ever created by O_EXCL|O_NOFOLLOW under a temporary name in the target's
 *     directory, fsynced, and then given its name in one link/rename: the target name never
 *     designates a partial file, and no symlink at either name is ever followed.
 *  K3 Every buffer that held key text or key bytes is wiped with vsafe_wipe before it goes out of
 *     scope, on every path. */
#define _GNU_SOURCE /* renameat2 */
#include "host/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/secure.h"
#include "vsafe/host.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Exactly 32 or 64 hex digits into out[32]; returns the byte count, or 0 when anything else. */
static size_t parse_key_hex(const char *s, size_t n, uint8_t out[32])
{
    if (n != 32u && n != 64u) {
        return 0;
    }
    for (size_t i = 0; i < n; i += 2u) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1u]);
        if (hi < 0 || lo < 0) {
            vsafe_wipe(out, 32);
            return 0;
        }
        out[i / 2u] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2u;
}

static int line_is(const char *s, size_t n, const char *name, const char **value, size_t *value_len)
{
    size_t k = strlen(name);
    if (n <= k + 1u || memcmp(s, name, k) != 0 || s[k] != ' ') {
        return 0;
    }
    *value = s + k + 1u;
    *value_len = n - k - 1u;
    return 1;
}

int vsafe_keyfile_parse(const char *text, size_t len, vsafe_keyfile_t *out)
{
    if (out == NULL || (text == NULL && len > 0u)) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_wipe(out, sizeof *out);
    int rc = VSAFE_ERR_PARSE;
    unsigned line = 0;
    int have_type = 0;
    size_t mac_len = 0, cipher_len = 0;
    if (len > VSAFE_KEYFILE_TEXT_MAX || (len > 0u && memchr(text, '\0', len) != NULL)) {
        goto fail;
    }
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL ? 1u : 0u);
        line++;
        if (n > 0u && s[n - 1u] == '\r') {
            n--;
        }
        const char *v = NULL;
        size_t vn = 0;
        if (n == 0u || s[0] == '#') {
            continue;
        }
        if (line_is(s, n, "type", &v, &vn)) {
            if (have_type || vn != 6u || (memcmp(v, "aes128", 6) != 0 && memcmp(v, "aes256", 6) != 0)) {
                goto fail;
            }
            out->type = v[3] == '2' ? VSAFE_HOST_KEY_AES256 : VSAFE_HOST_KEY_AES128;
            have_type = 1;
        } else if (line_is(s, n, "mac", &v, &vn)) {
            if (mac_len != 0u || (mac_len = parse_key_hex(v, vn, out->mac)) == 0u) {
                goto fail;
            }
        } else if (line_is(s, n, "cipher", &v, &vn)) {
            if (cipher_len != 0u || (cipher_len = parse_key_hex(v, vn, out->cipher)) == 0u) {
                goto fail;
            }
        } else {
            goto fail;
        }
    }
    line = 0; /* what follows concerns the file as a whole */
    if (!have_type || mac_len == 0u || cipher_len == 0u) {
        goto fail;
    }
    out->key_len = out->type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
    if (mac_len != out->key_len || cipher_len != out->key_len) {
        unsigned type = out->type;
        size_t bad = mac_len != out->key_len ? mac_len : cipher_len;
        vsafe_wipe(out, sizeof *out);
        out->type = type;
        out->error_key_len = bad;
        return rc;
    }
    return VSAFE_OK;
fail:
    vsafe_wipe(out, sizeof *out);
    out->error_line = line;
    return rc;
}

int vsafe_keyfile_format(const vsafe_keyfile_t *keys, char *out, size_t out_cap, size_t *out_len)
{
    static const char digits[] = "0123456789abcdef";
    static const char head[] = "# vsafe host key: keep this file secret\ntype ";
    if (keys == NULL || out == NULL || out_len == NULL || keys->type > VSAFE_HOST_KEY_AES256) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t klen = keys->type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
    size_t need = (sizeof head - 1u) + 7u + 4u + 2u * klen + 1u + 7u + 2u * klen + 1u + 1u;
    if (out_cap < need) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    char *p = out;
    memcpy(p, head, sizeof head - 1u);
    p += sizeof head - 1u;
    memcpy(p, klen == 32u ? "aes256\n" : "aes128\n", 7);
    p += 7;
    const struct {
        const char *name;
        const uint8_t *key;
    } items[2] = {{"mac ", keys->mac}, {"cipher ", keys->cipher}};
    for (size_t k = 0; k < 2; k++) {
        size_t nl = strlen(items[k].name);
        memcpy(p, items[k].name, nl);
        p += nl;
        for (size_t i = 0; i < klen; i++) {
            *p++ = digits[items[k].key[i] >> 4];
            *p++ = digits[items[k].key[i] & 15u];
        }
        *p++ = '\n';
    }
    *p = '\0';
    *out_len = (size_t)(p - out);
    return VSAFE_OK;
}

int vsafe_keyfile_load(const char *path, vsafe_keyfile_t *out)
{
    if (path == NULL || out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_wipe(out, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out->error_errno = errno;
        return errno == ENOENT || errno == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO;
    }
    struct stat st;
    char buf[VSAFE_KEYFILE_TEXT_MAX + 1u];
    size_t n = 0;
    int rc = VSAFE_ERR_IO;
    if (fstat(fd, &st) != 0) {
        out->error_errno = errno;
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        out->error_errno = S_ISDIR(st.st_mode) ? EISDIR : 0;
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            out->error_errno = errno;
            goto done;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n == sizeof buf) {
            rc = VSAFE_ERR_PARSE; /* longer than any key file */
            out->error_line = 0;
            goto done;
        }
    }
    rc = vsafe_keyfile_parse(buf, n, out);
done:
    vsafe_wipe(buf, sizeof buf);
    close(fd);
    return rc;
}

/* ---- durable staged write (K2) ---- */

static int split_path(const char *path, char *dir, size_t dir_cap, char *name, size_t name_cap)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t dn = slash == NULL ? 0u : (slash == path ? 1u : (size_t)(slash - path));
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strlen(base) >= name_cap ||
        dn >= dir_cap) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else {
        memcpy(dir, path, dn);
        dir[dn] = '\0';
    }
    memcpy(name, base, strlen(base) + 1u);
    return VSAFE_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0u) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return VSAFE_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return VSAFE_OK;
}

static void release(vsafe_keyfile_staged_t *st)
{
    if (st->dir_fd >= 0) {
        close(st->dir_fd);
    }
    st->dir_fd = -1;
    st->tmp[0] = '\0';
}

int vsafe_keyfile_check_target(const char *path, int replace)
{
    char dir[4096], name[256];
    int rc = path != NULL ? split_path(path, dir, sizeof dir, name, sizeof name) : VSAFE_ERR_ARGUMENT;
    if (rc != VSAFE_OK) {
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO;
    }
    struct stat sb;
    if (!replace && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        rc = VSAFE_ERR_EXISTS;
    }
    close(dfd);
    return rc;
}

int vsafe_keyfile_stage(const char *path, const vsafe_keyfile_t *keys, int replace, vsafe_keyfile_staged_t *st)
{
    if (st == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    st->dir_fd = -1;
    st->tmp[0] = '\0';
    if (path == NULL || keys == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    char dir[4096];
    int rc = split_path(path, dir, sizeof dir, st->name, sizeof st->name);
    if (rc != VSAFE_OK) {
        return rc;
    }
    st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dir_fd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO;
    }
    struct stat sb;
    if (!replace && fstatat(st->dir_fd, st->name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        release(st);
        return VSAFE_ERR_EXISTS;
    }
    char text[256];
    size_t text_len = 0;
    rc = vsafe_keyfile_format(keys, text, sizeof text, &text_len);
    int fd = -1;
    for (int attempt = 0; rc == VSAFE_OK && attempt < 16 && fd < 0; attempt++) {
        uint8_t r[6];
        if (RAND_bytes(r, sizeof r) != 1) {
            rc = VSAFE_ERR_CRYPTO;
            break;
        }
        snprintf(st->tmp, sizeof st->tmp, ".%.200s.%02x%02x%02x%02x%02x%02x", st->name, r[0], r[1], r[2], r[3], r[4],
                 r[5]);
        fd = openat(st->dir_fd, st->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            rc = VSAFE_ERR_IO;
            break;
        }
    }
    if (rc == VSAFE_OK && fd < 0) {
        rc = VSAFE_ERR_IO;
    }
    if (rc == VSAFE_OK) {
        st->tmp[sizeof st->tmp - 1u] = '\0';
        /* The umask may have narrowed the mode; it is exactly 0600 whatever the umask. */
        if (fchmod(fd, 0600) != 0 || write_all(fd, text, text_len) != VSAFE_OK || fsync(fd) != 0) {
            rc = VSAFE_ERR_IO;
        }
    }
    vsafe_wipe(text, sizeof text);
    if (fd >= 0 && close(fd) != 0 && rc == VSAFE_OK) {
        rc = VSAFE_ERR_IO;
    }
    if (rc != VSAFE_OK) {
        if (fd >= 0) {
            (void)unlinkat(st->dir_fd, st->tmp, 0);
        }
        release(st);
    }
    return rc;
}

void vsafe_keyfile_abort(vsafe_keyfile_staged_t *st)
{
    if (st == NULL || st->dir_fd < 0) {
        return;
    }
    if (st->tmp[0] != '\0') {
        (void)unlinkat(st->dir_fd, st->tmp, 0);
        (void)fsync(st->dir_fd);
    }
    release(st);
}

int vsafe_keyfile_commit(vsafe_keyfile_staged_t *st, int replace)
{
    if (st == NULL || st->dir_fd < 0 || st->tmp[0] == '\0') {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = VSAFE_OK;
    if (replace) {
        if (renameat(st->dir_fd, st->tmp, st->dir_fd, st->name) != 0) {
            rc = VSAFE_ERR_IO;
        }
    } else if (renameat2(st->dir_fd, st->tmp, st->dir_fd, st->name, RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST) {
            rc = VSAFE_ERR_EXISTS;
        } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* No RENAME_NOREPLACE on this file system: a hard link never replaces either. */
            if (linkat(st->dir_fd, st->tmp, st->dir_fd, st->name, 0) != 0) {
                rc = errno == EEXIST ? VSAFE_ERR_EXISTS : VSAFE_ERR_IO;
            } else {
                (void)unlinkat(st->dir_fd, st->tmp, 0);
            }
        } else {
            rc = VSAFE_ERR_IO;
        }
    }
    if (rc != VSAFE_OK) {
        vsafe_keyfile_abort(st);
        return rc;
    }
    st->tmp[0] = '\0';
    if (fsync(st->dir_fd) != 0) {
        rc = VSAFE_ERR_IO;
    }
    release(st);
    return rc;
}

int vsafe_keyfile_remove(const char *path)
{
    char dir[4096], name[256];
    int rc = path != NULL ? split_path(path, dir, sizeof dir, name, sizeof name) : VSAFE_ERR_ARGUMENT;
    if (rc != VSAFE_OK) {
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return VSAFE_ERR_IO;
    }
    if (unlinkat(dfd, name, 0) != 0 || fsync(dfd) != 0) {
        rc = VSAFE_ERR_IO;
    }
    close(dfd);
    return rc;
}
