//  powercut.so: what a power cut would leave of a program's files.
//
//  Preloaded (LD_PRELOAD) with POWERCUT_DIR set, it keeps beside every file
//  the program opens under that folder a copy, FILE.synced, holding only
//  what an fsync or fdatasync of the file has made durable: the ranges
//  written (pwrite, write) before a sync of it began, and its size, are
//  copied into FILE.synced when that sync returns. The program itself
//  reads and writes its files as ever. After a SIGKILL, replacing each
//  FILE with FILE.synced (and removing SQLite's -shm files, which are
//  memory, not disk) leaves what the disk would hold had the power gone at
//  that moment: a kill -9 alone keeps the operating system's page cache,
//  writes never synced included (tests/blackbox/test_power_cut.py).
//
//  A file's copy is made from its content when the program first opens it
//  (it was durable before the program started). Directories and -shm files
//  are not followed; an unlinked file's copy goes with it. The copies are
//  written with the C library's own calls, so nothing here follows itself.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FILES_MAX 64
#define FDS_MAX 4096

//  A range written, and the file's epoch when it was: a sync that began
//  in epoch E makes durable every range of an epoch up to E.
typedef struct {
    off_t off, len;
    uint64_t epoch;
} s_range_t;

typedef struct {
    char path[PATH_MAX];
    bool used;
    s_range_t *dirty;    //  written and not yet copied by a sync
    size_t ndirty, cap;
    uint64_t epoch;      //  one more for each sync begun
} s_file_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
//  Held while a sync copies what it made durable: a sync that returns
//  has waited for any other that took its ranges to copy them.
static pthread_mutex_t s_copy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static char s_dir[PATH_MAX];
static size_t s_dir_len;
static s_file_t s_files[FILES_MAX];
static int s_fd_file[FDS_MAX];    //  fd -> index in s_files + 1, 0 if not followed
//  POWERCUT_SQLITE_SYNC_DELAY_US: how much longer SQLite's own syncs (its
//  commits' with synchronous=FULL, its checkpoints') take, as on a busy
//  disk, while the file POWERCUT_SLOW_WHILE exists.
static useconds_t s_sqlite_delay;
static char s_slow_while[PATH_MAX];

static int (*s_open) (const char *, int, ...);
static int (*s_openat) (int, const char *, int, ...);
static int (*s_close) (int);
static ssize_t (*s_pwrite) (int, const void *, size_t, off_t);
static ssize_t (*s_write) (int, const void *, size_t);
static int (*s_ftruncate) (int, off_t);
static int (*s_fsync) (int);
static int (*s_fdatasync) (int);
static int (*s_unlink) (const char *);

#define S_REAL(var, name) (*(void **) &(var) = dlsym (RTLD_NEXT, name))

static void
s_init (void)
{
    S_REAL (s_open, "open");
    S_REAL (s_openat, "openat");
    S_REAL (s_close, "close");
    S_REAL (s_pwrite, "pwrite64");
    S_REAL (s_write, "write");
    S_REAL (s_ftruncate, "ftruncate64");
    S_REAL (s_fsync, "fsync");
    S_REAL (s_fdatasync, "fdatasync");
    S_REAL (s_unlink, "unlink");
    const char *delay = getenv ("POWERCUT_SQLITE_SYNC_DELAY_US");
    const char *slow_while = getenv ("POWERCUT_SLOW_WHILE");
    if (delay && slow_while && strlen (slow_while) < sizeof s_slow_while) {
        s_sqlite_delay = (useconds_t) strtoul (delay, NULL, 10);
        snprintf (s_slow_while, sizeof s_slow_while, "%s", slow_while);
    }
    const char *dir = getenv ("POWERCUT_DIR");
    if (dir && *dir && strlen (dir) < sizeof s_dir - 1) {
        snprintf (s_dir, sizeof s_dir, "%s", dir);
        s_dir_len = strlen (s_dir);
        while (s_dir_len > 1 && s_dir[s_dir_len - 1] == '/')
            s_dir[--s_dir_len] = 0;
    }
}

static bool
s_ends_with (const char *s, const char *tail)
{
    size_t n = strlen (s), t = strlen (tail);
    return n >= t && strcmp (s + n - t, tail) == 0;
}

//  Whether path (absolute) is a file under POWERCUT_DIR to follow.
static bool
s_followed (const char *path)
{
    return s_dir_len && strncmp (path, s_dir, s_dir_len) == 0 && path[s_dir_len] == '/'
           && !s_ends_with (path, "-shm") && !s_ends_with (path, ".synced");
}

//  Copies from fd into the copy's fd the bytes [off, off + len).
static void
s_copy (int from, int to, off_t off, off_t len)
{
    char buf[65536];
    while (len > 0) {
        ssize_t n = pread (from, buf, (size_t) (len < (off_t) sizeof buf ? len : (off_t) sizeof buf), off);
        if (n <= 0)
            return;
        if (s_pwrite (to, buf, (size_t) n, off) != n)
            return;
        off += n;
        len -= n;
    }
}

//  A new entry for path: its copy made from what the file holds now.
static int
s_follow (const char *path, int fd)
{
    int slot = -1;
    for (int i = 0; i < FILES_MAX; i++) {
        if (s_files[i].used && strcmp (s_files[i].path, path) == 0)
            return i;
        if (!s_files[i].used && slot < 0)
            slot = i;
    }
    if (slot < 0)
        return -1;
    char copy[PATH_MAX + 8];
    snprintf (copy, sizeof copy, "%s.synced", path);
    int c = s_open (copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (c < 0)
        return -1;
    struct stat st;
    if (fstat (fd, &st) == 0)
        s_copy (fd, c, 0, st.st_size);
    s_close (c);
    s_file_t *f = &s_files[slot];
    snprintf (f->path, sizeof f->path, "%s", path);
    f->used = true;
    f->ndirty = 0;
    return slot;
}

static int
s_opened (const char *path, int fd)
{
    if (fd < 0 || fd >= FDS_MAX)
        return fd;
    s_fd_file[fd] = 0;
    char abs[PATH_MAX];
    if (!realpath (path, abs) || !s_followed (abs))
        return fd;
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
        return fd;
    pthread_mutex_lock (&s_lock);
    int i = s_follow (abs, fd);
    s_fd_file[fd] = i + 1;
    pthread_mutex_unlock (&s_lock);
    return fd;
}

static s_file_t *
s_file_of (int fd)
{
    return fd >= 0 && fd < FDS_MAX && s_fd_file[fd] > 0 ? &s_files[s_fd_file[fd] - 1] : NULL;
}

static void
s_written (int fd, off_t off, ssize_t n)
{
    if (n <= 0)
        return;
    pthread_mutex_lock (&s_lock);
    s_file_t *f = s_file_of (fd);
    if (f) {
        s_range_t *last = f->ndirty ? &f->dirty[f->ndirty - 1] : NULL;
        if (last && last->epoch == f->epoch && last->off + last->len == off)
            last->len += n;
        else {
            if (f->ndirty == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 256;
                s_range_t *d = realloc (f->dirty, cap * sizeof *d);
                if (!d)
                    abort ();
                f->dirty = d;
                f->cap = cap;
            }
            f->dirty[f->ndirty++] = (s_range_t) { off, n, f->epoch };
        }
    }
    pthread_mutex_unlock (&s_lock);
}

//  After a sync of fd returned: what was written before it began is
//  durable, ranges (taken now) hold it. Copied from the file as it is now:
//  bytes written into one of them after the sync began count as durable
//  too (a model that can hide a loss, never invent one; docs/reliability.md,
//  "A power cut").
static void
s_synced (int fd, const char *path, s_range_t *ranges, size_t n)
{
    char copy[PATH_MAX + 8];
    snprintf (copy, sizeof copy, "%s.synced", path);
    int c = s_open (copy, O_WRONLY | O_CLOEXEC);
    if (c < 0)
        return;
    for (size_t i = 0; i < n; i++)
        s_copy (fd, c, ranges[i].off, ranges[i].len);
    struct stat st;
    if (fstat (fd, &st) == 0)
        s_ftruncate (c, st.st_size);
    s_close (c);
}

//  A sync makes durable all that was written to the file before it began,
//  whoever syncs: also the ranges that another sync, begun earlier and
//  still running, has in hand (fsync(2) waits for those pages too). So a
//  range stays dirty until a sync that covers it returns and copies it.
//  caller: where the sync was called from.
static int
s_sync (int fd, int (*real) (int), void *caller)
{
    pthread_once (&s_once, s_init);
    uint64_t began = 0;
    pthread_mutex_lock (&s_lock);
    s_file_t *f = s_file_of (fd);
    if (f)
        began = f->epoch++;
    pthread_mutex_unlock (&s_lock);
    Dl_info info;
    if (f && s_sqlite_delay && dladdr (caller, &info) && info.dli_fname && strstr (info.dli_fname, "libsqlite3")
        && access (s_slow_while, F_OK) == 0)
        usleep (s_sqlite_delay);
    int rc = real (fd);
    if (!f || rc != 0)
        return rc;     //  not durable after all: the ranges stay dirty
    pthread_mutex_lock (&s_copy_lock);
    s_range_t *ranges = NULL;
    size_t n = 0;
    char path[PATH_MAX] = "";
    pthread_mutex_lock (&s_lock);
    f = s_file_of (fd);     //  unlinked meanwhile: nothing to copy
    if (f) {
        size_t durable = 0;
        for (size_t i = 0; i < f->ndirty; i++)
            durable += f->dirty[i].epoch <= began;
        ranges = durable ? malloc (durable * sizeof *ranges) : NULL;
        if (durable && !ranges)
            abort ();
        size_t kept = 0;
        for (size_t i = 0; i < f->ndirty; i++) {
            if (f->dirty[i].epoch <= began)
                ranges[n++] = f->dirty[i];
            else
                f->dirty[kept++] = f->dirty[i];
        }
        f->ndirty = kept;
        snprintf (path, sizeof path, "%s", f->path);
    }
    pthread_mutex_unlock (&s_lock);
    if (f)
        s_synced (fd, path, ranges, n);
    pthread_mutex_unlock (&s_copy_lock);
    free (ranges);
    return rc;
}

//  --- the calls followed ---

//  The third argument of open and openat, there only when they create.
#define S_VA_MODE(mode, flags) do { \
    if ((flags) & (O_CREAT | O_TMPFILE)) { \
        va_list ap; \
        va_start (ap, flags); \
        mode = va_arg (ap, mode_t); \
        va_end (ap); \
    } \
} while (0)

int
open (const char *path, int flags, ...)
{
    pthread_once (&s_once, s_init);
    mode_t mode = 0;
    S_VA_MODE (mode, flags);
    return s_opened (path, s_open (path, flags, mode));
}

int open64 (const char *path, int flags, ...) __attribute__ ((alias ("open")));

int
openat (int dirfd, const char *path, int flags, ...)
{
    pthread_once (&s_once, s_init);
    mode_t mode = 0;
    S_VA_MODE (mode, flags);
    int fd = s_openat (dirfd, path, flags, mode);
    return path[0] == '/' ? s_opened (path, fd) : fd;
}

int openat64 (int dirfd, const char *path, int flags, ...) __attribute__ ((alias ("openat")));

int
close (int fd)
{
    pthread_once (&s_once, s_init);
    if (fd >= 0 && fd < FDS_MAX && s_fd_file[fd]) {
        pthread_mutex_lock (&s_lock);
        s_fd_file[fd] = 0;
        pthread_mutex_unlock (&s_lock);
    }
    return s_close (fd);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t n, off_t off)
{
    pthread_once (&s_once, s_init);
    ssize_t w = s_pwrite (fd, buf, n, off);
    s_written (fd, off, w);
    return w;
}

ssize_t pwrite (int fd, const void *buf, size_t n, off_t off) __attribute__ ((alias ("pwrite64")));

ssize_t
write (int fd, const void *buf, size_t n)
{
    pthread_once (&s_once, s_init);
    off_t at = s_file_of (fd) ? lseek (fd, 0, SEEK_CUR) : -1;
    ssize_t w = s_write (fd, buf, n);
    if (at >= 0)
        s_written (fd, at, w);
    return w;
}

int
ftruncate64 (int fd, off_t len)
{
    pthread_once (&s_once, s_init);
    return s_ftruncate (fd, len);    //  the size is taken at the next sync
}

int ftruncate (int fd, off_t len) __attribute__ ((alias ("ftruncate64")));

int
fsync (int fd)
{
    pthread_once (&s_once, s_init);
    return s_sync (fd, s_fsync, __builtin_return_address (0));
}

int
fdatasync (int fd)
{
    pthread_once (&s_once, s_init);
    return s_sync (fd, s_fdatasync, __builtin_return_address (0));
}

int
unlink (const char *path)
{
    pthread_once (&s_once, s_init);
    char abs[PATH_MAX];
    bool followed = realpath (path, abs) && s_followed (abs);
    int rc = s_unlink (path);
    if (rc == 0 && followed) {
        pthread_mutex_lock (&s_lock);
        for (int i = 0; i < FILES_MAX; i++)
            if (s_files[i].used && strcmp (s_files[i].path, abs) == 0) {
                free (s_files[i].dirty);
                memset (&s_files[i], 0, sizeof s_files[i]);
            }
        for (int fd = 0; fd < FDS_MAX; fd++)
            if (s_fd_file[fd] && !s_files[s_fd_file[fd] - 1].used)
                s_fd_file[fd] = 0;
        pthread_mutex_unlock (&s_lock);
        char copy[PATH_MAX + 8];
        snprintf (copy, sizeof copy, "%s.synced", abs);
        s_unlink (copy);
    }
    return rc;
}
