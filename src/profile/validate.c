/* Checks that a compiled profile describes a device that could exist (docs/PROFILE.md,
 * "Refusals"). Works on the struct alone, so built-ins and parsed files go through the same rules.
 *
 * Invariants:
 *  - Every refusal names the JSON path of the offending field as the profile file spells it
 *    (zones[i] is the i-th zone in file order), so the loader can locate its line.
 *  - A profile accepted here can be laid out: at most 64 zones with distinct indices, each
 *    1..65535 bytes, at most VSAFE_PROFILE_MAX_USER_NVM bytes in all, and the partition and
 *    command-authorization queries both fit one response frame with its R-MAC. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "profile/profile_file.h"
#include "vsafe/se_wire.h"

/* Largest response payload: the frame maximum less the R-MAC a host session appends. */
#define RSP_PAYLOAD_MAX (VSAFE_SE_FRAME_MAX - VSAFE_SE_MAC_LEN)

typedef struct {
    char *field;
    size_t field_cap;
    char *msg;
    size_t msg_cap;
} report_t;

__attribute__((format(printf, 3, 4))) static int refuse(const report_t *r, const char *field,
                                                        const char *fmt, ...)
{
    if (r->field_cap > 0) {
        snprintf(r->field, r->field_cap, "%s", field);
    }
    if (r->msg_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, r->msg_cap, fmt, ap);
        va_end(ap);
    }
    return VSAFE_ERR_BAD_PROFILE;
}

static bool lcs_valid(uint8_t lcs)
{
    return lcs == 0x01 || lcs == 0x02 || lcs == 0x03 || lcs == 0x04 || lcs == 0x81 || lcs == 0x83;
}

static int check_commands(const vsafe_profile_t *p, const report_t *r)
{
    char f[96];
    if (p->cmd_change_rights > 3u) {
        return refuse(r, "command_table.change_rights",
                      "change rights 0x%02X outside 0..3 (bit0 encryption, bit1 access)",
                      p->cmd_change_rights);
    }
    if (p->cmd_count > VSAFE_PROFILE_MAX_CMDS) {
        return refuse(r, "command_table.commands", "too many command records (%u, at most %u)",
                      p->cmd_count, VSAFE_PROFILE_MAX_CMDS);
    }
    size_t rsp = 2;
    for (unsigned i = 0; i < p->cmd_count; i++) {
        const vsafe_profile_cmd_t *c = &p->cmds[i];
        if (c->header > VSAFE_SE_HDR_CODE) {
            snprintf(f, sizeof f, "command_table.commands[%u].code", i);
            return refuse(r, f, "command code 0x%02X outside 0..0x1F", c->header);
        }
        if (c->header != VSAFE_SE_CMD_EXTENDED && c->ext != 0) {
            snprintf(f, sizeof f, "command_table.commands[%u].ext", i);
            return refuse(r, f, "an extended code needs command code 0x1F (got 0x%02X)", c->header);
        }
        if (c->ac > VSAFE_SE_CMD_AC_HOST) {
            snprintf(f, sizeof f, "command_table.commands[%u].ac", i);
            return refuse(r, f, "access condition %u outside 0..3 (never, free, admin, host)", c->ac);
        }
        if (c->enc > (VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP)) {
            snprintf(f, sizeof f, "command_table.commands[%u]", i);
            return refuse(r, f, "encryption flags 0x%02X outside 0..3", c->enc);
        }
        for (unsigned j = 0; j < i; j++) {
            if (p->cmds[j].header == c->header && p->cmds[j].ext == c->ext) {
                snprintf(f, sizeof f, "command_table.commands[%u]", i);
                if (c->header == VSAFE_SE_CMD_EXTENDED) {
                    return refuse(r, f, "duplicate record for command 0x1F ext 0x%02X (also commands[%u])",
                                  c->ext, j);
                }
                return refuse(r, f, "duplicate record for command 0x%02X (also commands[%u])",
                              c->header, j);
            }
        }
        rsp += c->header == VSAFE_SE_CMD_EXTENDED ? 4u : 3u;
    }
    if (rsp > RSP_PAYLOAD_MAX) {
        return refuse(r, "command_table.commands",
                      "command authorization query would need %zu bytes, more than one frame (%u)",
                      rsp, RSP_PAYLOAD_MAX);
    }
    return VSAFE_OK;
}

static int check_zones(const vsafe_profile_t *p, const report_t *r)
{
    char f[64];
    if (p->zone_count == 0) {
        /* Nothing to store: every data command would be refused; almost surely a mistake. */
        return refuse(r, "zones", "a profile needs at least one zone");
    }
    if (p->zone_count > VSAFE_PROFILE_MAX_ZONES) {
        return refuse(r, "zones", "too many zones (%u, at most %u)", p->zone_count,
                      VSAFE_PROFILE_MAX_ZONES);
    }
    uint32_t total = 0;
    size_t rsp = 1;
    for (unsigned i = 0; i < p->zone_count; i++) {
        const vsafe_profile_zone_t *z = &p->zones[i];
        for (unsigned j = 0; j < i; j++) {
            if (p->zones[j].index == z->index) {
                snprintf(f, sizeof f, "zones[%u].index", i);
                return refuse(r, f, "zone index %u is already used by zones[%u]", z->index, j);
            }
        }
        if (z->type != VSAFE_SE_ZONE_DATA && z->type != VSAFE_SE_ZONE_COUNTER) {
            snprintf(f, sizeof f, "zones[%u].type", i);
            return refuse(r, f, "zone type %u is neither data (0) nor counter (1)", z->type);
        }
        if (z->read_ac > 7u) {
            snprintf(f, sizeof f, "zones[%u].read_ac", i);
            return refuse(r, f, "access condition %u outside 0..7", z->read_ac);
        }
        if (z->update_ac > 7u) {
            snprintf(f, sizeof f, "zones[%u].update_ac", i);
            return refuse(r, f, "access condition %u outside 0..7", z->update_ac);
        }
        if (z->length == 0) {
            snprintf(f, sizeof f, "zones[%u].length", i);
            return refuse(r, f, "a zone needs at least 1 byte of data segment");
        }
        total += z->length;
        if (total > VSAFE_PROFILE_MAX_USER_NVM) {
            snprintf(f, sizeof f, "zones[%u].length", i);
            return refuse(r, f, "zones[0..%u] need %lu bytes of user NVM, more than the device has (%u)",
                          i, (unsigned long)total, VSAFE_PROFILE_MAX_USER_NVM);
        }
        if (z->content_len > z->length) {
            snprintf(f, sizeof f, "zones[%u].content_hex", i);
            return refuse(r, f, "content is %u bytes, longer than the zone (%u)", z->content_len,
                          z->length);
        }
        if (z->content_len > 0 && z->content == NULL) {
            snprintf(f, sizeof f, "zones[%u].content_hex", i);
            return refuse(r, f, "content length %u but no content", z->content_len);
        }
        if (z->type == VSAFE_SE_ZONE_DATA && z->counter != 0) {
            snprintf(f, sizeof f, "zones[%u].counter", i);
            return refuse(r, f, "a data zone has no counter (got %lu)", (unsigned long)z->counter);
        }
        rsp += z->type == VSAFE_SE_ZONE_COUNTER ? 9u : 5u;
    }
    if (rsp > RSP_PAYLOAD_MAX) {
        return refuse(r, "zones", "partition query would need %zu bytes, more than one frame (%u)", rsp,
                      RSP_PAYLOAD_MAX);
    }
    return VSAFE_OK;
}

int vsafe_profile_check(const vsafe_profile_t *p, char *field, size_t field_cap, char *msg,
                        size_t msg_cap)
{
    const report_t r = { field, field_cap, msg, msg_cap };
    if (field_cap > 0) {
        field[0] = '\0';
    }
    if (msg_cap > 0) {
        msg[0] = '\0';
    }
    if (p == NULL) {
        return refuse(&r, "", "no profile");
    }
    if (memchr(p->name, '\0', sizeof p->name) == NULL || p->name[0] == '\0') {
        return refuse(&r, "name", "name must be 1..%zu characters", sizeof p->name - 1u);
    }
    if (p->product_data_len > VSAFE_PROFILE_MAX_PRODUCT_DATA) {
        return refuse(&r, "product_data", "product data is %u bytes, at most %u", p->product_data_len,
                      VSAFE_PROFILE_MAX_PRODUCT_DATA);
    }
    if (p->product_data_len < 5u || p->product_data[0] != 0x01u) {
        return refuse(&r, "product_data",
                      "product data must start with the mask-ID TLV 01 <len> <3 mask-ID bytes>");
    }
    if (!lcs_valid(p->life_cycle_state)) {
        return refuse(&r, "life_cycle_state",
                      "life-cycle state 0x%02X is not one of 0x01, 0x02, 0x03, 0x04, 0x81, 0x83",
                      p->life_cycle_state);
    }
    if (p->i2c_addr < 0x08u || p->i2c_addr > 0x77u) {
        return refuse(&r, "i2c_address", "7-bit I2C address 0x%02X outside 0x08..0x77", p->i2c_addr);
    }
    if ((p->hostkey_ctrl[0] & 0xF0u) != 0) {
        return refuse(&r, "host_key_provisioning", "control field bits 7..4 must be 0 (got 0x%02X)",
                      p->hostkey_ctrl[0]);
    }
    int rc = check_commands(p, &r);
    if (rc != VSAFE_OK) {
        return rc;
    }
    return check_zones(p, &r);
}

int vsafe_profile_validate(const vsafe_profile_t *p, char *msg, size_t msg_cap)
{
    char field[96];
    char why[192];
    int rc = vsafe_profile_check(p, field, sizeof field, why, sizeof why);
    if (rc != VSAFE_OK && msg_cap > 0) {
        if (field[0] != '\0') {
            snprintf(msg, msg_cap, "%s: %s", field, why);
        } else {
            snprintf(msg, msg_cap, "%s", why);
        }
    }
    return rc;
}
