/* Device identity: the certificate authority that signs device certificates and the leaf
 * certificate every new secure element gets (outside the core: OpenSSL X.509, files).
 *
 * A CA is either one the user supplies (PEM certificate and PEM private key files, their own
 * test PKI) or the local vsafe CA, created on first use in a directory of its own:
 * $VSAFE_CA_DIR, else $XDG_DATA_HOME/vsafe/ca, else ~/.local/share/vsafe/ca, holding
 * ca-cert.pem and ca-key.pem (0600) ("O=vsafe, CN=vsafe test root", P-256, CA:TRUE). No CA is
 * built into the library. */
#ifndef VSAFE_DEVICE_IDENTITY_H
#define VSAFE_DEVICE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

typedef struct vsafe_identity_ca vsafe_identity_ca_t;

/* The directory of the local vsafe CA (see above) into out. VSAFE_ERR_ARGUMENT when no
 * environment variable gives one, VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_identity_local_ca_dir(char *out, size_t cap);

/* Loads the CA: cert_path and key_path both set (a user CA; the key must match the certificate
 * and the certificate be a CA), or both NULL (the local vsafe CA, created when absent).
 * msg receives a one-line reason on failure. VSAFE_ERR_NOT_FOUND, VSAFE_ERR_IO,
 * VSAFE_ERR_ARGUMENT (not a CA, key mismatch, unreadable PEM), VSAFE_ERR_CRYPTO. */
VSAFE_MUST_CHECK int vsafe_identity_ca_load(vsafe_identity_ca_t **out, const char *cert_path, const char *key_path,
                                            char *msg, size_t msg_cap);
void vsafe_identity_ca_free(vsafe_identity_ca_t *ca);

/* The CA certificate in DER (for export and for the SDK's trust anchor). */
VSAFE_MUST_CHECK int vsafe_identity_ca_der(const vsafe_identity_ca_t *ca, uint8_t *out, size_t cap, size_t *len);

/* Issues the leaf certificate of a device: P-256 public key pub (X||Y), an 11-byte serial
 * (first byte 0x01..0x7F so that it encodes in exactly 11 bytes, at DER offset 15 where hosts
 * read the device ID), subject "O=vsafe, CN=vsafe STSAFE-A120 <serial hex>, serialNumber=<serial
 * hex>", issuer = the CA's subject, ecdsa-with-SHA256, CA:FALSE, valid from now for 20 years.
 * The DER starts 30 82. VSAFE_ERR_BUFFER_TOO_SMALL, VSAFE_ERR_CRYPTO. */
VSAFE_MUST_CHECK int vsafe_identity_issue(const vsafe_identity_ca_t *ca, const uint8_t pub[64], const uint8_t serial[11],
                                          uint8_t *der, size_t cap, size_t *der_len);

#endif
