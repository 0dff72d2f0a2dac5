/* Shared by cmd_mcu.c and cmd_da.c. */
#ifndef VSAFE_CMD_MCU_H
#define VSAFE_CMD_MCU_H

#include "cli.h"
#include "vsafe/mcu.h"

/* Opens DIR/mcu.nvm (created on first use) attached to a powered board (no reset). Seeded by
 * $VSAFE_MCU_SEED when set. Returns 0 or an exit status (error printed). */
int vsafe_cli_open_mcu(vsafe_cli_t *cli, vsafe_mcu_t **mcu);

#endif
