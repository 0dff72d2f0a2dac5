/* What anyone on the bus can still change, without the host key (`hostkey show`, `check`).
 *
 * Put attribute (0x10) is never in the command table, so it is always FREE: a change right that
 * is still set is a change anyone on the I2C bus can make. */
#ifndef VSAFE_CLI_EXPOSURE_H
#define VSAFE_CLI_EXPOSURE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "vsafe/host.h"

enum {
    /* Put 0x4A change right set: anyone can rewrite the host-key provisioning control fields,
     * e.g. allow re-provisioning and then write a key of their own. */
    VSAFE_CLI_EXPOSE_HOSTKEY_CTRL = 1u << 0,
    /* A host key is present and the control fields allow re-provisioning by an unauthenticated
     * method (plaintext, or anonymous wrapped/ECDH): anyone can replace the key. */
    VSAFE_CLI_EXPOSE_HOSTKEY_REPLACE = 1u << 1,
    /* No host key yet and provisioning is allowed: the first bus master to provision owns it. */
    VSAFE_CLI_EXPOSE_HOSTKEY_EMPTY = 1u << 2,
    /* Put 0x29 change right set: anyone can change the access conditions of commands. */
    VSAFE_CLI_EXPOSE_CMD_AC = 1u << 3,
    /* Put 0x2A change right set: anyone can change the encryption flags of commands. */
    VSAFE_CLI_EXPOSE_CMD_ENC = 1u << 4
};
#define VSAFE_CLI_EXPOSE_ALL 0x1Fu

/* From the raw fields: hk_ctrl = Query 0x4A's two bytes, key_present from Query 0x47, and the
 * command table's change-rights byte (Query 0x24 byte 0: bit 1 ACs, bit 0 encryption flags). */
unsigned vsafe_cli_exposure(const uint8_t hk_ctrl[2], int key_present, uint8_t cmd_change_rights);
/* The same by asking the device (Query 0x47, 0x4A; the command table cached by vsafe_host_init). */
VSAFE_MUST_CHECK int vsafe_cli_exposure_query(vsafe_host_t *host, unsigned *bits);
/* For `vsafe check`: opens DIR/se.nvm read-only (no lock, no writes: vsafe_se_open_ex read_only),
 * asks it as vsafe_cli_exposure_query does, and closes it again. VSAFE_ERR_NOT_FOUND when there
 * is no se.nvm; open and query errors. Prints nothing. */
struct vsafe_cli;
VSAFE_MUST_CHECK int vsafe_cli_exposure_of_device(const struct vsafe_cli *cli, unsigned *bits);
/* One sentence (no newline) for one bit, with the command that removes the exposure. */
const char *vsafe_cli_exposure_text(unsigned bit);
/* A short stable name for one bit ("hostkey_control", ...), for JSON. */
const char *vsafe_cli_exposure_name(unsigned bit);
/* Prints "warning: <text>" per bit set. */
void vsafe_cli_exposure_print(FILE *f, unsigned bits);
/* [{"name": NAME, "message": TEXT}, ...] */
json_t *vsafe_cli_exposure_json(unsigned bits);

#endif
