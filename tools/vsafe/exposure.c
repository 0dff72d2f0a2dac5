/* What anyone on the bus can still change (exposure.h). */
#include "exposure.h"

#include <sys/stat.h>

#include "cli.h"
#include "vsafe/se.h"

#define HK_ANON 0x01u
#define HK_PLAIN 0x02u
#define HK_REPROV 0x04u
#define HK_CHANGE_RIGHT 0x08u

unsigned vsafe_cli_exposure(const uint8_t hk_ctrl[2], int key_present, uint8_t cmd_change_rights)
{
    unsigned b = 0;
    /* Anonymous wrapped/ECDH provisioning is only anonymous when no authentication key is set. */
    int unauth_way = (hk_ctrl[0] & HK_PLAIN) != 0u || ((hk_ctrl[0] & HK_ANON) != 0u && hk_ctrl[1] == 0xFFu);
    if (hk_ctrl[0] & HK_CHANGE_RIGHT) {
        b |= VSAFE_CLI_EXPOSE_HOSTKEY_CTRL;
    }
    if (key_present && (hk_ctrl[0] & HK_REPROV) && unauth_way) {
        b |= VSAFE_CLI_EXPOSE_HOSTKEY_REPLACE;
    }
    if (!key_present && unauth_way) {
        b |= VSAFE_CLI_EXPOSE_HOSTKEY_EMPTY;
    }
    if (cmd_change_rights & 2u) {
        b |= VSAFE_CLI_EXPOSE_CMD_AC;
    }
    if (cmd_change_rights & 1u) {
        b |= VSAFE_CLI_EXPOSE_CMD_ENC;
    }
    return b;
}

int vsafe_cli_exposure_query(vsafe_host_t *host, unsigned *bits)
{
    vsafe_host_key_slot_t slot;
    uint8_t ctrl[2];
    vsafe_host_cmd_table_t t;
    int rc = vsafe_host_query_key_slot(host, &slot);
    if (rc == VSAFE_OK) {
        rc = vsafe_host_query_key_ctrl(host, ctrl);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_host_command_table(host, &t);
    }
    if (rc == VSAFE_OK) {
        *bits = vsafe_cli_exposure(ctrl, slot.present, t.change_rights);
    }
    return rc;
}

int vsafe_cli_exposure_of_device(const struct vsafe_cli *cli, unsigned *bits)
{
    const char *path = vsafe_cli_device_file(cli, "se.nvm");
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return VSAFE_ERR_NOT_FOUND;
    }
    vsafe_se_options_t opt = {.profile = NULL, .state_path = path};
    vsafe_se_open_ext_t ext = {.read_only = 1};
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    int rc = vsafe_se_open_ex(&se, &opt, &ext);
    if (rc == VSAFE_OK) {
        rc = vsafe_host_open_se(&h, se);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_host_init(h);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_cli_exposure_query(h, bits);
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    return rc;
}

static const struct {
    unsigned bit;
    const char *name;
    const char *text;
} texts[] = {
    {VSAFE_CLI_EXPOSE_HOSTKEY_CTRL, "hostkey_control",
     "the host-key provisioning control fields can still be changed by anyone on the bus (Put 0x4A change right "
     "set), who could then allow re-provisioning and write a key of their own; lock them: vsafe hostkey lock"},
    {VSAFE_CLI_EXPOSE_HOSTKEY_REPLACE, "hostkey_replace",
     "the host key can be replaced by anyone on the bus (re-provisioning allowed by an unauthenticated method); "
     "lock the control fields: vsafe hostkey lock"},
    {VSAFE_CLI_EXPOSE_HOSTKEY_EMPTY, "hostkey_empty",
     "no host key yet: the first bus master to provision one owns the secure channel (vsafe hostkey provision)"},
    {VSAFE_CLI_EXPOSE_CMD_AC, "command_ac",
     "command access conditions can still be changed by anyone on the bus (Put 0x29 change right set); set them "
     "(vsafe cmdac set ...) or lock the table: vsafe cmdac lock"},
    {VSAFE_CLI_EXPOSE_CMD_ENC, "command_encryption",
     "command encryption flags can still be changed by anyone on the bus (Put 0x2A change right set); set them "
     "(vsafe cmdac set ... --encrypt-cmd/--encrypt-rsp) or lock the table: vsafe cmdac lock"},
};

const char *vsafe_cli_exposure_text(unsigned bit)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (texts[i].bit == bit) {
            return texts[i].text;
        }
    }
    return "?";
}

const char *vsafe_cli_exposure_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (texts[i].bit == bit) {
            return texts[i].name;
        }
    }
    return "?";
}

void vsafe_cli_exposure_print(FILE *f, unsigned bits)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (bits & texts[i].bit) {
            fprintf(f, "warning: %s\n", texts[i].text);
        }
    }
}

json_t *vsafe_cli_exposure_json(unsigned bits)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (bits & texts[i].bit) {
            json_array_append_new(a, json_pack("{s:s, s:s}", "name", texts[i].name, "message", texts[i].text));
        }
    }
    return a;
}
