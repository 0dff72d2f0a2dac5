/* A bus master without the host key, against the device in DIR (finding 4 of issue 8): it tries
 * to re-enable plaintext provisioning through Put 0x4A, to write a host key of its own, and to
 * decrement a Host-protected counter. Exit 0 when the device refused all three, 1 when any
 * succeeded (the attacker took the channel over), 2 on a setup error.
 * usage: bus_attacker DIR COUNTER_ZONE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsafe/host.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bus_attacker DIR COUNTER_ZONE\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/se.nvm", argv[1]);
    vsafe_se_options_t o = {.profile = NULL, .state_path = path};
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    if (vsafe_se_open(&se, &o) != VSAFE_OK || vsafe_host_open_se(&h, se) != VSAFE_OK || vsafe_host_init(h) != VSAFE_OK) {
        fprintf(stderr, "bus_attacker: cannot open %s\n", path);
        return 2;
    }
    int took_over = 0;
    /* 1: plaintext + re-provisioning + change right, no authentication key */
    const uint8_t open_ctrl[2] = {0x0E, 0xFF};
    int rc = vsafe_host_put_key_ctrl(h, VSAFE_HOST_PROT_NONE, open_ctrl);
    printf("Put 0x4A (re-enable provisioning): %s\n", vsafe_status_name(rc));
    took_over |= rc == VSAFE_OK;
    /* 2: a key of the attacker's own */
    uint8_t mine[16];
    memset(mine, 0x5A, sizeof mine);
    rc = vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, mine, mine);
    printf("write host key (plaintext): %s\n", vsafe_status_name(rc));
    took_over |= rc == VSAFE_OK;
    /* 3: decrement the Host counter with that key */
    if (vsafe_host_session_open(h, mine, mine, VSAFE_HOST_KEY_AES128) == VSAFE_OK) {
        rc = vsafe_host_decrement(h, VSAFE_HOST_PROT_MAC, (uint8_t)atoi(argv[2]), 1, 0, NULL, 0, NULL);
        printf("decrement with the attacker's key: %s\n", vsafe_status_name(rc));
        took_over |= rc == VSAFE_OK;
        vsafe_host_session_close(h);
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    return took_over ? 1 : 0;
}
