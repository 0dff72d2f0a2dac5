/* How the make bench programs measure and print their figures, one way for people and one way for
 * programs. Every program reports three kinds of figure:
 *  - an operation row (vsafe_bench_op): one kind of command measured per operation: operations
 *    per second, latency percentiles (p50, p99, max), the real chip's processing time of the same
 *    command (the timing model's table, vsafe_se_command_time_ms) and the speed-up over the chip
 *    (operations per second over the chip's 1000 / ms);
 *  - a plain figure (vsafe_bench_figure): a value and its unit;
 *  - a project target (vsafe_bench_target): a goal the project set itself, the measured value and
 *    whether it is met.
 * Text: rows and figures are printed as they come, under section titles; targets at the end under
 * "Project targets", or, with --targets FILE, appended to FILE instead so that make bench prints
 * every program's targets together at the very end. --json: one JSON object on stdout at the end,
 *   {"bench":NAME,"sections":[{"title":T,"how":H,"notes":[...],"ops":[...],"figures":[...]}],
 *    "targets":[...]}
 * (README.md, "How fast", gives every member).
 *
 * Measuring (vsafe_bench_measure): operations per second come from a run timed in batches (the
 * clock read once per batch, so it costs the fastest commands under 1%); latencies from a second
 * run that reads the clock around every operation, so each latency includes one clock read
 * (vsafe_bench_clock_ns gives its cost). Latencies go into a log-linear histogram (64 steps per
 * power of two: a percentile is exact to within 1.6%); max is exact. */
#ifndef VSAFE_BENCH_REPORT_H
#define VSAFE_BENCH_REPORT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VSAFE_BENCH_SUB 64u
#define VSAFE_BENCH_BINS (60u * VSAFE_BENCH_SUB)

typedef struct {
    uint64_t bins[VSAFE_BENCH_BINS];
    uint64_t count, max_ns;
} vsafe_bench_hist_t;

typedef struct {
    double per_s;            /* operations per second (batch-timed run) */
    double p50_ns, p99_ns;   /* from the histogram */
    double max_ns;
    uint64_t count;          /* operations in the latency run */
} vsafe_bench_result_t;

/* One operation; returns nonzero on success. */
typedef int (*vsafe_bench_fn)(void *ctx);

static inline double vsafe_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t vsafe_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Bin b holds [low, low + width): below VSAFE_BENCH_SUB one bin per nanosecond, then 64 bins per
 * power of two. */
static inline unsigned vsafe_bench_bin(uint64_t ns)
{
    if (ns < VSAFE_BENCH_SUB) {
        return (unsigned)ns;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* ns in [2^e, 2^(e+1)), e >= 6 */
    unsigned b = (e - 5u) * VSAFE_BENCH_SUB + (unsigned)((ns >> (e - 6u)) - VSAFE_BENCH_SUB);
    return b < VSAFE_BENCH_BINS ? b : VSAFE_BENCH_BINS - 1u;
}

static inline double vsafe_bench_bin_mid(unsigned b)
{
    if (b < VSAFE_BENCH_SUB) {
        return (double)b;
    }
    unsigned e = b / VSAFE_BENCH_SUB + 5u;
    double width = (double)(1ull << (e - 6u));
    return (double)(b % VSAFE_BENCH_SUB + VSAFE_BENCH_SUB) * width + width / 2.0;
}

static inline void vsafe_bench_hist_add(vsafe_bench_hist_t *h, uint64_t ns)
{
    h->bins[vsafe_bench_bin(ns)]++;
    h->count++;
    if (ns > h->max_ns) {
        h->max_ns = ns;
    }
}

/* The q-quantile (0 < q <= 1): the smallest latency with at least q of the samples at or below it,
 * as its bin's middle, never above the exact maximum. */
static inline double vsafe_bench_hist_quantile(const vsafe_bench_hist_t *h, double q)
{
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999), seen = 0;
    for (unsigned b = 0; b < VSAFE_BENCH_BINS; b++) {
        seen += h->bins[b];
        if (seen >= rank && seen > 0) {
            double mid = vsafe_bench_bin_mid(b);
            return mid < (double)h->max_ns ? mid : (double)h->max_ns;
        }
    }
    return (double)h->max_ns;
}

static inline void vsafe_bench_result_from(vsafe_bench_result_t *r, const vsafe_bench_hist_t *h)
{
    r->p50_ns = vsafe_bench_hist_quantile(h, 0.50);
    r->p99_ns = vsafe_bench_hist_quantile(h, 0.99);
    r->max_ns = (double)h->max_ns;
    r->count = h->count;
}

static inline void vsafe_bench_need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench: %s failed\n", what);
        exit(1);
    }
}

/* Measures fn: seconds / 2 timed in batches (operations per second), then seconds / 2 timed per
 * operation (latencies). Each run does at least min_ops operations whatever the time, and at most
 * max_ops (0: no limit; for operations that consume prepared input). */
static inline void vsafe_bench_measure_n(vsafe_bench_fn fn, void *ctx, double seconds, long min_ops, long max_ops,
                                         vsafe_bench_result_t *r)
{
    static vsafe_bench_hist_t h;
    long n = 0, batch = 1;
    double t0 = vsafe_bench_now(), t = t0, half = seconds / 2.0;
    do {
        double tb = t;
        if (max_ops > 0 && batch > max_ops - n) {
            batch = max_ops - n;
        }
        for (long i = 0; i < batch; i++) {
            vsafe_bench_need(fn(ctx), "an operation");
        }
        n += batch;
        t = vsafe_bench_now();
        if (t - tb < 100e-6 && batch < (1L << 20)) {
            batch *= 2;
        }
    } while ((t - t0 < half || n < min_ops) && (max_ops <= 0 || n < max_ops));
    r->per_s = (double)n / (t - t0);
    memset(&h, 0, sizeof h);
    uint64_t start = vsafe_bench_now_ns(), prev = start, end = start + (uint64_t)(half * 1e9);
    do {
        vsafe_bench_need(fn(ctx), "an operation");
        uint64_t now = vsafe_bench_now_ns();
        vsafe_bench_hist_add(&h, now - prev);
        prev = now;
    } while ((prev < end || h.count < (uint64_t)min_ops) && (max_ops <= 0 || h.count < (uint64_t)max_ops));
    vsafe_bench_result_from(r, &h);
}

static inline void vsafe_bench_measure(vsafe_bench_fn fn, void *ctx, double seconds, long min_ops,
                                       vsafe_bench_result_t *r)
{
    vsafe_bench_measure_n(fn, ctx, seconds, min_ops, 0, r);
}

/* The cost of one clock read, in ns (the least of a few batches). */
static inline double vsafe_bench_clock_ns(void)
{
    double best = 1e9;
    for (int k = 0; k < 5; k++) {
        uint64_t t0 = vsafe_bench_now_ns(), sink = 0;
        for (int i = 0; i < 10000; i++) {
            sink += vsafe_bench_now_ns();
        }
        double per = (double)(vsafe_bench_now_ns() - t0) / 10000.0;
        best = per < best && sink != 0 ? per : best;
    }
    return best;
}

/* ---- reporting ---- */

typedef struct {
    char *p;
    size_t len, cap;
} vsafe_bench_buf_t;

static inline void vsafe_bench_bufv(vsafe_bench_buf_t *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    vsafe_bench_need(n >= 0, "formatting");
    if (b->len + (size_t)n + 1u > b->cap) {
        size_t cap = (b->cap ? b->cap * 2u : 4096u) + (size_t)n;
        char *p = realloc(b->p, cap);
        vsafe_bench_need(p != NULL, "memory");
        b->p = p;
        b->cap = cap;
    }
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
}

static inline void vsafe_bench_buf(vsafe_bench_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void vsafe_bench_buf(vsafe_bench_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsafe_bench_bufv(b, fmt, ap);
    va_end(ap);
}

/* A JSON string: the names used here are ASCII; quotes, backslashes and controls are escaped. */
static inline void vsafe_bench_buf_str(vsafe_bench_buf_t *b, const char *s)
{
    vsafe_bench_buf(b, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            vsafe_bench_buf(b, "\\%c", c);
        } else if (c < 0x20) {
            vsafe_bench_buf(b, "\\u%04x", c);
        } else {
            vsafe_bench_buf(b, "%c", c);
        }
    }
    vsafe_bench_buf(b, "\"");
}

typedef struct {
    int json;
    const char *name;
    const char *targets_path;
    vsafe_bench_buf_t doc, ops, figures, targets, targets_text;
    int sections, in_section, notes;
} vsafe_bench_report_t;

static vsafe_bench_report_t vsafe_bench_rep;

/* Takes --json and --targets FILE out of argv (the rest is left in order, argc updated). */
static inline void vsafe_bench_init(const char *name, int *argc, char **argv)
{
    int out = 1;
    vsafe_bench_rep.name = name;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            vsafe_bench_rep.json = 1;
        } else if (strcmp(argv[i], "--targets") == 0 && i + 1 < *argc) {
            vsafe_bench_rep.targets_path = argv[++i];
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    vsafe_bench_buf(&vsafe_bench_rep.doc, "{\"bench\":");
    vsafe_bench_buf_str(&vsafe_bench_rep.doc, name);
    vsafe_bench_buf(&vsafe_bench_rep.doc, ",\"sections\":[");
}

static inline void vsafe_bench_end_section(void)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    if (!r->in_section) {
        return;
    }
    vsafe_bench_buf(&r->doc, "],\"ops\":[%s],\"figures\":[%s]}", r->ops.p ? r->ops.p : "",
                    r->figures.p ? r->figures.p : "");
    r->ops.len = r->figures.len = 0;
    if (r->ops.p) {
        r->ops.p[0] = '\0';
    }
    if (r->figures.p) {
        r->figures.p[0] = '\0';
    }
    r->in_section = 0;
}

/* A section: its title, and a line saying how it is measured (may be NULL). with_ops: print the
 * operation table's heading. */
static inline void vsafe_bench_section(const char *title, const char *how, int with_ops)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    vsafe_bench_end_section();
    vsafe_bench_buf(&r->doc, "%s{\"title\":", r->sections++ ? "," : "");
    vsafe_bench_buf_str(&r->doc, title);
    vsafe_bench_buf(&r->doc, ",\"how\":");
    vsafe_bench_buf_str(&r->doc, how != NULL ? how : "");
    vsafe_bench_buf(&r->doc, ",\"notes\":[");
    r->in_section = 1;
    r->notes = 0;
    if (r->json) {
        return;
    }
    printf("\n%s\n", title);
    if (how != NULL) {
        printf("  (%s)\n", how);
    }
    if (with_ops) {
        printf("  %-44s %12s %10s %10s %10s %9s %12s\n", "", "ops/s", "p50", "p99", "max", "chip", "speed-up");
    }
    fflush(stdout);
}

/* A note under the section (text: an indented line; JSON: the section's "notes"). */
static inline void vsafe_bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void vsafe_bench_note(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    /* the section's notes array stays open in doc until the section ends; ops and figures are
     * kept apart until then */
    vsafe_bench_buf(&r->doc, "%s", r->notes++ ? "," : "");
    vsafe_bench_buf_str(&r->doc, line);
    if (!r->json) {
        printf("  %s\n", line);
        fflush(stdout);
    }
}

/* A time in ns, printed with the unit that keeps it short. */
static inline const char *vsafe_bench_time(char *out, size_t cap, double ns)
{
    if (ns < 10e3) {
        snprintf(out, cap, "%.2f us", ns / 1e3);
    } else if (ns < 1e6) {
        snprintf(out, cap, "%.0f us", ns / 1e3);
    } else if (ns < 100e6) {
        snprintf(out, cap, "%.2f ms", ns / 1e6);
    } else {
        snprintf(out, cap, "%.0f ms", ns / 1e6);
    }
    return out;
}

/* A number with thousands separators (no fraction). */
static inline const char *vsafe_bench_count(char *out, size_t cap, double v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0 && digits[i - 1] != '-') {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* One operation row. chip_ms: the chip's time for the same work (0: no chip figure). */
static inline void vsafe_bench_op(const char *name, double chip_ms, const vsafe_bench_result_t *res)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    double speedup = chip_ms > 0 ? res->per_s * chip_ms / 1000.0 : 0.0;
    vsafe_bench_buf(&r->ops, "%s{\"name\":", r->ops.len ? "," : "");
    vsafe_bench_buf_str(&r->ops, name);
    vsafe_bench_buf(&r->ops,
                    ",\"ops_per_s\":%.1f,\"p50_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f,\"samples\":%llu",
                    res->per_s, res->p50_ns / 1e3, res->p99_ns / 1e3, res->max_ns / 1e3,
                    (unsigned long long)res->count);
    if (chip_ms > 0) {
        vsafe_bench_buf(&r->ops, ",\"chip_ms\":%.1f,\"speedup\":%.1f}", chip_ms, speedup);
    } else {
        vsafe_bench_buf(&r->ops, ",\"chip_ms\":null,\"speedup\":null}");
    }
    if (r->json) {
        return;
    }
    char rate[32], p50[24], p99[24], mx[24], chip[24], up[32];
    if (chip_ms <= 0) {
        snprintf(chip, sizeof chip, "-");
    } else if (chip_ms >= 100 || chip_ms == (double)(long)chip_ms) {
        snprintf(chip, sizeof chip, "%.0f ms", chip_ms);
    } else {
        snprintf(chip, sizeof chip, "%.2f ms", chip_ms);
    }
    if (chip_ms > 0 && speedup < 10) {
        snprintf(up, sizeof up, "%.1fx", speedup);
    } else if (chip_ms > 0) {
        vsafe_bench_count(up, sizeof up - 1, speedup);
        strcat(up, "x");
    } else {
        snprintf(up, sizeof up, "-");
    }
    printf("  %-44s %12s %10s %10s %10s %9s %12s\n", name, vsafe_bench_count(rate, sizeof rate, res->per_s),
           vsafe_bench_time(p50, sizeof p50, res->p50_ns), vsafe_bench_time(p99, sizeof p99, res->p99_ns),
           vsafe_bench_time(mx, sizeof mx, res->max_ns), chip, up);
    fflush(stdout);
}

/* A plain figure: label, value printed with fmt, unit. */
static inline void vsafe_bench_figure(const char *label, const char *fmt, double value, const char *unit)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    vsafe_bench_buf(&r->figures, "%s{\"name\":", r->figures.len ? "," : "");
    vsafe_bench_buf_str(&r->figures, label);
    vsafe_bench_buf(&r->figures, ",\"value\":%.6g,\"unit\":", value);
    vsafe_bench_buf_str(&r->figures, unit);
    vsafe_bench_buf(&r->figures, "}");
    if (r->json) {
        return;
    }
    char v[64];
    snprintf(v, sizeof v, fmt, value);
    printf("  %-58s %12s %s\n", label, v, unit);
    fflush(stdout);
}

/* A project target: at_least (measured >= threshold) or not (measured <= threshold). detail: how
 * the figure was obtained (may be NULL); keys/values: the figures behind it, for the JSON (n may be
 * 0). Printed at the end (or into the --targets file). */
static inline void vsafe_bench_target_kv(const char *name, int at_least, double threshold, double measured,
                                         const char *fmt, const char *unit, const char *detail, size_t n,
                                         const char *const *keys, const double *values)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    int met = at_least ? measured >= threshold : measured <= threshold;
    vsafe_bench_buf(&r->targets, "%s{\"name\":", r->targets.len ? "," : "");
    vsafe_bench_buf_str(&r->targets, name);
    vsafe_bench_buf(&r->targets, ",\"op\":\"%s\",\"target\":%.6g,\"measured\":%.6g,\"unit\":", at_least ? ">=" : "<=",
                    threshold, measured);
    vsafe_bench_buf_str(&r->targets, unit);
    vsafe_bench_buf(&r->targets, ",\"met\":%s,\"detail\":", met ? "true" : "false");
    vsafe_bench_buf_str(&r->targets, detail != NULL ? detail : "");
    if (n > 0) {
        vsafe_bench_buf(&r->targets, ",\"values\":{");
        for (size_t i = 0; i < n; i++) {
            vsafe_bench_buf(&r->targets, "%s", i ? "," : "");
            vsafe_bench_buf_str(&r->targets, keys[i]);
            vsafe_bench_buf(&r->targets, ":%.6g", values[i]);
        }
        vsafe_bench_buf(&r->targets, "}");
    }
    vsafe_bench_buf(&r->targets, "}");
    char t[64], m[64], wanted[96], got[96];
    if (strcmp(fmt, "%.0f") == 0) {
        vsafe_bench_count(t, sizeof t, threshold);
        vsafe_bench_count(m, sizeof m, measured);
    } else {
        snprintf(t, sizeof t, fmt, threshold);
        snprintf(m, sizeof m, fmt, measured);
    }
    snprintf(wanted, sizeof wanted, "%s %s %s", at_least ? ">=" : "<=", t, unit);
    snprintf(got, sizeof got, "%s %s", m, unit);
    vsafe_bench_buf(&r->targets_text, "  %-52s %-18s %-18s %s\n", name, wanted, got, met ? "met" : "MISSED");
    if (detail != NULL && detail[0] != '\0') {
        vsafe_bench_buf(&r->targets_text, "      %s\n", detail);
    }
}

static inline void vsafe_bench_target(const char *name, int at_least, double threshold, double measured,
                                      const char *fmt, const char *unit, const char *detail)
{
    vsafe_bench_target_kv(name, at_least, threshold, measured, fmt, unit, detail, 0, NULL, NULL);
}

/* The heading of the targets table (also what make bench prints above the collected file). */
static inline void vsafe_bench_targets_heading(FILE *f)
{
    fprintf(f, "\nProject targets (goals the project set itself for its own code)\n");
    fprintf(f, "  %-52s %-18s %-18s %s\n", "", "target", "measured", "");
}

/* Ends the report: the JSON document, or the targets (to the --targets file when given). */
static inline int vsafe_bench_finish(void)
{
    vsafe_bench_report_t *r = &vsafe_bench_rep;
    vsafe_bench_end_section();
    if (r->json) {
        printf("%s],\"targets\":[%s]}\n", r->doc.p, r->targets.p ? r->targets.p : "");
    } else if (r->targets_text.len > 0) {
        if (r->targets_path != NULL) {
            FILE *f = fopen(r->targets_path, "a");
            vsafe_bench_need(f != NULL, "opening the targets file");
            if (ftell(f) == 0) {
                vsafe_bench_targets_heading(f); /* the first program to report heads the table */
            }
            fputs(r->targets_text.p, f);
            fclose(f);
        } else {
            vsafe_bench_targets_heading(stdout);
            fputs(r->targets_text.p, stdout);
        }
    }
    free(r->doc.p);
    free(r->ops.p);
    free(r->figures.p);
    free(r->targets.p);
    free(r->targets_text.p);
    return 0;
}

#endif
