/* Trace decoder: renders a frame as text for `vsafe --trace` and for tests.
 *
 * Secrets are never rendered. Where a frame's payload travels in plaintext (no command or
 * response encryption), the bytes of host keys and symmetric keys being written, passwords, input
 * key material, payloads to wrap or unwrapped, ECDH shared secrets and derived keys are masked
 * ("**") in the hex dump, and the decoding shows each as "<N bytes, secret>", also when it
 * decodes the plaintext of an encrypted frame. The key-service frames are decoded in
 * trace_services.c, whose host_trace_cmd_secret_range and host_trace_rsp_secret are the one place
 * that says which bytes of which frame are secret. */
#include <string.h>

#include "common/bytes.h"
#include "services.h"
#include "trace_internal.h"
#include "vsafe/host.h"
#include "vsafe/se_wire.h"

static const char *ac_name(unsigned ac)
{
    return ac == 0 ? "always" : ac == 1 ? "host" : "never";
}

static void sb_opt(sbuf_t *sb, uint8_t opt)
{
    sb_printf(sb, " opt=0x%02X", opt);
    if (opt & VSAFE_SE_OPT_CHANGE_AC) {
        sb_printf(sb, " [change AC to %s, change right %s]", ac_name(opt & VSAFE_SE_OPT_AC_MASK),
                  (opt & VSAFE_SE_OPT_CR) ? "kept" : "cleared");
    }
    if (opt & VSAFE_SE_OPT_ATOMIC) {
        sb_printf(sb, " [atomic]");
    }
}

static const char *tag_name(uint8_t tag)
{
    switch (tag) {
    case VSAFE_SE_TAG_LIFE_CYCLE:
        return "life-cycle state";
    case VSAFE_SE_TAG_I2C_PARAMS:
        return "I2C parameters";
    case VSAFE_SE_TAG_PRODUCT_DATA:
        return "product data";
    case VSAFE_SE_TAG_PARTITIONS:
        return "data partition configuration";
    case VSAFE_SE_TAG_CMD_AUTH:
        return "command authorization configuration";
    case VSAFE_SE_TAG_CMD_AC:
        return "command access conditions";
    case VSAFE_SE_TAG_CMD_ENC:
        return "command encryption flags";
    case VSAFE_SE_TAG_HOST_KEY_V2:
        return "host key slot V2";
    case VSAFE_SE_TAG_HOST_KEY_CTRL:
        return "host key provisioning control";
    case SVC_TAG_LOCAL_ENVELOPE:
        return "local envelope key table";
    case SVC_TAG_PASSWORD:
        return "password slot";
    case SVC_TAG_PRIVATE_KEY_SLOT:
        return "private key slot";
    case SVC_TAG_PRIVATE_KEY_TABLE:
        return "private key table";
    case SVC_TAG_SYMKEY_TABLE:
        return "symmetric key table";
    case SVC_TAG_PUBKEY_TABLE:
        return "generic public key table";
    case SVC_TAG_SYMKEY_CTRL:
        return "symmetric key provisioning control";
    case SVC_TAG_PUBKEY_SLOT:
        return "generic public key slot";
    case SVC_TAG_PUBKEY_FLAGS:
        return "generic public key flags";
    default:
        return "tag";
    }
}

/* Fields of a command payload (plaintext). */
static void decode_command_fields(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *p, size_t n)
{
    switch (code) {
    case VSAFE_SE_CMD_ECHO:
        sb_data(sb, "data", p, n);
        return;
    case VSAFE_SE_CMD_RANDOM:
        if (n == 2) {
            sb_printf(sb, " subject=%u length=%u", p[0], p[1]);
            return;
        }
        break;
    case VSAFE_SE_CMD_READ:
        if (n == 6) {
            sb_opt(sb, p[0]);
            sb_printf(sb, " zone=%u offset=%u length=%u", p[1], vsafe_get_be16(p + 2), vsafe_get_be16(p + 4));
            return;
        }
        break;
    case VSAFE_SE_CMD_UPDATE:
        if (n >= 4) {
            sb_opt(sb, p[0]);
            sb_printf(sb, " zone=%u offset=%u", p[1], vsafe_get_be16(p + 2));
            sb_data(sb, "data", p + 4, n - 4);
            return;
        }
        break;
    case VSAFE_SE_CMD_DECREMENT:
        if (n >= 8) {
            sb_opt(sb, p[0]);
            sb_printf(sb, " zone=%u offset=%u amount=%u", p[1], vsafe_get_be16(p + 2), vsafe_get_be32(p + 4));
            sb_data(sb, "data", p + 8, n - 8);
            return;
        }
        break;
    case VSAFE_SE_CMD_QUERY:
        if (n == 1 || n == 2) {
            sb_printf(sb, " tag=0x%02X (%s)", p[0], tag_name(p[0]));
            if (n == 2) {
                sb_printf(sb, " slot=%u", p[1]);
            }
            return;
        }
        break;
    case VSAFE_SE_CMD_PUT_ATTRIBUTE:
        if (n >= 1) {
            sb_printf(sb, " tag=0x%02X (%s)", p[0], tag_name(p[0]));
            sb_data(sb, "value", p + 1, n - 1);
            return;
        }
        break;
    case VSAFE_SE_CMD_RESET:
        if (n == 0) {
            return;
        }
        break;
    case VSAFE_SE_CMD_EXTENDED:
        if (ext == VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN && n >= 4) {
            sb_printf(sb, " key_type=%s keys=(hidden, %zu bytes)", p[3] == 1 ? "AES-256" : "AES-128", n - 4);
            return;
        }
        if (ext == VSAFE_SE_EXT_WRITE_HOST_KEY_WRAPPED) {
            sb_printf(sb, " envelope=(%zu bytes)", n);
            return;
        }
        if (host_trace_service_command(sb, code, ext, p, n)) {
            return;
        }
        break;
    default:
        if (host_trace_service_command(sb, code, ext, p, n)) {
            return;
        }
        break;
    }
    size_t from = 0, to = 0;
    if (host_trace_cmd_secret_range(code, ext, p, n, &from, &to)) {
        host_trace_secret(sb, "payload", n); /* undecodable, but it carries a secret */
        return;
    }
    if (n > 0) {
        sb_data(sb, "payload", p, n);
    }
}

/* Fields of a response payload (plaintext), given the command it answers. */
static void decode_response_fields(sbuf_t *sb, uint8_t code, uint8_t ext, const uint8_t *cmd_payload, size_t cmd_n,
                                   const uint8_t *p, size_t n)
{
    if (host_trace_service_response(sb, code, ext, cmd_payload, cmd_n, p, n)) {
        return;
    }
    if (code == VSAFE_SE_CMD_READ && cmd_n == 6) {
        size_t want = vsafe_get_be16(cmd_payload + 4);
        if (n >= 4 && n - 4 == want) {
            sb_printf(sb, " counter=%u", vsafe_get_be32(p));
            sb_data(sb, "data", p + 4, n - 4);
            return;
        }
        sb_data(sb, "data", p, n);
        return;
    }
    if (code == VSAFE_SE_CMD_DECREMENT && n == 4) {
        sb_printf(sb, " new_counter=%u", vsafe_get_be32(p));
        return;
    }
    if (code == VSAFE_SE_CMD_QUERY && cmd_n == 1) {
        uint8_t tag = cmd_payload[0];
        if (tag == VSAFE_SE_TAG_HOST_KEY_V2 && n == 6) {
            sb_printf(sb, " present=%u key_type=%s counter=%u", p[0], p[1] == 1 ? "AES-256" : "AES-128",
                      vsafe_get_be32(p + 2));
            return;
        }
        if (tag == VSAFE_SE_TAG_PARTITIONS && n >= 1) {
            sb_printf(sb, " zones=%u", p[0]);
        } else if (tag == VSAFE_SE_TAG_CMD_AUTH && n >= 2) {
            sb_printf(sb, " change_rights=0x%02X records=%u", p[0], p[1]);
        } else if (tag == VSAFE_SE_TAG_PRODUCT_DATA && n >= 5 && p[0] == 1) {
            sb_printf(sb, " mask_id=%02X%02X%02X", p[2], p[3], p[4]);
        } else if (tag == VSAFE_SE_TAG_LIFE_CYCLE && n == 1) {
            sb_printf(sb, " life_cycle=0x%02X", p[0]);
            return;
        } else if (tag == VSAFE_SE_TAG_HOST_KEY_CTRL && n == 2) {
            sb_printf(sb, " control=0x%02X auth_key_slot=0x%02X", p[0], p[1]);
            return;
        }
    }
    if (n > 0) {
        sb_data(sb, "payload", p, n);
    }
}

int vsafe_host_trace_decode(const vsafe_host_trace_t *ev, char *out, size_t out_cap)
{
    if (ev == NULL || out == NULL || out_cap == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    sbuf_t sb = {out, out_cap, 0, 0};
    out[0] = '\0';
    if (ev->dir == VSAFE_HOST_TRACE_NACK) {
        sb_printf(&sb, "  (NACK: device busy or absent, retrying)");
        return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
    }
    if (ev->frame == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t *f = ev->frame;
    size_t n = ev->len;
    if (ev->dir == VSAFE_HOST_TRACE_COMMAND) {
        size_t hl = (n >= 2 && (f[0] & VSAFE_SE_HDR_CODE) == VSAFE_SE_CMD_EXTENDED) ? 2u : 1u;
        uint8_t code = n > 0 ? (uint8_t)(f[0] & VSAFE_SE_HDR_CODE) : 0u;
        uint8_t ext = hl == 2 ? f[1] : 0u;
        /* The payload on the wire is plaintext unless the session gave its decryption. */
        size_t mask_from = 0, mask_to = 0;
        if (ev->plain == NULL && n >= hl + 2) {
            size_t wl = n - hl - 2 - ((f[0] & VSAFE_SE_HDR_CMAC) && n >= hl + 6 ? 4u : 0u);
            if (host_trace_cmd_secret_range(code, ext, f + hl, wl, &mask_from, &mask_to)) {
                mask_from += hl;
                mask_to += hl;
            } else {
                mask_from = mask_to = 0;
            }
        }
        sb_printf(&sb, "H->D  ");
        sb_hex(&sb, f, n, mask_from, mask_to);
        if (n < hl + 2) {
            sb_printf(&sb, "\n      (short frame)");
            return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
        }
        const char *name = vsafe_se_command_name(code, ext);
        int mac = (f[0] & VSAFE_SE_HDR_CMAC) != 0;
        size_t pl = n - hl - 2 - (mac && n >= hl + 6 ? 4u : 0u);
        sb_printf(&sb, "\n      %s", name != NULL ? name : "unknown command");
        if (hl == 2) {
            sb_printf(&sb, " (0x1F 0x%02X)", ext);
        } else {
            sb_printf(&sb, " (0x%02X)", code);
        }
        if (f[0] & VSAFE_SE_HDR_PROT) {
            sb_printf(&sb, " [%s%s%s]", mac ? "C-MAC " : "", (f[0] & VSAFE_SE_HDR_RMAC) ? "R-MAC " : "",
                      (f[0] & VSAFE_SE_HDR_HOST) ? "host" : "session");
        }
        if (ev->plain != NULL) {
            sb_data(&sb, "ciphertext", f + hl, pl);
            sb_printf(&sb, "\n      plaintext:");
            decode_command_fields(&sb, code, ext, ev->plain, ev->plain_len);
        } else {
            decode_command_fields(&sb, code, ext, f + hl, pl);
        }
        if (mac && n >= hl + 6) {
            sb_printf(&sb, "\n      C-MAC=%02X%02X%02X%02X", f[n - 6], f[n - 5], f[n - 4], f[n - 3]);
            if (ev->protected_frame) {
                sb_printf(&sb, " counter=%u", ev->mac_counter);
            }
        }
        uint16_t crc = vsafe_crc16(f, n - 2);
        sb_printf(&sb, " CRC=%02X%02X %s", f[n - 2], f[n - 1], crc == vsafe_get_be16(f + n - 2) ? "ok" : "BAD");
        return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
    }
    /* Response: a secret payload in plaintext on the wire is masked up to the R-MAC. */
    size_t rmask_to = 0;
    const uint8_t *rc0 = ev->command;
    if (ev->plain == NULL && rc0 != NULL && ev->command_len >= 3 && n >= 5 && (f[0] & VSAFE_SE_HDR_CODE) == 0) {
        uint8_t c0 = rc0[0] & VSAFE_SE_HDR_CODE;
        uint8_t e0 = c0 == VSAFE_SE_CMD_EXTENDED ? rc0[1] : 0u;
        if (host_trace_rsp_secret(c0, e0)) {
            size_t tail = 2u + ((rc0[0] & VSAFE_SE_HDR_RMAC) && n >= 9 ? 4u : 0u);
            rmask_to = n - tail;
        }
    }
    sb_printf(&sb, "D->H  ");
    sb_hex(&sb, f, n, rmask_to > 0 ? 3u : 0u, rmask_to);
    if (n < 5) {
        sb_printf(&sb, "\n      (short response)");
        return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
    }
    uint8_t st = f[0] & VSAFE_SE_HDR_CODE;
    size_t len = vsafe_get_be16(f + 1);
    sb_printf(&sb, "\n      %s (0x%02X) LEN=%zu", vsafe_se_wire_status_name(st), st, len);
    if (len < 2 || len + 3 != n) {
        sb_printf(&sb, " (length does not match the frame)");
        return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
    }
    size_t body = len - 2;
    const uint8_t *cmd = ev->command;
    size_t cn = ev->command_len;
    int rmac = st == 0 && cmd != NULL && cn > 0 && (cmd[0] & VSAFE_SE_HDR_RMAC) && body >= 4;
    size_t pl = body - (rmac ? 4u : 0u);
    if (st == 0 && cmd != NULL && cn >= 3) {
        size_t hl = ((cmd[0] & VSAFE_SE_HDR_CODE) == VSAFE_SE_CMD_EXTENDED && cn >= 4) ? 2u : 1u;
        uint8_t code = cmd[0] & VSAFE_SE_HDR_CODE;
        size_t cpl = cn - hl - 2 - ((cmd[0] & VSAFE_SE_HDR_CMAC) && cn >= hl + 6 ? 4u : 0u);
        if (ev->plain != NULL) {
            sb_data(&sb, "ciphertext", f + 3, pl);
            sb_printf(&sb, "\n      plaintext:");
            decode_response_fields(&sb, code, hl == 2 ? cmd[1] : 0u, cmd + hl, cpl, ev->plain, ev->plain_len);
        } else {
            decode_response_fields(&sb, code, hl == 2 ? cmd[1] : 0u, cmd + hl, cpl, f + 3, pl);
        }
    } else if (st == 0 && pl > 0) {
        sb_printf(&sb, " payload=(%zu bytes, command unknown)", pl);
    }
    if (rmac) {
        sb_printf(&sb, "\n      R-MAC=%02X%02X%02X%02X", f[3 + pl], f[4 + pl], f[5 + pl], f[6 + pl]);
        if (ev->protected_frame) {
            sb_printf(&sb, " counter=%u", ev->mac_counter);
        }
    }
    uint16_t crc = vsafe_crc16(f, 1);
    crc = vsafe_crc16_continue(crc, f + 3, body);
    sb_printf(&sb, " CRC=%02X%02X %s", f[n - 2], f[n - 1], crc == vsafe_get_be16(f + n - 2) ? "ok" : "BAD");
    return sb.truncated ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}
