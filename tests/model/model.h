/* Reference model of the secure element's user-visible state, written from the protocol and
 * independent of the device code: the oracle of the property and power-cut tests.
 *
 * It holds what a command can change and a host can observe: the zones (type, length, data,
 * counter, read/update access conditions and their change rights), the command table of the three
 * data commands (Decrement, Read, Update: access condition and encryption flags, plus the table's
 * two change rights), and the host key slot (present, type, C-MAC counter). Its rules:
 *   - zone missing 0x10; zone AC not met 0x11 (Always 0 < Host 1 < Never 2..7; Host is met only
 *     by a C-MAC'd command); wrong zone type 0x12; amount > counter 0x13; amount 0 0x03; data
 *     outside the zone 0x14;
 *   - an AC change (Read-AC change, or riding on Update / Decrement) is applied only when the
 *     current change right is set and the new AC is equal or stricter; a refused change fails the
 *     whole command with 0x11 and writes nothing;
 *   - a command the table marks HOST, or with encryption flags, sent without C-MAC: 0x1E;
 *   - Put 0x29 (command ACs) / 0x2A (encryption flags) consumes its change right; once cleared, 0x11;
 *   - the C-MAC counter advances on every command that reached the device with a valid C-MAC,
 *     whatever its status; writing a host key sets it to 0;
 *   - every command is atomic: it lands whole (data, counter, AC change and the C-MAC counter
 *     together) or not at all; a refused command changes nothing but the C-MAC counter.
 * When several refusals apply at once the protocol does not fix which one wins: model_refusals
 * returns the set, and any member is a correct answer.
 *
 * Used by: tests/channel/test_channel_property.c (random command sequences),
 * tests/powerloss/test_device_powercut.c and tests/channel/test_channel_powerloss.c (the state
 * after a power cut must equal the model after the acknowledged commands, or after those plus
 * the interrupted one, and nothing else). */
#ifndef VSAFE_TESTS_MODEL_H
#define VSAFE_TESTS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

#define MODEL_ZONES_MAX 16u
#define MODEL_ZONE_DATA_MAX 5120u

/* The data commands the model keeps a command-table record for. */
enum { MODEL_TCMD_DECREMENT = 0, MODEL_TCMD_READ = 1, MODEL_TCMD_UPDATE = 2, MODEL_TCMD_COUNT = 3 };
extern const uint8_t model_tcmd_code[MODEL_TCMD_COUNT];

typedef struct {
    uint8_t type; /* VSAFE_SE_ZONE_DATA / VSAFE_SE_ZONE_COUNTER */
    uint16_t len;
    uint8_t rac, uac, rcr, ucr;
    uint32_t ctr;
    uint8_t data[MODEL_ZONE_DATA_MAX];
} model_zone_t;

typedef struct {
    size_t zone_count;
    model_zone_t z[MODEL_ZONES_MAX];
    uint8_t cmd_ac[MODEL_TCMD_COUNT], cmd_enc[MODEL_TCMD_COUNT];
    uint8_t table_cr; /* bit0: encryption flags may change, bit1: ACs may change */
    int key_present;
    uint8_t key_type;
    uint32_t mac_ctr;
} model_t;

/* The factory state of the SPL05 personalization: 12 zones (0-4 data 1000 B, 5-8 counters 64 B
 * starting at 0xFFFFFFFF, 9-11 data 5120/3072/2944 B), all readable Always; zone 0 not updatable
 * (Never, no change rights), the others Always with both change rights; the data commands FREE and
 * unencrypted, both table change rights; no host key. Zone data is all zero except zone 0, whose
 * content (the device certificate, if the profile has one) the caller copies in from the device:
 * it is read-only, so it is the one thing taken from the device. */
void model_init_spl05(model_t *m);

typedef enum {
    MODEL_OP_READ,           /* Read (of a data or counter zone) */
    MODEL_OP_UPDATE,         /* Update, optionally changing the update AC */
    MODEL_OP_DECREMENT,      /* Decrement, optionally changing the update AC */
    MODEL_OP_CHANGE_READ_AC, /* Read with the change-AC option and no data */
    MODEL_OP_PUT_CMD_AC,     /* Put 0x29 */
    MODEL_OP_PUT_CMD_ENC,    /* Put 0x2A */
    MODEL_OP_WRITE_HOST_KEY, /* a host key written (the caller decides whether provisioning is allowed) */
    MODEL_OP_SERVICE         /* a key-service command that changes nothing modelled (hash, MAC, chunked
                              * AES with keys the caller wrote before): FREE, unencrypted in the
                              * factory table and never changed there, so it must succeed; only its
                              * C-MAC counter step (when sent MACed) is modelled */
} model_op_kind_t;

typedef struct {
    model_op_kind_t kind;
    int macd; /* reached the device with a valid C-MAC */
    uint8_t zone;
    uint16_t off;
    size_t len;
    const uint8_t *data; /* Update / Decrement: len bytes written at off */
    uint32_t amount;     /* Decrement */
    int change;          /* Update / Decrement: the AC-change option is set */
    uint8_t ac;          /* the new AC (change, Change-read-AC) */
    int cr;              /* the new change right */
    size_t nrec;         /* Put: records, each a MODEL_TCMD_* and its new value */
    uint8_t rec_cmd[MODEL_TCMD_COUNT];
    uint8_t rec_val[MODEL_TCMD_COUNT];
    uint8_t key_type; /* Write host key */
} model_op_t;

#define MODEL_BIT(w) (1u << (w))

/* The refusals that apply to op in state m: a set of wire statuses (MODEL_BIT), 0 when the
 * command must succeed. */
uint32_t model_refusals(const model_t *m, const model_op_t *op);

/* What the command does to m when the device answered: the C-MAC counter step (if macd) and,
 * when succeeded, its effect. A command the model says must be refused must not be applied with
 * succeeded = 1 (the caller checks the answer first). */
void model_apply(model_t *m, const model_op_t *op, int succeeded);

/* The state after op from m, whatever the device answers: m with op applied as the protocol says
 * (succeeded when model_refusals is 0). */
void model_next(const model_t *m, const model_op_t *op, model_t *out);

/* Observes the device through the public host API, without changing its state (no C-MAC'd
 * command: vsafe_host_init, the partition table, the key slot, the command table, and the data of every zone that
 * is readable Always with the Read command FREE and unencrypted). obs gets what was seen; *data_mask
 * the zones whose data was read (bit per zone). Returns VSAFE_OK or the first failing status. */
int model_observe(vsafe_host_t *h, model_t *obs, uint32_t *data_mask);

/* Compares an expected model with an observation: every field, and zone data where data_mask has
 * the zone's bit. Returns 1 when equal; otherwise 0 and a description of the first difference. */
int model_matches(const model_t *expected, const model_t *obs, uint32_t data_mask, char *why, size_t why_cap);

#endif
