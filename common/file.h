//  file: a whole file into memory, and a file's media type by its name.
//  Only the C library: scripts/embed.c, the build host's asset embedder,
//  links it too.
#ifndef COMMON_FILE_H
#define COMMON_FILE_H

#include <stddef.h>

//  The bytes of the regular file at path ("-": standard input), followed
//  by a NUL not counted in *len. NULL if it cannot be opened or read, is
//  not a regular file, holds more than max bytes (0: no limit) or memory
//  runs out. Caller frees.
char *
    file_read (const char *path, size_t max, size_t *len);

//  The Content-Type of a file by its extension; application/octet-stream
//  for one not known.
const char *
    file_type (const char *name);

#endif
