/* Generates the golden store images (run once; the outputs are committed and never regenerated
 * unless a new format version adds new ones). Usage: store_gen_golden <output directory> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_workload.h"

/* Builds golden g into a fresh simulated NVM; the caller frees it. */
static int build(const golden_t *g, vsafe_sim_nvm_t **out)
{
    vsafe_sim_nvm_t *sim;
    int rc = vsafe_sim_nvm_new(&sim, &g->geo, 0);
    if (rc != 0) {
        return rc;
    }
    uint8_t img[GOLDEN_IMG];
    vsafe_store_t st;
    vsafe_txn_t t;
    golden_initial(img);
    rc = vsafe_store_format(&st, vsafe_sim_nvm_port(sim), img, GOLDEN_IMG, GOLDEN_TAG);
    for (int i = 0; rc == 0 && i < GOLDEN_TXNS; i++) {
        golden_txn(&t, i);
        rc = vsafe_store_commit(&st, &t);
    }
    if (rc == 0 && g->torn_tail) {
        uint8_t *mem = vsafe_sim_nvm_mem(sim, NULL);
        memset(mem + st.half * st.half_bytes + st.tail, 0x5A, 20);
    }
    if (rc != 0) {
        vsafe_sim_nvm_free(sim);
        return rc;
    }
    *out = sim;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        char path[4096];
        vsafe_sim_nvm_t *sim;
        snprintf(path, sizeof path, "%s/%s", argv[1], goldens[i].file);
        if (build(&goldens[i], &sim) != 0 || vsafe_sim_nvm_to_file(sim, path) != 0) {
            fprintf(stderr, "%s: failed\n", path);
            return 1;
        }
        vsafe_sim_nvm_free(sim);
        printf("wrote %s\n", path);
    }
    return 0;
}
