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
//  So the buffer is written out after the commit frame's page; before a
//  read, a sync, a truncation, the file's size, a file control and the
//  close of the file; and at the end of each write transaction (SQLite
//  lets go of the WAL's write lock through the database file's xShmLock).
//  A buffer left when the thread reaches a barrier is written then (none
//  can be left with a correct SQLite; if that write fails the process
//  stops, since SQLite would otherwise publish frames that are not in the
//  file and readers would read garbage: a restart recovers the WAL from
//  its checksums).
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

//  A file is the wrapped VFS's own, whose methods this VFS replaces (see
//  s_wal_io), followed by this state at s_state_offset.
typedef struct {
    bool commit_page;      //  the next write is the commit frame's page
    unsigned char *buf;    //  writes not yet handed on, from offset start
    size_t len, cap;
    sqlite3_int64 start;
} s_state_t;

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static size_t s_state_offset;
#define S_STATE(file) ((s_state_t *) ((char *) (file) + s_state_offset))
//  The wrapped VFS's methods of WAL files and of database files (the unix
//  VFS has one set for each), and the same with this file's in place of
//  those that must see the WAL as SQLite wrote it. A file opened with
//  other methods than the first of its kind is left as it is.
static pthread_mutex_t s_io_lock = PTHREAD_MUTEX_INITIALIZER;
static const sqlite3_io_methods *s_wal_real;
static sqlite3_io_methods s_wal_io;
static const sqlite3_io_methods *s_db_real;
static sqlite3_io_methods s_db_io;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_installed;
static atomic_llong s_frames;
static atomic_llong s_writes;
//  The WAL file with writes in its buffer of this thread's connection, if
//  any: a connection is used by one thread at a time, SQLite writes a
//  commit's frames and publishes them in one call, and nothing stays in
//  a buffer past the end of a write transaction (s_shm_lock).
static _Thread_local sqlite3_file *s_pending;

static int
s_flush (sqlite3_file *file)
{
    s_state_t *self = S_STATE (file);
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < self->len; done += WAL_WRITE_MAX) {
        size_t n = self->len - done < WAL_WRITE_MAX ? self->len - done : WAL_WRITE_MAX;
        rc = s_wal_real->xWrite (file, self->buf + done, (int) n, self->start + (sqlite3_int64) done);
        atomic_fetch_add (&s_writes, 1);
    }
    self->len = 0;
    if (s_pending == file)
        s_pending = NULL;
    return rc;
}

static int
s_append (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    s_state_t *self = S_STATE (file);
    if (self->len && offset != self->start + (sqlite3_int64) self->len) {
        int rc = s_flush (file);
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
            int rc = s_flush (file);
            if (rc == SQLITE_OK) {
                rc = s_wal_real->xWrite (file, data, amount, offset);
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
    s_pending = file;
    return SQLITE_OK;
}

static int
s_write (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    s_state_t *self = S_STATE (file);
    if (s_pending && s_pending != file) {
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
    int rc = s_append (file, data, amount, offset);
    if (rc == SQLITE_OK && (last || self->len >= WAL_BUFFER_MAX))
        rc = s_flush (file);
    return rc;
}

//  Every call on the WAL but a write sees the file as SQLite wrote it.
static int
s_flushed (sqlite3_file *file)
{
    return S_STATE (file)->len ? s_flush (file) : SQLITE_OK;
}

static int
s_close (sqlite3_file *file)
{
    s_state_t *self = S_STATE (file);
    int flushed = s_flushed (file);
    int rc = s_wal_real->xClose (file);
    free (self->buf);
    self->buf = NULL;
    self->cap = 0;
    return flushed != SQLITE_OK ? flushed : rc;
}

static int
s_read (sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    int rc = s_flushed (file);
    return rc != SQLITE_OK ? rc : s_wal_real->xRead (file, data, amount, offset);
}

static int
s_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    int rc = s_flushed (file);
    return rc != SQLITE_OK ? rc : s_wal_real->xTruncate (file, size);
}

static int
s_sync (sqlite3_file *file, int flags)
{
    int rc = s_flushed (file);
    return rc != SQLITE_OK ? rc : s_wal_real->xSync (file, flags);
}

static int
s_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
    int rc = s_flushed (file);
    return rc != SQLITE_OK ? rc : s_wal_real->xFileSize (file, size);
}

static int
s_file_control (sqlite3_file *file, int op, void *arg)
{
    int rc = s_flushed (file);
    return rc != SQLITE_OK ? rc : s_wal_real->xFileControl (file, op, arg);
}

//  SQLite lets go of the WAL's write lock at the end of every write
//  transaction, committed or rolled back: nothing of this thread's WAL
//  stays in a buffer past it (a rolled-back transaction's spilled frames
//  lie beyond the WAL's end, written or not). Called on the database file.
static int
s_shm_lock (sqlite3_file *file, int offset, int n, int flags)
{
    if ((flags & SQLITE_SHM_UNLOCK) && s_pending && s_flush (s_pending) != SQLITE_OK)
        log_warn ("db", "cannot write frames of a WAL", "when=\"end of a write transaction\"");
    return s_db_real->xShmLock (file, offset, n, flags);
}

//  The second guard (see the top): nothing of this thread's WAL may stay
//  in a buffer once SQLite may publish it. Called on the database file.
static void
s_shm_barrier (sqlite3_file *file)
{
    if (s_pending && s_flush (s_pending) != SQLITE_OK) {
        log_error ("db", "cannot write the WAL before publishing a commit: stopping", NULL);
        abort ();
    }
    s_db_real->xShmBarrier (file);
}

static int
s_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void) vfs;
    s_state_t *self = S_STATE (file);
    memset (self, 0, sizeof *self);
    int rc = s_real->xOpen (s_real, name, file, flags, out_flags);
    if (rc != SQLITE_OK || !file->pMethods || !(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)))
        return rc;
    bool wal = (flags & SQLITE_OPEN_WAL) != 0;
    const sqlite3_io_methods **real = wal ? &s_wal_real : &s_db_real;
    sqlite3_io_methods *mine = wal ? &s_wal_io : &s_db_io;
    pthread_mutex_lock (&s_io_lock);
    if (!*real && file->pMethods->iVersion >= 3) {
        *mine = *file->pMethods;
        if (wal) {
            mine->xClose = s_close;
            mine->xRead = s_read;
            mine->xWrite = s_write;
            mine->xTruncate = s_truncate;
            mine->xSync = s_sync;
            mine->xFileSize = s_file_size;
            mine->xFileControl = s_file_control;
        } else {
            mine->xShmLock = s_shm_lock;
            mine->xShmBarrier = s_shm_barrier;
        }
        *real = file->pMethods;
    }
    if (file->pMethods == *real)
        file->pMethods = mine;
    pthread_mutex_unlock (&s_io_lock);
    return rc;
}

static void
s_install (void)
{
    sqlite3_vfs *real = sqlite3_vfs_find (NULL);
    if (!real) {
        log_warn ("db", "WAL writes stay one a frame", "reason=\"no default VFS\"");
        return;
    }
    s_real = real;
    s_vfs = *real;
    s_vfs.zName = "wal_batch";
    s_state_offset = ((size_t) real->szOsFile + 15) & ~(size_t) 15;
    s_vfs.szOsFile = (int) (s_state_offset + sizeof (s_state_t));
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
