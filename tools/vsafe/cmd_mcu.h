/* Shared by cmd_mcu.c and cmd_da.c. */
#ifndef VSAFE_CMD_MCU_H
#define VSAFE_CMD_MCU_H

#include "cli.h"
#include "vsafe/mcu.h"

/* Opens DIR/mcu.nvm attached to a powered board (no reset). Seeded by $VSAFE_MCU_SEED when set.
 * The file is created on first use unless read_only (then a missing MCU is an error: queries never
 * create it). A symlink in its place is refused. With --cut-after the MCU runs on a simulated copy
 * of the file that loses power at the N-th NVM operation. Returns 0 or an exit status (printed). */
int vsafe_cli_open_mcu(vsafe_cli_t *cli, vsafe_mcu_t **mcu, int read_only);

#endif
