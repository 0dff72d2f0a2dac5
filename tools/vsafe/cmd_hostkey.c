/* `vsafe hostkey` and `vsafe cmdac`: host keys and the command access table (spec §4.4, §4.5, §6). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int vsafe_cli_session(vsafe_cli_t *cli, const char *key_file, vsafe_host_prot_t *prot)
{
    (void)key_file;
    (void)prot;
    return vsafe_cli_fail(cli, VSAFE_ERR_UNSUPPORTED, "host sessions");
}

int vsafe_cmd_hostkey(vsafe_cli_t *cli, int argc, char **argv)
{
    (void)argc, (void)argv;
    return vsafe_cli_fail(cli, VSAFE_ERR_UNSUPPORTED, "hostkey");
}

int vsafe_cmd_cmdac(vsafe_cli_t *cli, int argc, char **argv)
{
    (void)argc, (void)argv;
    return vsafe_cli_fail(cli, VSAFE_ERR_UNSUPPORTED, "cmdac");
}
