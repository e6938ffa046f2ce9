/* repl.c - the line-oriented front end (repl.h). */
#include "repl.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "attn_probe.h"
#include "canvas.h"
#include "command.h"
#include "compare_view.h"
#include "jsonx.h"
#include "text.h"
#include "clockx.h"

/* Ctrl-C: a signal handler can only set a flag; the reply loop and
   readline's signal hook look at it. Process-wide by nature (one SIGINT). */
static volatile sig_atomic_t repl_interrupted;

static void repl_on_sigint(int sig) {
    (void)sig;
    repl_interrupted = 1;
}

/* Ctrl-C at the prompt: drop the line being typed and show a fresh prompt
   (called by readline outside the signal handler). */
static int repl_signal_hook(void) {
    if (repl_interrupted) {
        repl_interrupted = 0;
        rl_free_line_state();
        rl_replace_line("", 0);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
    }
    return 0;
}

typedef struct repl {
    const ui_host_t *host;
    const repl_options_t *o;
    int interactive;
    int had_error;
    attn_probe_t *probe;
    const gpt_model_t *probe_model;
} repl_t;

static chat_t *repl_chat(repl_t *r) { return r->host->chat(r->host->user); }

/* One line on stderr; msg may quote the user's input or a file name, so
 * control bytes and invalid UTF-8 are escaped (jsonx_escape). */
static void repl_error(repl_t *r, const char *msg) {
    char *shown = jsonx_escape_dup(msg);
    fprintf(stderr, "%s%s\n", r->interactive ? "error: " : "gptscope: repl: ", shown ? shown : msg);
    free(shown);
    r->had_error = 1;
}

/* A token's bytes as a quoted, printable label (text_escape: control bytes
   and bytes that are not valid UTF-8 escaped), as the TUI shows them. */
static void repl_label(const char *b, size_t n, char *out, size_t cap) {
    if (cap < 4) return;
    out[0] = '"';
    size_t k = text_escape(b, n, out + 1, cap - 2);
    out[1 + k] = '"';
    out[2 + k] = '\0';
}

static const char *repl_blocks[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};

static void repl_bar(double frac, int width, char *out, size_t cap) {
    /* whole blocks, then a shade for the remainder */
    size_t o = 0;
    double cells = frac * width;
    int full = (int)cells;
    for (int i = 0; i < full && i < width && o + 4 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%s", repl_blocks[4]);
    if (full < width) {
        int part = (int)((cells - full) * 4.0);
        if (part > 0 && o + 4 < cap) o += (size_t)snprintf(out + o, cap - o, "%s", repl_blocks[part]);
    }
    out[o] = '\0';
}

/* /probs [N]: the sampler's view of token N (default: the last one). */
static void repl_probs(repl_t *r, int index) {
    chat_t *c = repl_chat(r);
    int i = index >= 0 ? index : chat_n_tokens(c) - 1;
    const chat_token_t *t = chat_token(c, i);
    if (!t || !t->has_report) {
        char m[128];
        snprintf(m, sizeof m, "/probs: %s %d was not generated (a prompt token)",
                 index >= 0 ? "token" : "the last token,", i);
        repl_error(r, t ? m : "/probs: nothing generated yet");
        return;
    }
    const chat_turn_t *tu = chat_turn(c, t->turn);
    int beam = tu && tu->role == CHAT_MODEL && tu->settings.beams > 1;
    const sampler_report_t *rep = &t->report;
    tokenizer_t *tok = chat_tokenizer(c);
    char label[160];
    size_t n;
    const char *b = tokenizer_token_bytes(tok, t->id, &n);
    repl_label(b ? b : "", b ? n : 0, label, sizeof label);
    /* ranks count from 1 (the most likely), here, in the table and in the TUI */
    printf("token %d %s: p %.4f after filters (raw logprob %.4f), rank %d; %d candidates kept\n", i,
           label, (double)rep->chosen_prob, (double)rep->chosen_raw_logprob, rep->chosen_rank + 1,
           rep->n_kept);
    if (beam) /* beam search ranks by the raw distribution: nothing is filtered */
        printf("chosen by beam search; entropy %.3f nats (raw = final: beams filter nothing)\n",
               (double)rep->entropy_raw);
    else
        printf("entropy %.3f nats raw, %.3f after temperature/top-k/top-p/min-p\n",
               (double)rep->entropy_raw, (double)rep->entropy_final);
    printf("  %-4s %-20s %8s %9s %8s  %s\n", "rank", "token", "raw p", "logprob", "final p", "");
    int cut_shown = 0;
    for (int k = 0; k < rep->n_cand; k++) {
        const sampler_candidate_t *cd = &rep->cand[k];
        if (!cd->kept && !cut_shown) {
            printf("  ---- cut off by top-k / top-p / min-p below this line ----\n");
            cut_shown = 1;
        }
        b = tokenizer_token_bytes(tok, cd->id, &n);
        repl_label(b ? b : "", b ? n : 0, label, sizeof label);
        char bar[128];
        repl_bar(cd->prob, 20, bar, sizeof bar);
        printf("  %-4d %-20s %8.4f %9.4f %8.4f  %s%s\n", k + 1, label, (double)cd->raw_prob,
               (double)cd->raw_logprob, (double)cd->prob, bar,
               cd->id == rep->chosen ? "  <- chosen" : "");
    }
    /* the search's hypotheses: what each would have replied */
    for (int k = 0; beam && k < tu->n_hyps; k++) {
        if (k == 0) printf("beam hypotheses (score = mean log-prob), the reply first:\n");
        char err[128];
        size_t len = 0;
        char *text = tokenizer_decode(tok, tu->hyps[k].ids, (size_t)tu->hyps[k].n, &len, err,
                                      sizeof err);
        char esc[400];
        text_escape(text ? text : "", text ? len : 0, esc, sizeof esc);
        printf("  %-3d %8.4f  \"%s\"%s\n", k + 1, (double)tu->hyps[k].score, esc,
               k == 0 ? "  <- reply" : "");
        free(text);
    }
}

/* /attn [L] [H]: the last position's attention over the window, as rows of
   token, weight and a bar. No layer: the last layer; no head: their mean. */
static void repl_attn(repl_t *r, int layer, int head) {
    chat_t *c = repl_chat(r);
    const gpt_model_t *m = chat_model(c);
    const gpt_config_t *cfg = &m->cfg;
    int ws = chat_window_start(c), n = chat_n_tokens(c) - ws;
    if (n < 1) {
        repl_error(r, "/attn: nothing to show yet");
        return;
    }
    if (layer < 0) layer = cfg->n_layer - 1;
    char err[256];
    if (r->probe && r->probe_model != m) {
        attn_probe_free(r->probe);
        r->probe = NULL;
    }
    if (!r->probe) {
        r->probe = attn_probe_init(m, r->o->n_threads, err, sizeof err);
        r->probe_model = m;
        if (!r->probe) {
            repl_error(r, err);
            return;
        }
    }
    int pos = n - 1;
    float *row = malloc((size_t)cfg->n_layer * cfg->n_head * (size_t)n * sizeof(float));
    if (!row || attn_probe_row(r->probe, chat_ids(c) + ws, pos, row, err, sizeof err) != 0) {
        repl_error(r, row ? err : "/attn: out of memory");
        free(row);
        return;
    }
    float *w = row + (size_t)layer * cfg->n_head * n; /* [head][key] of this layer */
    char which[32];
    if (head >= 0) snprintf(which, sizeof which, "head %d", head);
    else snprintf(which, sizeof which, "mean of %d heads", cfg->n_head);
    printf("attention of position %d, layer %d, %s (weights over the %d tokens it sees)\n",
           ws + pos, layer, which, n);
    tokenizer_t *tok = chat_tokenizer(c);
    float maxw = 0;
    float *vals = malloc((size_t)n * sizeof(float));
    if (!vals) {
        free(row);
        repl_error(r, "/attn: out of memory");
        return;
    }
    for (int k = 0; k < n; k++) {
        float v = 0;
        if (head >= 0) v = w[(size_t)head * n + k];
        else
            for (int h = 0; h < cfg->n_head; h++) v += w[(size_t)h * n + k] / (float)cfg->n_head;
        vals[k] = v;
        if (v > maxw) maxw = v;
    }
    for (int k = 0; k < n; k++) {
        size_t nb;
        const char *b = tokenizer_token_bytes(tok, chat_ids(c)[ws + k], &nb);
        char label[160], bar[160];
        repl_label(b ? b : "", b ? nb : 0, label, sizeof label);
        repl_bar(maxw > 0 ? vals[k] / maxw : 0, 30, bar, sizeof bar);
        printf("  %5d %-20s %.4f %s\n", ws + k, label, (double)vals[k], bar);
    }
    free(vals);
    free(row);
}

/* Streams the reply in progress (begun, or forked at a token: its tokens
 * so far are printed first), complete UTF-8 characters to stdout. */
static void repl_stream(repl_t *r) {
    chat_t *c = repl_chat(r);
    char err[512];
    tokenizer_stream_t ts;
    tokenizer_stream_init(&ts, chat_tokenizer(c));
    char out[256];
    const chat_turn_t *cur = chat_turn(c, chat_n_turns(c) - 1);
    for (int i = cur->first; i < cur->first + cur->n; i++) {
        int k = tokenizer_stream_push(&ts, chat_token(c, i)->id, out, sizeof out);
        if (k > 0) fwrite(out, 1, (size_t)k, stdout);
    }
    fflush(stdout);
    chat_stop_t stop = CHAT_STOP_NONE;
    double t0 = clockx_now();
    int n = 0, failed = 0;
    repl_interrupted = 0;
    while (stop == CHAT_STOP_NONE) {
        if (repl_interrupted) {
            stop = CHAT_STOP_INTERRUPTED;
            break;
        }
        if (chat_reply_step(c, &stop, err, sizeof err) != 0) {
            failed = 1;
            stop = CHAT_STOP_ERROR;
            break;
        }
        n++;
        int id = chat_token(c, chat_n_tokens(c) - 1)->id;
        int eos = tokenizer_eot_id(chat_tokenizer(c));
        if (id == eos && stop == CHAT_STOP_EOS) break; /* not printed: it ends the reply */
        int k = tokenizer_stream_push(&ts, id, out, sizeof out);
        if (k > 0) {
            fwrite(out, 1, (size_t)k, stdout);
            fflush(stdout);
        }
    }
    int k = tokenizer_stream_flush(&ts, out, sizeof out);
    if (k > 0) fwrite(out, 1, (size_t)k, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    char err2[512];
    if (chat_reply_end(c, stop, err2, sizeof err2) != 0 && !failed) {
        failed = 1;
        snprintf(err, sizeof err, "%s", err2);
    }
    if (failed) repl_error(r, err);
    char notice[256];
    if (r->host->take_notice && r->host->take_notice(r->host->user, notice, sizeof notice))
        fprintf(stderr, "%snote: %s\n", r->interactive ? "" : "gptscope: ", notice);
    double dt = clockx_now() - t0;
    if (r->interactive && !r->o->quiet)
        fprintf(stderr, "\033[2m[%d tokens, %.1f tok/s, %s]\033[0m\n", n, dt > 0 ? n / dt : 0.0,
                chat_stop_name(chat_turn(c, chat_n_turns(c) - 1)->stop));
    repl_interrupted = 0;
}

/* Generates a reply to the conversation so far. */
static void repl_reply(repl_t *r) {
    char err[512];
    if (chat_reply_begin(repl_chat(r), err, sizeof err) != 0) {
        repl_error(r, err);
        return;
    }
    repl_stream(r);
}

/* /branches: the session's tree, one line per branch. */
static void repl_branches(repl_t *r) {
    const ui_host_t *h = r->host;
    enum { CAP = 4096 };
    ui_branch_t *v = malloc(CAP * sizeof *v);
    char msg[512] = "";
    int n = v ? h->branches(h->user, v, CAP, msg, sizeof msg) : -1;
    if (!v) snprintf(msg, sizeof msg, "out of memory");
    if (n < 0) {
        repl_error(r, msg);
    } else if (n == 0) {
        printf("one branch (%s)\n", msg);
    } else {
        printf("%s (the current one marked *; /branch B shows one, /fork N K makes one):\n", msg);
        char line[512];
        for (int i = 0; i < n && i < CAP; i++) printf("%s\n", branch_list_line(&v[i], line, sizeof line));
    }
    free(v);
}

/* Says so when the model read only the end of a prompt turn. */
static void repl_note_unseen(repl_t *r, int turn) {
    chat_t *c = repl_chat(r);
    int unseen = chat_turn_unseen(c, turn);
    if (unseen <= 0) return;
    const chat_turn_t *t = chat_turn(c, turn);
    fprintf(stderr,
            "%snote: the prompt is %d tokens; the model read only its last %d (its context is %d "
            "tokens)\n",
            r->interactive ? "" : "gptscope: ", t->n, t->n - unseen, chat_model(c)->cfg.n_ctx);
}

/* /pane NAME: the plugin's pane drawn onto text (80 columns, or $COLUMNS)
 * for the last token, then printed. */
static void repl_pane(repl_t *r, int pane) {
    const ui_host_t *h = r->host;
    if (pane < 0) {
        printf("(the REPL has no pane to switch back to: /probs prints the probabilities)\n");
        return;
    }
    const char *title = NULL, *name = h->pane_name ? h->pane_name(h->user, pane, &title) : NULL;
    if (!name || !h->pane_draw) return;
    const char *env = getenv("COLUMNS");
    int cols = env && atoi(env) >= 20 && atoi(env) <= 400 ? atoi(env) : 80;
    gsp_canvas_t c;
    if (canvas_text_init(&c, 60, cols) != 0) {
        repl_error(r, "out of memory");
        return;
    }
    chat_t *chat = repl_chat(r);
    gsp_view_t v = {chat_n_tokens(chat), chat_n_tokens(chat) - 1, 0};
    char err[300] = "";
    if (h->pane_draw(h->user, pane, canvas_api(), &c, &v, err, sizeof err) != 0) {
        repl_error(r, err);
    } else {
        printf("-- %s --\n", title ? title : name);
        canvas_text_print(&c, stdout);
    }
    canvas_text_free(&c);
}

static void repl_command(repl_t *r, const char *line, int *quit) {
    command_result_t res;
    command_run(r->host, line, &res);
    switch (res.status) {
    case COMMAND_ERROR: repl_error(r, res.msg); break;
    case COMMAND_HELP:
        printf("commands:\n%s%s", command_help_text(), res.text ? res.text : "");
        printf("Anything else is a prompt; end a line with \\ to continue it. Ctrl-C stops a reply,"
               " Ctrl-D leaves.\n");
        break;
    case COMMAND_QUIT: *quit = 1; break;
    case COMMAND_PROBS: repl_probs(r, res.token); break;
    case COMMAND_FORKED:
        if (res.msg[0]) fprintf(stderr, "%s%s\n", r->interactive ? "" : "gptscope: note: ", res.msg);
        repl_stream(r);
        break;
    case COMMAND_BRANCHES: repl_branches(r); break;
    case COMMAND_COMPARE:
        compare_view_print(stdout, repl_chat(r), &res, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
        free(res.lp_self);
        free(res.lp_other);
        break;
    case COMMAND_ATTN: repl_attn(r, res.layer, res.head == -2 ? -1 : res.head); break;
    case COMMAND_SESSIONS:
        fputs(res.text ? res.text : "", stdout);
        break;
    case COMMAND_PANE: repl_pane(r, res.pane); break;
    default:
        if (res.msg[0]) printf("%s\n", res.msg);
    }
    free(res.text);
    fflush(stdout);
}

/* One line of input: NULL at end of input. Interactive lines come from
   readline (and go to the history); others from stdin as they are. *has_nul
   is set for a line with a NUL byte in it: everything after the NUL would
   otherwise vanish without a word. */
static char *repl_read(repl_t *r, const char *prompt, int *has_nul) {
    *has_nul = 0;
    if (r->interactive) return readline(prompt);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    *has_nul = memchr(line, '\0', (size_t)n) != NULL;
    return line;
}

int repl_run(const ui_host_t *host, const repl_options_t *opts, char *err, size_t errlen) {
    if (!host || !host->chat || !host->chat(host->user)) {
        snprintf(err, errlen, "repl: no conversation to run");
        return -1;
    }
    repl_t r = {host, opts, isatty(STDIN_FILENO) && isatty(STDOUT_FILENO), 0, NULL, NULL};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = repl_on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    if (r.interactive) {
        rl_readline_name = "gptscope";
        rl_signal_event_hook = repl_signal_hook;
        using_history();
        if (opts->history_path) read_history(opts->history_path);
        if (!opts->quiet) {
            long long sid = host->session_id ? (long long)host->session_id(host->user) : 0;
            char where[48] = ""; /* a new session has no id until its first turn is stored */
            if (sid > 0) snprintf(where, sizeof where, ", session %lld", sid);
            printf("gptscope repl - model %s%s. /help lists the commands, Ctrl-D leaves.\n",
                   host->model_name ? host->model_name(host->user) : "?", where);
        }
    }
    int quit = 0;
    char *pending = NULL; /* a prompt continued with a trailing backslash */
    while (!quit) {
        int has_nul = 0;
        char *line = repl_read(&r, pending ? ". " : "> ", &has_nul);
        if (!line) {
            if (r.interactive) putchar('\n');
            break;
        }
        if (has_nul) {
            free(line);
            repl_error(&r, "a line of input contains a NUL byte; it is ignored");
            continue;
        }
        size_t len = strlen(line);
        int more = len > 0 && line[len - 1] == '\\';
        if (more) line[--len] = '\0';
        if (r.interactive && (len > 0 || pending)) {
            add_history(line);
            if (opts->history_path && append_history(1, opts->history_path) != 0)
                write_history(opts->history_path); /* the file did not exist yet */
        }
        size_t plen = pending ? strlen(pending) : 0;
        char *text = malloc(plen + len + 2);
        if (!text) {
            free(line);
            repl_error(&r, "out of memory");
            break;
        }
        if (pending) {
            memcpy(text, pending, plen);
            text[plen++] = '\n';
        }
        memcpy(text + plen, line, len + 1);
        free(line);
        free(pending);
        pending = NULL;
        if (more) {
            pending = text;
            continue;
        }
        if (!plen && command_is_command(text)) {
            repl_command(&r, text, &quit);
        } else {
            chat_t *c = repl_chat(&r);
            char e[512];
            if (chat_user(c, text, strlen(text), e, sizeof e) != 0) {
                repl_error(&r, e);
            } else {
                int turn = chat_n_turns(c) - 1;
                repl_reply(&r);
                repl_note_unseen(&r, turn);
            }
        }
        free(text);
    }
    free(pending);
    if (r.interactive && opts->history_path) history_truncate_file(opts->history_path, 1000);
    sigaction(SIGINT, &old, NULL);
    attn_probe_free(r.probe);
    return r.had_error && !r.interactive ? 1 : 0;
}
