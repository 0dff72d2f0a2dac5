/* Reference model of the secure element (see model.h for the rules it encodes). Nothing here comes
 * from the device code: the rules are the protocol's, the factory state is the SPL05
 * personalization as documented, and the observation goes through the public host API only. */
#include "model.h"

#include <stdio.h>
#include <string.h>

const uint8_t model_tcmd_code[MODEL_TCMD_COUNT] = {VSAFE_SE_CMD_DECREMENT, VSAFE_SE_CMD_READ, VSAFE_SE_CMD_UPDATE};

static const struct {
    uint8_t type;
    uint16_t len;
} spl05_zones[] = {{VSAFE_SE_ZONE_DATA, 1000},    {VSAFE_SE_ZONE_DATA, 1000},    {VSAFE_SE_ZONE_DATA, 1000},
                   {VSAFE_SE_ZONE_DATA, 1000},    {VSAFE_SE_ZONE_DATA, 1000},    {VSAFE_SE_ZONE_COUNTER, 64},
                   {VSAFE_SE_ZONE_COUNTER, 64},   {VSAFE_SE_ZONE_COUNTER, 64},   {VSAFE_SE_ZONE_COUNTER, 64},
                   {VSAFE_SE_ZONE_DATA, 5120},    {VSAFE_SE_ZONE_DATA, 3072},    {VSAFE_SE_ZONE_DATA, 2944}};

void model_init_spl05(model_t *m)
{
    memset(m, 0, sizeof *m);
    m->zone_count = sizeof spl05_zones / sizeof spl05_zones[0];
    for (size_t i = 0; i < m->zone_count; i++) {
        model_zone_t *z = &m->z[i];
        z->type = spl05_zones[i].type;
        z->len = spl05_zones[i].len;
        z->rac = VSAFE_SE_AC_ALWAYS;
        z->uac = i == 0 ? VSAFE_SE_AC_NEVER : VSAFE_SE_AC_ALWAYS;
        z->rcr = z->ucr = i == 0 ? 0 : 1;
        z->ctr = z->type == VSAFE_SE_ZONE_COUNTER ? 0xFFFFFFFFu : 0;
    }
    for (int k = 0; k < MODEL_TCMD_COUNT; k++) {
        m->cmd_ac[k] = VSAFE_SE_CMD_AC_FREE;
        m->cmd_enc[k] = 0;
    }
    m->table_cr = 0x03;
}

/* Always 0 < Host 1 < Never (every value from 2 to 7). */
static int ac_rank(uint8_t ac) { return ac >= 2 ? 2 : ac; }
static int ac_met(uint8_t ac, int macd) { return ac == VSAFE_SE_AC_ALWAYS || (ac == VSAFE_SE_AC_HOST && macd); }
static int change_refused(uint8_t cur_ac, uint8_t cur_cr, uint8_t new_ac)
{
    return !cur_cr || ac_rank(new_ac) < ac_rank(cur_ac);
}

static const model_zone_t *zone(const model_t *m, uint8_t z) { return z < m->zone_count ? &m->z[z] : NULL; }

static int table_index(model_op_kind_t k)
{
    switch (k) {
    case MODEL_OP_READ:
    case MODEL_OP_CHANGE_READ_AC:
        return MODEL_TCMD_READ;
    case MODEL_OP_UPDATE:
        return MODEL_TCMD_UPDATE;
    case MODEL_OP_DECREMENT:
        return MODEL_TCMD_DECREMENT;
    default:
        return -1; /* Put attribute and host-key writes: not in the modelled table (FREE) */
    }
}

uint32_t model_refusals(const model_t *m, const model_op_t *op)
{
    int t = table_index(op->kind);
    /* The command table is checked before the command runs: alone when it applies. */
    if (t >= 0 && !op->macd && (m->cmd_ac[t] == VSAFE_SE_CMD_AC_HOST || m->cmd_enc[t] != 0)) {
        return MODEL_BIT(VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    }
    const model_zone_t *z = zone(m, op->zone);
    uint32_t e = 0;
    switch (op->kind) {
    case MODEL_OP_READ:
        if (z == NULL) {
            return MODEL_BIT(VSAFE_SE_ST_ENTRY_NOT_FOUND);
        }
        if (!ac_met(z->rac, op->macd)) {
            e |= MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        }
        if ((size_t)op->off + op->len > z->len) {
            e |= MODEL_BIT(VSAFE_SE_ST_BOUNDARY_EXCEEDED);
        }
        return e;
    case MODEL_OP_CHANGE_READ_AC:
        if (z == NULL) {
            return MODEL_BIT(VSAFE_SE_ST_ENTRY_NOT_FOUND);
        }
        if (!ac_met(z->rac, op->macd) || change_refused(z->rac, z->rcr, op->ac)) {
            return MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        }
        return 0;
    case MODEL_OP_UPDATE:
        if (z == NULL) {
            return MODEL_BIT(VSAFE_SE_ST_ENTRY_NOT_FOUND);
        }
        if (z->type != VSAFE_SE_ZONE_DATA) {
            e |= MODEL_BIT(VSAFE_SE_ST_WRONG_ZONE_TYPE);
        }
        if (!ac_met(z->uac, op->macd) || (op->change && change_refused(z->uac, z->ucr, op->ac))) {
            e |= MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        }
        if ((size_t)op->off + op->len > z->len) {
            e |= MODEL_BIT(VSAFE_SE_ST_BOUNDARY_EXCEEDED);
        }
        return e;
    case MODEL_OP_DECREMENT:
        e = op->amount == 0 ? MODEL_BIT(VSAFE_SE_ST_VALUE_OUT_OF_RANGE) : 0;
        if (z == NULL) {
            return e | MODEL_BIT(VSAFE_SE_ST_ENTRY_NOT_FOUND);
        }
        if (z->type != VSAFE_SE_ZONE_COUNTER) {
            e |= MODEL_BIT(VSAFE_SE_ST_WRONG_ZONE_TYPE);
        } else if (op->amount > z->ctr) {
            e |= MODEL_BIT(VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED);
        }
        if (!ac_met(z->uac, op->macd) || (op->change && change_refused(z->uac, z->ucr, op->ac))) {
            e |= MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        }
        if ((size_t)op->off + op->len > z->len) {
            e |= MODEL_BIT(VSAFE_SE_ST_BOUNDARY_EXCEEDED);
        }
        return e;
    case MODEL_OP_PUT_CMD_AC:
        return (m->table_cr & 0x02u) ? 0 : MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    case MODEL_OP_PUT_CMD_ENC:
        return (m->table_cr & 0x01u) ? 0 : MODEL_BIT(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    case MODEL_OP_WRITE_HOST_KEY:
    case MODEL_OP_SERVICE:
        return 0;
    }
    return 0;
}

void model_apply(model_t *m, const model_op_t *op, int succeeded)
{
    if (op->macd) {
        m->mac_ctr++;
    }
    if (!succeeded) {
        return;
    }
    model_zone_t *z = op->zone < m->zone_count ? &m->z[op->zone] : NULL;
    switch (op->kind) {
    case MODEL_OP_READ:
        break;
    case MODEL_OP_CHANGE_READ_AC:
        z->rac = op->ac;
        z->rcr = (uint8_t)(op->cr != 0);
        break;
    case MODEL_OP_DECREMENT:
    case MODEL_OP_UPDATE:
        if (op->kind == MODEL_OP_DECREMENT) {
            z->ctr -= op->amount;
        }
        if (op->len > 0) {
            memcpy(z->data + op->off, op->data, op->len);
        }
        if (op->change) {
            z->uac = op->ac;
            z->ucr = (uint8_t)(op->cr != 0);
        }
        break;
    case MODEL_OP_PUT_CMD_AC:
        for (size_t i = 0; i < op->nrec; i++) {
            m->cmd_ac[op->rec_cmd[i]] = op->rec_val[i];
        }
        m->table_cr &= (uint8_t)~0x02u;
        break;
    case MODEL_OP_PUT_CMD_ENC:
        for (size_t i = 0; i < op->nrec; i++) {
            m->cmd_enc[op->rec_cmd[i]] = op->rec_val[i];
        }
        m->table_cr &= (uint8_t)~0x01u;
        break;
    case MODEL_OP_SERVICE:
        break;
    case MODEL_OP_WRITE_HOST_KEY:
        m->key_present = 1;
        m->key_type = op->key_type;
        m->mac_ctr = 0;
        break;
    }
}

void model_next(const model_t *m, const model_op_t *op, model_t *out)
{
    if (out != m) {
        memcpy(out, m, sizeof *out);
    }
    model_apply(out, op, model_refusals(m, op) == 0);
}

int model_observe(vsafe_host_t *h, model_t *obs, uint32_t *data_mask)
{
    vsafe_host_zone_t zs[MODEL_ZONES_MAX];
    size_t count = 0;
    memset(obs, 0, sizeof *obs);
    *data_mask = 0;
    int rc = vsafe_host_zones(h, zs, MODEL_ZONES_MAX, &count);
    if (rc != VSAFE_OK) {
        return rc;
    }
    obs->zone_count = count;
    for (size_t i = 0; i < count; i++) {
        model_zone_t *z = &obs->z[i];
        if (zs[i].index != i || zs[i].length > MODEL_ZONE_DATA_MAX) {
            return VSAFE_ERR_HOST_FRAME;
        }
        z->type = zs[i].type;
        z->len = zs[i].length;
        z->rac = zs[i].read_ac;
        z->uac = zs[i].update_ac;
        z->rcr = zs[i].read_ac_cr;
        z->ucr = zs[i].update_ac_cr;
        z->ctr = zs[i].type == VSAFE_SE_ZONE_COUNTER ? zs[i].counter : 0;
    }
    vsafe_host_key_slot_t ks;
    if ((rc = vsafe_host_query_key_slot(h, &ks)) != VSAFE_OK) {
        return rc;
    }
    obs->key_present = ks.present != 0;
    obs->key_type = ks.present ? ks.key_type : 0;
    obs->mac_ctr = ks.present ? ks.counter : 0;
    vsafe_host_cmd_table_t t;
    if ((rc = vsafe_host_init(h)) != VSAFE_OK || /* product data and the command table, afresh */
        (rc = vsafe_host_command_table(h, &t)) != VSAFE_OK) {
        return rc;
    }
    obs->table_cr = t.change_rights;
    for (int k = 0; k < MODEL_TCMD_COUNT; k++) {
        obs->cmd_ac[k] = VSAFE_SE_CMD_AC_FREE; /* a command absent from the table is FREE */
        obs->cmd_enc[k] = 0;
        for (size_t i = 0; i < t.count; i++) {
            if (t.rec[i].header == model_tcmd_code[k] && t.rec[i].ext == 0) {
                obs->cmd_ac[k] = t.rec[i].ac;
                obs->cmd_enc[k] = t.rec[i].enc;
            }
        }
    }
    if (obs->cmd_ac[MODEL_TCMD_READ] != VSAFE_SE_CMD_AC_FREE || obs->cmd_enc[MODEL_TCMD_READ] != 0) {
        return VSAFE_OK; /* no zone data can be read without a C-MAC */
    }
    for (size_t i = 0; i < count; i++) {
        model_zone_t *z = &obs->z[i];
        if (z->rac != VSAFE_SE_AC_ALWAYS) {
            continue;
        }
        if (z->type == VSAFE_SE_ZONE_COUNTER) {
            uint32_t c = 0;
            rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_NONE, (uint8_t)i, 0, z->data, z->len, &c);
        } else {
            rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_NONE, (uint8_t)i, 0, z->data, z->len);
        }
        if (rc != VSAFE_OK) {
            return rc;
        }
        *data_mask |= 1u << i;
    }
    return VSAFE_OK;
}

int model_matches(const model_t *e, const model_t *o, uint32_t data_mask, char *why, size_t why_cap)
{
#define DIFF(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(why, why_cap, __VA_ARGS__);                                                                           \
        return 0;                                                                                                      \
    } while (0)
    if (e->zone_count != o->zone_count) {
        DIFF("zone count: model %zu, device %zu", e->zone_count, o->zone_count);
    }
    for (size_t i = 0; i < e->zone_count; i++) {
        const model_zone_t *a = &e->z[i], *b = &o->z[i];
        if (a->type != b->type || a->len != b->len || a->rac != b->rac || a->uac != b->uac || a->rcr != b->rcr ||
            a->ucr != b->ucr || a->ctr != b->ctr) {
            DIFF("zone %zu: model type %u len %u rac %u/cr%u uac %u/cr%u ctr %u; device type %u len %u rac %u/cr%u "
                 "uac %u/cr%u ctr %u",
                 i, a->type, a->len, a->rac, a->rcr, a->uac, a->ucr, (unsigned)a->ctr, b->type, b->len, b->rac,
                 b->rcr, b->uac, b->ucr, (unsigned)b->ctr);
        }
        if ((data_mask & (1u << i)) && memcmp(a->data, b->data, a->len) != 0) {
            size_t k = 0;
            while (a->data[k] == b->data[k]) {
                k++;
            }
            DIFF("zone %zu data differs at byte %zu: model %02x, device %02x", i, k, a->data[k], b->data[k]);
        }
    }
    if (e->key_present != o->key_present || e->key_type != o->key_type || e->mac_ctr != o->mac_ctr) {
        DIFF("key slot: model present %d type %u C-MAC counter %u; device present %d type %u counter %u",
             e->key_present, e->key_type, (unsigned)e->mac_ctr, o->key_present, o->key_type, (unsigned)o->mac_ctr);
    }
    if (e->table_cr != o->table_cr) {
        DIFF("command table change rights: model %02x, device %02x", e->table_cr, o->table_cr);
    }
    for (int k = 0; k < MODEL_TCMD_COUNT; k++) {
        if (e->cmd_ac[k] != o->cmd_ac[k] || e->cmd_enc[k] != o->cmd_enc[k]) {
            DIFF("command %02x: model ac %u enc %u, device ac %u enc %u", model_tcmd_code[k], e->cmd_ac[k],
                 e->cmd_enc[k], o->cmd_ac[k], o->cmd_enc[k]);
        }
    }
#undef DIFF
    return 1;
}
