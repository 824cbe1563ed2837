//  wal_vfs: the WAL's frames of a commit in one write (wal_vfs.h).
//
//  What SQLite does that this relies on (sqlite3WalFrames, walIndexWriteHdr
//  in its wal.c):
//  - a commit's frames are written in order, each as a 24-byte header then
//    the page, at consecutive offsets; the last frame's header carries the
//    database size in pages (bytes 4 to 7, big-endian), every other
//    frame's zero;
//  - only after the frames are written does SQLite publish the new WAL
//    index header that lets other connections read them, and it calls
//    xShmBarrier between the header's two copies, before readers can take
//    it as valid;
//  - a connection reads back frames it wrote (pages spilled before the
//    commit) through xRead of the same file.
//  So the buffer is written out after the commit frame's page, and at
//  every other call on the file; a buffer left when the thread reaches a
//  barrier is written then (it cannot be left in a correct SQLite; if the
//  write fails there the process stops, since SQLite would otherwise
//  publish frames that are not in the file and readers would read
//  garbage: a restart recovers the WAL from its checksums).
#include "wal_vfs.h"
#include "log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WAL_FRAME_HEADER 24
//  A buffer that grows past this is written out whether or not its commit
//  is complete (a big transaction): a commit of a few thousand pages.
#define WAL_BUFFER_MAX (4 * 1024 * 1024)
//  The most the unix VFS writes in one call: it keeps only the low 17 bits
//  of a write's length (seekAndWriteFd), and takes a write it cut short
//  for a full disk.
#define WAL_WRITE_MAX (124 * 1024)

typedef struct _s_file_t s_file_t;
struct _s_file_t {
    sqlite3_file base;
    sqlite3_file *real;    //  the wrapped VFS's file, after this struct (S_REAL_OFFSET)
    bool wal;
    bool commit_page;      //  the next write is the commit frame's page
    unsigned char *buf;    //  writes not yet handed on, from offset start
    size_t len, cap;
    sqlite3_int64 start;
};

//  Where the wrapped file starts in the memory SQLite gives a file.
#define S_REAL_OFFSET ((sizeof (s_file_t) + 15) & ~(size_t) 15)

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_installed;
static atomic_llong s_frames;
static atomic_llong s_writes;
//  The WAL file with writes in its buffer of this thread's connection, if
//  any: a connection is used by one thread at a time, SQLite writes a
//  commit's frames and publishes them in one call, and nothing stays in
//  a buffer past the end of a write transaction (s_shm_lock).
static _Thread_local s_file_t *s_pending;

static int
s_flush (s_file_t *self)
{
    if (self->len == 0)
        return SQLITE_OK;
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < self->len; done += WAL_WRITE_MAX) {
        size_t n = self->len - done < WAL_WRITE_MAX ? self->len - done : WAL_WRITE_MAX;
        rc = self->real->pMethods->xWrite (self->real, self->buf + done, (int) n,
                                           self->start + (sqlite3_int64) done);
        atomic_fetch_add (&s_writes, 1);
    }
    self->len = 0;
    if (s_pending == self)
        s_pending = NULL;
    return rc;
}

static int
s_append (s_file_t *self, const void *data, int amount, sqlite3_int64 offset)
{
    if (self->len && offset != self->start + (sqlite3_int64) self->len) {
        int rc = s_flush (self);
        if (rc != SQLITE_OK)
            return rc;
    }
    size_t need = self->len + (size_t) amount;
    if (need > self->cap) {
        size_t cap = self->cap ? self->cap : 64 * 1024;
        while (cap < need)
            cap *= 2;
        unsigned char *buf = realloc (self->buf, cap);
        if (!buf) {
            //  No memory for the buffer: hand this write on as it is.
            int rc = s_flush (self);
            if (rc == SQLITE_OK) {
                rc = self->real->pMethods->xWrite (self->real, data, amount, offset);
                atomic_fetch_add (&s_writes, 1);
            }
            return rc;
        }
        self->buf = buf;
        self->cap = cap;
    }
    if (self->len == 0)
        self->start = offset;
    memcpy (self->buf + self->len, data, (size_t) amount);
    self->len += (size_t) amount;
    s_pending = self;
    return SQLITE_OK;
}

static int
s_write (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *) file;
    if (!self->wal)
        return self->real->pMethods->xWrite (self->real, data, amount, offset);
    if (s_pending && s_pending != self) {
        //  Another WAL of this thread (another connection) left writes.
        int rc = s_flush (s_pending);
        if (rc != SQLITE_OK)
            return rc;
    }
    bool last = self->commit_page;
    self->commit_page = false;
    if (amount == WAL_FRAME_HEADER) {
        const unsigned char *h = data;
        self->commit_page = (h[4] | h[5] | h[6] | h[7]) != 0;
        atomic_fetch_add (&s_frames, 1);
    }
    int rc = s_append (self, data, amount, offset);
    if (rc == SQLITE_OK && (last || self->len >= WAL_BUFFER_MAX))
        rc = s_flush (self);
    return rc;
}

//  Every call on the WAL but a write sees the file as SQLite wrote it.
#define S_FLUSHED(file)                                                       \
    do {                                                                      \
        s_file_t *flushed_ = (s_file_t *) (file);                             \
        if (flushed_->len) {                                                  \
            int flush_rc_ = s_flush (flushed_);                               \
            if (flush_rc_ != SQLITE_OK)                                       \
                return flush_rc_;                                             \
        }                                                                     \
    } while (0)
#define S_REAL(file) (((s_file_t *) (file))->real)

static int
s_close (sqlite3_file *file)
{
    s_file_t *self = (s_file_t *) file;
    int flushed = s_flush (self);
    int rc = self->real->pMethods->xClose (self->real);
    free (self->buf);
    self->buf = NULL;
    self->cap = 0;
    return flushed != SQLITE_OK ? flushed : rc;
}

static int
s_read (sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xRead (S_REAL (file), data, amount, offset);
}

static int
s_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xTruncate (S_REAL (file), size);
}

static int
s_sync (sqlite3_file *file, int flags)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xSync (S_REAL (file), flags);
}

static int
s_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xFileSize (S_REAL (file), size);
}

static int
s_lock (sqlite3_file *file, int level)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xLock (S_REAL (file), level);
}

static int
s_unlock (sqlite3_file *file, int level)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xUnlock (S_REAL (file), level);
}

static int
s_check_reserved (sqlite3_file *file, int *out)
{
    return S_REAL (file)->pMethods->xCheckReservedLock (S_REAL (file), out);
}

static int
s_file_control (sqlite3_file *file, int op, void *arg)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xFileControl (S_REAL (file), op, arg);
}

static int
s_sector_size (sqlite3_file *file)
{
    return S_REAL (file)->pMethods->xSectorSize (S_REAL (file));
}

static int
s_device (sqlite3_file *file)
{
    return S_REAL (file)->pMethods->xDeviceCharacteristics (S_REAL (file));
}

static int
s_shm_map (sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return S_REAL (file)->pMethods->xShmMap (S_REAL (file), region, size, extend, out);
}

//  SQLite lets go of the WAL's write lock at the end of every write
//  transaction, committed or rolled back: nothing of this thread's WAL
//  stays in a buffer past it (a rolled-back transaction's spilled frames
//  lie beyond the WAL's end, written or not).
static int
s_shm_lock (sqlite3_file *file, int offset, int n, int flags)
{
    if ((flags & SQLITE_SHM_UNLOCK) && s_pending && s_flush (s_pending) != SQLITE_OK)
        log_warn ("db", "cannot write frames of a WAL", "when=\"end of a write transaction\"");
    return S_REAL (file)->pMethods->xShmLock (S_REAL (file), offset, n, flags);
}

//  The second guard (see the top): nothing of this thread's WAL may stay
//  in a buffer once SQLite may publish it.
static void
s_shm_barrier (sqlite3_file *file)
{
    if (s_pending && s_flush (s_pending) != SQLITE_OK) {
        log_error ("db", "cannot write the WAL before publishing a commit: stopping", NULL);
        abort ();
    }
    S_REAL (file)->pMethods->xShmBarrier (S_REAL (file));
}

static int
s_shm_unmap (sqlite3_file *file, int delete_flag)
{
    return S_REAL (file)->pMethods->xShmUnmap (S_REAL (file), delete_flag);
}

static int
s_fetch (sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    S_FLUSHED (file);
    return S_REAL (file)->pMethods->xFetch (S_REAL (file), offset, amount, out);
}

static int
s_unfetch (sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    return S_REAL (file)->pMethods->xUnfetch (S_REAL (file), offset, page);
}

static const sqlite3_io_methods s_io = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved,
    .xFileControl = s_file_control,
    .xSectorSize = s_sector_size,
    .xDeviceCharacteristics = s_device,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

static int
s_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void) vfs;
    s_file_t *self = (s_file_t *) file;
    memset (self, 0, sizeof *self);
    self->real = (sqlite3_file *) ((char *) self + S_REAL_OFFSET);
    self->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = s_real->xOpen (s_real, name, self->real, flags, out_flags);
    //  SQLite calls xClose only on a file whose pMethods is set.
    self->base.pMethods = self->real->pMethods ? &s_io : NULL;
    return rc;
}

static void
s_install (void)
{
    sqlite3_vfs *real = sqlite3_vfs_find (NULL);
    //  The methods above are those of a version 3 file and VFS.
    if (!real || real->iVersion < 3) {
        log_warn ("db", "WAL writes stay one a frame", "reason=\"no default VFS of version 3\"");
        return;
    }
    s_real = real;
    s_vfs = *real;
    s_vfs.zName = "wal_batch";
    s_vfs.szOsFile = (int) S_REAL_OFFSET + real->szOsFile;
    s_vfs.xOpen = s_open;
    s_vfs.pNext = NULL;
    if (sqlite3_vfs_register (&s_vfs, 1) != SQLITE_OK) {
        log_warn ("db", "WAL writes stay one a frame", "reason=\"cannot register the VFS\"");
        return;
    }
    s_installed = true;
}

bool
wal_vfs_install (void)
{
    pthread_once (&s_once, s_install);
    return s_installed;
}

long long
wal_vfs_frames (void)
{
    return atomic_load (&s_frames);
}

long long
wal_vfs_writes (void)
{
    return atomic_load (&s_writes);
}
