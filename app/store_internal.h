/* store_internal.h - what the files of the session store share (store.c:
 * opening, the schema and writing; store_read.c: reading sessions back;
 * store_branch.c: the tree of branches). Only app/store*.c include it; the
 * rest of the program goes through store.h. */
#ifndef GPTSCOPE_APP_STORE_INTERNAL_H
#define GPTSCOPE_APP_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

enum {
    ST_SESSION_NEW, ST_SESSION_SETTINGS, ST_TURN_BEGIN, ST_TOKEN_ADD, ST_CAND_ADD, ST_TURN_TEXT,
    ST_TURN_END, ST_TITLE, ST_TOUCH, ST_TOKEN_WINDOW, ST_HYP_ADD, ST_COUNT
};

struct store {
    sqlite3 *db;
    char path[4096];
    int readonly;
    int version; /* schema version of the file (older only when opened read-only) */
    sqlite3_stmt *st[ST_COUNT]; /* prepared once: a token insert runs per generated token */
};

/* -1 with "PATH: what: sqlite's message" in err. */
int store_fail(const store_t *s, char *err, size_t errlen, const char *what);
/* The time now, ISO 8601 UTC with milliseconds. */
void store_now(char out[32]);
int store_exec(store_t *s, const char *sql, char *err, size_t errlen);
/* Prepared statement `which`, reset and unbound. */
sqlite3_stmt *store_stmt(store_t *s, int which);
/* Steps q to its end: 0, or -1 with err naming what. */
int store_done(store_t *s, sqlite3_stmt *q, char *err, size_t errlen, const char *what);
/* -1 with err when the store was opened read-only. */
int store_writable(store_t *s, char *err, size_t errlen);

/* Column helpers: a NUL-terminated malloc'd copy (*len its bytes, which may
 * hold NUL), the same without the length, a text copied into a fixed buffer. */
char *store_col_dup_len(sqlite3_stmt *q, int col, size_t *len);
char *store_col_dup(sqlite3_stmt *q, int col);
void store_col_copy(sqlite3_stmt *q, int col, char *out, size_t cap);
/* A column's bytes (a BLOB that may hold NUL) cut to cap - 1, NUL-terminated,
 * *len their count. */
void store_col_copy_bytes(sqlite3_stmt *q, int col, char *out, size_t cap, int *len);

/* A turn's columns as store_read_turns reads them (it wants a position
 * after them). */
#define STORE_TURN_COLS "id, idx, role, created, text, settings, stop, elapsed_ms"
/* The turns of branch ?2 of session ?1 as the CTE `path(id)`: from the
 * branch's newest turn up through the parents. UNION, not UNION ALL: a
 * parent loop in a damaged file ends instead of running forever. */
#define STORE_PATH_CTE                                                                        \
    "WITH RECURSIVE path(id) AS ("                                                             \
    " SELECT id FROM (SELECT id FROM turns WHERE session_id = ?1 AND branch = ?2"               \
    "  ORDER BY idx DESC LIMIT 1)"                                                             \
    " UNION SELECT t.parent_id FROM turns t JOIN path ON t.id = path.id"                       \
    "  WHERE t.parent_id IS NOT NULL) "

/* Reads the turns q yields (columns: id, idx, role, created, text, settings,
 * stop, elapsed_ms, position) with their tokens, candidates and beam
 * hypotheses into *turns / *n (appended). 0, or -1 with err. */
int store_read_turns(store_t *s, sqlite3_stmt *q, store_turn_data_t **turns, int *n, char *err,
                     size_t errlen);

#endif
