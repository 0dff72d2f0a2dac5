/* Durable file-backed NVM (nvm_file.h).
 *
 * Invariants:
 *  - Only the bytes a program or erase covers are written (pwrite of whole program units or one
 *    page); the file is never rewritten whole after creation.
 *  - sync returns only after fdatasync: everything programmed before it is on stable storage.
 *    Between syncs the page cache may write back in any order, hence may_reorder = 1.
 *  - A writable handle holds an exclusive flock on the file for its whole life; a second writer
 *    gets VSAFE_ERR_LOCKED without touching the file. A read-only handle takes no lock and
 *    refuses prog and erase.
 *  - A created file is all erased bytes (0xFF), made durable together with its directory entry
 *    before open returns.
 *  - The file is read once, whole, at open into a RAM copy (cache); read is then a memcpy, so a
 *    mount costs one read of the file instead of hundreds of small ones. The copy stays equal
 *    to what the file holds as seen through this handle: prog and erase update it after their
 *    pwrite succeeded; if a pwrite fails the copy is no longer trusted and reads go to the file.
 *    (A read-only handle sees the file as it was at open, a consistent snapshot for vsafe check.)
 *    The copy holds the state, host keys included: it is wiped before it is freed.
 *  - A symlink is never followed (O_NOFOLLOW): VSAFE_ERR_SYMLINK.
 */
#include "port/posix/nvm_file.h"

#include "common/secure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct vsafe_file_nvm {
    vsafe_nvm_t port;
    int fd;
    bool read_only;
    bool cache_stale; /* a pwrite failed: the file may differ from cache, read the file */
    uint64_t size;
    uint8_t *cache;   /* size bytes: the file's contents */
    uint64_t file_reads;
};

static int io_status(void) { return VSAFE_ERR_IO; }

static int pread_all(int fd, uint8_t *buf, size_t len, off_t off)
{
    while (len > 0u) {
        ssize_t n = pread(fd, buf, len, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int pwrite_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
    while (len > 0u) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int file_read(void *ctx, uint32_t addr, uint8_t *buf, size_t len)
{
    vsafe_file_nvm_t *f = ctx;
    if ((uint64_t)addr + len > f->size) {
        return VSAFE_ERR_NVM_READ;
    }
    if (!f->cache_stale) {
        memcpy(buf, f->cache + addr, len);
        return 0;
    }
    f->file_reads++;
    return pread_all(f->fd, buf, len, (off_t)addr) == 0 ? 0 : VSAFE_ERR_NVM_READ;
}

static int file_prog(void *ctx, uint32_t addr, const uint8_t *buf, size_t len)
{
    vsafe_file_nvm_t *f = ctx;
    if (f->read_only || addr % VSAFE_FILE_NVM_PROG_UNIT != 0u || len % VSAFE_FILE_NVM_PROG_UNIT != 0u ||
        (uint64_t)addr + len > f->size) {
        return VSAFE_ERR_NVM_PROGRAM;
    }
    if (pwrite_all(f->fd, buf, len, (off_t)addr) != 0) {
        f->cache_stale = true;
        return VSAFE_ERR_NVM_PROGRAM;
    }
    memcpy(f->cache + addr, buf, len);
    return 0;
}

static int file_erase(void *ctx, uint32_t page)
{
    vsafe_file_nvm_t *f = ctx;
    uint8_t ff[VSAFE_FILE_NVM_PAGE];
    if (f->read_only || (uint64_t)(page + 1u) * VSAFE_FILE_NVM_PAGE > f->size) {
        return VSAFE_ERR_NVM_ERASE;
    }
    memset(ff, 0xFF, sizeof ff);
    if (pwrite_all(f->fd, ff, sizeof ff, (off_t)page * VSAFE_FILE_NVM_PAGE) != 0) {
        f->cache_stale = true;
        return VSAFE_ERR_NVM_ERASE;
    }
    memset(f->cache + (size_t)page * VSAFE_FILE_NVM_PAGE, 0xFF, VSAFE_FILE_NVM_PAGE);
    return 0;
}

static int file_sync(void *ctx)
{
    vsafe_file_nvm_t *f = ctx;
    if (f->read_only) {
        return 0;
    }
    while (fdatasync(f->fd) != 0) {
        if (errno != EINTR) {
            return io_status();
        }
    }
    return 0;
}

/* Makes a new directory entry durable: fsync of the directory holding path. */
static int sync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) {
            return VSAFE_ERR_IO;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return VSAFE_ERR_IO;
    }
    int rc = fsync(dfd) == 0 ? 0 : VSAFE_ERR_IO;
    close(dfd);
    return rc;
}

static int fill_erased(int fd, uint32_t size)
{
    uint8_t ff[VSAFE_FILE_NVM_PAGE];
    memset(ff, 0xFF, sizeof ff);
    if (ftruncate(fd, 0) != 0) {
        return VSAFE_ERR_IO;
    }
    for (uint32_t off = 0; off < size; off += VSAFE_FILE_NVM_PAGE) {
        if (pwrite_all(fd, ff, sizeof ff, (off_t)off) != 0) {
            return VSAFE_ERR_IO;
        }
    }
    return fsync(fd) == 0 ? 0 : VSAFE_ERR_IO;
}

int vsafe_file_nvm_open(vsafe_file_nvm_t **out, const char *path, int flags, uint32_t size)
{
    bool create = (flags & VSAFE_FILE_NVM_CREATE) != 0;
    bool ro = (flags & VSAFE_FILE_NVM_READ_ONLY) != 0;
    int rc;

    *out = NULL;
    if (path == NULL || (create && ro) || (create && (size == 0u || size % VSAFE_FILE_NVM_PAGE != 0u))) {
        return VSAFE_ERR_ARGUMENT;
    }
    /* O_NOFOLLOW: a symlink planted in place of a state file must not redirect its writes. */
    int oflags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
    int fd = open(path, oflags, 0600);
    if (fd < 0) {
        return errno == ENOENT ? VSAFE_ERR_NOT_FOUND : errno == ELOOP ? VSAFE_ERR_SYMLINK : VSAFE_ERR_IO;
    }
    if (!ro && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = (errno == EWOULDBLOCK || errno == EAGAIN) ? VSAFE_ERR_LOCKED : VSAFE_ERR_IO;
        close(fd);
        return rc;
    }
    if (create) {
        rc = fill_erased(fd, size);
        if (rc == 0) {
            rc = sync_parent_dir(path);
        }
        if (rc != 0) {
            close(fd);
            return rc;
        }
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return VSAFE_ERR_IO;
    }
    if (sb.st_size <= 0 || (uint64_t)sb.st_size % VSAFE_FILE_NVM_PAGE != 0u ||
        (uint64_t)sb.st_size > 0xFFFFFFFFull) {
        close(fd);
        return VSAFE_ERR_STORE_TRUNCATED;
    }
    vsafe_file_nvm_t *f = calloc(1, sizeof *f);
    if (f == NULL) {
        close(fd);
        return VSAFE_ERR_NO_MEMORY;
    }
    f->fd = fd;
    f->read_only = ro;
    f->size = (uint64_t)sb.st_size;
    f->cache = malloc((size_t)f->size);
    f->file_reads = 1;
    if (f->cache == NULL || pread_all(fd, f->cache, (size_t)f->size, 0) != 0) {
        rc = f->cache == NULL ? VSAFE_ERR_NO_MEMORY : VSAFE_ERR_NVM_READ;
        free(f->cache);
        free(f);
        close(fd);
        return rc;
    }
    f->port.ctx = f;
    f->port.geo.prog_unit = VSAFE_FILE_NVM_PROG_UNIT;
    f->port.geo.page_size = VSAFE_FILE_NVM_PAGE;
    f->port.geo.page_count = (uint32_t)(f->size / VSAFE_FILE_NVM_PAGE);
    f->port.geo.erased = 0xFF;
    f->port.geo.may_reorder = 1;
    f->port.read = file_read;
    f->port.prog = file_prog;
    f->port.erase = file_erase;
    f->port.sync = file_sync;
    *out = f;
    return 0;
}

vsafe_nvm_t *vsafe_file_nvm_port(vsafe_file_nvm_t *f) { return &f->port; }

void vsafe_file_nvm_close(vsafe_file_nvm_t *f)
{
    if (f == NULL) {
        return;
    }
    close(f->fd); /* releases the lock */
    vsafe_wipe(f->cache, (size_t)f->size);
    free(f->cache);
    free(f);
}

uint64_t vsafe_file_nvm_reads(const vsafe_file_nvm_t *f) { return f->file_reads; }

size_t vsafe_file_nvm_memory(const vsafe_file_nvm_t *f) { return f == NULL ? 0u : sizeof *f + (size_t)f->size; }

int vsafe_file_nvm_fd(const vsafe_file_nvm_t *f) { return f == NULL ? -1 : f->fd; }
