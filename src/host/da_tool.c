/* Host-side debug-authentication tooling: P-256 keys (PEM), certificates, tokens, DA
 * configuration payloads and ADAC request framing. Formats: include/vsafe/mcu.h, docs/LIFECYCLE.md. */
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
    cert[0] = 1;
    cert[1] = role;
    vsafe_put_le32(cert + 4, soc_class);
    if (soc_id != NULL) {
        memcpy(cert + 8, soc_id, 16);
    }
    memcpy(cert + 24, mask, 16);
    int rc = vsafe_da_key_public(subject, cert + 40);
    uint8_t h[32];
    if (rc == VSAFE_OK) {
        rc = sha256(cert, 104, NULL, 0, h);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_key_sign(issuer, h, cert + 104);
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
    token[0] = 1;
    memcpy(token + 4, perm, 16);
    uint8_t h[32];
    int rc = sha256(nonce, 32, token, 20, h);
    return rc == VSAFE_OK ? vsafe_da_key_sign(leaf, h, token + 20) : rc;
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

int vsafe_da_config_password(const char *password, uint8_t cfg[VSAFE_DA_CONFIG_LEN])
{
    if (password == NULL || cfg == NULL || strlen(password) < 4u || strlen(password) > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(cfg, 0, VSAFE_DA_CONFIG_LEN);
    int rc = sha256((const uint8_t *)password, strlen(password), NULL, 0, cfg + 32);
    cfg[64] = 1u << VSAFE_DA_PERM_REGRESS_FULL;
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

static int start(vsafe_mcu_t *mcu, uint8_t nonce[32])
{
    uint8_t req[8], rsp[128];
    size_t req_len, rsp_len;
    int rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_START, req, sizeof req, &req_len);
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_da_request(mcu, req, req_len, rsp, sizeof rsp, &rsp_len);
    }
    if (rc == VSAFE_OK) {
        if (rsp_len != 8u + 36u) {
            return VSAFE_ERR_PARSE;
        }
        memcpy(nonce, rsp + 12, 32);
    }
    return rc;
}

int vsafe_da_authenticate(vsafe_mcu_t *mcu, const uint8_t *const *chain, size_t chain_len, const vsafe_da_key_t *leaf,
                          const uint8_t perm[16])
{
    uint8_t nonce[32], token[VSAFE_DA_TOKEN_LEN], req[8 + 8 * (VSAFE_DA_CERT_LEN + 8) + VSAFE_DA_TOKEN_LEN + 8],
        rsp[128];
    size_t req_len, rsp_len;
    if (chain_len > 8u) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = start(mcu, nonce);
    if (rc == VSAFE_OK) {
        rc = vsafe_da_token_make(leaf, nonce, perm, token);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, req, sizeof req, &req_len);
    }
    for (size_t i = 0; i < chain_len && rc == VSAFE_OK; i++) {
        rc = vsafe_da_frame_tlv(VSAFE_DA_TLV_CERT, chain[i], VSAFE_DA_CERT_LEN, req, sizeof req, &req_len);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_tlv(VSAFE_DA_TLV_TOKEN, token, sizeof token, req, sizeof req, &req_len);
    }
    return rc == VSAFE_OK ? vsafe_mcu_da_request(mcu, req, req_len, rsp, sizeof rsp, &rsp_len) : rc;
}

int vsafe_da_authenticate_password(vsafe_mcu_t *mcu, const char *password)
{
    uint8_t nonce[32], req[40], rsp[128];
    size_t req_len, rsp_len, n = password != NULL ? strlen(password) : 0u;
    if (n > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = start(mcu, nonce);
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, req, sizeof req, &req_len);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_tlv(VSAFE_DA_TLV_PASSWORD, (const uint8_t *)password, n, req, sizeof req, &req_len);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_da_request(mcu, req, req_len, rsp, sizeof rsp, &rsp_len);
    }
    vsafe_wipe(req, sizeof req); /* it carried the password */
    return rc;
}
