/* test_chat.c - the conversation engine (core/decode/chat.c), gen_extend, and the
 * attention probe (core/model/attn_probe.c) on the tiny GPT-2 reference model
 * (n_ctx 64, so several turns make the window slide).
 *
 * The checks compare against independent paths through the engine: a
 * chat's tokens must be what one generation session fed the same ids
 * produces; logits after gen_extend (with and without a slide) must equal a
 * fresh prefill of the same window; probe rows must equal the attention the
 * generator captured live, and the matrix rows the probe's single rows. */
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "attn_probe.h"
#include "beam.h"
#include "chat.h"
#include "jsonx.h"
#include "generate.h"
#include "tap.h"

typedef struct rec_log {
    int begins, tokens, ends, last_index, fail_at_token;
    chat_stop_t last_stop;
} rec_log_t;

static int rec_begin(void *u, const chat_t *c, int turn, char *err, size_t errlen) {
    (void)c, (void)turn, (void)err, (void)errlen;
    ((rec_log_t *)u)->begins++;
    return 0;
}
static int rec_token(void *u, const chat_t *c, int index, char *err, size_t errlen) {
    (void)c;
    rec_log_t *l = u;
    l->tokens++;
    l->last_index = index;
    if (l->fail_at_token && l->tokens == l->fail_at_token) {
        snprintf(err, errlen, "sessions.db: disk full");
        return -1;
    }
    return 0;
}
static int rec_end(void *u, const chat_t *c, int turn, char *err, size_t errlen) {
    (void)err, (void)errlen;
    rec_log_t *l = u;
    l->ends++;
    l->last_stop = chat_turn(c, turn)->stop;
    return 0;
}

/* A fresh generator's logits for ids[0..n) (the window to compare with). */
static float *fresh_logits(const gpt_model_t *m, const int *ids, int n) {
    char err[256];
    gen_params_t gp = gen_params_default();
    gen_t *g = gen_init(m, &gp, err, sizeof err);
    float *out = malloc((size_t)m->cfg.n_vocab * sizeof(float));
    if (g && out && gen_prefill(g, ids, n, NULL, err, sizeof err) == 0)
        memcpy(out, gen_logits(g), (size_t)m->cfg.n_vocab * sizeof(float));
    else {
        free(out);
        out = NULL;
    }
    gen_free(g);
    return out;
}

static void test_extend(tap_t *t, const gpt_model_t *m) {
    char err[256];
    int V = m->cfg.n_vocab, n_ctx = m->cfg.n_ctx;
    int ids[200];
    for (int i = 0; i < 200; i++) ids[i] = (i * 37 + 11) % V;
    gen_params_t gp = gen_params_default();
    gen_t *g = gen_init(m, &gp, err, sizeof err);
    int ok = g && gen_prefill(g, ids, 10, NULL, err, sizeof err) == 0 &&
             gen_extend(g, ids + 10, 7, NULL, err, sizeof err) == 0;
    float *want = fresh_logits(m, ids, 17);
    tap_ok(t, ok && want && tap_max_abs_diff(gen_logits(g), want, V) < 1e-4f,
           "gen_extend: logits equal a fresh prefill of the 17 ids");
    free(want);
    /* 17 + 60 > n_ctx - 1: slides, keeping the last max(n_ctx/2, 60) = 60 */
    int dropped = -1;
    ok = gen_extend(g, ids + 17, 60, &dropped, err, sizeof err) == 0;
    int n = 0;
    gen_history(g, &n);
    int ws = gen_window_start(g);
    tap_ok(t, ok && n == 77 && ws == 17 && dropped == 17,
           "gen_extend slides: history 77, window starts at 17, 17 dropped (got %d, %d, %d)", n,
           ws, dropped);
    want = fresh_logits(m, ids + ws, n - ws);
    tap_ok(t, want && tap_max_abs_diff(gen_logits(g), want, V) < 1e-4f,
           "gen_extend after a slide: logits equal a fresh run of the kept window");
    free(want);
    /* a small extension over a full window keeps n_ctx/2 */
    ok = gen_extend(g, ids + 77, 5, &dropped, err, sizeof err) == 0;
    gen_history(g, &n);
    tap_ok(t, ok && n - gen_window_start(g) <= n_ctx - 1, "window stays within n_ctx - 1 (%d)",
           n - gen_window_start(g));
    int bad = V;
    tap_ok(t, gen_extend(g, &bad, 1, NULL, err, sizeof err) == -1 && strstr(err, "vocabulary"),
           "gen_extend refuses an id outside the vocabulary (%s)", err);
    gen_free(g);
    g = gen_init(m, &gp, err, sizeof err);
    tap_ok(t, g && gen_extend(g, ids, 3, NULL, err, sizeof err) == -1,
           "gen_extend before any prompt is an error");
    gen_free(g);
}

static void test_chat(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    s.sampling.temperature = 0.8f;
    s.sampling.top_k = 20;
    s.sampling.seed = 42;
    s.max_tokens = 12;
    s.stop_at_eos = 0;
    chat_t *c = chat_init(m, tok, &s, 1, 1, err, sizeof err);
    if (!tap_ok(t, c != NULL, "chat_init (%s)", c ? "" : err)) return;
    rec_log_t log = {0};
    chat_recorder_t rec = {&log, rec_begin, rec_token, rec_end, NULL};
    chat_set_recorder(c, &rec);

    int rc = chat_user(c, "hello world", 11, err, sizeof err);
    int n_user = chat_n_tokens(c);
    rc |= chat_reply_begin(c, err, sizeof err);
    chat_stop_t stop = CHAT_STOP_NONE;
    int steps = 0;
    while (rc == 0 && stop == CHAT_STOP_NONE && steps < 100) {
        rc = chat_reply_step(c, &stop, err, sizeof err);
        steps++;
    }
    rc |= chat_reply_end(c, CHAT_STOP_INTERRUPTED, err, sizeof err);
    tap_ok(t, rc == 0 && steps == 12 && stop == CHAT_STOP_MAX,
           "a reply stops at max_tokens (12 steps, got %d, stop %d, %s)", steps, stop, err);
    tap_ok(t, chat_n_turns(c) == 2 && chat_turn(c, 0)->role == CHAT_USER &&
                  chat_turn(c, 1)->role == CHAT_MODEL && chat_turn(c, 1)->n == 12 &&
                  chat_turn(c, 1)->first == n_user && chat_turn(c, 1)->stop == CHAT_STOP_MAX,
           "two turns: the prompt's tokens, then 12 generated");
    tap_ok(t, log.begins == 2 && log.ends == 2 && log.tokens == 12 &&
                  log.last_index == chat_n_tokens(c) - 1 && log.last_stop == CHAT_STOP_MAX,
           "the recorder heard 2 begins, 12 tokens, 2 ends (%d, %d, %d)", log.begins, log.tokens,
           log.ends);

    /* the same ids through a bare generator and sampler */
    gen_params_t gp = gen_params_default();
    gen_t *g = gen_init(m, &gp, err, sizeof err);
    sampler_t *smp = sampler_init(&s.sampling, m->cfg.n_vocab, err, sizeof err);
    int same = g && smp && gen_prefill(g, chat_ids(c), n_user, NULL, err, sizeof err) == 0;
    int reports_ok = 1;
    for (int i = 0; same && i < 12; i++) {
        gen_step_t st;
        sampler_report_t rep;
        same = gen_step(g, smp, &rep, &st, err, sizeof err) == 0 &&
               st.id == chat_token(c, n_user + i)->id;
        const chat_token_t *ct = chat_token(c, n_user + i);
        reports_ok &= ct->has_report && ct->report.chosen == ct->id &&
                      ct->report.n_cand == rep.n_cand && ct->t_ms >= 0 &&
                      fabsf(ct->report.chosen_prob - rep.chosen_prob) < 1e-6f;
    }
    tap_ok(t, same, "the reply equals a generation session with the same sampler and seed");
    tap_ok(t, reports_ok, "every generated token keeps its sampler report");
    tap_ok(t, !chat_token(c, 0)->has_report, "prompt tokens have no report");
    gen_free(g);
    sampler_free(smp);

    /* attention: the probe recomputes what the generator captured live */
    attn_probe_t *probe = attn_probe_init(m, 1, err, sizeof err);
    int pos = -1, hist = -1;
    const float *live = gen_attn(chat_gen(c), &pos, &hist);
    int L = m->cfg.n_layer, H = m->cfg.n_head, n_ctx = m->cfg.n_ctx;
    int ws = chat_window_start(c);
    float *row = malloc((size_t)L * H * n_ctx * sizeof(float));
    int ok = probe && live && row &&
             attn_probe_row(probe, chat_ids(c) + ws, pos, row, err, sizeof err) == 0;
    float worst = ok ? 0 : INFINITY;
    for (int lh = 0; ok && lh < L * H; lh++) {
        float d = tap_max_abs_diff(row + (size_t)lh * (pos + 1), live + (size_t)lh * n_ctx, pos + 1);
        if (d > worst) worst = d;
    }
    tap_ok(t, ok && hist == chat_n_tokens(c) - 1 && pos == hist - ws,
           "the live capture is of the newest token (history %d, position %d)", hist, pos);
    tap_ok(t, ok && worst < 1e-5f, "probe row == live capture, every layer and head (max diff %g)",
           (double)worst);
    /* the matrix's rows are the probe's rows; head -1 is their mean */
    int n = chat_n_tokens(c) - ws;
    float *mat = malloc((size_t)n * n * sizeof(float));
    float *avg = malloc((size_t)n * n * sizeof(float));
    ok = mat && avg && attn_probe_matrix(probe, chat_ids(c) + ws, n, 1, 2, mat, err, sizeof err) == 0 &&
         attn_probe_matrix(probe, chat_ids(c) + ws, n, 1, -1, avg, err, sizeof err) == 0;
    worst = 0;
    float sum_err = 0, upper = 0, mean_err = 0;
    for (int q = 0; ok && q < n; q += 7) {
        ok = attn_probe_row(probe, chat_ids(c) + ws, q, row, err, sizeof err) == 0;
        float d = tap_max_abs_diff(mat + (size_t)q * n, row + (size_t)(1 * H + 2) * (q + 1), q + 1);
        if (d > worst) worst = d;
        for (int k = 0; k <= q; k++) {
            float mean = 0;
            for (int h = 0; h < H; h++) mean += row[(size_t)(1 * H + h) * (q + 1) + k] / H;
            mean_err = fmaxf(mean_err, fabsf(mean - avg[(size_t)q * n + k]));
        }
    }
    for (int q = 0; ok && q < n; q++) {
        float sum = 0;
        for (int k = 0; k < n; k++) {
            sum += mat[(size_t)q * n + k];
            if (k > q) upper = fmaxf(upper, fabsf(mat[(size_t)q * n + k]));
        }
        sum_err = fmaxf(sum_err, fabsf(sum - 1));
    }
    tap_ok(t, ok && worst < 1e-5f, "matrix rows == probe rows (layer 1, head 2; max diff %g)",
           (double)worst);
    tap_ok(t, ok && sum_err < 1e-4f && upper == 0, "matrix rows sum to 1, nothing above the diagonal");
    tap_ok(t, ok && mean_err < 1e-5f, "head -1 is the mean over heads (max diff %g)", (double)mean_err);
    tap_ok(t, attn_probe_matrix(probe, chat_ids(c) + ws, n, L, 0, mat, err, sizeof err) == -1,
           "the probe refuses a layer the model lacks");
    free(mat);
    free(avg);
    free(row);
    attn_probe_free(probe);

    /* more turns: the window slides (n_ctx 64) and the model still continues
       from exactly the stored history */
    for (int turn = 0; turn < 4; turn++) {
        rc = chat_user(c, " and then some more words here", 30, err, sizeof err);
        rc |= chat_reply_begin(c, err, sizeof err);
        stop = CHAT_STOP_NONE;
        while (rc == 0 && stop == CHAT_STOP_NONE) rc = chat_reply_step(c, &stop, err, sizeof err);
        rc |= chat_reply_end(c, CHAT_STOP_NONE, err, sizeof err);
    }
    ws = chat_window_start(c);
    tap_ok(t, rc == 0 && ws > 0 && chat_n_turns(c) == 10,
           "ten turns later the window has slid (starts at %d)", ws);
    int nh = 0;
    const int *hist_ids = gen_history(chat_gen(c), &nh);
    tap_ok(t, nh == chat_n_tokens(c) && memcmp(hist_ids, chat_ids(c), (size_t)nh * sizeof(int)) == 0,
           "the chat's ids are the generator's history");

    /* an interrupted reply */
    rc = chat_reply_begin(c, err, sizeof err);
    rc |= chat_reply_step(c, &stop, err, sizeof err);
    rc |= chat_reply_end(c, CHAT_STOP_INTERRUPTED, err, sizeof err);
    const chat_turn_t *last = chat_turn(c, chat_n_turns(c) - 1);
    tap_ok(t, rc == 0 && last->stop == CHAT_STOP_INTERRUPTED && last->n == 1 &&
                  log.last_stop == CHAT_STOP_INTERRUPTED,
           "a reply ended by the user is marked interrupted");

    /* restore: a new chat rebuilt from the turns continues like the old one */
    chat_t *c2 = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    rc = c2 ? 0 : -1;
    for (int i = 0; rc == 0 && i < chat_n_turns(c); i++) {
        const chat_turn_t *tu = chat_turn(c, i);
        rc = chat_restore_turn(c2, tu->role, chat_ids(c) + tu->first, tu->n, NULL, NULL, tu->stop,
                               tu->elapsed_ms, &tu->settings, err, sizeof err);
    }
    rc |= chat_sync(c2, err, sizeof err);
    int n1 = 0, n2 = 0;
    gen_history(chat_gen(c), &n1);
    gen_history(chat_gen(c2), &n2);
    /* the original's window slid in steps; a restore keeps the last n_ctx - 1
       tokens, so compare against a fresh run of that same window */
    int ws2 = chat_window_start(c2);
    float *want = fresh_logits(m, chat_ids(c) + ws2, n1 - ws2);
    tap_ok(t, rc == 0 && n2 == n1 && want &&
                  tap_max_abs_diff(gen_logits(chat_gen(c2)), want, m->cfg.n_vocab) < 1e-4f,
           "a restored chat holds the same history and is ready to continue (%s)",
           rc ? err : "");
    free(want);
    int bad_id = m->cfg.n_vocab + 5;
    tap_ok(t, chat_restore_turn(c2, CHAT_USER, &bad_id, 1, NULL, NULL, CHAT_STOP_NONE, 0, NULL, err,
                                sizeof err) == -1 && strstr(err, "vocabulary"),
           "restoring an id outside the vocabulary is refused (%s)", err);
    chat_free(c2);

    /* a recorder error stops the reply and comes back as the error */
    log.fail_at_token = log.tokens + 2;
    rc = chat_user(c, "x", 1, err, sizeof err);
    rc |= chat_reply_begin(c, err, sizeof err);
    int r1 = chat_reply_step(c, &stop, err, sizeof err);
    int r2 = chat_reply_step(c, &stop, err, sizeof err);
    tap_ok(t, rc == 0 && r1 == 0 && r2 == -1 && strstr(err, "disk full"),
           "a recorder failure is the step's error (%s)", err);
    chat_reply_end(c, CHAT_STOP_ERROR, err, sizeof err);
    log.fail_at_token = 0;

    /* invalid UTF-8 and empty prompts */
    tap_ok(t, chat_user(c, "ab\xff", 3, err, sizeof err) == -1 && strstr(err, "UTF-8"),
           "invalid UTF-8 in a prompt is refused (%s)", err);
    int before = chat_n_turns(c);
    tap_ok(t, chat_user(c, "", 0, err, sizeof err) == 0 && chat_n_turns(c) == before,
           "an empty prompt after history adds no turn");
    chat_clear(c);
    tap_ok(t, chat_n_tokens(c) == 0 && chat_user(c, "", 0, err, sizeof err) == -1,
           "after /clear the first prompt may not be empty");
    tap_ok(t, chat_reply_begin(c, err, sizeof err) == -1, "no reply without history");
    chat_free(c);
}

static void test_beams(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    s.beams = 3;
    s.max_tokens = 8;
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    int rc = c ? chat_user(c, "the cat", 7, err, sizeof err) : -1;
    int n_prompt = c ? chat_n_tokens(c) : 0;
    rc |= c ? chat_reply_begin(c, err, sizeof err) : -1;
    chat_stop_t stop = CHAT_STOP_NONE;
    while (rc == 0 && stop == CHAT_STOP_NONE) rc = chat_reply_step(c, &stop, err, sizeof err);
    beam_params_t bp = {3, 8, 1.0f, tokenizer_eot_id(tok), 1, NULL};
    beam_result_t res = {0};
    int ok = rc == 0 && beam_search(m, chat_ids(c), n_prompt, &bp, &res, err, sizeof err) == 0 &&
             res.n_hyps > 0 && res.hyps[0].n == chat_n_tokens(c) - n_prompt &&
             memcmp(res.hyps[0].ids, chat_ids(c) + n_prompt, (size_t)res.hyps[0].n * sizeof(int)) == 0;
    tap_ok(t, ok, "with /beams 3 the reply is beam search's best hypothesis (%s)", rc ? err : "");
    /* each token is described by the raw distribution it was chosen from */
    const chat_token_t *last = c ? chat_token(c, chat_n_tokens(c) - 1) : NULL;
    tap_ok(t, last && last->has_report && last->report.chosen == last->id &&
                  last->report.n_cand == s.sampling.n_report &&
                  last->report.n_kept == m->cfg.n_vocab,
           "beam tokens carry a report of the raw distribution (chosen, %d candidates, all kept)",
           s.sampling.n_report);
    int ranks_ok = c != NULL;
    for (int i = n_prompt; c && i < chat_n_tokens(c); i++) {
        const sampler_report_t *r = &chat_token(c, i)->report;
        int r_chosen = 0; /* rank of the chosen id among the candidates by raw prob */
        while (r_chosen < r->n_cand && r->cand[r_chosen].id != r->chosen) r_chosen++;
        float sum = 0;
        for (int k = 0; k < r->n_cand; k++) sum += r->cand[k].prob - r->cand[k].raw_prob;
        ranks_ok &= (r_chosen == r->n_cand || r_chosen == r->chosen_rank) && fabsf(sum) < 1e-5f &&
                    fabsf(r->entropy_raw - r->entropy_final) < 1e-4f;
    }
    tap_ok(t, ranks_ok, "a beam token's rank is its raw rank; final = raw, one entropy");
    /* the turn keeps the search's hypotheses, the reply first */
    const chat_turn_t *tu = c ? chat_turn(c, chat_n_turns(c) - 1) : NULL;
    int hyps_ok = tu && res.n_hyps > 0 && tu->n_hyps == res.n_hyps;
    for (int k = 0; hyps_ok && k < res.n_hyps; k++)
        hyps_ok = tu->hyps[k].n == res.hyps[k].n && tu->hyps[k].score == res.hyps[k].score &&
                  memcmp(tu->hyps[k].ids, res.hyps[k].ids, (size_t)res.hyps[k].n * sizeof(int)) == 0;
    tap_ok(t, hyps_ok, "the reply turn keeps the %d hypotheses, best first", res.n_hyps);
    /* restored: copied in, checked against the vocabulary */
    if (tu && tu->n_hyps > 0) {
        chat_hyp_t bad = tu->hyps[0];
        int big = m->cfg.n_vocab;
        bad.ids = &big;
        bad.n = 1;
        int turn = chat_n_turns(c) - 1;
        tap_ok(t, chat_restore_hyps(c, turn, &bad, 1, err, sizeof err) == -1 && strstr(err, "vocabulary"),
               "a stored hypothesis outside the vocabulary is refused (%s)", err);
        tap_ok(t, chat_restore_hyps(c, 0, tu->hyps, 1, err, sizeof err) == -1,
               "hypotheses only on a reply turn");
        chat_hyp_t one = {2, (int[]){1, 2}, -0.5f, -1.0f};
        tap_ok(t, chat_restore_hyps(c, turn, &one, 1, err, sizeof err) == 0 &&
                      chat_turn(c, turn)->n_hyps == 1 && chat_turn(c, turn)->hyps[0].ids[1] == 2,
               "restored hypotheses replace the turn's");
    }
    beam_result_free(&res);
    chat_free(c);
}

static void test_settings(tap_t *t) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    s.sampling.temperature = 0.7f;
    s.sampling.top_k = 40;
    s.sampling.top_p = 0.9f;
    s.sampling.min_p = 0.05f;
    s.sampling.seed = 18446744073709551557ull; /* beyond 2^53 */
    s.max_tokens = 77;
    s.beams = 2;
    s.stop_at_eos = 0;
    char *j = chat_settings_json(&s);
    chat_settings_t r = chat_settings_default();
    int rc = j ? chat_settings_from_json(&r, j, err, sizeof err) : -1;
    tap_ok(t, rc == 0 && r.sampling.temperature == 0.7f && r.sampling.top_k == 40 &&
                  r.sampling.top_p == 0.9f && r.sampling.min_p == 0.05f &&
                  r.sampling.seed == s.sampling.seed && r.max_tokens == 77 && r.beams == 2 &&
                  r.stop_at_eos == 0,
           "settings survive JSON, 64-bit seed included (%s)", j ? j : "null");
    tap_ok(t, j && strstr(j, "\"temperature\":0.7,") && strstr(j, "\"top_p\":0.9,") &&
                  strstr(j, "\"min_p\":0.05,") && !strstr(j, "99999"),
           "floats are written as set, without float noise (%s)", j ? j : "null");
    free(j);
    char *tidy = chat_settings_json_tidy(
        "{\"temperature\":0.699999988079071,\"top_k\":40,\"top_p\":0.949999988079071,"
        "\"seed\":\"7\",\"stop_at_eos\":true}");
    tap_ok(t, tidy && strcmp(tidy, "{\"temperature\":0.7,\"top_k\":40,\"top_p\":0.95,"
                                   "\"seed\":\"7\",\"stop_at_eos\":true}") == 0,
           "a stored text with float noise is tidied for display (%s)", tidy ? tidy : "null");
    free(tidy);
    tidy = chat_settings_json_tidy("not json");
    tap_ok(t, tidy && strcmp(tidy, "not json") == 0, "a text that is not an object is shown as is");
    free(tidy);
    tap_ok(t, chat_settings_from_json(&r, "[1]", err, sizeof err) == -1, "settings JSON must be an object");
    tap_ok(t, chat_settings_from_json(&r, "{\"top_p\": 2}", err, sizeof err) == -1 && strstr(err, "top_p"),
           "out-of-range settings are refused, naming the setting (%s)", err);
    s = chat_settings_default();
    s.beams = 0;
    tap_ok(t, chat_settings_check(&s, err, sizeof err) == -1 && strstr(err, "beams"), "beams 0 refused");
    for (int k = CHAT_STOP_EOS; k <= CHAT_STOP_ERROR; k++)
        tap_ok(t, chat_stop_parse(chat_stop_name((chat_stop_t)k)) == (chat_stop_t)k,
               "stop reason '%s' round-trips", chat_stop_name((chat_stop_t)k));
    tap_ok(t, chat_stop_parse("nonsense") == CHAT_STOP_NONE && chat_stop_name(CHAT_STOP_NONE) == NULL,
           "unknown stop names parse to none");
}

/* Every token's window is the one the generator ran it in; a restored copy
 * of the same turns gets the same windows from the policy alone (so a
 * replay shows the attention the live chat showed, after slides too); a
 * prompt longer than the context reports its unseen tokens. */
static void test_windows(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    int n_ctx = m->cfg.n_ctx;
    chat_settings_t s = chat_settings_default();
    s.sampling.seed = 5;
    s.max_tokens = 23;
    s.stop_at_eos = 0;
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    int ok = c != NULL, slid = 0;
    const char *prompts[] = {"The old man", "and the sea", "again and again and again", "x"};
    for (int k = 0; ok && k < 8; k++) {
        const char *pr = prompts[k % 4];
        ok = chat_user(c, pr, strlen(pr), err, sizeof err) == 0 &&
             chat_reply_begin(c, err, sizeof err) == 0;
        chat_stop_t st = CHAT_STOP_NONE;
        while (ok && st == CHAT_STOP_NONE) ok = chat_reply_step(c, &st, err, sizeof err) == 0;
        ok = ok && chat_reply_end(c, st, err, sizeof err) == 0;
        /* each token's window must match what the generator saw right after it */
        const chat_token_t *last = chat_token(c, chat_n_tokens(c) - 1);
        ok = ok && last->window_start == chat_window_start(c);
    }
    tap_ok(t, ok, "a chat of 16 turns over n_ctx %d (%s)", n_ctx, ok ? "" : err);
    int n = c ? chat_n_tokens(c) : 0, sane = ok;
    for (int i = 0; sane && i < n; i++) {
        int ws = chat_token(c, i)->window_start;
        sane = ws >= 0 && ws <= i && i - ws < n_ctx;
        if (i > 0 && ws != chat_token(c, i - 1)->window_start) slid++;
    }
    tap_ok(t, sane && slid >= 2, "every token has a window covering it, within n_ctx (%d slides)",
           slid);
    chat_t *r = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    int same = r != NULL;
    for (int k = 0; same && k < chat_n_turns(c); k++) {
        const chat_turn_t *tu = chat_turn(c, k);
        same = chat_restore_turn(r, tu->role, chat_ids(c) + tu->first, tu->n, NULL, NULL,
                                 tu->stop, 0, NULL, err, sizeof err) == 0;
    }
    int first_diff = -1;
    for (int i = 0; same && i < n; i++)
        if (chat_token(r, i)->window_start != chat_token(c, i)->window_start) {
            first_diff = i;
            same = 0;
        }
    tap_ok(t, same, "restored turns get the live windows back (first difference at %d)",
           first_diff);
    int ws[3] = {1, 2, 3};
    tap_ok(t, r && chat_restore_windows(r, n - 3, 3, ws, err, sizeof err) == 0 &&
                  chat_token(r, n - 1)->window_start == 3,
           "stored window starts can be put back");
    tap_ok(t, r && chat_restore_windows(r, n - 2, 3, ws, err, sizeof err) == -1,
           "window starts beyond the tokens are refused (%s)", err);
    chat_free(r);
    chat_free(c);

    /* a first prompt longer than the context: the model reads its last n_ctx - 1 */
    c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    char longp[2048] = "";
    for (int i = 0; i < 60; i++) strcat(longp, "the sea ");
    ok = c && chat_user(c, longp, strlen(longp), err, sizeof err) == 0;
    int nt = ok ? chat_turn(c, 0)->n : 0;
    tap_ok(t, ok && nt > n_ctx && chat_turn_unseen(c, 0) == nt - (n_ctx - 1),
           "a %d-token prompt: %d tokens unseen (n_ctx %d)", nt, c ? chat_turn_unseen(c, 0) : -1,
           n_ctx);
    ok = ok && chat_user(c, "x", 1, err, sizeof err) == 0;
    tap_ok(t, ok && chat_turn_unseen(c, 1) == 0, "a short prompt after it: all seen");
    chat_free(c);
}

/* The separator goes between a reply and the next prompt, as part of the
 * prompt's turn, unless one of them already has it there. */
static void test_separator(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    tap_ok(t, strcmp(s.separator, "\n") == 0, "the default separator is a newline");
    char sep[32], back[64];
    tap_ok(t, chat_separator_parse("\\n\\s--\\t\\\\", sep, sizeof sep, err, sizeof err) == 0 &&
                  strcmp(sep, "\n --\t\\") == 0 &&
                  strcmp(chat_separator_show(sep, back, sizeof back), "\\n\\s--\\t\\\\") == 0,
           "separator escapes read and shown back (%s)", back);
    tap_ok(t, chat_separator_parse("none", sep, sizeof sep, err, sizeof err) == 0 && !sep[0] &&
                  strcmp(chat_separator_show(sep, back, sizeof back), "none") == 0,
           "'none' is the empty separator");
    tap_ok(t, chat_separator_parse("\\q", sep, sizeof sep, err, sizeof err) == -1 &&
                  strstr(err, "unknown escape"),
           "an unknown escape is refused (%s)", err);
    tap_ok(t, chat_separator_parse("0123456789abcdefXYZ", sep, sizeof sep, err, sizeof err) == -1 &&
                  strstr(err, "longer than"),
           "a too long separator is refused (%s)", err);
    snprintf(s.separator, sizeof s.separator, "\n");
    s.max_tokens = 3;
    s.sampling.temperature = 0;
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    int ok = c && chat_user(c, "The old man", 11, err, sizeof err) == 0;
    char *first = ok ? chat_turn_text(c, 0) : NULL;
    tap_ok(t, first && strcmp(first, "The old man") == 0, "no separator before the first prompt");
    free(first);
    chat_stop_t st = CHAT_STOP_NONE;
    ok = ok && chat_reply_begin(c, err, sizeof err) == 0;
    while (ok && st == CHAT_STOP_NONE) ok = chat_reply_step(c, &st, err, sizeof err) == 0;
    ok = ok && chat_reply_end(c, st, err, sizeof err) == 0;
    char *reply = ok ? chat_turn_text(c, 1) : NULL;
    int reply_nl = reply && reply[0] && reply[strlen(reply) - 1] == '\n';
    ok = ok && chat_user(c, "JULIET:", 7, err, sizeof err) == 0;
    char *next = ok ? chat_turn_text(c, 2) : NULL;
    char shown_r[128], shown_n[128];
    tap_ok(t, next && strcmp(next, reply_nl ? "JULIET:" : "\nJULIET:") == 0,
           "after the reply '%s' the prompt's turn reads '%s'",
           jsonx_escape(reply ? reply : "?", shown_r, sizeof shown_r),
           jsonx_escape(next ? next : "?", shown_n, sizeof shown_n));
    free(reply);
    free(next);
    /* a reply that ends with the separator (forced via a restored turn) gets none */
    chat_clear(c);
    int nl = -1, a = -1;
    int *ids = NULL;
    size_t nid = 0, cap = 0;
    if (tokenizer_encode(tok, "\n", 1, &ids, &nid, &cap, err, sizeof err) == 0 && nid == 1) nl = ids[0];
    nid = 0;
    if (tokenizer_encode(tok, "a", 1, &ids, &nid, &cap, err, sizeof err) == 0 && nid == 1) a = ids[0];
    free(ids);
    int user[1] = {a}, model[2] = {a, nl};
    ok = nl >= 0 && a >= 0 &&
         chat_restore_turn(c, CHAT_USER, user, 1, NULL, NULL, CHAT_STOP_NONE, 0, NULL, err, sizeof err) == 0 &&
         chat_restore_turn(c, CHAT_MODEL, model, 2, NULL, NULL, CHAT_STOP_MAX, 0, NULL, err, sizeof err) == 0 &&
         chat_user(c, "JULIET:", 7, err, sizeof err) == 0;
    next = ok ? chat_turn_text(c, 2) : NULL;
    tap_ok(t, next && strcmp(next, "JULIET:") == 0, "a reply ending in a newline gets no other (%s)",
           next ? next : err);
    free(next);
    ok = chat_restore_turn(c, CHAT_MODEL, user, 1, NULL, NULL, CHAT_STOP_MAX, 0, NULL, err, sizeof err) == 0 &&
         chat_user(c, "\nROMEO:", 7, err, sizeof err) == 0;
    next = ok ? chat_turn_text(c, 4) : NULL;
    tap_ok(t, next && strcmp(next, "\nROMEO:") == 0, "a prompt starting with it gets no other");
    free(next);
    s.separator[0] = '\0';
    ok = chat_set_settings(c, &s, err, sizeof err) == 0 &&
         chat_restore_turn(c, CHAT_MODEL, user, 1, NULL, NULL, CHAT_STOP_MAX, 0, NULL, err, sizeof err) == 0 &&
         chat_user(c, "B", 1, err, sizeof err) == 0;
    next = ok ? chat_turn_text(c, 6) : NULL;
    tap_ok(t, next && strcmp(next, "B") == 0, "separator \"\" puts nothing between turns");
    free(next);
    chat_free(c);
    chat_settings_t r = chat_settings_default();
    snprintf(s.separator, sizeof s.separator, "\n\n--\n");
    char *j = chat_settings_json(&s);
    tap_ok(t, j && chat_settings_from_json(&r, j, err, sizeof err) == 0 &&
                  strcmp(r.separator, "\n\n--\n") == 0,
           "the separator is kept in the settings JSON");
    free(j);
    tap_ok(t, chat_settings_from_json(&r, "{\"separator\":\"0123456789abcdefXYZ\"}", err, sizeof err) == -1,
           "an over-long separator is refused (%s)", err);
}

int main(void) {
    tap_t t = {0, 0};
    char dir[4096], err[512];
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    test_settings(&t);
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = m ? tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err) : NULL;
    if (!m || !tok) {
        printf("# SKIP model tests: reference model not available (%s)\n", err);
    } else {
        test_extend(&t, m);
        test_chat(&t, m, tok);
        test_beams(&t, m, tok);
        test_windows(&t, m, tok);
        test_separator(&t, m, tok);
    }
    tokenizer_free(tok);
    gpt_free(m);
    return tap_done(&t);
}
