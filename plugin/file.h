/*
 * file.h - opening the plugin's own files (journal_path, budget_path) safely (internal).
 *
 * These paths often sit in shared directories (/tmp, a team's work dir). A symbolic link
 * planted at the path, or a file that belongs to someone else, would make hexrun append
 * to, truncate or resize a file it must not touch, or trust state another user can write.
 * So the last component is never followed (O_NOFOLLOW), and the opened file must be a
 * regular file owned by the effective user, not writable by group or others.
 */
#ifndef HEXRUN_FILE_H
#define HEXRUN_FILE_H

#include <stddef.h>

/*
 * hexrun__file_open_private - open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
 * 0600) and check the file (see above). key names the config key in messages
 * ("journal_path"). Returns the fd (blocking mode restored), or -1 with a message in err
 * that names the key, the path and the problem.
 */
int hexrun__file_open_private(const char *key, const char *path, int flags, char *err,
                              size_t errlen);

/*
 * hexrun__file_check_private - the checks of hexrun__file_open_private on an open fd.
 * Returns 0, or -1 with a message in err.
 */
int hexrun__file_check_private(int fd, const char *key, const char *path, char *err, size_t errlen);

#endif
