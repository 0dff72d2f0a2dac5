/* Host-side debug-authentication tooling: P-256 keys (PEM), certificates, tokens, DA
 * configuration payloads, ADAC request framing, and the host side of the exchange. Formats:
 * include/vsafe/mcu.h, docs/LIFECYCLE.md. The exchange runs over a link (vsafe_da_link_t): the
 * same code drives an MCU in this process or a served board's MCU over the socket; only
 * vsafe_da_link_exchange knows which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/secure.h"
#include "server/proto.h"
#include "vsafe/host.h"
#include "vsafe/mcu.h"

struct vsafe_da_key {
    EVP_PKEY *pkey;
};


static int sha256(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, a, a_len) == 1 &&
             (b == NULL || EVP_DigestUpdate(c, b, b_len) == 1) && EVP_DigestFinal_ex(c, out, &n) == 1;
    EVP_MD_CTX_free(c);
    return ok ? VSAFE_OK : VSAFE_ERR_CRYPTO;
}

int vsafe_da_key_generate(vsafe_da_key_t **key)
{
    if (key == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *key = calloc(1, sizeof **key);
    if (*key == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    (*key)->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if ((*key)->pkey == NULL) {
        free(*key);
        *key = NULL;
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

/* Takes pk (a key just read, or NULL) into a new *key: an EC key, else VSAFE_ERR_PARSE. pk is
 * owned by *key on success and freed otherwise. */
static int key_adopt(vsafe_da_key_t **key, EVP_PKEY *pk)
{
    if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
        EVP_PKEY_free(pk);
        return VSAFE_ERR_PARSE;
    }
    *key = calloc(1, sizeof **key);
    if (*key == NULL) {
        EVP_PKEY_free(pk);
        return VSAFE_ERR_NO_MEMORY;
    }
    (*key)->pkey = pk;
    return VSAFE_OK;
}

int vsafe_da_key_load(vsafe_da_key_t **key, const char *pem_path)
{
    if (key == NULL || pem_path == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *key = NULL;
    FILE *f = fopen(pem_path, "r");
    if (f == NULL) {
        return VSAFE_ERR_NOT_FOUND;
    }
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return key_adopt(key, pk);
}

int vsafe_da_key_save(const vsafe_da_key_t *key, const char *pem_path)
{
    if (key == NULL || pem_path == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    /* Private key: 0600 whatever the umask, and never written through a planted symlink. */
    int fd = open(pem_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return VSAFE_ERR_IO;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return VSAFE_ERR_IO;
    }
    int ok = PEM_write_PrivateKey(f, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = (fclose(f) == 0) && ok;
    return ok ? VSAFE_OK : VSAFE_ERR_IO;
}

void vsafe_da_key_free(vsafe_da_key_t *key)
{
    if (key != NULL) {
        EVP_PKEY_free(key->pkey);
        free(key);
    }
}

int vsafe_da_key_public(const vsafe_da_key_t *key, uint8_t pub[64])
{
    uint8_t buf[65];
    size_t n = 0;
    if (key == NULL || pub == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n) != 1 || n != 65u ||
        buf[0] != 0x04u) {
        return VSAFE_ERR_CRYPTO;
    }
    memcpy(pub, buf + 1, 64);
    return VSAFE_OK;
}

int vsafe_da_key_sign(const vsafe_da_key_t *key, const uint8_t digest[32], uint8_t sig[64])
{
    if (key == NULL || digest == NULL || sig == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = VSAFE_ERR_CRYPTO;
    uint8_t der[80];
    size_t der_len = sizeof der;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key->pkey, NULL);
    ECDSA_SIG *s = NULL;
    if (c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der, &der_len, digest, 32) == 1) {
        const unsigned char *p = der;
        s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        if (s != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
            BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32) {
            rc = VSAFE_OK;
        }
    }
    ECDSA_SIG_free(s);
    EVP_PKEY_CTX_free(c);
    return rc;
}

int vsafe_da_cert_make(const vsafe_da_key_t *subject, const vsafe_da_key_t *issuer, uint8_t role, uint32_t soc_class,
                       const uint8_t soc_id[16], const uint8_t mask[16], uint8_t cert[VSAFE_DA_CERT_LEN])
{
    if (subject == NULL || issuer == NULL || mask == NULL || cert == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(cert, 0, VSAFE_DA_CERT_LEN);
    cert[0] = 1; /* format version 1.0 */
    cert[2] = 1; /* signature type: ECDSA P-256 / SHA-256 */
    cert[3] = 1; /* key type: the same */
    cert[4] = role;
    cert[5] = 1; /* usage: debug authentication, as in ST's certificates */
    vsafe_put_le32(cert + 16, soc_class);
    if (soc_id != NULL) {
        memcpy(cert + 20, soc_id, 16);
    }
    memcpy(cert + 36, mask, 16);
    int rc = vsafe_da_key_public(subject, cert + 52);
    uint8_t h[32];
    if (rc == VSAFE_OK) {
        rc = sha256(cert, 148, NULL, 0, h);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_key_sign(issuer, h, cert + 148);
    }
    return rc;
}

int vsafe_da_token_make(const vsafe_da_key_t *leaf, const uint8_t nonce[32], const uint8_t perm[16],
                        uint8_t token[VSAFE_DA_TOKEN_LEN])
{
    if (leaf == NULL || nonce == NULL || perm == NULL || token == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(token, 0, VSAFE_DA_TOKEN_LEN);
    token[0] = 1; /* format version 1.0 */
    token[2] = 1; /* ECDSA P-256 / SHA-256 */
    memcpy(token + 8, perm, 16);
    uint8_t h[32];
    int rc = sha256(token, 56, nonce, 32, h);
    return rc == VSAFE_OK ? vsafe_da_key_sign(leaf, h, token + 56) : rc;
}

int vsafe_da_key_load_public(vsafe_da_key_t **key, const char *pem_path)
{
    if (key == NULL || pem_path == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *key = NULL;
    FILE *f = fopen(pem_path, "r");
    if (f == NULL) {
        return VSAFE_ERR_NOT_FOUND;
    }
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (pk == NULL) {
        rewind(f);
        pk = PEM_read_PrivateKey(f, NULL, NULL, NULL); /* a private key file gives its public key too */
    }
    fclose(f);
    return key_adopt(key, pk);
}

int vsafe_da_per_bit(char per)
{
    /* per=a full regression (ST's regression scripts), b partial; c..e secure debug at HDPL1..3,
     * f..h non-secure debug at HDPL1..3 (docs/LIFECYCLE.md, "Permission bits"). */
    switch (per) {
    case 'a': return VSAFE_DA_PERM_REGRESS_FULL;
    case 'b': return VSAFE_DA_PERM_REGRESS_PARTIAL;
    case 'c':
    case 'd':
    case 'e': return VSAFE_DA_PERM_DEBUG_S_HDPL1 + (per - 'c');
    case 'f':
    case 'g':
    case 'h': return VSAFE_DA_PERM_DEBUG_NS_HDPL1 + (per - 'f');
    default: return -1;
    }
}

/* ---- ST's files ---- */

int vsafe_da_chain_parse_b64(const char *text, size_t text_len, uint8_t (*certs)[VSAFE_DA_CERT_LEN], size_t max,
                             size_t *count)
{
    if (text == NULL || certs == NULL || count == NULL || text_len > 65536u) {
        return VSAFE_ERR_ARGUMENT;
    }
    *count = 0;
    /* Strip white space (ST's files have none; a text editor may add a newline). */
    char *clean = malloc(text_len + 1u);
    uint8_t *bin = malloc(text_len + 4u);
    if (clean == NULL || bin == NULL) {
        free(clean);
        free(bin);
        return VSAFE_ERR_NO_MEMORY;
    }
    size_t n = 0;
    for (size_t i = 0; i < text_len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            clean[n++] = c;
        }
    }
    int rc = VSAFE_ERR_PARSE;
    int got = n % 4u == 0u && n > 0u ? EVP_DecodeBlock(bin, (const unsigned char *)clean, (int)n) : -1;
    if (got >= 0) {
        size_t len = (size_t)got;
        /* EVP_DecodeBlock counts padding as zero bytes: take them off. */
        if (n >= 1u && clean[n - 1u] == '=') {
            len--;
        }
        if (n >= 2u && clean[n - 2u] == '=') {
            len--;
        }
        const size_t tlv = 8u + VSAFE_DA_CERT_LEN;
        rc = len > 0u && len % tlv == 0u ? VSAFE_OK : VSAFE_ERR_PARSE;
        for (size_t pos = 0; rc == VSAFE_OK && pos < len; pos += tlv) {
            const uint8_t *p = bin + pos;
            if (vsafe_get_le16(p) != 0u || vsafe_get_le16(p + 2) != VSAFE_DA_TLV_CERT ||
                vsafe_get_le32(p + 4) != VSAFE_DA_CERT_LEN) {
                rc = VSAFE_ERR_PARSE;
            } else if (*count >= max) {
                rc = VSAFE_ERR_BUFFER_TOO_SMALL;
            } else {
                memcpy(certs[(*count)++], p + 8, VSAFE_DA_CERT_LEN);
            }
        }
    }
    free(clean);
    free(bin);
    return rc;
}

int vsafe_da_chain_to_b64(const uint8_t (*certs)[VSAFE_DA_CERT_LEN], size_t count, char *out, size_t out_cap,
                          size_t *out_len)
{
    const size_t tlv = 8u + VSAFE_DA_CERT_LEN;
    if (certs == NULL || out == NULL || out_len == NULL || count == 0u || count > 8u) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t bin_len = count * tlv, need = 4u * ((bin_len + 2u) / 3u) + 1u;
    if (out_cap < need) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t bin[8u * (8u + VSAFE_DA_CERT_LEN)];
    for (size_t i = 0; i < count; i++) {
        uint8_t *p = bin + i * tlv;
        vsafe_put_le16(p, 0);
        vsafe_put_le16(p + 2, VSAFE_DA_TLV_CERT);
        vsafe_put_le32(p + 4, VSAFE_DA_CERT_LEN);
        memcpy(p + 8, certs[i], VSAFE_DA_CERT_LEN);
    }
    int n = EVP_EncodeBlock((unsigned char *)out, bin, (int)bin_len);
    if (n < 0) {
        return VSAFE_ERR_CRYPTO;
    }
    *out_len = (size_t)n;
    return VSAFE_OK;
}

int vsafe_da_obk_parse(const uint8_t *file, size_t file_len, vsafe_mcu_obk_t *area, uint32_t *offset,
                       const uint8_t **payload, size_t *payload_len, bool *encrypt)
{
    /* OBK address map of the STM32H5 (HDPL0 at 0x0FFD0000 is ST's). */
    static const struct {
        vsafe_mcu_obk_t area;
        uint32_t base;
    } map[] = {{VSAFE_MCU_OBK_HDPL1, 0x0FFD0100u},
               {VSAFE_MCU_OBK_HDPL2, 0x0FFD0900u},
               {VSAFE_MCU_OBK_HDPL3_S, 0x0FFD0C00u},
               {VSAFE_MCU_OBK_HDPL3_NS, 0x0FFD1800u}};
    if (file == NULL || area == NULL || offset == NULL || payload == NULL || payload_len == NULL || encrypt == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (file_len < VSAFE_DA_OBK_HEADER_LEN) {
        return VSAFE_ERR_PARSE;
    }
    uint32_t dest = vsafe_get_le32(file), len = vsafe_get_le32(file + 4), flag = vsafe_get_le32(file + 8);
    if (flag > 1u || len == 0u || len > VSAFE_MCU_OBK_WRITE_MAX || file_len - VSAFE_DA_OBK_HEADER_LEN != len) {
        return VSAFE_ERR_PARSE;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        uint32_t size = vsafe_mcu_obk_size(map[i].area);
        if (dest >= map[i].base && dest - map[i].base < size && len <= size - (dest - map[i].base)) {
            *area = map[i].area;
            *offset = dest - map[i].base;
            *payload = file + VSAFE_DA_OBK_HEADER_LEN;
            *payload_len = len;
            *encrypt = flag == 1u;
            return VSAFE_OK;
        }
    }
    return VSAFE_ERR_PARSE;
}

int vsafe_da_password_file_parse(const uint8_t *file, size_t file_len, const uint8_t **pw, size_t *pw_len)
{
    if (file == NULL || pw == NULL || pw_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (file_len < 8u || vsafe_get_le16(file) != 0u || vsafe_get_le16(file + 2) != VSAFE_DA_TLV_PASSWORD) {
        return VSAFE_ERR_PARSE;
    }
    uint32_t n = vsafe_get_le32(file + 4);
    if (n < 4u || n > 16u || file_len - 8u != ((size_t)n + 3u) / 4u * 4u) {
        return VSAFE_ERR_PARSE;
    }
    *pw = file + 8;
    *pw_len = n;
    return VSAFE_OK;
}

static int config_finish(uint8_t cfg[VSAFE_DA_CONFIG_LEN]) { return sha256(cfg + 32, VSAFE_DA_CONFIG_LEN - 32u, NULL, 0, cfg); }

int vsafe_da_config_cert(const uint8_t root_pub[64], const uint8_t mask[16], uint8_t cfg[VSAFE_DA_CONFIG_LEN])
{
    if (root_pub == NULL || mask == NULL || cfg == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(cfg, 0, VSAFE_DA_CONFIG_LEN);
    int rc = sha256(root_pub, 64, NULL, 0, cfg + 32);
    memcpy(cfg + 64, mask, 16);
    return rc == VSAFE_OK ? config_finish(cfg) : rc;
}

int vsafe_da_password_hash(const uint8_t *pw, size_t pw_len, uint8_t hash[32])
{
    if (pw == NULL || hash == NULL || pw_len < 4u || pw_len > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    return sha256(pw, pw_len, NULL, 0, hash);
}

int vsafe_da_config_password(const char *password, uint8_t cfg[VSAFE_DA_CONFIG_LEN])
{
    if (password == NULL || cfg == NULL || strlen(password) < 4u || strlen(password) > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(cfg, 0, VSAFE_DA_CONFIG_LEN);
    int rc = sha256((const uint8_t *)password, strlen(password), NULL, 0, cfg + 32);
    vsafe_put_le32(cfg + 64, VSAFE_DA_PRODUCT_MASK); /* as ST's password configuration */
    return rc == VSAFE_OK ? config_finish(cfg) : rc;
}

int vsafe_da_frame_begin(uint16_t command, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (out == NULL || out_len == NULL || out_cap < 8u) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    memset(out, 0, 8);
    vsafe_put_le16(out + 2, command);
    *out_len = 8;
    return VSAFE_OK;
}

int vsafe_da_frame_tlv(uint16_t type, const uint8_t *value, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t padded = (len + 3u) & ~(size_t)3u;
    if (out == NULL || out_len == NULL || *out_len < 8u || (value == NULL && len != 0u) || len > 0xFFFFu) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (out_cap - *out_len < 8u + padded) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t *p = out + *out_len;
    memset(p, 0, 8u + padded);
    vsafe_put_le16(p + 2, type);
    vsafe_put_le32(p + 4, (uint32_t)len);
    if (len != 0u) {
        memcpy(p + 8, value, len);
    }
    *out_len += 8u + padded;
    vsafe_put_le32(out + 4, (uint32_t)((*out_len - 8u) / 4u));
    return VSAFE_OK;
}

int vsafe_da_response_status(const uint8_t *rsp, size_t rsp_len, uint16_t *adac_status)
{
    if (rsp == NULL || adac_status == NULL || rsp_len < 8u || vsafe_get_le32(rsp + 4) != (rsp_len - 8u) / 4u ||
        (rsp_len - 8u) % 4u != 0u) {
        return VSAFE_ERR_PARSE;
    }
    *adac_status = vsafe_get_le16(rsp + 2);
    return VSAFE_OK;
}

int vsafe_da_response_tlv(const uint8_t *rsp, size_t rsp_len, uint16_t type, const uint8_t **value, size_t *len)
{
    uint16_t st;
    int rc = vsafe_da_response_status(rsp, rsp_len, &st);
    if (rc != VSAFE_OK || value == NULL || len == NULL) {
        return rc != VSAFE_OK ? rc : VSAFE_ERR_ARGUMENT;
    }
    for (size_t pos = 8; pos + 8u <= rsp_len;) {
        uint32_t n = vsafe_get_le32(rsp + pos + 4);
        size_t padded = ((size_t)n + 3u) & ~(size_t)3u;
        if (n > rsp_len || rsp_len - pos - 8u < padded) {
            return VSAFE_ERR_PARSE;
        }
        if (vsafe_get_le16(rsp + pos + 2) == type) {
            *value = rsp + pos + 8;
            *len = n;
            return VSAFE_OK;
        }
        pos += 8u + padded;
    }
    return VSAFE_ERR_NOT_FOUND;
}

static vsafe_da_trace_fn trace_fn;
static void *trace_ctx;

void vsafe_da_set_trace(vsafe_da_trace_fn fn, void *ctx)
{
    trace_fn = fn;
    trace_ctx = ctx;
}

/* The socket transport: DA_EXCHANGE carries the frame; its reply is OUTCOME (i32 BE) then the
 * MCU's response frame (docs/SOCKET.md, "Debug authentication"). */
static int conn_exchange(vsafe_da_link_t *l, const uint8_t *req, size_t req_len, uint8_t *rsp, size_t rsp_cap,
                         size_t *rsp_len)
{
    if (req_len < 8u || req_len > VSAFE_PROTO_DA_MAX) {
        return VSAFE_ERR_ARGUMENT; /* the server would refuse it unseen by the MCU */
    }
    uint8_t *buf = malloc(4u + VSAFE_PROTO_DA_MAX);
    if (buf == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    int32_t st = 0;
    size_t n = 0;
    int rc = vsafe_host_conn_request(l->conn, VSAFE_PROTO_DA_EXCHANGE, req, req_len, &st, buf, 4u + VSAFE_PROTO_DA_MAX,
                                     &n);
    if (rc == VSAFE_OK && st != 0) {
        /* No MCU took the frame (none on the board, or the server refused the request): the data
         * is the server's reason. */
        size_t m = n < 4u + VSAFE_PROTO_DA_MAX ? n : 4u + VSAFE_PROTO_DA_MAX;
        m = m < sizeof l->why - 1u ? m : sizeof l->why - 1u;
        memcpy(l->why, buf, m);
        l->why[m] = '\0';
        rc = st < 0 ? (int)st : VSAFE_ERR_PROTO_MALFORMED;
    } else if (rc == VSAFE_OK && (n < 4u + 8u || n > 4u + VSAFE_PROTO_DA_MAX)) {
        rc = VSAFE_ERR_PROTO_MALFORMED;
    } else if (rc == VSAFE_OK && n - 4u > rsp_cap) {
        rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    } else if (rc == VSAFE_OK) {
        memcpy(rsp, buf + 4, n - 4u);
        *rsp_len = n - 4u;
        rc = (int)(int32_t)vsafe_get_be32(buf);
    }
    free(buf);
    return rc;
}

int vsafe_da_link_exchange(vsafe_da_link_t *link, const uint8_t *req, size_t req_len, uint8_t *rsp, size_t rsp_cap,
                           size_t *rsp_len)
{
    if (link == NULL || (link->mcu == NULL) == (link->conn == NULL) || req == NULL || rsp == NULL ||
        rsp_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *rsp_len = 0;
    link->why[0] = '\0';
    if (trace_fn != NULL) {
        trace_fn(trace_ctx, 0, req, req_len);
    }
    int rc = link->mcu != NULL ? vsafe_mcu_da_request(link->mcu, req, req_len, rsp, rsp_cap, rsp_len)
                               : conn_exchange(link, req, req_len, rsp, rsp_cap, rsp_len);
    if (trace_fn != NULL && *rsp_len >= 8u && *rsp_len <= rsp_cap) {
        trace_fn(trace_ctx, 1, rsp, *rsp_len);
    }
    return rc;
}

int vsafe_da_exchange(vsafe_mcu_t *mcu, const uint8_t *req, size_t req_len, uint8_t *rsp, size_t rsp_cap,
                      size_t *rsp_len)
{
    vsafe_da_link_t l = {.mcu = mcu};
    if (mcu == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_da_link_exchange(&l, req, req_len, rsp, rsp_cap, rsp_len);
}

static int start(vsafe_da_link_t *l, uint8_t nonce[32])
{
    uint8_t req[8], rsp[128];
    size_t req_len, rsp_len;
    int rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_START, req, sizeof req, &req_len);
    if (rc == VSAFE_OK) {
        rc = vsafe_da_link_exchange(l, req, req_len, rsp, sizeof rsp, &rsp_len);
    }
    if (rc == VSAFE_OK) {
        if (rsp_len != 8u + VSAFE_DA_CHALLENGE_LEN || rsp[8] != 1u) {
            return VSAFE_ERR_PARSE;
        }
        memcpy(nonce, rsp + 12, 32);
    }
    return rc;
}

/* One Authentication Response with one fragment. */
static int respond(vsafe_da_link_t *l, uint16_t type, const uint8_t *v, size_t n, uint16_t *st)
{
    uint8_t req[8 + 8 + 256], rsp[128];
    size_t req_len, rsp_len = 0;
    int rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, req, sizeof req, &req_len);
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_tlv(type, v, n, req, sizeof req, &req_len);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_link_exchange(l, req, req_len, rsp, sizeof rsp, &rsp_len);
        if (vsafe_da_response_status(rsp, rsp_len, st) != VSAFE_OK) {
            *st = VSAFE_DA_ST_FAILURE;
        }
    }
    vsafe_wipe(req, sizeof req); /* it may have carried the password */
    return rc;
}

int vsafe_da_link_authenticate(vsafe_da_link_t *link, const uint8_t *const *chain, size_t chain_len,
                               const vsafe_da_key_t *leaf, const uint8_t perm[16])
{
    uint8_t nonce[32], token[VSAFE_DA_TOKEN_LEN];
    uint16_t st = 0;
    if (chain == NULL || chain_len > 8u) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = start(link, nonce);
    for (size_t i = 0; i < chain_len && rc == VSAFE_OK; i++) {
        rc = respond(link, VSAFE_DA_TLV_CERT, chain[i], VSAFE_DA_CERT_LEN, &st);
        if (rc == VSAFE_OK && st != VSAFE_DA_ST_NEED_MORE_DATA) {
            rc = VSAFE_ERR_PARSE; /* the MCU did not ask for more: not an ADAC exchange */
        }
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_token_make(leaf, nonce, perm, token);
    }
    if (rc == VSAFE_OK) {
        rc = respond(link, VSAFE_DA_TLV_TOKEN, token, sizeof token, &st);
    }
    return rc;
}

int vsafe_da_link_authenticate_password(vsafe_da_link_t *link, const uint8_t *pw, size_t pw_len)
{
    uint8_t nonce[32];
    uint16_t st = 0;
    if ((pw == NULL && pw_len != 0u) || pw_len > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = start(link, nonce);
    return rc == VSAFE_OK ? respond(link, VSAFE_DA_TLV_PASSWORD, pw, pw_len, &st) : rc;
}

int vsafe_da_authenticate(vsafe_mcu_t *mcu, const uint8_t *const *chain, size_t chain_len, const vsafe_da_key_t *leaf,
                          const uint8_t perm[16])
{
    vsafe_da_link_t l = {.mcu = mcu};
    return mcu == NULL ? VSAFE_ERR_ARGUMENT : vsafe_da_link_authenticate(&l, chain, chain_len, leaf, perm);
}

int vsafe_da_authenticate_password_bytes(vsafe_mcu_t *mcu, const uint8_t *pw, size_t pw_len)
{
    vsafe_da_link_t l = {.mcu = mcu};
    return mcu == NULL ? VSAFE_ERR_ARGUMENT : vsafe_da_link_authenticate_password(&l, pw, pw_len);
}

int vsafe_da_authenticate_password(vsafe_mcu_t *mcu, const char *password)
{
    size_t n = password != NULL ? strlen(password) : 0u;
    return vsafe_da_authenticate_password_bytes(mcu, (const uint8_t *)password, n);
}
