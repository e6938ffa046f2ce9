/* session.c - model + chat + store for the interactive commands (session.h). */
#include "session.h"
#include "session_branch.h"
#include "session_compare.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export.h"

/* ---- paths and checksums -------------------------------------------------- */

int app_data_path(const char *file, char *buf, size_t len) {
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg) n = snprintf(buf, len, "%s/gptscope/%s", xdg, file);
    else if (home && *home) n = snprintf(buf, len, "%s/.local/share/gptscope/%s", home, file);
    else return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int app_model_checksum(const char *dir, char out[32], char *err, size_t errlen) {
    uint64_t h = 0xcbf29ce484222325ull;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = NULL;
    size_t n = 0;
    if (fileio_read_regular(path, 1 << 20, &cfg, &n, err, errlen) != 0) return -1;
    h = fnv1a(h, cfg, n);
    free(cfg);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f) fclose(f);
        return -1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    h = fnv1a(h, &size, sizeof size);
    unsigned char buf[4096];
    /* the header (names, shapes, offsets) and then a sample of every 4 MiB */
    for (uint64_t off = 0; off < size; off += 4u << 20) {
        if (fseeko(f, (off_t)off, SEEK_SET) != 0) break;
        size_t got = fread(buf, 1, sizeof buf, f);
        h = fnv1a(h, buf, got);
    }
    if (size > sizeof buf && fseeko(f, (off_t)(size - sizeof buf), SEEK_SET) == 0) {
        size_t got = fread(buf, 1, sizeof buf, f);
        h = fnv1a(h, buf, got);
    }
    fclose(f);
    snprintf(out, 32, "%016" PRIx64, h);
    return 0;
}

/* ---- the recorder: chat events into the store ----------------------------- */

static int sess_ensure(app_session_t *s, char *err, size_t errlen) {
    if (s->session_id > 0) return 0;
    char *settings = chat_settings_json(chat_settings(s->chat));
    int64_t id = store_session_new(s->store, s->cm.dir, s->checksum, settings, err, errlen);
    free(settings);
    if (id <= 0) return -1;
    s->session_id = id;
    return 0;
}

static int sess_turn_id_slot(app_session_t *s, int turn, char *err, size_t errlen) {
    if (turn < s->cap_turn_ids) return 0;
    int cap = s->cap_turn_ids ? s->cap_turn_ids : 16;
    while (cap <= turn) cap *= 2;
    int64_t *v = realloc(s->turn_ids, (size_t)cap * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(v + s->cap_turn_ids, 0, (size_t)(cap - s->cap_turn_ids) * sizeof *v);
    s->turn_ids = v;
    s->cap_turn_ids = cap;
    return 0;
}

/* Token text as stored: the token's raw bytes (a NUL-terminated copy; they
 * may hold NUL, GPT-2's token for byte 0 is one); returns their count. */
static size_t sess_token_text(const tokenizer_t *tok, int id, char *out, size_t cap) {
    size_t n = 0;
    const char *b = tokenizer_token_bytes(tok, id, &n);
    if (!b) n = 0;
    if (n >= cap) n = cap - 1;
    memcpy(out, b ? b : "", n);
    out[n] = '\0';
    return n;
}

static int sess_store_token(app_session_t *s, const chat_t *c, int index, int idx_in_turn,
                            char *err, size_t errlen) {
    const chat_token_t *t = chat_token(c, index);
    tokenizer_t *tok = chat_tokenizer(c);
    char text[256];
    size_t text_len = sess_token_text(tok, t->id, text, sizeof text);
    store_cand_t cand[SAMPLER_MAX_REPORT];
    store_token_t st;
    memset(&st, 0, sizeof st);
    st.idx = idx_in_turn;
    st.id = t->id;
    st.text = text;
    st.text_len = text_len;
    st.t_ms = t->t_ms;
    /* known once the token has run (window_start <= index); else -1 */
    st.window_start = t->window_start >= 0 && t->window_start <= index ? t->window_start : -1;
    if (t->has_report) {
        const sampler_report_t *r = &t->report;
        st.has_sample = 1;
        st.chosen_prob = r->chosen_prob;
        st.chosen_raw_logprob = r->chosen_raw_logprob;
        st.entropy_raw = r->entropy_raw;
        st.entropy_final = r->entropy_final;
        st.n_kept = r->n_kept;
        st.chosen_rank = r->chosen_rank;
        st.n_cand = r->n_cand;
        st.cand = cand;
        for (int k = 0; k < r->n_cand; k++) {
            cand[k].id = r->cand[k].id;
            cand[k].text_len =
                (int)sess_token_text(tok, r->cand[k].id, cand[k].text, sizeof cand[k].text);
            cand[k].logit = r->cand[k].logit;
            cand[k].raw_prob = r->cand[k].raw_prob;
            cand[k].prob = r->cand[k].prob;
            cand[k].kept = r->cand[k].kept;
        }
    }
    return store_token_add(s->store, s->turn_ids[t->turn], &st, err, errlen);
}

static int sess_store_turn(app_session_t *s, const chat_t *c, int turn, char *err,
                           size_t errlen);

/* The stored session was deleted under us (sessions delete in another
 * shell): every insert would fail on its foreign key. Store the
 * conversation so far as a new session instead, and tell the user. */
static int sess_resave(app_session_t *s, const chat_t *c, int upto, char *err, size_t errlen) {
    int64_t old = s->session_id;
    s->session_id = 0;
    s->branch = 0;
    if (sess_ensure(s, err, errlen) != 0) return -1;
    for (int k = 0; k < upto; k++) {
        if (sess_store_turn(s, c, k, err, errlen) != 0) return -1;
        const chat_turn_t *t = chat_turn(c, k);
        if (store_turn_end(s->store, s->turn_ids[k], chat_stop_name(t->stop), t->elapsed_ms, err,
                           errlen) != 0)
            return -1;
    }
    snprintf(s->notice, sizeof s->notice,
             "session %lld was deleted elsewhere; this conversation is stored again, as session %lld",
             (long long)old, (long long)s->session_id);
    return 0;
}

/* After a failed write (a full disk, an I/O error) the store stops: the turn
 * in progress would be stored with holes, and later turns after them, so that
 * the stored session is no longer the conversation. The error says so once;
 * the chat goes on unsaved until /new or /open. */
static int sess_store_failed(app_session_t *s, char *err, size_t errlen) {
    s->store_failed = 1;
    size_t n = strlen(err);
    if (n < errlen) snprintf(err + n, errlen - n, "; the rest of this session is not saved");
    return -1;
}

static int sess_storing(const app_session_t *s) { return s->store && !s->store_failed; }

static int rec_turn_begin(void *user, const chat_t *c, int turn, char *err, size_t errlen) {
    app_session_t *s = user;
    if (!sess_storing(s)) return 0;
    if (s->session_id > 0) {
        int there = store_session_exists(s->store, s->session_id, err, errlen);
        if (there < 0 || (there == 0 && sess_resave(s, c, turn, err, errlen) != 0))
            return sess_store_failed(s, err, errlen);
    }
    /* a reply's last token was stored before it ran: it has run now */
    if (turn > 0 && turn - 1 < s->cap_turn_ids && s->turn_ids[turn - 1] > 0) {
        const chat_turn_t *prev = chat_turn(c, turn - 1);
        int last = prev->first + prev->n - 1;
        const chat_token_t *lt = prev->n > 0 ? chat_token(c, last) : NULL;
        if (lt && lt->window_start >= 0 && lt->window_start <= last &&
            store_token_set_window(s->store, s->turn_ids[turn - 1], prev->n - 1, lt->window_start,
                                   err, errlen) != 0)
            return sess_store_failed(s, err, errlen);
    }
    if (sess_store_turn(s, c, turn, err, errlen) != 0) return sess_store_failed(s, err, errlen);
    return 0;
}

/* A beam-search reply's hypotheses (none: nothing to do) under stored turn id. */
static int sess_store_hyps(app_session_t *s, int64_t id, const chat_turn_t *t, char *err,
                           size_t errlen) {
    if (t->n_hyps <= 0) return 0;
    store_hyp_t *h = calloc((size_t)t->n_hyps, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int k = 0; k < t->n_hyps; k++)
        h[k] = (store_hyp_t){t->hyps[k].n, t->hyps[k].ids, t->hyps[k].score,
                             t->hyps[k].sum_logprob};
    int rc = store_turn_hyps(s->store, id, h, t->n_hyps, err, errlen);
    free(h);
    return rc;
}

/* Stores turn's row, and its tokens when it is a user turn. */
static int sess_store_turn(app_session_t *s, const chat_t *c, int turn, char *err,
                           size_t errlen) {
    if (sess_ensure(s, err, errlen) != 0 || sess_turn_id_slot(s, turn, err, errlen) != 0) return -1;
    const chat_turn_t *t = chat_turn(c, turn);
    char *settings = chat_settings_json(&t->settings);
    int64_t id = store_turn_begin(s->store, s->session_id, t->role == CHAT_USER ? "user" : "model",
                                  "", settings, err, errlen);
    free(settings);
    if (id <= 0) return -1;
    s->turn_ids[turn] = id;
    /* a user turn's tokens are all there already (a re-saved model turn's
       too): a prompt is stored in one transaction, however long */
    if (t->role == CHAT_USER && t->n > 0) {
        store_token_t *v = calloc((size_t)t->n, sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (int i = 0; i < t->n; i++) {
            const chat_token_t *ct = chat_token(c, t->first + i);
            size_t nb = 0;
            const char *b = tokenizer_token_bytes(chat_tokenizer(c), ct->id, &nb);
            v[i].idx = i;
            v[i].id = ct->id;
            v[i].text = b && nb ? b : "";
            v[i].text_len = b ? nb : 0;
            v[i].t_ms = ct->t_ms;
            v[i].window_start = ct->window_start >= 0 && ct->window_start <= t->first + i
                                    ? ct->window_start
                                    : -1;
        }
        int rc = store_tokens_add(s->store, id, v, t->n, err, errlen);
        free(v);
        if (rc != 0) return -1;
    }
    for (int i = 0; t->role != CHAT_USER && turn < chat_n_turns(c) - 1 && i < t->n; i++)
        if (sess_store_token(s, c, t->first + i, i, err, errlen) != 0) return -1;
    /* a beam search ran before its reply began: its hypotheses are known */
    return sess_store_hyps(s, id, t, err, errlen);
}

static int rec_token(void *user, const chat_t *c, int index, char *err, size_t errlen) {
    app_session_t *s = user;
    plugin_host_observe(&s->plugins, chat_gen(c));
    if (!sess_storing(s)) return 0;
    const chat_token_t *t = chat_token(c, index);
    if (sess_store_token(s, c, index, index - chat_turn(c, t->turn)->first, err, errlen) != 0)
        return sess_store_failed(s, err, errlen);
    return 0;
}

/* A fork replaced reply `turn`: the store keeps the old one and starts a
 * branch whose first turn shares its first n_shared tokens; the token that
 * differs follows through rec_token. */
static int rec_fork(void *user, const chat_t *c, int turn, int n_shared, char *err,
                    size_t errlen) {
    app_session_t *s = user;
    if (!sess_storing(s)) return 0;
    if (turn >= s->cap_turn_ids || s->turn_ids[turn] <= 0) {
        snprintf(err, errlen, "the reply forked from is not stored");
        return sess_store_failed(s, err, errlen);
    }
    const chat_turn_t *t = chat_turn(c, turn);
    char *settings = chat_settings_json(&t->settings);
    int branch = 0;
    int64_t id = store_fork(s->store, s->turn_ids[turn], n_shared, settings, &branch, err, errlen);
    free(settings);
    if (id <= 0) return sess_store_failed(s, err, errlen);
    s->turn_ids[turn] = id;
    s->branch = branch;
    return sess_store_hyps(s, id, t, err, errlen) != 0 ? sess_store_failed(s, err, errlen) : 0;
}

static int rec_turn_end(void *user, const chat_t *c, int turn, char *err, size_t errlen) {
    app_session_t *s = user;
    if (!s->store) return 0;
    /* a reply stopped by a failed write still gets its stop reason ("error")
       where the store can take it: the rows before the failure are whole */
    int failed = s->store_failed;
    if (failed && (turn >= s->cap_turn_ids || s->turn_ids[turn] <= 0)) return 0;
    const chat_turn_t *t = chat_turn(c, turn);
    int rc = store_turn_end(s->store, s->turn_ids[turn], chat_stop_name(t->stop), t->elapsed_ms,
                            err, errlen);
    if (failed) return 0; /* already said */
    return rc != 0 ? sess_store_failed(s, err, errlen) : 0;
}

/* The recorder stores the session and feeds the plugins' observers; the
 * plugins' sampler hooks go on the chat's sampler. */
static void sess_attach(app_session_t *s) {
    chat_recorder_t r = {s, rec_turn_begin, rec_token, rec_turn_end, rec_fork};
    if (s->store || plugin_host_capture(&s->plugins)) chat_set_recorder(s->chat, &r);
    plugin_host_bind(&s->plugins, s->chat, s->cm.model, s->cm.tok,
                     s->n_threads < 0 ? -s->n_threads : s->n_threads);
    sampler_hooks_t h;
    chat_set_sampler_hooks(s->chat, plugin_host_hooks(&s->plugins, &h) ? &h : NULL);
}

/* Makes the plugin sampler the chat's settings name the one in use. When
 * it cannot be had (its plugin is not loaded: a stored session from
 * elsewhere), the built-in sampler takes over and note says so. */
static void sess_sync_sampler(app_session_t *s, char *note, size_t notelen) {
    const char *want = chat_settings(s->chat)->sampler;
    if (strcmp(want, s->plugins.sampler_spec) != 0) {
        char err[300];
        if (plugin_host_set_sampler(&s->plugins, want, err, sizeof err) != 0) {
            snprintf(note, notelen, "sampler '%.127s' is not available (%.300s): using the built-in one",
                     want, err);
            chat_settings_t set = *chat_settings(s->chat);
            set.sampler[0] = 0;
            chat_set_settings(s->chat, &set, err, sizeof err);
            plugin_host_set_sampler(&s->plugins, "", err, sizeof err);
        }
    }
    sess_attach(s);
}

/* ---- host callbacks -------------------------------------------------------- */

static chat_t *host_chat(void *user) { return ((app_session_t *)user)->chat; }

static int host_take_notice(void *user, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->notice[0] && s->plugins.log_line[0]) {
        snprintf(s->notice, sizeof s->notice, "%s", s->plugins.log_line);
        s->plugins.log_line[0] = '\0';
    }
    if (!s->notice[0]) return 0;
    snprintf(msg, msglen, "%s", s->notice);
    s->notice[0] = '\0';
    return 1;
}

static const char *host_model_name(void *user) {
    const char *dir = ((app_session_t *)user)->cm.dir;
    const char *slash = strrchr(dir, '/');
    /* "…/default-model" says less than the directory that holds it */
    return slash && slash[1] ? slash + 1 : dir;
}

static int64_t host_session_id(void *user) { return ((app_session_t *)user)->session_id; }

static int host_settings_changed(void *user, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!sess_storing(s) || s->session_id <= 0) return 0;
    char *json = chat_settings_json(chat_settings(s->chat));
    int rc = json ? store_session_set_settings(s->store, s->session_id, json, msg, msglen) : -1;
    if (!json) snprintf(msg, msglen, "out of memory");
    free(json);
    return rc;
}

static int host_new_session(void *user, char *msg, size_t msglen) {
    app_session_t *s = user;
    chat_clear(s->chat);
    s->session_id = 0;
    s->branch = 0;
    s->store_failed = 0; /* a new session is stored again, where the store can */
    snprintf(msg, msglen, "%s", s->store ? "new session (stored from its first prompt)"
                                         : "cleared (sessions are not being saved)");
    return 0;
}

static int host_open_session(void *user, int64_t id, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->store) {
        snprintf(msg, msglen, "sessions are not being saved here (--no-save)");
        return -1;
    }
    char note[256] = "";
    if (app_session_load(s, id, note, sizeof note, msg, msglen) != 0) return -1;
    snprintf(msg, msglen, "session %lld: %d turns%s%s", (long long)id, chat_n_turns(s->chat),
             note[0] ? "; " : "", note);
    return 0;
}

static int host_list_sessions(void *user, char **text, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->store) {
        snprintf(msg, msglen, "sessions are not being saved here (--no-save)");
        return -1;
    }
    store_session_info_t *v = NULL;
    int n = 0;
    if (store_session_list(s->store, &v, &n, msg, msglen) != 0) return -1;
    size_t size = 0;
    FILE *f = open_memstream(text, &size);
    if (!f) {
        store_session_infos_free(v, n);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (n == 0) fprintf(f, "no stored sessions in %s\n", store_path(s->store));
    for (int i = 0; i < n; i++) export_list_line(&v[i], f);
    fclose(f);
    store_session_infos_free(v, n);
    snprintf(msg, msglen, "%d sessions", n);
    return 0;
}

static int host_export_session(void *user, const char *path, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->store || s->session_id <= 0) {
        snprintf(msg, msglen, "nothing stored to export yet%s", s->store ? "" : " (--no-save)");
        return -1;
    }
    char def[64];
    if (!path) {
        snprintf(def, sizeof def, "gptscope-session-%lld.md", (long long)s->session_id);
        path = def;
    }
    store_session_data_t d;
    if (store_session_load(s->store, s->session_id, &d, msg, msglen) != 0) return -1;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (f) {
        export_markdown(&d, f);
        fclose(f);
    }
    store_session_data_free(&d);
    int rc = text ? fileio_write_atomic(path, text, size, msg, msglen) : -1;
    if (!text) snprintf(msg, msglen, "out of memory");
    free(text);
    if (rc == 0) snprintf(msg, msglen, "session %lld written to %s", (long long)s->session_id, path);
    return rc;
}

/* The classifier of a fine-tuned classify model, for the class pane; any
 * other model (no head, or another task) has none, silently. */
static void sess_classifier_close(app_session_t *s) {
    if (s->has_cls) task_infer_free(&s->cls);
    task_info_free(&s->cls_info);
    s->has_cls = 0;
}

static void sess_classifier_open(app_session_t *s) {
    char path[4200], err[512];
    sess_classifier_close(s);
    if (s->cm.cfg.n_clf <= 0 || !s->cm.model) return;
    snprintf(path, sizeof path, "%s/config.json", s->cm.dir);
    if (task_info_load(&s->cls_info, path, &s->cm.cfg, err, sizeof err) != 0) return;
    /* task_infer_init refuses heads of the other tasks */
    if (task_infer_init(&s->cls, s->cm.model, s->cm.tok, &s->cls_info, s->n_threads, err,
                        sizeof err) != 0) {
        task_info_free(&s->cls_info);
        return;
    }
    s->has_cls = 1;
}

static int host_class_labels(void *user, const char *const **labels) {
    app_session_t *s = user;
    if (!s->has_cls) return 0;
    *labels = (const char *const *)s->cls_info.labels;
    return s->cls_info.n_labels;
}

static int host_classify(void *user, const char *text, size_t len, float *probs, char *msg,
                         size_t msglen) {
    app_session_t *s = user;
    if (!s->has_cls) {
        snprintf(msg, msglen, "the model has no classification head");
        return -1;
    }
    return task_infer_text(&s->cls, text, len, probs, msg, msglen);
}

static int host_set_model(void *user, const char *dir, char *msg, size_t msglen) {
    app_session_t *s = user;
    /* not cli_model_open: it prints its error, and the ui needs it as a message */
    tokenizer_t *tok = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s", dir);
    gpt_model_t *m = gpt_load(path, msg, msglen);
    if (!m) return -1;
    gpt_config_t c2;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (gpt_config_load(&c2, path, msg, msglen) != 0 ||
        !(tok = tokenizer_load(dir, cli_tokenizer_kind(&c2), msg, msglen))) {
        gpt_free(m);
        return -1;
    }
    char sum[32];
    if (app_model_checksum(dir, sum, msg, msglen) != 0) {
        tokenizer_free(tok);
        gpt_free(m);
        return -1;
    }
    chat_t *c = chat_init(m, tok, chat_settings(s->chat), s->n_threads, s->capture, msg, msglen);
    if (!c) {
        tokenizer_free(tok);
        gpt_free(m);
        return -1;
    }
    sess_classifier_close(s); /* it reads the old model */
    chat_free(s->chat);
    gpt_free(s->cm.model);
    tokenizer_free(s->cm.tok);
    snprintf(s->cm.dir, sizeof s->cm.dir, "%s", dir);
    s->cm.cfg = c2;
    s->cm.model = m;
    s->cm.tok = tok;
    memcpy(s->checksum, sum, sizeof sum);
    s->chat = c;
    s->session_id = 0;
    s->store_failed = 0;
    sess_attach(s);
    sess_classifier_open(s);
    snprintf(msg, msglen, "model %s: %d layers x %d, context %d (a new session)", dir, c2.n_layer,
             c2.n_embd, c2.n_ctx);
    return 0;
}

/* ---- plugins ---------------------------------------------------------------- */

static int host_set_sampler(void *user, const char *spec, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!spec) {
        char *list = plugin_host_sampler_list(&s->plugins);
        snprintf(msg, msglen, "sampler: %s; plugin samplers:%s%s",
                 s->plugins.sampler_spec[0] ? s->plugins.sampler_spec : "default (built-in)",
                 list && *list ? "\n" : " none loaded", list ? list : "");
        free(list);
        return 0;
    }
    if (plugin_host_set_sampler(&s->plugins, spec, msg, msglen) != 0) return -1;
    chat_settings_t set = *chat_settings(s->chat);
    snprintf(set.sampler, sizeof set.sampler, "%s", s->plugins.sampler_spec);
    if (chat_set_settings(s->chat, &set, msg, msglen) != 0) return -1;
    sess_attach(s);
    if (host_settings_changed(s, msg, msglen) != 0) return -1;
    snprintf(msg, msglen, "sampler: %s",
             s->plugins.sampler_spec[0] ? s->plugins.sampler_spec : "default (built-in)");
    return 0;
}

static int host_plugin_command(void *user, const char *name, const char *args, char *msg,
                               size_t msglen) {
    return plugin_host_command(&((app_session_t *)user)->plugins, name, args, msg, msglen);
}

static char *host_plugin_help(void *user) {
    return plugin_host_command_help(&((app_session_t *)user)->plugins);
}

static int host_n_panes(void *user) {
    return plugin_host_n_panes(&((app_session_t *)user)->plugins);
}

static const char *host_pane_name(void *user, int i, const char **title) {
    const gsp_pane_t *p = plugin_host_pane(&((app_session_t *)user)->plugins, i, NULL);
    if (!p) return NULL;
    if (title) *title = p->title ? p->title : p->name;
    return p->name;
}

static int host_pane_draw(void *user, int i, const gsp_draw_api_t *d, gsp_canvas_t *c,
                          const gsp_view_t *v, char *msg, size_t msglen) {
    return plugin_host_pane_draw(&((app_session_t *)user)->plugins, i, d, c, v, msg, msglen);
}

static void host_screen(void *user, int on) {
    ((app_session_t *)user)->plugins.screen = on;
}

/* ---- open / close / load -------------------------------------------------- */

int app_session_open(app_session_t *s, const char *model_dir, const chat_settings_t *settings,
                     const char *db_path, int n_threads, int capture_attn,
                     const plugin_opts_t *po) {
    memset(s, 0, sizeof *s);
    s->n_threads = n_threads;
    char err[1024];
    if (cli_model_open(&s->cm, model_dir, 1) != 0) return -1;
    plugin_host_init(&s->plugins, po);
    s->capture = capture_attn | plugin_host_capture(&s->plugins);
    if (app_model_checksum(s->cm.dir, s->checksum, err, sizeof err) != 0) {
        cli_error("%s", err);
        app_session_close(s);
        return -1;
    }
    s->chat = chat_init(s->cm.model, s->cm.tok, settings, n_threads, s->capture, err, sizeof err);
    if (!s->chat) {
        cli_error("%s", err);
        app_session_close(s);
        return -1;
    }
    if (db_path) {
        s->store = store_open(db_path, 0, err, sizeof err);
        if (!s->store) {
            cli_error("%s", err);
            app_session_close(s);
            return -1;
        }
    }
    if (settings->sampler[0] &&
        plugin_host_set_sampler(&s->plugins, settings->sampler, err, sizeof err) != 0) {
        cli_error("--sampler: %s", err);
        app_session_close(s);
        return -1;
    }
    sess_attach(s); /* after the sampler: its hooks go on the chat with the rest */
    s->host = (ui_host_t){s,
                          host_chat,
                          host_model_name,
                          host_session_id,
                          host_settings_changed,
                          host_new_session,
                          host_open_session,
                          host_list_sessions,
                          host_export_session,
                          host_set_model,
                          host_take_notice,
                          host_class_labels,
                          host_classify,
                          host_set_sampler,
                          host_plugin_command,
                          host_plugin_help,
                          host_n_panes,
                          host_pane_name,
                          host_pane_draw,
                          host_screen,
                          app_session_fork,
                          app_session_branches,
                          app_session_switch_branch,
                          app_session_compare};
    sess_classifier_open(s);
    return 0;
}

void app_session_close(app_session_t *s) {
    sess_classifier_close(s);
    chat_free(s->chat);
    s->chat = NULL;
    store_close(s->store);
    s->store = NULL;
    plugin_host_free(&s->plugins);
    free(s->turn_ids);
    s->turn_ids = NULL;
    cli_model_close(&s->cm);
}

/* A stored token's sampler data back into a report (what the panes show). */
static void sess_report(const store_token_t *t, sampler_report_t *r) {
    memset(r, 0, sizeof *r);
    r->chosen = t->id;
    r->chosen_prob = t->chosen_prob;
    r->chosen_raw_logprob = t->chosen_raw_logprob;
    r->chosen_rank = t->chosen_rank;
    r->n_kept = t->n_kept;
    r->entropy_raw = t->entropy_raw;
    r->entropy_final = t->entropy_final;
    r->n_cand = t->n_cand < SAMPLER_MAX_REPORT ? t->n_cand : SAMPLER_MAX_REPORT;
    for (int k = 0; k < r->n_cand; k++) {
        sampler_candidate_t *c = &r->cand[k];
        c->id = t->cand[k].id;
        c->logit = t->cand[k].logit;
        c->raw_prob = t->cand[k].raw_prob;
        c->raw_logprob = t->cand[k].raw_prob > 0 ? logf(t->cand[k].raw_prob) : -INFINITY;
        c->prob = t->cand[k].prob;
        c->kept = t->cand[k].kept;
    }
}

int app_session_load(app_session_t *s, int64_t id, char *note, size_t notelen, char *err,
                     size_t errlen) {
    return app_session_load_branch(s, id, -1, note, notelen, err, errlen);
}

int app_session_load_branch(app_session_t *s, int64_t id, int branch, char *note, size_t notelen,
                            char *err, size_t errlen) {
    note[0] = '\0';
    store_session_data_t d;
    if (store_session_load_branch(s->store, id, branch, &d, err, errlen) != 0) return -1;
    chat_clear(s->chat);
    s->session_id = 0;
    s->branch = d.branch;
    int rc = sess_turn_id_slot(s, d.n_turns, err, errlen);
    for (int i = 0; rc == 0 && i < d.n_turns; i++) {
        const store_turn_data_t *t = &d.turns[i];
        int n = t->n_tokens;
        int *ids = malloc(((size_t)n + 1) * sizeof *ids);
        double *tms = malloc(((size_t)n + 1) * sizeof *tms);
        sampler_report_t *reps = NULL;
        int has_reports = n > 0 && t->tokens[0].has_sample;
        if (has_reports) reps = malloc((size_t)n * sizeof *reps);
        if (!ids || !tms || (has_reports && !reps)) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        for (int k = 0; rc == 0 && k < n; k++) {
            ids[k] = t->tokens[k].id;
            tms[k] = t->tokens[k].t_ms;
            if (reps) sess_report(&t->tokens[k], &reps[k]);
        }
        chat_settings_t set = *chat_settings(s->chat);
        char e2[256];
        if (t->settings_json) chat_settings_from_json(&set, t->settings_json, e2, sizeof e2);
        chat_role_t role = strcmp(t->role, "user") == 0 ? CHAT_USER : CHAT_MODEL;
        chat_stop_t stop = t->stop ? chat_stop_parse(t->stop) : CHAT_STOP_NONE;
        if (role == CHAT_MODEL && stop == CHAT_STOP_NONE) stop = CHAT_STOP_INTERRUPTED; /* killed */
        int first = chat_n_tokens(s->chat);
        if (rc == 0 && n > 0)
            rc = chat_restore_turn(s->chat, role, ids, n, reps, tms, stop, t->elapsed_ms, &set, err,
                                   errlen);
        /* the windows the tokens really ran in, where stored (schema 2);
         * the others keep the live policy's simulation */
        for (int k = 0; rc == 0 && k < n; k++) {
            int ws = t->tokens[k].window_start;
            if (ws >= 0 && ws <= first + k)
                rc = chat_restore_windows(s->chat, first + k, 1, &ws, err, errlen);
        }
        if (rc == 0 && n > 0 && role == CHAT_MODEL && t->n_hyps > 0) {
            chat_hyp_t *h = calloc((size_t)t->n_hyps, sizeof *h);
            if (!h) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
            for (int k = 0; h && k < t->n_hyps; k++)
                h[k] = (chat_hyp_t){t->hyps[k].n, t->hyps[k].ids, (float)t->hyps[k].score,
                                    (float)t->hyps[k].sum_logprob};
            if (h) rc = chat_restore_hyps(s->chat, chat_n_turns(s->chat) - 1, h, t->n_hyps, err,
                                          errlen);
            free(h);
        }
        if (rc == 0 && n > 0) s->turn_ids[chat_n_turns(s->chat) - 1] = t->id;
        free(ids);
        free(tms);
        free(reps);
    }
    if (rc == 0 && d.info.model_checksum && strcmp(d.info.model_checksum, s->checksum) != 0)
        snprintf(note, notelen, "it was stored with another model (%s, checksum %s)",
                 d.info.model_path ? d.info.model_path : "?", d.info.model_checksum);
    if (rc == 0) {
        chat_settings_t set = *chat_settings(s->chat);
        char e2[256];
        if (d.info.settings_json && chat_settings_from_json(&set, d.info.settings_json, e2, sizeof e2) == 0)
            chat_set_settings(s->chat, &set, e2, sizeof e2);
        /* a sampler that is not here: said by take_notice, not in note
         * (replay reads note as "the attention cannot be shown") */
        sess_sync_sampler(s, s->notice, sizeof s->notice);
        rc = chat_sync(s->chat, err, errlen);
    }
    /* new turns continue the branch on screen */
    int cur = 0, nb = 0;
    if (rc == 0 && store_branch_info(s->store, id, &cur, &nb, err, errlen) != 0) rc = -1;
    if (rc == 0 && cur != d.branch && store_session_set_branch(s->store, id, d.branch, err, errlen))
        rc = -1;
    store_session_data_free(&d);
    if (rc != 0) {
        chat_clear(s->chat);
        return -1;
    }
    s->session_id = id;
    s->store_failed = 0;
    return 0;
}
