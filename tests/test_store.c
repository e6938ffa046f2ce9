/* test_store.c - the session store (app/store.c): schema and migrations,
 * exact round trips (token texts that are half a UTF-8 character, quotes,
 * newlines), listing, search, cascading delete, refusal of foreign or newer
 * databases, a reader opening the database while a writer adds tokens, and
 * a writer killed with SIGKILL mid-reply losing nothing it had committed. */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "tap_sqlite.h"

static double now_s(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static void exec_sql(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK) sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
}

/* The bytes of path (malloc'd) and their count in *n; NULL if unreadable. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Refused opens of path (both modes) leave it byte for byte as it was and
 * leave no -wal or -shm beside it. */
static int unchanged_after_refusal(const char *path) {
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(path, &n0);
    char err[512], side[4300];
    int refused = 1;
    for (int ro = 0; ro < 2; ro++) {
        store_t *s = store_open(path, ro, err, sizeof err);
        refused &= s == NULL;
        store_close(s);
    }
    unsigned char *after = slurp(path, &n1);
    int same = before && after && n0 == n1 && memcmp(before, after, n0) == 0;
    snprintf(side, sizeof side, "%s-wal", path);
    same &= access(side, F_OK) != 0;
    snprintf(side, sizeof side, "%s-shm", path);
    same &= access(side, F_OK) != 0;
    free(before);
    free(after);
    return refused && same;
}

/* A model token with n_cand candidates, the first being the token itself. */
static store_token_t make_token(int idx, int id, const char *text, store_cand_t *cand, int n_cand) {
    store_token_t t;
    memset(&t, 0, sizeof t);
    t.idx = idx;
    t.id = id;
    t.text = text;
    t.t_ms = 10.0 * idx + 0.5;
    t.has_sample = 1;
    t.chosen_prob = 0.25f;
    t.chosen_raw_logprob = -1.5f;
    t.entropy_raw = 2.0f;
    t.entropy_final = 1.0f;
    t.n_kept = 7;
    t.chosen_rank = 0;
    t.n_cand = n_cand;
    t.cand = cand;
    for (int k = 0; k < n_cand; k++) {
        memset(&cand[k], 0, sizeof cand[k]);
        cand[k].id = k == 0 ? id : 1000 + k;
        snprintf(cand[k].text, sizeof cand[k].text, "%s", k == 0 ? text : "c\"and\n");
        cand[k].logit = 3.0f - (float)k;
        cand[k].raw_prob = 0.5f / (float)(k + 1);
        cand[k].prob = k < 5 ? 0.25f / (float)(k + 1) : 0.0f;
        cand[k].kept = k < 5;
    }
    return t;
}

static void test_round_trip(tap_t *t, const char *dir) {
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/sub/dir/s.db", dir);
    store_t *s = store_open(path, 0, err, sizeof err);
    if (!tap_ok(t, s != NULL, "store_open creates the file and its directories (%s)", s ? "" : err))
        return;
    tap_ok(t, tap_sql_scalar(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION,
           "the schema version is recorded");
    tap_ok(t, tap_sql_scalar(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'") == 1,
           "WAL mode");
    int64_t sid = store_session_new(s, "/models/m", "abcdef0123456789", "{\"temperature\":1}", err,
                                    sizeof err);
    int64_t u = store_turn_begin(s, sid, "user", "", NULL, err, sizeof err);
    store_token_t pt;
    memset(&pt, 0, sizeof pt);
    const char *prompt[3] = {"Hello", " \"wor", "ld\"\n"};
    int rc = sid > 0 && u > 0 ? 0 : -1;
    for (int i = 0; rc == 0 && i < 3; i++) {
        pt.idx = i;
        pt.id = 10 + i;
        pt.text = prompt[i];
        rc = store_token_add(s, u, &pt, err, sizeof err);
    }
    rc |= store_turn_end(s, u, NULL, 0, err, sizeof err);
    int64_t m = store_turn_begin(s, sid, "model", "", "{\"temperature\":0.5}", err, sizeof err);
    /* a character split over two tokens: U+20AC (e2 82 ac) as "\xe2\x82" + "\xac!" */
    const char *gen[3] = {" \xe2\x82", "\xac!", " end"};
    store_cand_t cand[3][10];
    for (int i = 0; rc == 0 && i < 3; i++) {
        store_token_t tk = make_token(i, 20 + i, gen[i], cand[i], 10);
        rc = store_token_add(s, m, &tk, err, sizeof err);
    }
    /* the reply came from a beam search: its hypotheses, best first */
    int h0[3] = {20, 21, 22}, h1[2] = {20, 99999};
    store_hyp_t hyps[3] = {{3, h0, -0.5, -1.5}, {2, h1, -0.75, -1.5}, {0, NULL, -2.0, 0.0}};
    rc |= store_turn_hyps(s, m, hyps, 3, err, sizeof err);
    rc |= store_turn_end(s, m, "max", 123.5, err, sizeof err);
    tap_ok(t, rc == 0, "a session with a prompt and a reply is stored (%s)", rc ? err : "");
    tap_ok(t, store_turn_begin(s, sid, "system", "", NULL, err, sizeof err) == -1 && strstr(err, "role"),
           "a turn role other than user/model is refused (%s)", err);

    store_session_data_t d;
    rc = store_session_load(s, sid, &d, err, sizeof err);
    if (!tap_ok(t, rc == 0 && d.n_turns == 2, "the session loads (%s)", rc ? err : "")) {
        store_close(s);
        return;
    }
    const store_turn_data_t *t0 = &d.turns[0], *t1 = &d.turns[1];
    tap_ok(t, strcmp(d.info.model_path, "/models/m") == 0 &&
                  strcmp(d.info.model_checksum, "abcdef0123456789") == 0 &&
                  strcmp(d.info.settings_json, "{\"temperature\":1}") == 0 &&
                  strlen(d.info.created) == 24 && d.info.created[23] == 'Z',
           "session fields (created %s)", d.info.created);
    tap_ok(t, strcmp(t0->role, "user") == 0 && strcmp(t0->text, "Hello \"world\"\n") == 0 &&
                  t0->n_tokens == 3 && !t0->tokens[0].has_sample && t0->stop == NULL,
           "the prompt turn: text is the tokens' bytes, no sampler data");
    tap_ok(t, strcmp(t1->role, "model") == 0 && strcmp(t1->text, " \xe2\x82\xac! end") == 0 &&
                  strcmp(t1->stop, "max") == 0 && t1->elapsed_ms == 123.5 &&
                  strcmp(t1->settings_json, "{\"temperature\":0.5}") == 0,
           "the reply turn: a character split across tokens comes back whole");
    int same = t1->n_tokens == 3;
    for (int i = 0; same && i < 3; i++) {
        const store_token_t *k = &t1->tokens[i];
        same = k->idx == i && k->id == 20 + i && strcmp(k->text, gen[i]) == 0 &&
               k->t_ms == 10.0 * i + 0.5 && k->has_sample && k->chosen_prob == 0.25f &&
               k->chosen_raw_logprob == -1.5f && k->entropy_raw == 2.0f &&
               k->entropy_final == 1.0f && k->n_kept == 7 && k->n_cand == 10;
        for (int c = 0; same && c < 10; c++)
            same = k->cand[c].id == cand[i][c].id && strcmp(k->cand[c].text, cand[i][c].text) == 0 &&
                   k->cand[c].logit == cand[i][c].logit && k->cand[c].raw_prob == cand[i][c].raw_prob &&
                   k->cand[c].prob == cand[i][c].prob && k->cand[c].kept == cand[i][c].kept;
    }
    tap_ok(t, same, "every token and candidate comes back byte for byte (partial UTF-8 too)");
    tap_ok(t, t0->n_hyps == 0 && t1->n_hyps == 3 && t1->hyps[0].n == 3 && t1->hyps[0].ids[2] == 22 &&
                  t1->hyps[0].score == -0.5 && t1->hyps[1].n == 2 && t1->hyps[1].ids[1] == 99999 &&
                  t1->hyps[1].score == -0.75 && t1->hyps[1].sum_logprob == -1.5 &&
                  t1->hyps[2].n == 0,
           "a beam reply's hypotheses come back in rank order, an empty one too");
    store_session_data_free(&d);
    /* a damaged ids text is an error naming the file, not a shorter reply */
    exec_sql(path, "UPDATE beam_hyps SET ids = '20 x' WHERE rank = 1");
    rc = store_session_load(s, sid, &d, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "bad ids") && strstr(err, path),
           "a damaged hypothesis is refused with the file named (%s)", err);
    if (rc == 0) store_session_data_free(&d);
    exec_sql(path, "UPDATE beam_hyps SET ids = '20 99999' WHERE rank = 1");

    /* a second session: listing is newest first, with counts */
    usleep(2000);
    int64_t sid2 = store_session_new(s, "/models/other", "1111", NULL, err, sizeof err);
    int64_t u2 = store_turn_begin(s, sid2, "user", "", NULL, err, sizeof err);
    pt.idx = 0;
    pt.text = "100% of the_cat";
    store_token_add(s, u2, &pt, err, sizeof err);
    store_turn_end(s, u2, NULL, 0, err, sizeof err);
    store_session_info_t *v = NULL;
    int n = 0;
    rc = store_session_list(s, &v, &n, err, sizeof err);
    tap_ok(t, rc == 0 && n == 2 && v[0].id == sid2 && v[1].id == sid && v[1].n_turns == 2 &&
                  v[1].n_tokens == 3 && v[0].n_tokens == 0 && strcmp(v[1].title, "Hello \"world\"\n") == 0,
           "list: newest first, turns, generated tokens, title from the first prompt");
    store_session_infos_free(v, n);

    store_hit_t *h = NULL;
    rc = store_search(s, "WORLD", &h, &n, err, sizeof err);
    tap_ok(t, rc == 0 && n == 1 && h[0].session == sid && h[0].turn == u && h[0].turn_idx == 0 &&
                  strcmp(h[0].role, "user") == 0 && strstr(h[0].snippet, "world") && !strchr(h[0].snippet, '\n'),
           "search is case-insensitive, snippets are one line");
    store_hits_free(h, n);
    rc = store_search(s, " END", &h, &n, err, sizeof err);
    tap_ok(t, rc == 0 && n == 1 && h[0].session == sid && h[0].turn == m && h[0].turn_idx == 1 &&
                  strcmp(h[0].role, "model") == 0,
           "a hit names the turn by id and by its place in the session (%d)", n ? h[0].turn_idx : -1);
    store_hits_free(h, n);
    rc = store_search(s, "0% of the_", &h, &n, err, sizeof err);
    int n_pct = n;
    store_hits_free(h, n);
    rc |= store_search(s, "the%", &h, &n, err, sizeof err);
    tap_ok(t, rc == 0 && n_pct == 1 && n == 0, "%% and _ are literal characters in a search");
    store_hits_free(h, n);

    rc = store_session_delete(s, sid, err, sizeof err);
    tap_ok(t, rc == 0 && store_session_load(s, sid, &d, err, sizeof err) == -1 && strstr(err, "no session"),
           "a deleted session is gone (%s)", err);
    tap_ok(t, tap_sql_scalar(path, "SELECT count(*) FROM tokens") == 1 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM candidates") == 0 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM turns") == 1,
           "its turns, tokens and candidates went with it");
    tap_ok(t, store_session_delete(s, 999, err, sizeof err) == -1 && strstr(err, "no session 999"),
           "deleting a missing session is an error");
    store_close(s);

    /* read-only: reads work, writes are refused */
    s = store_open(path, 1, err, sizeof err);
    tap_ok(t, s && store_session_list(s, &v, &n, err, sizeof err) == 0 && n == 1,
           "a read-only open lists");
    if (s) store_session_infos_free(v, n);
    tap_ok(t, s && store_session_new(s, "x", "y", NULL, err, sizeof err) == -1 && strstr(err, "read-only"),
           "a read-only store refuses writes");
    store_close(s);
}

static void test_refusals(tap_t *t, const char *dir) {
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/missing.db", dir);
    store_t *s = store_open(path, 1, err, sizeof err);
    tap_ok(t, !s && strstr(err, "missing.db") && access(path, F_OK) != 0,
           "read-only open of a missing file fails and creates nothing (%s)", err);
    snprintf(path, sizeof path, "%s/text.db", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("this is not a database, just some text that is long enough to matter\n", f);
        fclose(f);
    }
    s = store_open(path, 0, err, sizeof err);
    tap_ok(t, !s && strstr(err, "text.db") && strstr(err, "not a database"),
           "a text file is not a database (%s)", err);
    snprintf(path, sizeof path, "%s/foreign.db", dir);
    exec_sql(path, "CREATE TABLE other (x)");
    s = store_open(path, 0, err, sizeof err);
    tap_ok(t, !s && strstr(err, "not a gptscope session database"),
           "another program's database is left alone (%s)", err);
    snprintf(path, sizeof path, "%s/newer.db", dir);
    store_close(store_open(path, 0, err, sizeof err));
    exec_sql(path, "PRAGMA user_version = 99");
    s = store_open(path, 0, err, sizeof err);
    tap_ok(t, !s && strstr(err, "newer") && strstr(err, "99"),
           "a database of a newer schema is refused (%s)", err);
    /* refusal changes nothing: WAL mode used to be set before the check */
    snprintf(path, sizeof path, "%s/foreign2.db", dir);
    exec_sql(path, "CREATE TABLE other (x); INSERT INTO other VALUES (1)");
    tap_ok(t, unchanged_after_refusal(path), "a refused foreign database is left byte for byte");
    snprintf(path, sizeof path, "%s/newer2.db", dir);
    exec_sql(path, "CREATE TABLE sessions (id); PRAGMA user_version = 99");
    tap_ok(t, unchanged_after_refusal(path), "a refused newer database is left byte for byte");
    {
        sqlite3 *db = NULL;
        char *mode = NULL;
        sqlite3_stmt *q = NULL;
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            mode = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        sqlite3_close(db);
        tap_ok(t, mode && strcmp(mode, "delete") == 0, "... still in its own journal mode (%s)",
               mode ? mode : "?");
        free(mode);
    }
}

/* A writer in a child process adds tokens while the parent reads. */
static void test_concurrency(tap_t *t, const char *dir) {
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/conc.db", dir);
    store_t *s = store_open(path, 0, err, sizeof err);
    int64_t sid = s ? store_session_new(s, "m", "c", NULL, err, sizeof err) : -1;
    int64_t turn = s ? store_turn_begin(s, sid, "model", "", NULL, err, sizeof err) : -1;
    store_close(s);
    int fds[2];
    if (!tap_ok(t, turn > 0 && pipe(fds) == 0, "set-up for the reader/writer tests")) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        store_t *w = store_open(path, 0, err, sizeof err);
        store_cand_t cand[10];
        for (int i = 0; w && i < 100000; i++) {
            store_token_t tk = make_token(i, i % 300, "ab", cand, 10);
            if (store_token_add(w, turn, &tk, err, sizeof err) != 0) break;
            int32_t done = i + 1; /* committed before we say so */
            if (write(fds[1], &done, sizeof done) != (ssize_t)sizeof done) break;
        }
        _exit(0);
    }
    close(fds[1]);
    int32_t reported = 0, got;
    int readers_ok = 1, reads = 0, last_seen = 0;
    while (reported < 300 && read(fds[0], &got, sizeof got) == (ssize_t)sizeof got) {
        reported = got;
        if (reported % 50 != 0) continue;
        /* a reader opening the database while the writer runs */
        store_t *r = store_open(path, 1, err, sizeof err);
        store_session_data_t d;
        if (!r || store_session_load(r, sid, &d, err, sizeof err) != 0) {
            readers_ok = 0;
            tap_diag("reader: %s", err);
            store_close(r);
            continue;
        }
        const store_turn_data_t *tt = &d.turns[0];
        /* consistent: the text is as long as the tokens, and nothing goes back */
        readers_ok &= tt->n_tokens >= reported && (int)strlen(tt->text) == 2 * tt->n_tokens &&
                      tt->n_tokens >= last_seen;
        for (int k = 0; k < tt->n_tokens; k++) readers_ok &= tt->tokens[k].n_cand == 10;
        last_seen = tt->n_tokens;
        reads++;
        store_session_data_free(&d);
        store_close(r);
    }
    tap_ok(t, readers_ok && reads >= 5,
           "%d readers opened the database during writes and saw whole tokens only", reads);
    /* now kill the writer mid-stream */
    kill(pid, SIGKILL);
    while (read(fds[0], &got, sizeof got) == (ssize_t)sizeof got) reported = got;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    tap_ok(t, WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was killed (SIGKILL)");
    store_t *r = store_open(path, 0, err, sizeof err);
    store_session_data_t d;
    int ok = r && store_session_load(r, sid, &d, err, sizeof err) == 0;
    int n = ok ? d.turns[0].n_tokens : -1;
    tap_ok(t, ok && n >= reported && n <= reported + 1 && (int)strlen(d.turns[0].text) == 2 * n,
           "after kill -9 every committed token is there (%d stored, %d reported)", n, reported);
    if (ok) store_session_data_free(&d);
    store_close(r);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    const unsigned char *res = NULL;
    char integrity[64] = "";
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && (res = sqlite3_column_text(q, 0)))
        snprintf(integrity, sizeof integrity, "%s", res);
    sqlite3_finalize(q);
    sqlite3_close(db);
    tap_ok(t, strcmp(integrity, "ok") == 0, "integrity_check after the kill: %s", integrity);
}

static void test_speed(tap_t *t, const char *dir) {
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/speed.db", dir);
    store_t *s = store_open(path, 0, err, sizeof err);
    int64_t sid = s ? store_session_new(s, "m", "c", NULL, err, sizeof err) : -1;
    int64_t turn = s ? store_turn_begin(s, sid, "model", "", NULL, err, sizeof err) : -1;
    store_cand_t cand[10];
    int n = 2000, rc = turn > 0 ? 0 : -1;
    double t0 = now_s();
    for (int i = 0; rc == 0 && i < n; i++) {
        store_token_t tk = make_token(i, i % 300, " token", cand, 10);
        rc = store_token_add(s, turn, &tk, err, sizeof err);
    }
    double us = 1e6 * (now_s() - t0) / n;
    tap_diag("%d token inserts with 10 candidates each: %.1f us per token", n, us);
    /* generous: a live reply runs at a few hundred tokens/s at most */
    tap_ok(t, rc == 0 && us < 2000, "a token insert is fast enough for live streaming (%.0f us)", us);
    store_close(s);
}

int main(void) {
    tap_t t = {0, 0};
    char dir[] = "/tmp/test_store.XXXXXX";
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temporary directory\n");
        return 0;
    }
    char err[256], buf[4096];
    setenv("GPTSCOPE_DB", "/x/env.db", 1);
    tap_ok(&t, store_default_path(buf, sizeof buf, err, sizeof err) == 0 && strcmp(buf, "/x/env.db") == 0,
           "GPTSCOPE_DB names the database");
    unsetenv("GPTSCOPE_DB");
    setenv("XDG_DATA_HOME", "/xdg", 1);
    tap_ok(&t, store_default_path(buf, sizeof buf, err, sizeof err) == 0 &&
                   strcmp(buf, "/xdg/gptscope/sessions.db") == 0,
           "else $XDG_DATA_HOME/gptscope/sessions.db");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    tap_ok(&t, store_default_path(buf, sizeof buf, err, sizeof err) == 0 &&
                   strcmp(buf, "/home/u/.local/share/gptscope/sessions.db") == 0,
           "else ~/.local/share/gptscope/sessions.db");
    test_round_trip(&t, dir);
    test_refusals(&t, dir);
    test_concurrency(&t, dir);
    test_speed(&t, dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done(&t);
}
