/* tap_sqlite.h - reading a session database behind the store's back, for
 * the tests that check what the store wrote (test_store, test_store_branch). */
#ifndef GPTSCOPE_TAP_SQLITE_H
#define GPTSCOPE_TAP_SQLITE_H

#include <sqlite3.h>

/* The first column of the first row of sql on the database at path, read
 * only; -1 when it cannot be had. */
static inline long long tap_sql_scalar(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

#endif
