/* `vsafe help`: the one source of the CLI's documentation is the option tables the commands
 * parse with (vsafe_cli_opt_t, each option with its help line), the subcommand tables
 * (vsafe_cli_sub_t) and the command table of main.c. This file walks them all — every command and
 * subcommand run with --help while cli->help_all collects what they describe — and renders:
 *   vsafe help [COMMAND [SUB]]   the same as `vsafe COMMAND [SUB] --help`
 *   vsafe help --json            the whole tree (commands, subcommands, options)
 *   vsafe help --man             the man page vsafe(1), troff (installed as share/man/man1/vsafe.1)
 *   vsafe help --completion      the bash completion script (share/bash-completion/completions/vsafe)
 *   vsafe help --markdown        docs/CLI-REFERENCE.md (test cli_help keeps the committed copy current)
 * Nothing here opens a device: the walk runs with a device directory that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsafe/version.h>

#include "cli.h"

/* Every command and subcommand, as the parsers describe them; NULL on out of memory. */
static json_t *walk(const vsafe_cli_t *outer)
{
    size_t n = 0;
    const vsafe_cli_command_t *cmds = vsafe_cli_commands(&n);
    json_t *all = json_array();
    if (all == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        vsafe_cli_t w = {0};
        w.prog = outer->prog;
        w.device_dir = "/nonexistent/vsafe-help-walk";
        w.command = cmds[i].name;
        w.usage = cmds[i].usage;
        w.summary = cmds[i].summary;
        w.help_all = all;
        char *av[] = {(char *)cmds[i].name, (char *)"--help", NULL};
        size_t before = json_array_size(all);
        (void)cmds[i].fn(&w, 2, av);
        if (json_array_size(all) == before) {
            /* A command that did not describe itself: recorded, so that test cli_help fails. */
            json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:b, s:[]}", "command", cmds[i].name, "usage",
                                                 cmds[i].usage, "summary", cmds[i].summary, "undescribed", 1,
                                                 "options"));
        }
    }
    return all;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* ---- man page ---- */

/* troff-safe text: backslashes and hyphens escaped, a leading '.' or '\'' neutralised. */
static void man_text(FILE *f, const char *s)
{
    if (s[0] == '.' || s[0] == '\'') {
        fputs("\\&", f);
    }
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            fputs("\\e", f);
        } else if (*s == '-') {
            fputs("\\-", f);
        } else {
            fputc(*s, f);
        }
    }
}

static void man_option(FILE *f, const char *name, const char *arg, const char *help_text)
{
    fputs(".TP\n.B ", f);
    man_text(f, name);
    if (arg != NULL && arg[0] != '\0') {
        fputs(" \\fI", f);
        man_text(f, arg);
        fputs("\\fR", f);
    }
    fputc('\n', f);
    man_text(f, help_text);
    fputc('\n', f);
}

static void render_man(FILE *f, json_t *all)
{
    fprintf(f, ".TH VSAFE 1 \"\" \"vsafe %s\" \"User Commands\"\n", VSAFE_VERSION_STRING);
    fputs(".SH NAME\nvsafe \\- virtual STSAFE\\-A120\\-class secure element and STM32H5\\-class MCU lifecycle\n", f);
    fputs(".SH SYNOPSIS\n.B vsafe\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fISUBCOMMAND\\fR] [\\fIOPTIONS\\fR]\n", f);
    fputs(".SH DESCRIPTION\n", f);
    fputs("vsafe runs a virtual secure element that speaks the STSAFE\\-A120 host protocol byte for byte, with "
          "persistent memory that survives power loss at any instant, and the product lifecycle of the MCU "
          "in front of it. A device lives in a directory (its state files); every command opens it, runs "
          "one or more device commands, and leaves it durable.\n",
          f);
    fputs(".SH GLOBAL OPTIONS\n", f);
    size_t ng = 0;
    const vsafe_cli_global_t *g = vsafe_cli_globals(&ng);
    for (size_t i = 0; i < ng; i++) {
        man_option(f, g[i].name, g[i].arg, g[i].help);
    }
    fputs(".SH COMMANDS\n", f);
    size_t idx;
    json_t *c;
    json_array_foreach(all, idx, c)
    {
        fputs(".SS \"", f);
        man_text(f, "vsafe ");
        man_text(f, str(c, "usage"));
        fputs("\"\n", f);
        man_text(f, str(c, "summary"));
        fputc('\n', f);
        if (str(c, "text")[0] != '\0') {
            /* the subcommand's own description, laid out as it wrote it */
            fputs(".PP\n.nf\n", f);
            const char *t = str(c, "text");
            while (*t != '\0') {
                const char *nl = strchr(t, '\n');
                size_t len = nl != NULL ? (size_t)(nl - t) : strlen(t);
                char line[256];
                snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), t);
                man_text(f, line);
                fputc('\n', f);
                t += len + (nl != NULL);
            }
            fputs(".fi\n", f);
        }
        size_t j;
        json_t *o;
        json_array_foreach(json_object_get(c, "options"), j, o)
        {
            if (json_object_get(o, "help") == NULL) {
                continue; /* in the text above */
            }
            char name[80];
            snprintf(name, sizeof name, "--%s", str(o, "name"));
            man_option(f, name, json_string_value(json_object_get(o, "arg")), str(o, "help"));
        }
    }
    fputs(".SH EXIT STATUS\n0 success; 1 the operation failed (a device refusal names the device status, "
          "for example ACCESS_CONDITION_NOT_SATISFIED); 2 bad arguments.\n",
          f);
    fputs(".SH ENVIRONMENT\n.TP\n.B VSAFE_DEVICE\nthe device directory when \\-\\-device is not given.\n"
          ".TP\n.B VSAFE_CA_DIR\nthe local CA that signs new device identities (default "
          "$XDG_DATA_HOME/vsafe/ca, else ~/.local/share/vsafe/ca).\n"
          ".TP\n.B VSAFE_CONNECT\nthe served device to reach when \\-\\-connect is not given.\n"
          ".TP\n.B VSAFE_SE_SEED\nseed of the secure element's random generator, for repeatable runs.\n"
          ".TP\n.B VSAFE_MCU_SEED\nseed of the MCU's random generator, for repeatable runs.\n",
          f);
    fputs(".SH FILES\n.TP\n.I DIR/se.nvm\nthe secure element's NVM image.\n.TP\n.I DIR/mcu.nvm\nthe MCU's "
          "option bytes and OBK image.\n",
          f);
    fputs(".SH SEE ALSO\n`vsafe status \\-\\-list` for every status code; the project's docs/CLI.md and "
          "docs/CLI\\-REFERENCE.md.\n",
          f);
}

/* ---- bash completion ---- */

static int is_file_arg(const char *arg)
{
    if (arg == NULL) {
        return 0;
    }
    size_t n = strlen(arg);
    return strcmp(arg, "F") == 0 || (n >= 4 && (strcmp(arg + n - 4, "FILE") == 0)) ||
           (n >= 3 && strcmp(arg + n - 3, "DIR") == 0);
}

static void render_completion(FILE *f, json_t *all)
{
    fputs("# bash completion for vsafe, generated by `vsafe help --completion`.\n", f);
    fputs("_vsafe_zones() {\n"
          "    # zone numbers from the device when one is there\n"
          "    vsafe ${1:+--device \"$1\"} --json zones 2>/dev/null | grep -o '\"index\":[0-9]*' | cut -d: -f2\n"
          "}\n\n",
          f);
    fputs("_vsafe() {\n    local cur prev cmd=\"\" sub=\"\" dev=\"\" i w\n"
          "    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n        w=\"${COMP_WORDS[i]}\"\n"
          "        case \"$w\" in\n            --device) dev=\"${COMP_WORDS[i+1]}\"; i=$((i + 1)); continue ;;\n"
          "            --cut-after|--cut-model) i=$((i + 1)); continue ;;\n            -*) continue ;;\n"
          "        esac\n"
          "        if [ -z \"$cmd\" ]; then cmd=\"$w\"; elif [ -z \"$sub\" ]; then sub=\"$w\"; fi\n    done\n",
          f);
    /* global options */
    size_t ng = 0;
    const vsafe_cli_global_t *g = vsafe_cli_globals(&ng);
    fputs("    local globals=\"", f);
    for (size_t i = 0; i < ng; i++) {
        fprintf(f, "%s%s", i ? " " : "", g[i].name);
    }
    fputs("\"\n", f);
    fputs("    case \"$prev\" in\n        --device) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
          "        --cut-model) COMPREPLY=($(compgen -W \"dropped torn-unit torn-page reordered\" -- \"$cur\")); "
          "return ;;\n    esac\n",
          f);
    /* commands, and subcommands per command */
    fputs("    local cmds=\"", f);
    size_t idx;
    json_t *c;
    const char *last = "";
    json_array_foreach(all, idx, c)
    {
        if (strcmp(str(c, "command"), last) != 0) {
            fprintf(f, "%s%s", idx ? " " : "", str(c, "command"));
            last = str(c, "command");
        }
    }
    fputs(" help\"\n", f);
    fputs("    if [ -z \"$cmd\" ]; then\n        if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"$globals\" -- "
          "\"$cur\")); else COMPREPLY=($(compgen -W \"$cmds\" -- \"$cur\")); fi\n        return\n    fi\n",
          f);
    fputs("    local subs=\"\" opts=\"\" fileopts=\"\" zonearg=0\n    case \"$cmd\" in\n", f);
    last = "";
    json_array_foreach(all, idx, c)
    {
        const char *cmd = str(c, "command");
        if (json_object_get(c, "sub") == NULL || strcmp(cmd, last) == 0) {
            continue;
        }
        last = cmd;
        fprintf(f, "        %s) subs=\"", cmd);
        size_t k;
        json_t *d;
        int first = 1;
        json_array_foreach(all, k, d)
        {
            if (strcmp(str(d, "command"), cmd) == 0 && json_object_get(d, "sub") != NULL) {
                fprintf(f, "%s%s", first ? "" : " ", str(d, "sub"));
                first = 0;
            }
        }
        fputs("\" ;;\n", f);
    }
    fputs("    esac\n", f);
    fputs("    if [ -n \"$subs\" ] && [ -z \"$sub\" ] && [[ \"$cur\" != -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\")); return\n    fi\n",
          f);
    fputs("    case \"$cmd/$sub\" in\n", f);
    json_array_foreach(all, idx, c)
    {
        const char *sub = json_string_value(json_object_get(c, "sub"));
        /* A command without subcommands matches "cmd/" and "cmd/<its first positional>" */
        fprintf(f, "        \"%s/%s\"%s) opts=\"", str(c, "command"), sub != NULL ? sub : "", sub != NULL ? "" : "*");
        size_t j;
        json_t *o;
        int first = 1;
        json_array_foreach(json_object_get(c, "options"), j, o)
        {
            fprintf(f, "%s--%s", first ? "" : " ", str(o, "name"));
            first = 0;
        }
        fputs("\"; fileopts=\"", f);
        first = 1;
        json_array_foreach(json_object_get(c, "options"), j, o)
        {
            if (is_file_arg(json_string_value(json_object_get(o, "arg")))) {
                fprintf(f, "%s--%s", first ? "" : " ", str(o, "name"));
                first = 0;
            }
        }
        fputs("\"", f);
        if (strstr(str(c, "usage"), "ZONE") != NULL) {
            fputs("; zonearg=1", f);
        }
        fputs(" ;;\n", f);
    }
    fputs("    esac\n", f);
    fputs("    for w in $fileopts; do\n        if [ \"$prev\" = \"$w\" ]; then COMPREPLY=($(compgen -f -- \"$cur\")); "
          "return; fi\n    done\n",
          f);
    fputs("    if [[ \"$cur\" == -* ]]; then\n        COMPREPLY=($(compgen -W \"$opts --json --trace --device --help\" "
          "-- \"$cur\"))\n    elif [ \"$zonearg\" = 1 ]; then\n        COMPREPLY=($(compgen -W \"$(_vsafe_zones "
          "\"$dev\")\" -- \"$cur\"))\n    fi\n}\ncomplete -F _vsafe vsafe\n",
          f);
}

/* ---- markdown reference ---- */

static void render_markdown(FILE *f, json_t *all)
{
    fputs("# vsafe command reference\n\n", f);
    fputs("Generated by `vsafe help --markdown` from the option tables the commands parse with (the same\n"
          "source as `vsafe COMMAND --help`, the man page and the bash completion); test `cli_help` keeps\n"
          "this file current. [CLI.md](CLI.md) explains the commands with examples and JSON shapes.\n\n",
          f);
    fputs("## Global options\n\n| Option | Meaning |\n|---|---|\n", f);
    size_t ng = 0;
    const vsafe_cli_global_t *g = vsafe_cli_globals(&ng);
    for (size_t i = 0; i < ng; i++) {
        fprintf(f, "| `%s%s%s` | %s |\n", g[i].name, g[i].arg ? " " : "", g[i].arg ? g[i].arg : "", g[i].help);
    }
    size_t idx;
    json_t *c;
    json_array_foreach(all, idx, c)
    {
        fprintf(f, "\n## vsafe %s%s%s\n\n", str(c, "command"), json_object_get(c, "sub") ? " " : "",
                json_object_get(c, "sub") ? str(c, "sub") : "");
        if (str(c, "summary")[0] != '\0') {
            fprintf(f, "%s.\n\n", str(c, "summary"));
        }
        fprintf(f, "```\nvsafe %s\n```\n", str(c, "usage"));
        if (str(c, "text")[0] != '\0') {
            fprintf(f, "\n```\n%s```\n", str(c, "text"));
        }
        json_t *opts = json_object_get(c, "options");
        size_t described = 0, j0;
        json_t *o0;
        json_array_foreach(opts, j0, o0)
        {
            described += json_object_get(o0, "help") != NULL;
        }
        if (described > 0) {
            fputs("\n| Option | Meaning |\n|---|---|\n", f);
            size_t j;
            json_t *o;
            json_array_foreach(opts, j, o)
            {
                if (json_object_get(o, "help") == NULL) {
                    continue;
                }
                const char *arg = json_string_value(json_object_get(o, "arg"));
                fprintf(f, "| `--%s%s%s` | ", str(o, "name"), arg ? " " : "", arg ? arg : "");
                for (const char *p = str(o, "help"); *p != '\0'; p++) {
                    if (*p == '|') {
                        fputs("\\|", f);
                    } else {
                        fputc(*p, f);
                    }
                }
                fputs(" |\n", f);
            }
        }
    }
}

int vsafe_cmd_help(vsafe_cli_t *cli, int argc, char **argv)
{
    int man = 0, completion = 0, markdown = 0, done = 0;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    const vsafe_cli_opt_t opts[] = {
        {"man", 0, NULL, &man, NULL, "print the man page vsafe(1) (troff; read it with man -l -)"},
        {"completion", 0, NULL, &completion, NULL, "print the bash completion script"},
        {"markdown", 0, NULL, &markdown, NULL, "print the command reference in Markdown (docs/CLI-REFERENCE.md)"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 0, 2, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (npos > 0) {
        /* vsafe help COMMAND [SUB] = vsafe COMMAND [SUB] --help */
        size_t n = 0;
        const vsafe_cli_command_t *cmds = vsafe_cli_commands(&n);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cmds[i].name, pos[0]) == 0) {
                cli->command = cmds[i].name;
                cli->usage = cmds[i].usage;
                cli->summary = cmds[i].summary;
                char *av[] = {(char *)pos[0], (char *)(npos > 1 ? pos[1] : "--help"), (char *)"--help", NULL};
                return cmds[i].fn(cli, npos > 1 ? 3 : 2, av);
            }
        }
        return vsafe_cli_usage_error(cli, "no command '%s' (vsafe --help lists them)", pos[0]);
    }
    if (man + completion + markdown > 1) {
        return vsafe_cli_usage_error(cli, "give one of --man, --completion, --markdown");
    }
    if (!man && !completion && !markdown && !cli->json) {
        vsafe_cli_main_usage(stdout);
        return VSAFE_CLI_EXIT_OK;
    }
    json_t *all = walk(cli);
    if (all == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "help");
    }
    if (man) {
        render_man(stdout, all);
    } else if (completion) {
        render_completion(stdout, all);
    } else if (markdown) {
        render_markdown(stdout, all);
    } else {
        return vsafe_cli_json_out(cli, json_pack("{s:s, s:o}", "version", VSAFE_VERSION_STRING, "commands", all));
    }
    json_decref(all);
    return VSAFE_CLI_EXIT_OK;
}
