/* Power-tool battery: the usage-monitoring scenario of the SPL05 profile, against the public host API.
 *
 *   power_tool DIR manufacture SERIAL CHEMISTRY CAPACITY_MAH DATE   (the factory, once)
 *   power_tool DIR charge TIME CHARGER_ID ENERGY_WH                 (a charger, each charge)
 *   power_tool DIR report                                           (the tool, any time)
 *
 * Zone 1 holds the manufacturing record as readable text ("serial=...\n..."). Zone 5 is a one-way
 * counter starting at 0xFFFFFFFF: each charge decrements it by one and records the event (16 bytes)
 * as associated data, in a ring of four slots, so cycles used = 0xFFFFFFFF - counter and the last
 * four charges are always on the battery. DIR is a vsafe device directory (vsafe init). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vsafe/host.h"

#define MFG_ZONE 1
#define MFG_LEN 128
#define CYCLE_ZONE 5
#define EVENT_LEN 16
#define EVENT_SLOTS 4

static int fail(const char *what, int rc)
{
    fprintf(stderr, "power_tool: %s: %s (%s)\n", what, vsafe_status_name(rc), vsafe_status_message(rc));
    return 1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int manufacture(vsafe_host_t *h, char **argv)
{
    char rec[MFG_LEN] = {0};
    int n = snprintf(rec, sizeof rec, "serial=%s\nchemistry=%s\ncapacity=%s mAh\ndate=%s\n", argv[0], argv[1],
                     argv[2], argv[3]);
    if (n < 0 || n >= MFG_LEN) {
        fprintf(stderr, "power_tool: manufacturing record longer than %d bytes\n", MFG_LEN - 1);
        return 2;
    }
    /* One atomic update: the record is all there or not at all. */
    int rc = vsafe_host_update_zone(h, VSAFE_HOST_PROT_TABLE, MFG_ZONE, 0, (const uint8_t *)rec, sizeof rec, 1);
    if (rc != VSAFE_OK) {
        return fail("write manufacturing data", rc);
    }
    printf("factory: wrote %d bytes of manufacturing data to zone %d\n", n, MFG_ZONE);
    return 0;
}

static int charge(vsafe_host_t *h, char **argv)
{
    uint32_t counter = 0;
    int rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 0, NULL, 0, &counter);
    if (rc != VSAFE_OK) {
        return fail("read cycle counter", rc);
    }
    uint32_t cycle = 0xFFFFFFFFu - counter + 1u; /* the number this charge will get */
    uint8_t ev[EVENT_LEN];
    put32(ev, (uint32_t)strtoul(argv[0], NULL, 0));
    put32(ev + 4, (uint32_t)strtoul(argv[1], NULL, 0));
    put32(ev + 8, (uint32_t)strtoul(argv[2], NULL, 0));
    put32(ev + 12, cycle);
    uint16_t slot = (uint16_t)(((cycle - 1u) % EVENT_SLOTS) * EVENT_LEN);
    /* Counter and event in one Decrement: the device commits them together. */
    rc = vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 1, slot, ev, sizeof ev, &counter);
    if (rc != VSAFE_OK) {
        return fail("record charge", rc);
    }
    printf("charger %s: charge #%u recorded (%s Wh), counter now %u\n", argv[1], cycle, argv[2], counter);
    return 0;
}

static int report(vsafe_host_t *h)
{
    char rec[MFG_LEN + 1] = {0};
    int rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, MFG_ZONE, 0, (uint8_t *)rec, MFG_LEN);
    if (rc != VSAFE_OK) {
        return fail("read manufacturing data", rc);
    }
    printf("Battery (zone %d)\n", MFG_ZONE);
    if (rec[0] == '\0') {
        printf("  (no manufacturing data)\n");
    }
    for (char *line = strtok(rec, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
            printf("  %-10s %s\n", line, eq + 1);
        }
    }
    uint8_t events[EVENT_LEN * EVENT_SLOTS];
    uint32_t counter = 0;
    rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 0, events, sizeof events, &counter);
    if (rc != VSAFE_OK) {
        return fail("read cycle counter", rc);
    }
    uint32_t used = 0xFFFFFFFFu - counter;
    printf("Charge cycles (zone %d): counter %u, cycles used %u\n", CYCLE_ZONE, counter, used);
    if (used == 0) {
        return 0;
    }
    if (used > EVENT_SLOTS) {
        printf("  the last %d charges:\n", EVENT_SLOTS);
    }
    printf("  %-6s %-18s %-11s %s\n", "cycle", "time (UTC)", "charger", "energy");
    uint32_t first = used > EVENT_SLOTS ? used - EVENT_SLOTS + 1u : 1u;
    for (uint32_t c = first; c <= used; c++) {
        const uint8_t *e = events + ((c - 1u) % EVENT_SLOTS) * EVENT_LEN;
        time_t t = (time_t)get32(e);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime(&t));
        printf("  %-6u %-18s 0x%08x  %u Wh\n", get32(e + 12), when, get32(e + 4), get32(e + 8));
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[2], "manufacture") == 0 && argc != 7) || (strcmp(argv[2], "charge") == 0 && argc != 6)) {
        fprintf(stderr, "usage: power_tool DIR manufacture SERIAL CHEMISTRY CAPACITY_MAH DATE\n"
                        "       power_tool DIR charge TIME CHARGER_ID ENERGY_WH\n"
                        "       power_tool DIR report\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/se.nvm", argv[1]);
    vsafe_se_options_t opt = {.profile = NULL, .state_path = path};
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    int rc = vsafe_se_open(&se, &opt);
    if (rc != VSAFE_OK) {
        return fail("open device", rc);
    }
    if ((rc = vsafe_host_open_se(&h, se)) != VSAFE_OK || (rc = vsafe_host_init(h)) != VSAFE_OK) {
        vsafe_host_close(h);
        vsafe_se_close(se);
        return fail("init", rc);
    }
    int status;
    if (strcmp(argv[2], "manufacture") == 0) {
        status = manufacture(h, argv + 3);
    } else if (strcmp(argv[2], "charge") == 0) {
        status = charge(h, argv + 3);
    } else if (strcmp(argv[2], "report") == 0) {
        status = report(h);
    } else {
        fprintf(stderr, "power_tool: unknown step '%s'\n", argv[2]);
        status = 2;
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    return status;
}
