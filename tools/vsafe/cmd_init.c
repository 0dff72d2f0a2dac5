/* vsafe init: a new device in DIR from a profile. Every failure names what failed (an option's
 * file, the device directory, the profile) with the reason, and blames the profile only when the
 * profile is at fault. A directory init made and could not fill is removed again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_io.h"
#include "common/secure.h"

#define ZONES_MAX 256

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

/* A --profile that names a file (it has a '/' or ends in ".json") must be a readable regular file;
 * a missing one is ERR_PROFILE_UNKNOWN, as for a name no profile has. Other names are the library's
 * to resolve (built-in, $VSAFE_PROFILE_PATH, the installed profiles). */
static int profile_file_check(vsafe_cli_t *cli, const char *profile)
{
    size_t n = profile != NULL ? strlen(profile) : 0;
    if (profile == NULL || (strchr(profile, '/') == NULL && (n < 5 || strcmp(profile + n - 5, ".json") != 0))) {
        return 0;
    }
    struct stat st;
    int e = stat(profile, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e == 0 && access(profile, R_OK) != 0) {
        e = errno;
    }
    if (e == 0) {
        return 0;
    }
    int status = vsafe_cli_errno_status(e) == VSAFE_ERR_NOT_FOUND ? VSAFE_ERR_PROFILE_UNKNOWN : VSAFE_ERR_IO;
    return vsafe_cli_fail_named(cli, vsafe_status_name(status), "--profile: cannot read profile file '%s': %s", profile,
                                strerror(e));
}

/* A file option that must be readable (the CA's certificate and key). */
static int readable(vsafe_cli_t *cli, const char *opt, const char *path, int key)
{
    if (path == NULL) {
        return 0;
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = key ? vsafe_cli_read_key_file(cli, opt, path, 1u << 20, &buf, &n)
                 : vsafe_cli_read_file(cli, opt, path, 1u << 20, &buf, &n);
    if (rc == 0) {
        vsafe_wipe(buf, n);
        free(buf);
    }
    return rc;
}

/* The device directory exists (created with its parents when not) and is a directory. */
static int device_dir_check(vsafe_cli_t *cli)
{
    if (mkdir_p(cli->device_dir) != 0) {
        int e = errno;
        return vsafe_cli_fail_named(cli, vsafe_status_name(vsafe_cli_errno_status(e)),
                                    "cannot create the device directory '%s': %s", cli->device_dir, strerror(e));
    }
    struct stat st;
    int e = stat(cli->device_dir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (e != 0) {
        return vsafe_cli_fail_named(cli, vsafe_status_name(VSAFE_ERR_IO), "cannot use '%s' as the device directory: %s",
                                    cli->device_dir, strerror(e));
    }
    return 0;
}

/* Why the device could not be made: the profile only when the profile is at fault. */
static int init_fail(vsafe_cli_t *cli, int rc, const char *profile, const char *why)
{
    const char *name = profile != NULL ? profile : "spl05";
    /* The profile module's statuses (-300..-399) and the compile-time refusals of a profile. */
    int profile_fault = (rc <= -300 && rc > -400) || rc == VSAFE_ERR_BAD_PROFILE || rc == VSAFE_ERR_PROFILE_TOO_LARGE;
    if (why[0] == '\0') {
        return profile_fault ? vsafe_cli_fail(cli, rc, "profile '%s'", name)
                             : vsafe_cli_fail(cli, rc, "cannot create the device in '%s'", cli->device_dir);
    }
    /* The library's reason is the message; the status name alone follows it (its generic text
     * would repeat it or, for a profile file, be wrong: "unknown built-in profile"). */
    if (profile_fault) {
        if (strstr(why, name) != NULL) {
            return vsafe_cli_fail_named(cli, vsafe_status_name(rc), "--profile: %s", why);
        }
        return vsafe_cli_fail_named(cli, vsafe_status_name(rc), "--profile '%s': %s", name, why);
    }
    return vsafe_cli_fail_named(cli, vsafe_status_name(rc), "cannot create the device in '%s': %s", cli->device_dir,
                                why);
}

static int make_device(vsafe_cli_t *cli, const char *profile, const char *ca_cert, const char *ca_key,
                       const char *durability, int force);

int vsafe_cmd_init(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *profile = NULL, *ca_cert = NULL, *ca_key = NULL, *durability = NULL;
    int force = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"profile", 1, &profile, NULL, "NAME|FILE", "built-in profile name (spl05, the default) or a JSON profile file"}, {"force", 0, NULL, &force, NULL, "replace an existing device (its state is lost)"},
                                    {"ca-cert", 1, &ca_cert, NULL, "FILE", "CA certificate (PEM) that signs the device identity, with --ca-key"}, {"ca-key", 1, &ca_key, NULL, "FILE", "CA private key (PEM) that signs the device identity, with --ca-cert"},
                                    {"durability", 1, &durability, NULL, "power|process", "power (default): every response durable against power loss; process: no sync, survives a crash of the process only"},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (durability != NULL && strcmp(durability, "power") != 0 && strcmp(durability, "process") != 0) {
        return vsafe_cli_usage_error(cli, "--durability is power or process, not '%s'", durability);
    }
    if ((ca_cert == NULL) != (ca_key == NULL)) {
        return vsafe_cli_usage_error(cli, "--ca-cert and --ca-key go together");
    }
    /* The files given are read first: a typo leaves no new directory behind, and each failure
     * names the option, the path and the reason, not the profile. */
    struct stat dst;
    int created = stat(cli->device_dir, &dst) != 0 && errno == ENOENT;
    if ((rc = profile_file_check(cli, profile)) != 0 || (rc = readable(cli, "--ca-cert", ca_cert, 0)) != 0 ||
        (rc = readable(cli, "--ca-key", ca_key, 1)) != 0 || (rc = device_dir_check(cli)) != 0) {
        return rc;
    }
    rc = make_device(cli, profile, ca_cert, ca_key, durability, force);
    if (rc != 0 && created) {
        /* A directory this command made and left empty goes again (rmdir leaves anything else). */
        (void)rmdir(cli->device_dir);
    }
    return rc;
}

/* init once its inputs are checked and DIR exists: se.nvm from the profile, then the durability file. */
static int make_device(vsafe_cli_t *cli, const char *profile, const char *ca_cert, const char *ca_key,
                       const char *durability, int force)
{
    int rc;
    char path[4096];
    snprintf(path, sizeof path, "%s", vsafe_cli_device_file(cli, "se.nvm"));
    struct stat st;
    if (stat(path, &st) == 0 && !force) {
        return vsafe_cli_fail_named(cli, "DEVICE_EXISTS",
                                    "a device already exists in '%s'; use --force to replace it (its state is lost)",
                                    cli->device_dir);
    }
    /* Build the new device beside the old one and rename it over only once it exists: a bad
     * profile leaves an existing device untouched. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    (void)unlink(tmp);
    /* Whether the directory takes a new file, asked directly so the reason is the system's. */
    int probe = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (probe < 0) {
        int e = errno;
        return vsafe_cli_fail_named(cli, vsafe_status_name(vsafe_cli_errno_status(e)),
                                    "cannot write the device directory '%s': cannot create '%s': %s", cli->device_dir,
                                    tmp, strerror(e));
    }
    close(probe);
    (void)unlink(tmp);
    vsafe_se_options_t o = {.profile = profile, .state_path = tmp};
    char why[512] = "";
    vsafe_se_open_ext_t ext = {.error_message = why, .error_message_cap = sizeof why, .ca_cert_path = ca_cert,
                               .ca_key_path = ca_key};
    if ((rc = vsafe_cli_se_seed(cli, 1, &ext.rng_seed)) != 0) {
        return rc;
    }
    rc = vsafe_se_open_ex(&cli->se, &o, &ext);
    if (rc != 0) {
        cli->se = NULL;
        (void)unlink(tmp);
        return init_fail(cli, rc, profile, why);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        vsafe_se_close(cli->se);
        cli->se = NULL;
        (void)unlink(tmp);
        return vsafe_cli_fail_named(cli, vsafe_status_name(vsafe_cli_errno_status(e)), "cannot install '%s': %s", path,
                                    strerror(e));
    }
    vsafe_se_close(cli->se);
    cli->se = NULL;
    /* The level `vsafe serve` keeps this device at (docs/SOCKET.md, "Durability"). */
    rc = vsafe_cli_write_durability(cli, durability != NULL ? durability : "power");
    if (rc != 0) {
        return rc;
    }
    rc = vsafe_cli_open_host(cli);
    if (rc != 0) {
        return rc;
    }
    vsafe_host_zone_t zones[ZONES_MAX];
    size_t count = 0;
    rc = vsafe_host_zones(cli->host, zones, ZONES_MAX, &count);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "partition query");
    }
    const char *pname = profile != NULL ? profile : "spl05";
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:i}}", "init", "device", cli->device_dir,
                                                 "profile", pname, "zones", (int)count));
    }
    printf("created a device in %s from profile %s: %zu zones (see: vsafe zones)\n", cli->device_dir, pname, count);
    return VSAFE_CLI_EXIT_OK;
}
