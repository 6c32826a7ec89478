/* file.c - opening the plugin's own files safely; see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hexrun__file_check_private(int fd, const char *key, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat '%s': %s", key, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: '%s' is not a regular file", key, path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s: '%s' belongs to uid %ld, not to this process's user (uid %ld); "
                 "refusing to use another user's file",
                 key, path, (long)st.st_uid, (long)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "%s: '%s' is writable by group or others (mode %03o); chmod 600 it",
                 key, path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

int hexrun__file_open_private(const char *key, const char *path, int flags, char *err,
                              size_t errlen)
{
    /* O_NONBLOCK: a FIFO planted at the path must not hang the open. */
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errlen,
                     "%s: '%s' is a symbolic link; refusing to follow it (give "
                     "the real path)",
                     key, path);
        else
            snprintf(err, errlen, "%s: cannot open '%s': %s", key, path, strerror(errno));
        return -1;
    }
    if (hexrun__file_check_private(fd, key, path, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: cannot use '%s': %s", key, path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
