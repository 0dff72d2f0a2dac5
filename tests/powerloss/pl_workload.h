/* The scripted mixed workload of the device power-loss proofs (atomic and non-atomic updates,
 * decrements with data, access-condition changes, optionally one command in n C-MAC'd), drawn from
 * a seeded generator, and its description for the reference model (tests/model). Shared by the
 * host tests (pl_common.h) and the Cortex-M33 test firmware, which encodes the commands as frames
 * itself. Header-only and freestanding. */
#ifndef VSAFE_PL_WORKLOAD_H
#define VSAFE_PL_WORKLOAD_H

#include <stdint.h>
#include <string.h>

#include "model.h"
#include "vsafe/se_wire.h"

static inline uint64_t pl_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

typedef enum { PL_UPDATE_ATOMIC, PL_UPDATE_PLAIN, PL_DECREMENT, PL_READ_AC, PL_UPDATE_AC, PL_DECREMENT_AC } pl_kind_t;

typedef struct {
    pl_kind_t kind;
    uint8_t zone;
    uint16_t offset;
    uint16_t len;
    uint32_t amount;
    uint8_t ac;
    int cr;
    int mac; /* sent with C-MAC and R-MAC (needs the session) */
    uint8_t data[200];
} pl_cmd_t;

/* Command i of a mixed workload drawn from rng; with mac_share n > 0, one command in n is C-MAC'd. */
static inline void pl_make_cmd(pl_cmd_t *c, uint64_t *rng, unsigned mac_share)
{
    static const uint8_t data_zones[] = {1, 2, 3, 4, 9, 10, 11};
    static const uint16_t data_len[] = {1000, 1000, 1000, 1000, 5120, 3072, 2944};
    uint64_t r = pl_rand(rng) % 100u;
    memset(c, 0, sizeof *c);
    if (r < 30u || r >= 96u) {
        c->kind = r < 30u ? PL_UPDATE_ATOMIC : PL_UPDATE_PLAIN;
        unsigned z = (unsigned)(pl_rand(rng) % sizeof data_zones);
        c->zone = data_zones[z];
        c->len = (uint16_t)(1u + pl_rand(rng) % 200u);
        c->offset = (uint16_t)(pl_rand(rng) % (data_len[z] - c->len + 1u));
    } else if (r < 45u) {
        c->kind = PL_UPDATE_PLAIN;
        c->zone = data_zones[pl_rand(rng) % sizeof data_zones];
        c->len = (uint16_t)(1u + pl_rand(rng) % 100u);
        c->offset = (uint16_t)(pl_rand(rng) % (1000u - c->len + 1u));
    } else if (r < 88u) {
        c->kind = PL_DECREMENT;
        c->zone = (uint8_t)(5u + pl_rand(rng) % 4u);
        c->amount = 1u + (uint32_t)(pl_rand(rng) % 3u);
        c->len = (uint16_t)(pl_rand(rng) % 33u);
        c->offset = (uint16_t)(pl_rand(rng) % (64u - c->len + 1u));
    } else if (r < 91u) {
        c->kind = PL_READ_AC;
        c->zone = (uint8_t)(2u + pl_rand(rng) % 3u);
        c->ac = VSAFE_SE_AC_ALWAYS;
        c->cr = (int)(pl_rand(rng) % 2u);
    } else if (r < 94u) {
        c->kind = PL_UPDATE_AC;
        c->zone = (uint8_t)(2u + pl_rand(rng) % 3u);
        c->ac = VSAFE_SE_AC_ALWAYS;
        c->cr = (int)(pl_rand(rng) % 2u);
        c->len = (uint16_t)(pl_rand(rng) % 40u);
        c->offset = (uint16_t)(pl_rand(rng) % 900u);
    } else {
        c->kind = PL_DECREMENT_AC;
        c->zone = 8;
        c->ac = VSAFE_SE_AC_ALWAYS;
        c->cr = (int)(pl_rand(rng) % 2u);
        c->amount = 1;
        c->len = 8;
        c->offset = 0;
    }
    for (unsigned k = 0; k < c->len; k++) {
        c->data[k] = (uint8_t)pl_rand(rng);
    }
    c->mac = mac_share > 0 && pl_rand(rng) % mac_share == 0u;
}

/* The command as the model sees it. The SPL05 device commits a non-atomic Update of one frame
 * in one commit like any other command, and the test holds it to that. */
static inline model_op_t pl_model_op(const pl_cmd_t *c)
{
    model_op_t op;
    memset(&op, 0, sizeof op);
    op.macd = c->mac;
    op.zone = c->zone;
    op.off = c->offset;
    op.len = c->len;
    op.data = c->data;
    op.amount = c->amount;
    op.ac = c->ac;
    op.cr = c->cr;
    switch (c->kind) {
    case PL_UPDATE_ATOMIC:
    case PL_UPDATE_PLAIN:
        op.kind = MODEL_OP_UPDATE;
        break;
    case PL_DECREMENT:
        op.kind = MODEL_OP_DECREMENT;
        break;
    case PL_READ_AC:
        op.kind = MODEL_OP_CHANGE_READ_AC;
        op.len = 0;
        break;
    case PL_UPDATE_AC:
        op.kind = MODEL_OP_UPDATE;
        op.change = 1;
        break;
    case PL_DECREMENT_AC:
        op.kind = MODEL_OP_DECREMENT;
        op.change = 1;
        break;
    }
    return op;
}

#endif
