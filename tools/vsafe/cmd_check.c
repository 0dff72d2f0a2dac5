/* vsafe check: what is in the device's storage, read without changing anything (the files are
 * opened read-only and take no lock, so it also works next to a running user). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "exposure.h"
#include "port/posix/nvm_file.h"
#include "store/store.h"

typedef struct {
    const char *file;
    const char *what;
    int present;
    int status; /* store report status, or a file open error */
    vsafe_store_report_t rep;
} check_t;

static void check_file(vsafe_cli_t *cli, check_t *c)
{
    struct stat st;
    const char *path = vsafe_cli_device_file(cli, c->file);
    c->present = stat(path, &st) == 0;
    memset(&c->rep, 0, sizeof c->rep);
    if (!c->present) {
        return;
    }
    vsafe_file_nvm_t *f = NULL;
    c->status = vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0);
    if (c->status == VSAFE_OK) {
        c->status = vsafe_store_inspect(vsafe_file_nvm_port(f), &c->rep);
        vsafe_file_nvm_close(f);
    }
}

static json_t *check_json(const check_t *c)
{
    if (!c->present) {
        return json_null();
    }
    json_t *o = json_pack("{s:b, s:s}", "valid", c->status == VSAFE_OK, "status",
                          c->status == VSAFE_OK ? "OK" : vsafe_status_name(c->status));
    if (c->status != VSAFE_OK) {
        json_object_set_new(o, "message", json_string(vsafe_status_message(c->status)));
        return o;
    }
    const vsafe_store_report_t *r = &c->rep;
    json_object_set_new(o, "format_version", json_integer(r->format_version));
    json_object_set_new(o, "image_bytes", json_integer(r->image_len));
    json_object_set_new(o, "sequence", json_integer(r->seq));
    json_object_set_new(o, "snapshot_sequence", json_integer(r->snapshot_seq));
    json_object_set_new(o, "journal_records", json_integer(r->records));
    json_object_set_new(o, "active_half", json_integer(r->active_half));
    json_object_set_new(o, "journal_used", json_integer(r->journal_used));
    json_object_set_new(o, "journal_size", json_integer(r->journal_size));
    json_object_set_new(o, "tail_clean", json_boolean(r->tail_clean));
    json_object_set_new(o, "other_half_sequence", json_integer(r->other_half_seq));
    return o;
}

static void check_print(const check_t *c)
{
    if (!c->present) {
        printf("%-15s absent\n", c->what);
        return;
    }
    if (c->status != VSAFE_OK) {
        printf("%-15s INVALID: %s (%s)\n", c->what, vsafe_status_message(c->status), vsafe_status_name(c->status));
        return;
    }
    const vsafe_store_report_t *r = &c->rep;
    printf("%-15s valid (format %u, %u-byte state)\n", c->what, r->format_version, r->image_len);
    printf("  sequence       %u  (commits since the device was created)\n", r->seq);
    printf("  snapshot       %u, then %u journal record%s replayed\n", r->snapshot_seq, r->records,
           r->records == 1 ? "" : "s");
    printf("  journal        half %u, %u of %u bytes used (%.1f%%)\n", r->active_half, r->journal_used,
           r->journal_size, r->journal_size ? 100.0 * r->journal_used / r->journal_size : 0.0);
    printf("  other half     %s\n", r->other_half_seq ? "older snapshot (superseded)" : "blank");
    printf("  tail           %s\n", r->tail_clean ? "clean"
                                                  : "torn record after the last commit (power was cut); "
                                                    "the next write compacts it away");
    printf("  wear           each half is erased once per compaction (about every %u bytes of records)\n",
           r->journal_size);
}

int vsafe_cmd_check(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_opt_t opts[] = {{NULL, 0, NULL, NULL}};
    int done = 0;
    size_t npos = 0;
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    check_t se = {.file = "se.nvm", .what = "secure element"};
    check_t mcu = {.file = "mcu.nvm", .what = "MCU"};
    check_file(cli, &se);
    check_file(cli, &mcu);
    if (!se.present && !mcu.present) {
        return vsafe_cli_fail_named(cli, "NO_DEVICE", "no device in '%s' (create one with: vsafe --device %s init)",
                                    cli->device_dir, cli->device_dir);
    }
    int ok = (!se.present || se.status == VSAFE_OK) && (!mcu.present || mcu.status == VSAFE_OK);
    /* What anyone on the bus could still change (exposure.h): asked read-only to a valid SE. */
    unsigned exposed = 0;
    if (se.present && se.status == VSAFE_OK && vsafe_cli_exposure_of_device(cli, &exposed) != VSAFE_OK) {
        exposed = 0;
    }
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:b, s:o, s:o}", "device", cli->device_dir, "valid", ok, "se", check_json(&se),
                              "mcu", check_json(&mcu));
        json_object_set_new(o, "warnings", vsafe_cli_exposure_json(exposed));
        (void)vsafe_cli_json_out(cli, o);
    } else {
        printf("device %s\n", cli->device_dir);
        check_print(&se);
        check_print(&mcu);
        vsafe_cli_exposure_print(stdout, exposed);
    }
    return ok ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}
