/* The lowest layer of the device core: lookups derived from the state image and the volatile
 * session state. Used by the secure channel, the handlers and the entry points alike, so none of
 * them has to call another for it. */
#ifndef VSAFE_SE_STATE_H
#define VSAFE_SE_STATE_H

#include "se/core.h"

/* Rebuilds the derived lookups (zone_slot, cmd_slot, addr7) from the image: after mount and
 * format. Commands change table values, never table shapes, so no commit needs it.
 * VSAFE_ERR_STORE_MISMATCH if the image is inconsistent. */
VSAFE_MUST_CHECK int vsafe_se_state_index(vsafe_se_core_t *core);

/* Command-table lookup: the record {header, ext, ac, enc} in the image for (code, ext), or NULL
 * when the command is absent from the table (then it is FREE and unencrypted). code may carry
 * protection bits; ext counts only when the code is 0x1F. */
const uint8_t *vsafe_se_state_cmd_record(const vsafe_se_core_t *core, uint8_t code, uint8_t ext);

/* Drops the volatile session state (Reset command, power cycle): host keys out of the crypto
 * slots, the ECDHE ephemeral, the KEK session (its key wiped). A new I2C address takes effect.
 * Touches neither the image, nor core->txn, nor the response. */
void vsafe_se_state_drop_sessions(vsafe_se_core_t *core);
/* A key left the device state (slot erased or overwritten, ephemeral or ECDHE key used): the
 * port's cached copies of keys are wiped (forget_keys). Part of drop_sessions. */
void vsafe_se_state_forget_keys(vsafe_se_core_t *core);
/* A symmetric key slot changed (written, erased): the chunked-AEAD context ends (its key may be
 * the one that went; the port's context holds its key schedule), then forget_keys. */
void vsafe_se_state_sym_changed(vsafe_se_core_t *core);

#endif
