/* The committer (device.h): group commit of many devices' durable commands.
 *
 * A device thread that finished a durable command (its record written to its state file, not yet
 * synced) queues a waiter. If no sync round is in progress it leads one itself: it takes every
 * waiter queued at that moment (itself included) and makes all their files durable with as few
 * calls as it can: one fdatasync when the round holds one file, one syncfs per filesystem when it
 * holds several (syncfs writes back and flushes every dirty file of that filesystem, the files of
 * the round included). Then it wakes the waiters of that round. Waiters that arrive while a round
 * syncs wait; when it ends, one of them leads the next round for all of them. The more devices are
 * busy, the more commands share each sync; a lone device pays no hand-off to another thread.
 *
 * Invariants:
 *  1. A waiter is marked done only by the round that took it, after that round's sync calls
 *     returned; its status is the status of the call that covered its file.
 *  2. A waiter queued while a round is syncing is not part of it (its write may be later than
 *     the sync started): it waits for the next round.
 *  3. Without group commit each waiter syncs its own file at once (the baseline the benchmark
 *     compares against).
 *  4. At most one round is in progress; nobody waits while no round is in progress (a waiter that
 *     finds none leads one), so every waiter is served.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/device.h"

typedef struct waiter {
    int fd;
    int rc;
    bool done;
    struct waiter *next;
} waiter_t;

struct vsafe_server_committer {
    vsafe_server_commit_cfg_t cfg;
    pthread_mutex_t mu;
    pthread_cond_t done;
    waiter_t *head;     /* waiting for the next round */
    bool syncing;       /* a round is in progress (its leader is syncing) */
    atomic_uint_fast64_t sync_calls;
    atomic_uint_fast64_t durable;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int datasync(vsafe_server_committer_t *c, int fd)
{
    atomic_fetch_add(&c->sync_calls, 1);
    while (fdatasync(fd) != 0) {
        if (errno != EINTR) {
            return VSAFE_ERR_IO;
        }
    }
    return 0;
}

static int fs_sync(vsafe_server_committer_t *c, int fd)
{
    atomic_fetch_add(&c->sync_calls, 1);
    return syncfs(fd) == 0 ? 0 : VSAFE_ERR_IO;
}

/* Syncs every file of a round (invariant 1): waiters are grouped by filesystem. */
static void sync_round(vsafe_server_committer_t *c, waiter_t *batch)
{
    bool one_file = true;
    for (waiter_t *w = batch; w != NULL; w = w->next) {
        one_file = one_file && w->fd == batch->fd;
    }
    if (one_file) {
        int rc = datasync(c, batch->fd);
        for (waiter_t *w = batch; w != NULL; w = w->next) {
            w->rc = rc;
        }
        return;
    }
    /* rc 1 marks a waiter whose filesystem no call has covered yet. */
    for (waiter_t *w = batch; w != NULL; w = w->next) {
        w->rc = 1;
    }
    for (waiter_t *w = batch; w != NULL; w = w->next) {
        if (w->rc != 1) {
            continue;
        }
        struct stat sb;
        if (fstat(w->fd, &sb) != 0) {
            w->rc = datasync(c, w->fd);
            continue;
        }
        int rc = fs_sync(c, w->fd);
        for (waiter_t *v = w; v != NULL; v = v->next) {
            struct stat vb;
            if (v->rc == 1 && fstat(v->fd, &vb) == 0 && vb.st_dev == sb.st_dev) {
                v->rc = rc;
            }
        }
    }
}

int vsafe_server_committer_new(vsafe_server_committer_t **out, const vsafe_server_commit_cfg_t *cfg)
{
    vsafe_server_committer_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    c->cfg = *cfg;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    *out = c;
    return VSAFE_OK;
}

void vsafe_server_committer_free(vsafe_server_committer_t *c)
{
    if (c == NULL) {
        return;
    }
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int vsafe_server_committer_wait(vsafe_server_committer_t *c, int fd)
{
    atomic_fetch_add(&c->durable, 1);
    if (!c->cfg.group) { /* invariant 3 */
        if (c->cfg.delay_ms > 0) {
            sleep_ms(c->cfg.delay_ms);
        }
        return datasync(c, fd);
    }
    waiter_t w = {.fd = fd, .rc = 0, .done = false, .next = NULL};
    pthread_mutex_lock(&c->mu);
    w.next = c->head;
    c->head = &w;
    while (!w.done) {
        if (c->syncing) {
            pthread_cond_wait(&c->done, &c->mu);
            continue;
        }
        /* No round in progress: this waiter leads one for everything queued (itself included). */
        c->syncing = true;
        waiter_t *batch = c->head; /* invariant 2: later arrivals go to a fresh list */
        c->head = NULL;
        pthread_mutex_unlock(&c->mu);
        if (c->cfg.delay_ms > 0) {
            sleep_ms(c->cfg.delay_ms);
        }
        sync_round(c, batch);
        pthread_mutex_lock(&c->mu);
        for (waiter_t *v = batch; v != NULL;) {
            waiter_t *next = v->next; /* v lives on its waiter's stack: read next first */
            v->done = true;
            v = next;
        }
        c->syncing = false;
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->mu);
    return w.rc;
}

void vsafe_server_committer_counts(vsafe_server_committer_t *c, uint64_t *sync_calls, uint64_t *durable)
{
    *sync_calls = atomic_load(&c->sync_calls);
    *durable = atomic_load(&c->durable);
}
