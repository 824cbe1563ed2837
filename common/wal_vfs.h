//  wal_vfs: the default SQLite VFS, with the WAL's frames of a commit
//  handed to the kernel in one write.
//
//  SQLite writes every frame of the WAL with two calls (its 24-byte header,
//  then the page), so a commit of fifteen pages is thirty system calls; on
//  this project's machines a system call costs more than the copy it makes
//  (bench/README.md, "Thirty writes a commit"). This VFS keeps the WAL's
//  contiguous writes of a connection in a buffer and writes them with one
//  call when the commit's last frame is in, before SQLite makes the commit
//  visible to other connections; and at any read, sync, size or truncation
//  of the file, and before the shared-memory barrier SQLite passes before
//  it publishes a commit (a second guard). Every other call goes to the
//  VFS it wraps unchanged: the database file, locks, shared memory.
#ifndef WAL_VFS_H
#define WAL_VFS_H

#include <stdbool.h>

//  Install the VFS as the process's default, over the default VFS of the
//  moment (once; later calls do nothing). False (logged) if it cannot be
//  installed: SQLite's own VFS stays.
bool
    wal_vfs_install (void);

//  Writes of WAL frames handed to the VFS, and system calls that wrote
//  them, since the process started.
long long
    wal_vfs_frames (void);
long long
    wal_vfs_writes (void);

#endif
