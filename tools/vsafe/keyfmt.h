/* Curve and hash names, public key and signature formats of the CLI: the API's raw forms (X||Y or
 * K, R||S) to and from what the openssl tool reads (SubjectPublicKeyInfo PEM/DER, DER
 * ECDSA-Sig-Value). All conversions through OpenSSL. */
#ifndef VSAFE_CLI_KEYFMT_H
#define VSAFE_CLI_KEYFMT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Curve by name, case-insensitive, '-' and '_' ignored: P-256 (prime256v1, secp256r1), P-384
 * (secp384r1), P-521 (secp521r1), brainpoolP256r1 (bp256), brainpoolP384r1 (bp384),
 * brainpoolP512r1 (bp512), X25519, Ed25519. VSAFE_CURVE_NONE when unknown. */
unsigned vsafe_cli_curve_parse(const char *name);
/* The CLI's name of a curve ("P-256", ..., "Ed25519"); "none" for VSAFE_CURVE_NONE. */
const char *vsafe_cli_curve_label(unsigned curve);
/* The list of accepted curve names, for messages. */
#define VSAFE_CLI_CURVES "P-256, P-384, P-521, brainpoolP256r1, brainpoolP384r1, brainpoolP512r1, X25519, Ed25519"

/* Hash by name (sha256, sha384, sha512, sha3-256, sha3-384, sha3-512; case-insensitive, '-'
 * optional); 0 when unknown. */
unsigned vsafe_cli_hash_parse(const char *name);
const char *vsafe_cli_hash_label(unsigned alg); /* "sha256", ... */
#define VSAFE_CLI_HASHES "sha256, sha384, sha512, sha3-256, sha3-384, sha3-512"
/* Digest of data with alg on the host (OpenSSL). Returns 0 or -1. */
int vsafe_cli_host_digest(unsigned alg, const uint8_t *data, size_t len, uint8_t *out, size_t *out_len);

/* Public key formats of --format. */
enum { VSAFE_CLI_PUB_PEM = 0, VSAFE_CLI_PUB_DER = 1, VSAFE_CLI_PUB_RAW = 2 };
/* "pem", "der", "raw"; -1 if unknown. */
int vsafe_cli_pub_format(const char *name);

/* Renders a raw public key of curve in fmt into *out (malloc'd). Returns 0 or -1. */
int vsafe_cli_pub_encode(unsigned curve, const uint8_t *pub, size_t pub_len, int fmt, uint8_t **out,
                         size_t *out_len);
/* Writes a raw public key to path in fmt. Returns 0 or an exit status (error printed). */
int vsafe_cli_pub_write(vsafe_cli_t *cli, const char *opt, const char *path, unsigned curve, const uint8_t *pub,
                        size_t pub_len, int fmt);
/* Reads a public key file: PEM (public key or certificate), DER SubjectPublicKeyInfo, or raw
 * bytes (X||Y, 04||X||Y, or K) of the curve hint. *curve is the key's curve (it must equal the
 * hint when the hint is not VSAFE_CURVE_NONE). pub receives X||Y or K (cap VSAFE_EC_MAX_PUB).
 * Returns 0 or an exit status (error printed). */
int vsafe_cli_pub_read(vsafe_cli_t *cli, const char *opt, const char *path, unsigned hint, unsigned *curve,
                       uint8_t *pub, size_t *pub_len);

/* The same for bytes in memory (path names them in messages). */
int vsafe_cli_pub_parse(vsafe_cli_t *cli, const char *opt, const char *path, const uint8_t *buf, size_t n,
                        unsigned hint, unsigned *curve, uint8_t *pub, size_t *pub_len);

/* Signatures: R||S (the API's) to DER ECDSA-Sig-Value and back. Ed25519 signatures are R||S in
 * both forms. Returns 0 or -1. */
int vsafe_cli_sig_to_der(unsigned curve, const uint8_t *sig, size_t sig_len, uint8_t *der, size_t cap,
                         size_t *der_len);
/* Accepts R||S of the curve's size, or a DER ECDSA-Sig-Value that parses exactly. */
int vsafe_cli_sig_from_any(unsigned curve, const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len);

/* A private key of the user's (PEM file) for the host side of an authentication: *key (free it
 * with EVP_PKEY_free) and its curve. Returns 0 or an exit status (error printed). */
struct evp_pkey_st;
int vsafe_cli_priv_load(vsafe_cli_t *cli, const char *opt, const char *path, struct evp_pkey_st **key,
                        unsigned *curve);
/* R||S by key over msg: ECDSA over the hash alg of msg, or over msg itself as the digest when alg
 * is 0; Ed25519 over msg (alg ignored). sig_cap >= VSAFE_EC_MAX_SIG. Returns 0 or -1. */
int vsafe_cli_priv_sign(struct evp_pkey_st *key, unsigned curve, unsigned alg, const uint8_t *msg, size_t len,
                        uint8_t *sig, size_t sig_cap, size_t *sig_len);

/* Why a signature by the private key of curve (read from path, option opt) was refused by generic
 * public key slot, when the slot's record (Query 14 4C) tells: the slot is empty, its key is of
 * another curve, or (flag not 0) its flags lack flag, named flag_name as `pubkey flags --set`
 * spells it. Writes "" when it cannot tell. Asked only after a refusal. */
void vsafe_cli_gpk_hint(vsafe_cli_t *cli, const char *opt, const char *path, unsigned curve, uint8_t slot,
                        uint8_t flag, const char *flag_name, char *out, size_t cap);

/* The device certificate at the start of zone 0 (its length from the DER header), as the identity
 * command reads it. der_cap >= 1000. Returns 0 or an exit status (error printed). */
int vsafe_cli_read_device_cert(vsafe_cli_t *cli, uint8_t *der, size_t der_cap, size_t *len);

#endif
