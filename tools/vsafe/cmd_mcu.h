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
/* For a subcommand with no options and exactly npos positional arguments (into pos; NULL when
 * npos is 0): parses (--help included), then opens the MCU as vsafe_cli_open_mcu does. Returns 0
 * with *mcu open, -1 after --help (exit status 0, nothing opened), or an exit status. */
int vsafe_cli_open_mcu_args(vsafe_cli_t *cli, int argc, char **argv, size_t npos, const char **pos, int read_only,
                            vsafe_mcu_t **mcu);

#endif
