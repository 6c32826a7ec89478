/*
 * reqpath.h - the paths hexrun_request accepts, and which of them start a run (internal).
 *
 * curl (and servers) resolve "." and ".." segments: "/v1/../../etc/passwd" would leave the
 * API, and "/v1/x/../projects/<id>/runs" would be a RunProject that the run budget did not
 * see. So dot segments are refused (also percent-encoded), and the RunProject test reads
 * the path the way a server would route it (decoded, empty segments and a trailing slash
 * ignored, either path generation).
 */
#ifndef HEXRUN_REQPATH_H
#define HEXRUN_REQPATH_H

#include <stddef.h>

/* The longest path (with its query) hexrun_request takes. */
#define HEXRUN__REQUEST_PATH_MAX 2048

/* 1 when path is acceptable; otherwise 0 and why (a phrase for the error message). */
int hexrun__request_path_ok(const char *path, char *why, size_t whylen);

/* 1 when a request with this method and (accepted) path is a RunProject. */
int hexrun__request_is_run_project(const char *method, const char *path);

/* 1 when an id would be a dot segment in a path ("." or ".."). */
int hexrun__is_dot_segment(const char *id);

#endif
