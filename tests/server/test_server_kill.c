/* SIGKILL of `vsafe serve` at random instants while clients decrement counters on several devices:
 * after every restart each device opens, and each counter is within what the clients saw
 * acknowledged: every acknowledged decrement is kept (counter <= base - acked), and at most the one
 * command each client had in flight may have completed without its reply (>= base - acked - 1).
 * Kills alternate between durability power and process (both must survive a crash of the process;
 * only power also survives a power loss, which no test here can cause).
 * Usage: test_server_kill VSAFE_CLI [KILLS] */
#include <pthread.h>
#include <stdatomic.h>

#include "server_util.h"

#define DEVICES 4
#define ZONE 5

typedef struct {
    const char *sock;
    char name[16];
    atomic_uint acked;
    atomic_int stop;
    int opened;
} client_t;

static void *client(void *arg)
{
    client_t *c = arg;
    vsafe_host_t *h = su_host(c->sock, c->name);
    c->opened = h != NULL;
    while (h != NULL && !atomic_load(&c->stop)) {
        if (vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, NULL) != VSAFE_OK) {
            break; /* the server died: this command's reply never came */
        }
        atomic_fetch_add(&c->acked, 1);
    }
    vsafe_host_close(h);
    return NULL;
}

static int read_counters(const char *sock, uint32_t out[DEVICES])
{
    for (int i = 0; i < DEVICES; i++) {
        char name[16];
        snprintf(name, sizeof name, "dev%d", i);
        vsafe_host_t *h = su_host(sock, name);
        uint8_t b[1];
        if (h == NULL || vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, ZONE, 0, b, 0, &out[i]) != 0) {
            vsafe_host_close(h);
            return -1;
        }
        vsafe_host_close(h);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_server_kill VSAFE_CLI [KILLS]\n");
        return 2;
    }
    su_vsafe = argv[1];
    int kills = argc > 2 ? atoi(argv[2]) : 200;
    snprintf(su_tmp, sizeof su_tmp, "/tmp/vsafe-test-kill-XXXXXX");
    if (mkdtemp(su_tmp) == NULL) {
        return 1;
    }
    char root[300], sock[300], dev[400];
    snprintf(root, sizeof root, "%s/root", su_tmp);
    snprintf(sock, sizeof sock, "%s/s.sock", su_tmp);
    mkdir(root, 0700);
    for (int i = 0; i < DEVICES; i++) {
        snprintf(dev, sizeof dev, "%s/dev%d", root, i);
        CHECK(su_make_device(dev) == VSAFE_OK, "device %d", i);
    }
    uint32_t base[DEVICES];
    unsigned long total_acked = 0, lost_replies = 0;
    unsigned seed = 12345;
    su_server_t s;
    const char *power[] = {"--root", root, "--socket", sock, NULL};
    const char *process[] = {"--root", root, "--socket", sock, "--durability", "process", NULL};
    CHECK(su_start(&s, power) == 0, "first start");
    CHECK(read_counters(sock, base) == 0, "first read");
    for (int k = 0; k < kills && su_fails == 0; k++) {
        client_t cs[DEVICES];
        pthread_t t[DEVICES];
        for (int i = 0; i < DEVICES; i++) {
            memset(&cs[i], 0, sizeof cs[i]);
            cs[i].sock = sock;
            snprintf(cs[i].name, sizeof cs[i].name, "dev%d", i);
            pthread_create(&t[i], NULL, client, &cs[i]);
        }
        seed = seed * 1103515245u + 12345u;
        usleep(2000 + (seed >> 8) % 30000); /* 2..32 ms into the load */
        CHECK(su_stop(&s, SIGKILL) == 256 + SIGKILL, "kill %d", k);
        for (int i = 0; i < DEVICES; i++) {
            atomic_store(&cs[i].stop, 1);
            pthread_join(t[i], NULL);
        }
        int rc = su_start(&s, k % 2 ? power : process);
        CHECK(rc == 0, "restart %d after SIGKILL (on the stale socket): %d", k, rc);
        if (rc != 0) {
            break;
        }
        uint32_t now[DEVICES];
        CHECK(read_counters(sock, now) == 0, "every device opens after kill %d", k);
        for (int i = 0; i < DEVICES; i++) {
            uint32_t acked = atomic_load(&cs[i].acked);
            CHECK(now[i] <= base[i] - acked, "kill %d device %d: an acknowledged decrement is lost (%u > %u - %u)",
                  k, i, now[i], base[i], acked);
            CHECK(now[i] + 1 >= base[i] - acked, "kill %d device %d: more than the command in flight applied", k,
                  i);
            total_acked += acked;
            lost_replies += base[i] - acked - now[i];
            base[i] = now[i];
        }
    }
    su_stop(&s, SIGTERM);
    printf("%d SIGKILLs under load from %d clients on %d devices: %lu acknowledged decrements all kept, "
           "%lu commands completed whose reply the kill swallowed; %d checks, %d failed\n",
           kills, DEVICES, DEVICES, total_acked, lost_replies, su_checks, su_fails);
    CHECK(total_acked > (unsigned long)kills, "the load was real (%lu acknowledged)", total_acked);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", su_tmp);
    if (su_fails == 0 && system(cmd) != 0) {
        return 1;
    }
    return su_fails == 0 ? 0 : 1;
}
