/* The test oracle of tests/cli/cli_sym.sh: AES-GCM and AES-CCM computed with OpenSSL's EVP
 * interface directly (the openssl tool has no AEAD encryption), never with vsafe code.
 *   cli_oracle gcm KEY IV AAD PT TAGLEN   -> CT || TAG, hex
 *   cli_oracle ccm KEY NONCE AAD PT TAGLEN -> CT || TAG, hex
 * Every argument is hex ("" or "-" for empty). Exit 1 on any OpenSSL failure. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0) {
        return 0;
    }
    for (; s[0] != '\0' && s[1] != '\0' && n < cap; s += 2) {
        unsigned v = 0;
        if (sscanf(s, "%2x", &v) != 1) {
            exit(2);
        }
        out[n++] = (unsigned char)v;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: cli_oracle gcm|ccm KEY IV AAD PT TAGLEN\n");
        return 2;
    }
    static unsigned char key[32], iv[128], aad[4096], pt[4096], ct[4096 + 16], tag[16];
    size_t kl = unhex(argv[2], key, sizeof key), ivl = unhex(argv[3], iv, sizeof iv);
    size_t al = unhex(argv[4], aad, sizeof aad), pl = unhex(argv[5], pt, sizeof pt);
    int tl = atoi(argv[6]), ccm = strcmp(argv[1], "ccm") == 0, n = 0, ok = 1;
    const EVP_CIPHER *c = ccm ? (kl == 16 ? EVP_aes_128_ccm() : EVP_aes_256_ccm())
                              : (kl == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm());
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    ok = ok && EVP_EncryptInit_ex(x, c, NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, ccm ? EVP_CTRL_CCM_SET_IVLEN : EVP_CTRL_GCM_SET_IVLEN, (int)ivl, NULL) == 1;
    if (ccm) {
        ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_CCM_SET_TAG, tl, NULL) == 1;
    }
    ok = ok && EVP_EncryptInit_ex(x, NULL, NULL, key, iv) == 1;
    if (ccm) {
        ok = ok && EVP_EncryptUpdate(x, NULL, &n, NULL, (int)pl) == 1;
    }
    if (al > 0) {
        ok = ok && EVP_EncryptUpdate(x, NULL, &n, aad, (int)al) == 1;
    }
    ok = ok && EVP_EncryptUpdate(x, ct, &n, pt, (int)pl) == 1;
    ok = ok && EVP_EncryptFinal_ex(x, ct + n, &n) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, ccm ? EVP_CTRL_CCM_GET_TAG : EVP_CTRL_GCM_GET_TAG, tl, tag) == 1;
    EVP_CIPHER_CTX_free(x);
    if (!ok) {
        fprintf(stderr, "cli_oracle: OpenSSL failed\n");
        return 1;
    }
    for (size_t i = 0; i < pl; i++) {
        printf("%02x", ct[i]);
    }
    for (int i = 0; i < tl; i++) {
        printf("%02x", tag[i]);
    }
    printf("\n");
    return 0;
}
