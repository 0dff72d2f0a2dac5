/* A crypto port for a target without a crypto library: every primitive reports
 * VSAFE_ERR_UNSUPPORTED, nothing is computed. With it the device core still runs every command
 * that needs no cryptography (zones, counters, access conditions, queries, the power-fail-safe
 * store); commands that need a primitive fail closed (the device answers an error status, and
 * Generate Random answers UNEXPECTED_ERROR). A product replaces this table with one backed by its
 * crypto accelerator or an embedded library; vsafe never implements the primitives itself. */
#ifndef VSAFE_FW_CRYPTO_NONE_H
#define VSAFE_FW_CRYPTO_NONE_H

#include "vsafe/se_port.h"

/* The table; const, stateless, valid for the whole run. */
const vsafe_crypto_t *vsafe_fw_crypto_none(void);

#endif
