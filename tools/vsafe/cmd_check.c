/* vsafe check: what is in the device's storage, read without changing anything (the files are
 * opened read-only and take no lock, so it also works next to a running user). It tells a torn
 * newest record (a power cut; nothing acknowledged is lost) from corrected bits and from damage,
 * with offsets (docs/NVM-FORMAT.md §6).
 *
 * vsafe check --salvage is the only way to open a damaged state file: it keeps the longest intact
 * prefix, says which commits it gives up, and records that it happened in DIR/salvage.log (one
 * line per salvage, appended and fsynced *before* the state file is written, so a salvage that
 * may have happened is always on record); later checks report that log. Without --salvage
 * nothing is ever written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exposure.h"
#include "port/posix/nvm_file.h"
#include "store/store.h"

#define SALVAGE_LOG "salvage.log"

typedef struct {
    const char *file;
    const char *what;
    int present;
    int status; /* store report status, or a file open error */
    vsafe_store_report_t rep;
    char line[512]; /* vsafe_store_describe of rep.recovery */
} check_t;

static void check_file(vsafe_cli_t *cli, check_t *c)
{
    struct stat st;
    const char *path = vsafe_cli_device_file(cli, c->file);
    c->present = lstat(path, &st) == 0;
    memset(&c->rep, 0, sizeof c->rep);
    c->line[0] = '\0';
    if (!c->present) {
        return;
    }
    vsafe_file_nvm_t *f = NULL;
    c->status = vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0);
    if (c->status == VSAFE_OK) {
        c->status = vsafe_store_inspect(vsafe_file_nvm_port(f), &c->rep);
        vsafe_file_nvm_close(f);
        (void)vsafe_store_describe(&c->rep.recovery, c->line, sizeof c->line);
    }
}

static const char *half_name(uint32_t h) { return h == 0u ? "A" : "B"; }

static const char *recovery_state(const check_t *c)
{
    const vsafe_store_recovery_t *r = &c->rep.recovery;
    if (c->status == VSAFE_ERR_STORE_DAMAGED || c->status == VSAFE_ERR_STORE_CORRUPT) {
        return "damaged";
    }
    if (r->corrected_bits != 0u) {
        return "corrected";
    }
    return r->torn ? "torn" : "clean";
}

/* Commits a salvage would give up: rep.seq (the newest intact) + 1 .. the newest seen. */
static uint32_t would_lose(const vsafe_store_report_t *r)
{
    const vsafe_store_recovery_t *v = &r->recovery;
    uint32_t last = v->newest_seen_seq;
    if (v->damage_seq_known && (int32_t)(v->damage_seq - last) > 0) {
        last = v->damage_seq;
    }
    return (int32_t)(last - r->seq) > 0 ? last - r->seq : 0u;
}

static json_t *recovery_json(const check_t *c)
{
    const vsafe_store_recovery_t *r = &c->rep.recovery;
    json_t *o = json_pack("{s:s, s:s, s:i}", "state", recovery_state(c), "description", c->line, "corrected_bits",
                          (json_int_t)r->corrected_bits);
    json_t *fixes = json_array();
    for (uint32_t i = 0; i < r->fixes; i++) {
        json_array_append_new(fixes, json_pack("{s:s, s:i, s:i, s:i}", "half", half_name(r->fix[i].half), "sequence",
                                               (json_int_t)r->fix[i].seq, "offset", (json_int_t)r->fix[i].offset,
                                               "bit", (json_int_t)r->fix[i].bit));
    }
    json_object_set_new(o, "corrections", fixes);
    json_object_set_new(o, "torn", r->torn ? json_pack("{s:s, s:i}", "half", half_name(r->torn_half), "offset",
                                                       (json_int_t)r->torn_offset)
                                           : json_null());
    if (r->damage != VSAFE_STORE_DAMAGE_NONE) {
        static const char *const kinds[] = {"none", "record", "newest", "snapshot", "no_snapshot"};
        json_t *d = json_pack("{s:s, s:s, s:i}", "kind", kinds[r->damage], "half", half_name(r->damage_half),
                              "offset", (json_int_t)r->damage_offset);
        json_object_set_new(d, "sequence", r->damage_seq_known ? json_integer(r->damage_seq) : json_null());
        if (c->status == VSAFE_ERR_STORE_DAMAGED) {
            json_object_set_new(d, "salvage_keeps_sequence", json_integer(c->rep.seq));
            json_object_set_new(d, "salvage_loses_commits", json_integer(would_lose(&c->rep)));
        }
        json_object_set_new(o, "damage", d);
    } else {
        json_object_set_new(o, "damage", json_null());
    }
    json_object_set_new(o, "superseded_snapshot_damaged", json_boolean(r->stale_damage));
    return o;
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
    }
    if (c->status == VSAFE_ERR_STORE_DAMAGED || c->status == VSAFE_ERR_STORE_CORRUPT) {
        json_object_set_new(o, "recovery", recovery_json(c));
    }
    if (c->status != VSAFE_OK) {
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
    json_object_set_new(o, "other_half_sequence",
                        r->other_half_valid ? json_integer(r->other_half_seq) : json_null());
    json_object_set_new(o, "recovery", recovery_json(c));
    return o;
}

static void check_print(const check_t *c)
{
    const vsafe_store_report_t *r = &c->rep;
    if (!c->present) {
        printf("%-15s absent\n", c->what);
        return;
    }
    if (c->status == VSAFE_ERR_STORE_DAMAGED) {
        printf("%-15s DAMAGED (not a power cut): %s\n", c->what, c->line);
        uint32_t lose = would_lose(r);
        printf("  opening        refused; 'vsafe check --salvage' would keep the state at sequence %u and give up "
               "%u commit%s after it (%u..%u)\n",
               r->seq, lose, lose == 1u ? "" : "s", r->seq + 1u, r->seq + lose);
        return;
    }
    if (c->status != VSAFE_OK) {
        printf("%-15s INVALID: %s (%s)%s%s\n", c->what, vsafe_status_message(c->status), vsafe_status_name(c->status),
               c->line[0] && c->status == VSAFE_ERR_STORE_CORRUPT ? ": " : "",
               c->status == VSAFE_ERR_STORE_CORRUPT ? c->line : "");
        return;
    }
    printf("%-15s valid (format %u, %u-byte state)\n", c->what, r->format_version, r->image_len);
    printf("  sequence       %u  (commits since the device was created)\n", r->seq);
    printf("  snapshot       %u, then %u journal record%s replayed\n", r->snapshot_seq, r->records,
           r->records == 1 ? "" : "s");
    printf("  journal        half %u, %u of %u bytes used (%.1f%%)\n", r->active_half, r->journal_used,
           r->journal_size, r->journal_size ? 100.0 * r->journal_used / r->journal_size : 0.0);
    printf("  other half     %s\n", !r->other_half_valid ? "blank"
                                    : r->recovery.stale_damage
                                        ? "older snapshot (superseded), DAMAGED: the state does not depend on it; "
                                          "the next compaction erases it"
                                        : "older snapshot (superseded)");
    const vsafe_store_recovery_t *v = &r->recovery;
    if (v->corrected_bits != 0u) {
        printf("  recovery       %s; the state is exact, the next write rewrites it in the other half\n", c->line);
    } else if (v->torn) {
        printf("  recovery       %s; the next write compacts it away\n", c->line);
    } else {
        printf("  recovery       clean\n");
    }
    printf("  tail           %s\n", r->tail_clean ? "clean" : "not erased after the last commit (torn record)");
    printf("  wear           each half is erased once per compaction (about every %u bytes of records)\n",
           r->journal_size);
}

/* The salvage log: what vsafe check --salvage did, one line each. */
static int log_append(vsafe_cli_t *cli, const char *line)
{
    const char *path = vsafe_cli_device_file(cli, SALVAGE_LOG);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return VSAFE_ERR_IO;
    }
    size_t n = strlen(line);
    int rc = write(fd, line, n) == (ssize_t)n && fsync(fd) == 0 ? VSAFE_OK : VSAFE_ERR_IO;
    if (close(fd) != 0) {
        rc = VSAFE_ERR_IO;
    }
    int dfd = open(cli->device_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0) {
            rc = VSAFE_ERR_IO;
        }
        close(dfd);
    }
    return rc;
}

typedef struct {
    unsigned count;
    char last[1024];
} salvage_log_t;

static void log_read(vsafe_cli_t *cli, salvage_log_t *l)
{
    memset(l, 0, sizeof *l);
    FILE *f = fopen(vsafe_cli_device_file(cli, SALVAGE_LOG), "r");
    if (f == NULL) {
        return;
    }
    char buf[1024];
    while (fgets(buf, sizeof buf, f) != NULL) {
        size_t n = strlen(buf);
        while (n > 0u && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
            buf[--n] = '\0';
        }
        if (n > 0u) {
            l->count++;
            memcpy(l->last, buf, n + 1u);
        }
    }
    fclose(f);
}

/* Salvages one damaged state file: log first (what will be lost), then write (store). */
static int salvage_file(vsafe_cli_t *cli, check_t *c)
{
    const char *path = vsafe_cli_device_file(cli, c->file);
    char pathcopy[4096];
    snprintf(pathcopy, sizeof pathcopy, "%s", path);
    vsafe_file_nvm_t *f = NULL;
    int rc = vsafe_file_nvm_open(&f, pathcopy, 0, 0);
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "%s: cannot open for salvage: %s", pathcopy, vsafe_status_message(rc));
    }
    vsafe_nvm_t *nvm = vsafe_file_nvm_port(f);
    uint32_t len = 0, tag = 0;
    rc = vsafe_store_probe(nvm, &len, &tag);
    uint8_t *image = rc == VSAFE_OK ? calloc(1, len) : NULL;
    if (rc == VSAFE_OK && image == NULL) {
        rc = VSAFE_ERR_NO_MEMORY;
    }
    vsafe_store_report_t pre;
    if (rc == VSAFE_OK) {
        rc = vsafe_store_inspect(nvm, &pre); /* under the lock: nobody changed it since */
    }
    if (rc != VSAFE_ERR_STORE_DAMAGED) {
        free(image);
        vsafe_file_nvm_close(f);
        return vsafe_cli_fail(cli, rc == VSAFE_OK ? VSAFE_ERR_STATE : rc, "%s: %s", pathcopy,
                              rc == VSAFE_OK ? "not damaged any more: nothing to salvage" : vsafe_status_message(rc));
    }
    char what[512], line[1024], stamp[32];
    (void)vsafe_store_describe(&pre.recovery, what, sizeof what);
    uint32_t lose = would_lose(&pre);
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    snprintf(line, sizeof line,
             "%s %s salvaged: kept the state at sequence %u, gave up %u commit%s (sequences %u..%u); %s\n", stamp,
             c->file, pre.seq, lose, lose == 1u ? "" : "s", pre.seq + 1u, pre.seq + lose, what);
    rc = log_append(cli, line);
    if (rc != VSAFE_OK) {
        free(image);
        vsafe_file_nvm_close(f);
        return vsafe_cli_fail(cli, rc, "%s: cannot record the salvage in %s: not salvaged", cli->device_dir,
                              SALVAGE_LOG);
    }
    vsafe_store_report_t rep;
    rc = vsafe_store_salvage(nvm, image, len, &rep);
    if (image != NULL) {
        memset(image, 0, len);
    }
    free(image);
    vsafe_file_nvm_close(f);
    if (rc != VSAFE_OK) {
        char fail_line[256];
        snprintf(fail_line, sizeof fail_line, "%s %s salvage FAILED: %s\n", stamp, c->file, vsafe_status_message(rc));
        (void)log_append(cli, fail_line);
        return vsafe_cli_fail(cli, rc, "%s: salvage failed: %s", pathcopy, vsafe_status_message(rc));
    }
    if (!cli->json) {
        printf("%s: salvaged: kept the state at sequence %u, gave up %u commit%s (sequences %u..%u): %s\n", c->what,
               rep.seq, rep.lost_count, rep.lost_count == 1u ? "" : "s", rep.lost_first, rep.lost_last, what);
        printf("%s: wrote a fresh snapshot (sequence %u); recorded in %s\n", c->what, rep.salvage_seq,
               vsafe_cli_device_file(cli, SALVAGE_LOG));
    }
    return VSAFE_OK;
}

int vsafe_cmd_check(vsafe_cli_t *cli, int argc, char **argv)
{
    int salvage = 0;
    const vsafe_cli_opt_t opts[] = {{"salvage", 0, NULL, &salvage, NULL, "mount the longest undamaged prefix of a DAMAGED state, logged to DIR/salvage.log (loses what the report says)"}, VSAFE_CLI_OPT_END};
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
    if (salvage) {
        int salvaged = 0;
        check_t *all[2] = {&se, &mcu};
        for (int i = 0; i < 2; i++) {
            if (all[i]->present && all[i]->status == VSAFE_ERR_STORE_DAMAGED) {
                rc = salvage_file(cli, all[i]);
                if (rc != VSAFE_OK) {
                    return rc;
                }
                salvaged++;
                check_file(cli, all[i]);
            }
        }
        if (salvaged == 0 && !cli->json) {
            printf("nothing to salvage: no state file is damaged\n");
        }
    }
    salvage_log_t slog;
    log_read(cli, &slog);
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
        json_object_set_new(o, "salvages", json_pack("{s:i, s:s?}", "count", (json_int_t)slog.count, "last",
                                                     slog.count ? slog.last : NULL));
        (void)vsafe_cli_json_out(cli, json_pack("{s:o}", "check", o));
    } else {
        printf("device %s\n", cli->device_dir);
        check_print(&se);
        check_print(&mcu);
        if (slog.count != 0u) {
            printf("salvaged       %u time%s (%s); last: %s\n", slog.count, slog.count == 1u ? "" : "s",
                   vsafe_cli_device_file(cli, SALVAGE_LOG), slog.last);
        }
        vsafe_cli_exposure_print(stdout, exposed);
    }
    return ok ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}
