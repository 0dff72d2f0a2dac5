/* Host secure channel (spec §6). Phase-1 placeholder: no session can be opened yet. */
#include <openssl/crypto.h>

#include "host_internal.h"

int host_session_transfer(vsafe_host_t *h, uint8_t enc, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                          size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    (void)h, (void)enc, (void)hdr, (void)hdr_len, (void)payload, (void)payload_len, (void)rsp, (void)rsp_cap,
        (void)rsp_len;
    return VSAFE_ERR_HOST_NO_SESSION;
}

int vsafe_host_session_open(vsafe_host_t *h, const uint8_t *mac_key, const uint8_t *cipher_key, unsigned key_type)
{
    (void)h, (void)mac_key, (void)cipher_key, (void)key_type;
    return VSAFE_ERR_UNSUPPORTED;
}

void vsafe_host_session_close(vsafe_host_t *h)
{
    if (h != NULL) {
        OPENSSL_cleanse(h->mac_key, sizeof h->mac_key);
        OPENSSL_cleanse(h->cipher_key, sizeof h->cipher_key);
        h->session_open = 0;
    }
}

int vsafe_host_session_counter(const vsafe_host_t *h, uint32_t *counter)
{
    if (h == NULL || counter == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!h->session_open) {
        return VSAFE_ERR_HOST_NO_SESSION;
    }
    *counter = h->mac_counter;
    return VSAFE_OK;
}

int vsafe_host_provision_plaintext(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key,
                                   const uint8_t *cipher_key)
{
    (void)h, (void)key_type, (void)mac_key, (void)cipher_key;
    return VSAFE_ERR_UNSUPPORTED;
}

int vsafe_host_provision_wrapped(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key, const uint8_t *cipher_key)
{
    (void)h, (void)key_type, (void)mac_key, (void)cipher_key;
    return VSAFE_ERR_UNSUPPORTED;
}

int vsafe_host_provision_ecdh(vsafe_host_t *h, unsigned key_type, uint8_t *mac_key_out, uint8_t *cipher_key_out)
{
    (void)h, (void)key_type, (void)mac_key_out, (void)cipher_key_out;
    return VSAFE_ERR_UNSUPPORTED;
}

int vsafe_host_put_command_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext, uint8_t ac)
{
    (void)h, (void)prot, (void)header, (void)ext, (void)ac;
    return VSAFE_ERR_UNSUPPORTED;
}

int vsafe_host_put_command_enc(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext, uint8_t enc)
{
    (void)h, (void)prot, (void)header, (void)ext, (void)enc;
    return VSAFE_ERR_UNSUPPORTED;
}

int vsafe_host_put_key_ctrl(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t fields[2])
{
    (void)h, (void)prot, (void)fields;
    return VSAFE_ERR_UNSUPPORTED;
}
