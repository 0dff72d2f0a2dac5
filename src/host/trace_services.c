/* Trace decoder for the key-service frames (trace_internal.h): private and generic public keys,
 * signatures, ECDH, hash, symmetric key provisioning, AES, MAC, Derive keys, envelopes, password.
 *
 * Invariant: no byte of a key being written, a password, input key material, a payload to wrap or
 * an unwrapped one, a shared secret, a derived key, or the plaintext of an AES encryption or
 * decryption (one-shot or chunked) is rendered; host_trace_cmd_secret_range and
 * host_trace_rsp_secret name them, the hex dump in trace.c masks them, and the decoders here show
 * them as "<N bytes, secret>". Every read is bounds-checked against the payload length; a frame
 * that does not parse is shown as its remaining bytes ("rest"), never read past. */
#include <string.h>

#include "common/bytes.h"
#include "services.h"
#include "trace_internal.h"

void host_trace_secret(sbuf_t *sb, const char *label, size_t n)
{
    sb_printf(sb, " %s=<%zu bytes, secret>", label, n);
}

static const char *curve_name_at(const uint8_t *p, size_t n, size_t *id_len)
{
    *id_len = 0;
    if (n < 2 || p[0] != 0x00 || (size_t)p[1] + 2u > n) {
        return NULL;
    }
    *id_len = (size_t)p[1] + 2u;
    const char *name = vsafe_host_curve_name(svc_curve_from_id(p, *id_len));
    return name != NULL ? name : "unknown curve";
}

static const char *hash_name_at(const uint8_t *p)
{
    for (unsigned a = VSAFE_HASH_SHA256; a <= VSAFE_HASH_SHA3_512; a++) {
        if (memcmp(svc_hash_id(a), p, SVC_HASH_ID_LEN) == 0) {
            return vsafe_host_hash_name(a);
        }
    }
    return "unknown hash";
}

static const char *sym_type_name(uint8_t t)
{
    return t == 0 ? "AES-128" : t == 1 ? "AES-256" : t == 2 ? "generic" : "unknown";
}

static const char *sym_mode_name(uint8_t m)
{
    static const char *const names[6] = {"CCM*", "CMAC", "ECB", "GCM", "HKDF", "HMAC"};
    return m < 6 ? names[m] : "unknown";
}

/* PARAMS bytes of a key information record with this MODE; SIZE_MAX when the mode is unknown. */
static size_t sym_params_len(uint8_t mode)
{
    static const uint8_t len[6] = {2, 1, 0, 1, 2, 2};
    return mode < 6 ? len[mode] : (size_t)-1;
}

/* A key information record (with or without the SLOT byte); returns its length, 0 if it does not fit. */
static size_t sb_key_info(sbuf_t *sb, const uint8_t *p, size_t n, int with_slot)
{
    size_t base = with_slot ? 6u : 5u;
    if (n < base) {
        return 0;
    }
    size_t i = 0;
    uint8_t lock = p[i++];
    sb_printf(sb, " [");
    if (with_slot) {
        sb_printf(sb, "slot=%u ", p[i++]);
    }
    uint8_t type = p[i++], mode = p[i++];
    size_t pl = sym_params_len(mode);
    sb_printf(sb, "key_type=%s mode=%s usage=0x%02X lock=%s", sym_type_name(type), sym_mode_name(mode), p[i + 1],
              lock == 0 ? "unlocked" : lock == 1 ? "locked" : lock == 2 ? "erasable" : "invalid");
    i += 2;
    if (pl == (size_t)-1 || i + pl > n) {
        sb_printf(sb, "]");
        return 0;
    }
    if (mode == VSAFE_HOST_SYM_CCM) {
        sb_printf(sb, " tag_len=%u counter=%s offset=%u", p[i], (p[i + 1] & 0x80u) ? "yes" : "no", p[i + 1] & 0x7Fu);
    } else if (mode == VSAFE_HOST_SYM_CMAC) {
        sb_printf(sb, " min_mac_len=%u", p[i]);
    } else if (mode == VSAFE_HOST_SYM_GCM) {
        sb_printf(sb, " tag_len=%u", p[i]);
    } else if (mode == VSAFE_HOST_SYM_HKDF) {
        sb_printf(sb, " to_host=%s generic_key_len=%u", (p[i] & 1u) ? "yes" : "no", p[i + 1]);
    } else if (mode == VSAFE_HOST_SYM_HMAC) {
        sb_printf(sb, " min_mac_len=%u generic_key_len=%u", p[i], p[i + 1]);
    }
    sb_printf(sb, "]");
    return i + pl;
}

/* Length of the key that follows the record of a plaintext write (the record's own rule). */
static size_t write_key_len(const uint8_t *rec, size_t rec_len)
{
    if (rec_len < 6) {
        return 0;
    }
    if (rec[2] == 1) {
        return 32;
    }
    if (rec[2] == 2 && rec_len >= 8 && (rec[3] == VSAFE_HOST_SYM_HKDF || rec[3] == VSAFE_HOST_SYM_HMAC)) {
        return rec[7];
    }
    return 16;
}

/* Bytes [*from, *to) of a plaintext command payload that are secret; 0 when none are. */
int host_trace_cmd_secret_range(uint8_t code, uint8_t ext, const uint8_t *p, size_t n, size_t *from, size_t *to)
{
    *from = 0;
    *to = n;
    if (code == VSAFE_SE_CMD_VERIFY_PASSWORD) {
        return n > 0;
    }
    if (code == SVC_CMD_WRAP) {
        *from = 1;
        return n > 1;
    }
    if (code == SVC_CMD_ENCRYPT) {
        /* SUB SLOT, then a layout that follows the slot's mode (unknown here): the plaintext is
         * somewhere in the rest, so all of the rest is masked. */
        *from = 2;
        return n > 2;
    }
    if (code != VSAFE_SE_CMD_EXTENDED) {
        return 0;
    }
    if (ext == SVC_EXT_START_ENCRYPT) {
        *from = 1;
        return n > 1;
    }
    if (ext == SVC_EXT_PROCESS_ENCRYPT || ext == SVC_EXT_FINISH_ENCRYPT) {
        /* AAD_LEN AAD MSG_LEN PLAINTEXT; all of it when the AAD length does not fit. */
        size_t al = n >= 2 ? vsafe_get_be16(p) : n;
        *from = 4u + al <= n ? 4u + al : 0u;
        return n > *from;
    }
    if (ext == VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN) {
        *from = 4;
        return n > 4;
    }
    if (ext == SVC_EXT_WRITE_SYMKEY_PLAIN) {
        size_t pl = n >= 4 ? sym_params_len(p[3]) : (size_t)-1;
        *from = pl == (size_t)-1 || 6u + pl > n ? 0u : 6u + pl; /* an unreadable record: all of it */
        return n > *from;
    }
    if (ext == SVC_EXT_DERIVE && n >= 1 && p[0] == 0x00) {
        size_t ikm = n >= 4 ? vsafe_get_be16(p + 2) : n;
        *from = n >= 4 ? 4u : 0u;
        *to = *from + ikm < n ? *from + ikm : n;
        return 1;
    }
    return 0;
}

/* A response payload that is secret as a whole. */
int host_trace_rsp_secret(uint8_t code, uint8_t ext)
{
    return code == SVC_CMD_ESTABLISH_KEY || code == SVC_CMD_UNWRAP || code == SVC_CMD_DECRYPT ||
           (code == VSAFE_SE_CMD_EXTENDED && (ext == SVC_EXT_DERIVE || ext == SVC_EXT_START_DECRYPT ||
                                              ext == SVC_EXT_PROCESS_DECRYPT || ext == SVC_EXT_FINISH_DECRYPT));
}

static void sb_pub(sbuf_t *sb, const char *label, const uint8_t *p, size_t n)
{
    sb_data(sb, label, p, n);
}

/* 00 LL R 00 LL S at p; returns the bytes it took, 0 if it does not parse. */
static size_t sb_sig(sbuf_t *sb, const uint8_t *p, size_t n)
{
    if (n < 2) {
        return 0;
    }
    size_t half = vsafe_get_be16(p);
    if (4u + 2u * half > n || vsafe_get_be16(p + 2 + half) != half) {
        return 0;
    }
    sb_data(sb, "R", p + 2, half);
    sb_data(sb, "S", p + 4 + half, half);
    return 4u + 2u * half;
}

/* CURVE_ID public key alg [00 SIG_SLOT HASH_ID R S] of 1F 03 / 1F 04. */
static void sb_ecdhe_start(sbuf_t *sb, const uint8_t *p, size_t n)
{
    size_t id = 0;
    const char *curve = curve_name_at(p, n, &id);
    if (curve == NULL) {
        sb_data(sb, "payload", p, n);
        return;
    }
    sb_printf(sb, " curve=%s", curve);
    size_t k = (id < n && p[id] == 0x04 && id + 3 <= n) ? 1u + 2u * (2u + vsafe_get_be16(p + id + 1))
                                                      : (id + 2 <= n ? 2u + vsafe_get_be16(p + id) : 0u);
    if (id + k + 1 > n) {
        sb_data(sb, "rest", p + id, n - id);
        return;
    }
    sb_pub(sb, "host_public_key", p + id, k);
    uint8_t alg = p[id + k];
    sb_printf(sb, " algorithm=0x%02X (%s)", alg, alg == 1 ? "KEK unwrapping" : alg == 2 ? "establish symmetric keys"
                                                                          : alg == 3 ? "host key" : "unknown");
    size_t i = id + k + 1;
    if (i == n) {
        sb_printf(sb, " anonymous");
        return;
    }
    if (i + 4 <= n && p[i] == 0x00) {
        sb_printf(sb, " authenticated by slot=%u", p[i + 1]);
        i += 2;
        if (p[i] == 0x00 && p[i + 1] == 0x00) {
            sb_printf(sb, " (Ed25519)");
            i += 2;
        } else if (i + SVC_HASH_ID_LEN <= n) {
            sb_printf(sb, " hash=%s", hash_name_at(p + i));
            i += SVC_HASH_ID_LEN;
        }
        size_t s = sb_sig(sb, p + i, n - i);
        i += s;
    }
    if (i != n) {
        sb_data(sb, "rest", p + i, n - i);
    }
}

static void sb_derive(sbuf_t *sb, const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 4 && p[0] == 0x00) {
        size_t ikm = vsafe_get_be16(p + 2);
        sb_printf(sb, " input=command mode=0x%02X", p[1]);
        host_trace_secret(sb, "ikm", ikm);
        i = 4 + ikm;
    } else if (n >= 2 && p[0] == 0x02) {
        sb_printf(sb, " input=slot %u", p[1]);
        i = 2;
    }
    if (i == 0 || i + 1 + SVC_HASH_ID_LEN > n) {
        sb_printf(sb, " (malformed, %zu bytes)", n);
        return;
    }
    uint8_t flags = p[i++];
    sb_printf(sb, " %s%s%s hash=%s", (flags & 2u) ? "extract" : "", (flags & 3u) == 3u ? "+" : "",
              (flags & 1u) ? "expand" : "", hash_name_at(p + i));
    i += SVC_HASH_ID_LEN;
    if (flags & 2u) {
        if (i + 2 <= n && p[i] == 0x02) {
            sb_printf(sb, " salt=slot %u", p[i + 1]);
            i += 2;
        } else if (i + 3 <= n && p[i] == 0x00 && i + 3 + vsafe_get_be16(p + i + 1) <= n) {
            size_t sl = vsafe_get_be16(p + i + 1);
            sb_data(sb, "salt", p + i + 3, sl);
            i += 3 + sl;
        } else {
            sb_printf(sb, " (malformed salt)");
            return;
        }
    }
    if (flags & 1u) {
        if (i + 2 > n || i + 2 + vsafe_get_be16(p + i) > n) {
            sb_printf(sb, " (malformed info)");
            return;
        }
        size_t il = vsafe_get_be16(p + i);
        sb_data(sb, "info", p + i + 2, il);
        i += 2 + il;
        for (unsigned k = 1; i + 3 <= n; k++) {
            size_t dl = vsafe_get_be16(p + i);
            if (dl == 0 || i + 2 + dl > n) {
                break;
            }
            const uint8_t *d = p + i + 2;
            if (d[0] == 0x01 && dl == 3) {
                sb_printf(sb, "\n        output %u: to host, %u bytes", k, vsafe_get_be16(d + 1));
            } else if (d[0] == 0x02) {
                sb_printf(sb, "\n        output %u: to a slot", k);
                (void)sb_key_info(sb, d + 1, dl - 1, 0);
            } else {
                sb_printf(sb, "\n        output %u: destination 0x%02X", k, d[0]);
            }
            i += 2 + dl;
        }
    }
    if (i != n) {
        sb_data(sb, "rest", p + i, n - i);
    }
}

/* Fields of a key-service command payload (plaintext). 1 when decoded. */
int host_trace_service_command(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *p, size_t n)
{
    size_t id = 0, k = 0;
    const char *curve;
    switch (code) {
    case SVC_CMD_GENERATE_KEY:
        if (n >= 6 && p[0] == SVC_TAG_PRIVATE_KEY_SLOT && (curve = curve_name_at(p + 6, n - 6, &id)) != NULL &&
            6 + id == n) {
            sb_printf(sb, " subject=private key slot slot=0x%02X usage_limit=%u curve=%s", p[1], vsafe_get_be16(p + 2),
                      curve);
            return 1;
        }
        if (n == 3 && p[0] == SVC_TAG_LOCAL_ENVELOPE) {
            sb_printf(sb, " subject=local envelope key slot=%u key=%s", p[1],
                      p[2] == 0 ? "AES-128" : p[2] == 1 ? "AES-256" : "unknown");
            return 1;
        }
        return 0;
    case SVC_CMD_SIGN:
        if (n >= 3 && 3u + vsafe_get_be16(p + 1) == n) {
            sb_printf(sb, " slot=0x%02X", p[0]);
            sb_data(sb, "message", p + 3, n - 3);
            return 1;
        }
        return 0;
    case SVC_CMD_VERIFY_SIGNATURE:
        if (n >= 1 && (curve = curve_name_at(p + 1, n - 1, &id)) != NULL) {
            size_t i = 1 + id;
            int ed = strcmp(curve, "Ed25519") == 0;
            k = (i < n && p[i] == 0x04 && i + 3 <= n) ? 1u + 2u * (2u + vsafe_get_be16(p + i + 1))
                                                      : (i + 2 <= n ? 2u + vsafe_get_be16(p + i) : 0u);
            sb_printf(sb, " subject=0x%02X curve=%s", p[0], curve);
            if (k == 0 || i + k > n) {
                return 1;
            }
            sb_pub(sb, "public_key", p + i, k);
            i += k;
            size_t s = sb_sig(sb, p + i, n - i);
            i += s;
            if (ed && i < n) {
                sb_printf(sb, " eddsa=%s", p[i] == 0 ? "pure" : p[i] == 1 ? "pre-hashed" : "unknown");
                i++;
            }
            if (s > 0 && i + 2 <= n && i + 2 + vsafe_get_be16(p + i) == n) {
                sb_data(sb, "message", p + i + 2, n - i - 2);
            } else if (i < n) {
                sb_data(sb, "rest", p + i, n - i);
            }
            return 1;
        }
        return 0;
    case SVC_CMD_ESTABLISH_KEY:
        if (n >= 1) {
            sb_printf(sb, " slot=0x%02X", p[0]);
            sb_pub(sb, "peer_public_key", p + 1, n - 1);
            return 1;
        }
        return 0;
    case SVC_CMD_GENERATE_MAC:
        if (n >= 3) {
            sb_printf(sb, " sub=0x%02X slot=%u mac_len=%u", p[0], p[1], p[2]);
            sb_data(sb, "message", p + 3, n - 3);
            return 1;
        }
        return 0;
    case SVC_CMD_VERIFY_MAC:
        if (n >= 3 && 3u + p[2] <= n) {
            sb_printf(sb, " sub=0x%02X slot=%u", p[0], p[1]);
            sb_data(sb, "mac", p + 3, p[2]);
            sb_data(sb, "message", p + 3 + p[2], n - 3 - p[2]);
            return 1;
        }
        return 0;
    case SVC_CMD_WRAP:
        if (n >= 1) {
            sb_printf(sb, " slot=%u", p[0]);
            host_trace_secret(sb, "payload", n - 1);
            return 1;
        }
        return 0;
    case SVC_CMD_UNWRAP:
        if (n >= 1) {
            sb_printf(sb, " slot=%u envelope=(%zu bytes)", p[0], n - 1);
            return 1;
        }
        return 0;
    case SVC_CMD_ENCRYPT:
    case SVC_CMD_DECRYPT:
        if (n >= 2) {
            /* the layout after SLOT follows the slot's mode, which the frame does not say; an
             * encryption's carries its plaintext */
            sb_printf(sb, " sub=0x%02X slot=%u", p[0], p[1]);
            if (code == SVC_CMD_ENCRYPT) {
                host_trace_secret(sb, "data", n - 2);
            } else {
                sb_data(sb, "data", p + 2, n - 2);
            }
            return 1;
        }
        return 0;
    case VSAFE_SE_CMD_VERIFY_PASSWORD:
        host_trace_secret(sb, "password", n);
        return 1;
    case SVC_CMD_DELETE:
        if (n == 1) {
            sb_printf(sb, " tag=0x%02X (%s)", p[0], p[0] == SVC_TAG_PASSWORD ? "password slot" : "tag");
            return 1;
        }
        return 0;
    case VSAFE_SE_CMD_EXTENDED:
        break;
    default:
        return 0;
    }
    switch (ext) {
    case SVC_EXT_HASH_START:
        if (n >= SVC_HASH_ID_LEN) {
            sb_printf(sb, " hash=%s", hash_name_at(p));
            sb_data(sb, "data", p + SVC_HASH_ID_LEN, n - SVC_HASH_ID_LEN);
            return 1;
        }
        return 0;
    case SVC_EXT_HASH_PROCESS:
    case SVC_EXT_HASH_FINISH:
        sb_data(sb, "data", p, n);
        return 1;
    case SVC_EXT_START_KEK:
    case SVC_EXT_ESTABLISH_SYMKEYS:
        sb_ecdhe_start(sb, p, n);
        return 1;
    case SVC_EXT_CONFIRM_SYMKEYS:
        if (n >= 8) {
            sb_data(sb, "mac", p, 8);
            size_t i = 8;
            while (i + 2 <= n) {
                size_t rl = vsafe_get_be16(p + i);
                if (i + 2 + rl > n || sb_key_info(sb, p + i + 2, rl, 1) != rl) {
                    break;
                }
                i += 2 + rl;
            }
            if (i != n) {
                sb_data(sb, "rest", p + i, n - i);
            }
            return 1;
        }
        return 0;
    case SVC_EXT_STOP_KEK:
    case SVC_EXT_ENTITY_CHALLENGE:
        return n == 0;
    case SVC_EXT_WRITE_SYMKEY_WRAPPED:
        sb_printf(sb, " envelope=(%zu bytes)", n);
        return 1;
    case SVC_EXT_WRITE_PUBKEY:
        if (n >= 1 && (curve = curve_name_at(p + 1, n - 1, &id)) != NULL) {
            sb_printf(sb, " slot=%u curve=%s", p[0], curve);
            sb_pub(sb, "public_key", p + 1 + id, n - 1 - id);
            return 1;
        }
        return 0;
    case SVC_EXT_GENERATE_ECDHE:
        if ((curve = curve_name_at(p, n, &id)) != NULL && id == n) {
            sb_printf(sb, " curve=%s", curve);
            return 1;
        }
        return 0;
    case SVC_EXT_ENTITY_VERIFY:
        if (n >= 2) {
            sb_printf(sb, " slot=%u", p[1]);
            if (sb_sig(sb, p + 2, n - 2) != n - 2) {
                sb_data(sb, "rest", p + 2, n - 2);
            }
            return 1;
        }
        return 0;
    case SVC_EXT_DERIVE:
        sb_derive(sb, p, n);
        return 1;
    case SVC_EXT_START_ENCRYPT:
    case SVC_EXT_START_DECRYPT:
        if (n >= 1) {
            sb_printf(sb, " slot=%u", p[0]);
            if (ext == SVC_EXT_START_ENCRYPT) {
                host_trace_secret(sb, "data", n - 1);
            } else {
                sb_data(sb, "data", p + 1, n - 1);
            }
            return 1;
        }
        return 0;
    case SVC_EXT_PROCESS_ENCRYPT:
    case SVC_EXT_FINISH_ENCRYPT:
    case SVC_EXT_PROCESS_DECRYPT:
    case SVC_EXT_FINISH_DECRYPT:
        if (n >= 2 && 4u + vsafe_get_be16(p) <= n) {
            size_t al = vsafe_get_be16(p);
            sb_data(sb, "aad", p + 2, al);
            size_t dl = vsafe_get_be16(p + 2 + al);
            if (ext == SVC_EXT_PROCESS_ENCRYPT || ext == SVC_EXT_FINISH_ENCRYPT) {
                host_trace_secret(sb, "plaintext", n - 4 - al);
            } else {
                sb_data(sb, "data", p + 4 + al, n - 4 - al);
            }
            if (4u + al + dl != n) {
                sb_printf(sb, " length=%zu", dl);
            }
            return 1;
        }
        return 0;
    case SVC_EXT_WRITE_SYMKEY_PLAIN: {
        size_t r = sb_key_info(sb, p, n, 1);
        host_trace_secret(sb, "key", r > 0 ? n - r : n);
        if (r > 0 && n - r != write_key_len(p, r)) {
            sb_printf(sb, " (expected %zu key bytes)", write_key_len(p, r));
        }
        return 1;
    }
    case SVC_EXT_ERASE_SYMKEY:
        if (n == 1) {
            sb_printf(sb, " slot=%u", p[0]);
            return 1;
        }
        return 0;
    case SVC_EXT_DECOMPRESS:
        if ((curve = curve_name_at(p, n, &id)) != NULL && id < n) {
            sb_printf(sb, " curve=%s prefix=0x%02X", curve, p[id]);
            sb_data(sb, "x", p + id + 1, n - id - 1);
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

/* Fields of a key-service response payload (plaintext), given the command's payload as sent. */
int host_trace_service_response(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *c, size_t cn,
                                   const uint8_t *p, size_t n)
{
    if (host_trace_rsp_secret(code, ext)) {
        host_trace_secret(sb,
                          code == SVC_CMD_ESTABLISH_KEY ? "shared_secret"
                          : code == SVC_CMD_UNWRAP      ? "payload"
                          : code == VSAFE_SE_CMD_EXTENDED && ext == SVC_EXT_DERIVE ? "output"
                                                                                   : "plaintext",
                          n);
        return 1;
    }
    size_t id = 0;
    const char *curve;
    switch (code) {
    case SVC_CMD_GENERATE_KEY:
        if (cn >= 1 && c[0] == SVC_TAG_PRIVATE_KEY_SLOT) {
            sb_pub(sb, "public_key", p, n);
            return 1;
        }
        return 0;
    case SVC_CMD_SIGN:
        if (sb_sig(sb, p, n) == n && n > 0) {
            return 1;
        }
        return 0;
    case SVC_CMD_VERIFY_SIGNATURE:
    case SVC_CMD_VERIFY_MAC:
        if (n == 1) {
            sb_printf(sb, " %s=%s", code == SVC_CMD_VERIFY_MAC ? "verified" : "valid", p[0] == 1 ? "yes" : "no");
            return 1;
        }
        return 0;
    case SVC_CMD_GENERATE_MAC:
        sb_data(sb, "mac", p, n);
        return 1;
    case SVC_CMD_WRAP:
        sb_printf(sb, " envelope=(%zu bytes)", n);
        return 1;
    case VSAFE_SE_CMD_VERIFY_PASSWORD:
        if (n == 2) {
            sb_printf(sb, " verified=%s remaining_tries=%u", p[0] == 1 ? "yes" : "no", p[1]);
            return 1;
        }
        return 0;
    case VSAFE_SE_CMD_QUERY:
        if (cn < 1) {
            return 0;
        }
        if (c[0] == SVC_TAG_PRIVATE_KEY_TABLE && n >= 4) {
            sb_printf(sb, " slots=%u global_usage_limit=%u", p[0], vsafe_get_be16(p + 2));
            for (size_t i = 4; i + 4 <= n;) {
                sb_printf(sb, "\n        slot 0x%02X: %s mode=%02X%02X", p[i], p[i + 1] == 1 ? "present" : "empty",
                          p[i + 2], p[i + 3]);
                size_t rec = 4;
                if (p[i + 1] == 1 && (curve = curve_name_at(p + i + 4, n - i - 4, &id)) != NULL) {
                    sb_printf(sb, " curve=%s", curve);
                    rec += id;
                }
                i += rec;
            }
            return 1;
        }
        if ((c[0] == SVC_TAG_SYMKEY_TABLE || c[0] == SVC_TAG_PUBKEY_TABLE) && n >= 1) {
            sb_printf(sb, " slots=%u", p[0]);
            sb_data(sb, "records", p + 1, n - 1);
            return 1;
        }
        if (c[0] == SVC_TAG_SYMKEY_CTRL && n == 3) {
            sb_printf(sb, " control=0x%02X wrapped_auth_slot=0x%02X ecdhe_auth_slot=0x%02X", p[0], p[1], p[2]);
            return 1;
        }
        if (c[0] == SVC_TAG_PUBKEY_SLOT && n >= 3) {
            sb_printf(sb, " present=%u flags=%02X%02X", p[0], p[1], p[2]);
            if (p[0] == 1 && (curve = curve_name_at(p + 3, n - 3, &id)) != NULL) {
                sb_printf(sb, " curve=%s", curve);
                sb_pub(sb, "public_key", p + 3 + id, n - 3 - id);
            }
            return 1;
        }
        return 0;
    case VSAFE_SE_CMD_EXTENDED:
        break;
    default:
        return 0;
    }
    switch (ext) {
    case SVC_EXT_HASH_FINISH:
        if (n >= 2 && 2u + vsafe_get_be16(p) == n) {
            sb_data(sb, "digest", p + 2, n - 2);
            return 1;
        }
        return 0;
    case SVC_EXT_GENERATE_ECDHE:
        if ((curve = curve_name_at(p, n, &id)) != NULL) {
            sb_printf(sb, " curve=%s", curve);
            sb_pub(sb, "device_public_key", p + id, n - id);
            return 1;
        }
        return 0;
    case SVC_EXT_ENTITY_CHALLENGE:
        sb_data(sb, "challenge", p, n);
        return 1;
    case SVC_EXT_ENTITY_VERIFY:
        if (n == 1) {
            sb_printf(sb, " valid=%s", p[0] == 1 ? "yes" : "no");
            return 1;
        }
        return 0;
    case SVC_EXT_DECOMPRESS:
        sb_data(sb, "y", p, n);
        return 1;
    default:
        return 0;
    }
}

