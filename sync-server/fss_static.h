/*
 * fss_static.h - the console's own files as compiled into the binary: the
 * table fss_console_files[] is generated at build time from the console/ folder by
 * sync-server/embed_console.cmake (never committed) and ends with a
 * {NULL} entry.
 */
#ifndef FSS_STATIC_H
#define FSS_STATIC_H

#include <stddef.h>

typedef struct fss_static_file {
    const char *name;          /* "index.html", "app.js", ... */
    const char *content_type;  /* with charset for text */
    const unsigned char *data;
    size_t len;
} fss_static_file;

extern const fss_static_file fss_console_files[];

#endif
