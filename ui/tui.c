/* tui.c - the screen manager of the terminal UI (tui.h): owns the layout,
 * the panes, the event loop, and the reply being generated.
 *
 * One loop serves everything. While a reply streams, each turn of the loop
 * polls the keyboard without waiting (every TUI_POLL_S), makes one token
 * (chat_reply_step) and redraws at most every TUI_FRAME_S, so that keys and
 * drawing cost a small, fixed share of generation time however fast the
 * model is. During a replay the loop waits for the next token's recorded
 * time or a key. Otherwise it waits for a key (waking a few times a second
 * for signals and to take messages down).
 *
 * Keys go first to what has focus (the input line or a pane), then to the
 * keys every pane shares (layer, head, view), then to the global ones.
 *
 * Branching: F on a generated token opens its candidates (fork_menu.c);
 * the choice goes to host->fork, which leaves a reply running from the
 * fork, streamed like any other. b shows the branch tree (pane_tree.c)
 * under the transcript; switching branches rebuilds the chat (as /open). */
#include "tui.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <utf8proc.h>

#include "command.h"
#include "fork_menu.h"
#include "input.h"
#include "layout.h"
#include "overlay.h"
#include "pane.h"
#include "pane_heatmap.h"
#include "pane_class.h"
#include "pane_plugin.h"
#include "pane_probs.h"
#include "pane_status.h"
#include "pane_transcript.h"
#include "pane_tree.h"
#include "term.h"
#include "text.h"
#include "clockx.h"

#define TUI_FRAME_S 0.03  /* redraw at most this often while streaming */
#define TUI_POLL_S 0.01   /* keyboard polled this often while streaming */
#define TUI_IDLE_MS 250   /* wake-up period when nothing happens */
#define TUI_KEY_CTRL(c) ((c) & 0x1f)

typedef struct tui {
    const ui_host_t *host;
    tui_options_t opts;
    pane_view_t view;
    layout_t layout;
    int zoom;
    term_t term;
    WINDOW *keys; /* a 1x1 window never drawn: keys are read through it */
    pane_transcript_t *transcript;
    pane_heatmap_t *heatmap;
    pane_probs_t *probs;
    pane_plugin_t *plugin; /* in the probability pane's place when view.plugin_pane >= 0 */
    pane_class_t *cls;
    int cls_rows; /* the class pane's rows (0: the model has no classifier) */
    pane_status_t *status;
    pane_tree_t *tree;
    int tree_shown;          /* b: the branch tree under the transcript */
    layout_rect_t tree_rect; /* where it is (empty when hidden or no room) */
    input_t *input;
    overlay_t *overlay;
    fork_menu_t *fork;
    pane_tint_t tint_before_compare; /* the tint /compare replaced (t goes back to it) */
    int input_lines;
    int dirty;
    double last_draw, last_poll;
    int quit;
    /* the reply being generated */
    double reply_t0;
    int reply_n;
    int stop_requested;
    char *pending_line; /* submitted while generating: run afterwards */
    /* replay */
    int replaying, replay_turn;
    double replay_t0, replay_next_t0;
} tui_t;

void tui_options_default(tui_options_t *o) {
    memset(o, 0, sizeof *o);
    o->n_threads = 1;
    o->mouse = 1;
    o->replay_speed = 1.0;
    o->attn_available = 1;
}

static const char tui_keys_help[] =
    "Keys (anywhere)\n"
    "  F1, ? (empty input)  this help          Tab / Shift-Tab  next / previous pane\n"
    "  Esc, Ctrl-C          stop the reply     PgUp / PgDn      scroll the transcript\n"
    "  Ctrl-D (empty input) quit               mouse: click a token, wheel scrolls\n"
    "\n"
    "Input line (readline)\n"
    "  Enter submit   \\ at the end + Enter, or Alt-Enter: new line   Up/Down history\n"
    "  Ctrl-R search history   Ctrl-A/E start/end   Ctrl-K/U/W kill   Tab completes /commands\n"
    "\n"
    "Transcript, attention and probability panes (after Tab)\n"
    "  arrows, h j k l   move the token cursor   Home/End, g/G  first/last token\n"
    "  f, Esc            follow the newest token  Enter, i       back to the input\n"
    "  [ ]  layer   { }  head   a  mean of heads   n  linear / row / log shading\n"
    "  m  row / matrix view   H  row / all-heads view   p  max / mean pooling (matrix)\n"
    "  o  layer x head overview: every head of every layer for the selected token\n"
    "  t  transcript tint: attention of the selected token (shaded by weight in\n"
    "     the layer and head shown; dim: not read by it), probability, or none\n"
    "     (probability: red < 5%, magenta < 20%, yellow < 50%, plain < 80%, green\n"
    "      above; without colour: underlined < 5%, dim < 20%)\n"
    "     after /compare DIR: green (bold) this model gave the token the\n"
    "     higher probability, red (underlined) DIR's; t or a prompt ends it\n"
    "  F  fork at the selected generated token: its candidates; 1-9 or\n"
    "     arrows pick one, Enter forks there and goes on, Esc cancels\n"
    "  b  branch tree under the transcript: j k pick, Enter shows the\n"
    "     branch, Esc leaves it    ( )  previous / next branch\n"
    "  z  zoom the pane   q  quit\n"
    "Attention pane: s sort the row by weight; j k, arrows scroll it (pick the head\n"
    "  in the heads view); matrix: + - zoom around the selected token, < > move\n"
    "  the keys left / right; overview: arrows, h j k l pick the layer and head,\n"
    "  c  entropy / max weight / weight on a key, < > that key.  Probability\n"
    "  pane: j k, arrows scroll\n"
    "\n"
    "Slash commands\n";

static chat_t *tui_chat(tui_t *t) { return t->host->chat(t->host->user); }

static void tui_message(tui_t *t, const char *msg, int is_error) {
    if (msg && msg[0]) pane_status_message(t->status, msg, is_error);
    t->dirty = 1;
}

/* Rows the class pane wants for the current model (0: no classifier). */
static int tui_class_rows(const tui_t *t) {
    const char *const *labels = NULL;
    return pane_class_rows(t->host->class_labels ? t->host->class_labels(t->host->user, &labels)
                                                 : 0);
}

static void tui_relayout(tui_t *t) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    int want = input_wanted_lines(t->input, cols);
    t->input_lines = want;
    layout_compute(&t->layout, rows, cols, t->view.focus, t->zoom, want);
    layout_t *l = &t->layout;
    layout_rect_t none = {0, 0, 0, 0};
    /* the branch tree takes the bottom of the transcript's column */
    layout_rect_t tr = l->ok ? l->transcript : none, tree = none;
    int tree_h = t->tree_shown && tr.h > 0 ? pane_tree_rows(t->tree, tr.h) : 0;
    if (tree_h > 0) {
        tree = (layout_rect_t){tr.y + tr.h - tree_h, tr.x, tree_h, tr.w};
        tr.h -= tree_h;
    }
    t->tree_rect = tree;
    if (t->view.focus == LAYOUT_FOCUS_TREE && !tree.h) t->view.focus = LAYOUT_FOCUS_TRANSCRIPT;
    pane_transcript_resize(t->transcript, tr);
    pane_tree_resize(t->tree, tree);
    pane_heatmap_resize(t->heatmap, l->ok ? l->attn : none);
    /* a classifier's pane takes the top of the probability pane's place,
     * leaving that pane at least 6 rows */
    t->cls_rows = tui_class_rows(t);
    layout_rect_t pr = l->ok ? l->probs : none, cr = none;
    if (t->cls_rows > 0 && pr.h >= t->cls_rows + 6) {
        cr = (layout_rect_t){pr.y, pr.x, t->cls_rows, pr.w};
        pr.y += t->cls_rows;
        pr.h -= t->cls_rows;
    }
    pane_class_resize(t->cls, cr);
    pane_probs_resize(t->probs, pr);
    pane_plugin_resize(t->plugin, pr);
    pane_status_resize(t->status, l->ok ? l->status : none);
    input_resize(t->input, l->ok ? l->input : none);
    layout_rect_t screen = {0, 0, rows, cols};
    overlay_resize(t->overlay, screen);
    fork_menu_resize(t->fork, screen);
    t->dirty = 1;
}

static void tui_draw_small(tui_t *t) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    werase(stdscr);
    char a[96], b[96];
    snprintf(a, sizeof a, "Terminal too small: %dx%d", cols, rows);
    snprintf(b, sizeof b, "gptscope needs at least %dx%d", LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS);
    const char *lines[3] = {a, b, "(q quits)"};
    for (int i = 0; i < 3; i++) {
        int len = (int)strlen(lines[i]);
        int y = rows / 2 - 1 + i, x = (cols - len) / 2;
        if (y >= 0 && y < rows) mvaddnstr(y, x < 0 ? 0 : x, lines[i], cols);
    }
    wnoutrefresh(stdscr);
    (void)t;
}

static void tui_draw(tui_t *t) {
    t->view.chat = tui_chat(t);
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    if (t->layout.ok && input_wanted_lines(t->input, cols) != t->input_lines) tui_relayout(t);
    if (t->layout.ok && tui_class_rows(t) != t->cls_rows) tui_relayout(t); /* after /model */
    if (t->layout.ok && t->tree_shown &&
        pane_tree_rows(t->tree, t->layout.transcript.h) != t->tree_rect.h)
        tui_relayout(t); /* the tree grew or shrank */
    (void)rows;
    if (!t->layout.ok) {
        tui_draw_small(t);
        curs_set(0);
        doupdate();
        t->dirty = 0;
        t->last_draw = clockx_now();
        return;
    }
    char note[512];
    if (input_take_note(t->input, note, sizeof note)) pane_status_message(t->status, note, 0);
    if (t->view.generating) pane_status_speed(t->status, t->reply_n, clockx_now() - t->reply_t0);
    pane_transcript_draw(t->transcript);
    pane_tree_draw(t->tree);
    pane_heatmap_draw(t->heatmap);
    int plugin = t->view.plugin_pane >= 0;
    if (plugin) pane_plugin_draw(t->plugin);
    else pane_probs_draw(t->probs);
    if (pane_class_window(t->cls)) {
        /* the input line as it is now, classified when it changed */
        pane_class_update(t->cls, input_text(t->input));
        pane_class_draw(t->cls);
    }
    pane_status_draw(t->status);
    WINDOW *ws[] = {pane_transcript_window(t->transcript), pane_tree_window(t->tree),
                    pane_heatmap_window(t->heatmap),
                    plugin ? pane_plugin_window(t->plugin) : pane_probs_window(t->probs),
                    pane_class_window(t->cls),
                    pane_status_window(t->status)};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
        if (ws[i]) wnoutrefresh(ws[i]);
    input_draw(t->input);
    if (input_window(t->input)) wnoutrefresh(input_window(t->input));
    fork_menu_draw(t->fork);
    overlay_draw(t->overlay);
    curs_set(t->view.focus == LAYOUT_FOCUS_INPUT && !overlay_shown(t->overlay) &&
                     !fork_menu_shown(t->fork)
                 ? 1
                 : 0);
    doupdate();
    t->dirty = 0;
    t->last_draw = clockx_now();
}

static void tui_overlay(tui_t *t, const char *title, char *text) {
    overlay_show(t->overlay, title, text);
    t->dirty = 1;
}

static void tui_show_help(tui_t *t) {
    const char *cmds = command_help_text();
    char *extra = t->host->plugin_help ? t->host->plugin_help(t->host->user) : NULL;
    const char *plugin_cmds = extra ? extra : "";
    size_t n = strlen(tui_keys_help) + strlen(cmds) + strlen(plugin_cmds) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", tui_keys_help, cmds, plugin_cmds);
    free(extra);
    if (s) tui_overlay(t, "Help", s);
}

/* The branch list again from the host (the pane shows an error itself). */
static void tui_tree_refresh(tui_t *t) {
    char msg[256];
    pane_tree_refresh(t->tree, msg, sizeof msg);
    t->dirty = 1; /* tui_draw lays out again when its height changed */
}

/* The /compare result leaves: its arrays go, the tint it replaced is back. */
static void tui_compare_clear(tui_t *t) {
    pane_view_t *v = &t->view;
    if (v->tint == PANE_TINT_COMPARE) v->tint = t->tint_before_compare;
    free(v->cmp_self);
    free(v->cmp_other);
    v->cmp_self = v->cmp_other = NULL;
    v->cmp_n = 0;
    v->cmp_label[0] = '\0';
}

/* Ends the reply in progress for reason why. */
static void tui_reply_end(tui_t *t, chat_stop_t why) {
    char err[512];
    chat_t *c = tui_chat(t);
    if (chat_reply_end(c, why, err, sizeof err) != 0) tui_message(t, err, 1);
    else if (why == CHAT_STOP_INTERRUPTED) tui_message(t, "stopped", 0);
    char notice[256];
    if (t->host->take_notice && t->host->take_notice(t->host->user, notice, sizeof notice))
        tui_message(t, notice, 0);
    /* the prompt turn before this reply: did the model read all of it? */
    int pt = chat_n_turns(c) - 2, unseen = pt >= 0 ? chat_turn_unseen(c, pt) : 0;
    if (unseen > 0) {
        /* short: the status bar shares its line with the settings */
        snprintf(notice, sizeof notice, "model read only the last %d of %d prompt tokens (dim)",
                 chat_turn(c, pt)->n - unseen, chat_turn(c, pt)->n);
        tui_message(t, notice, 0);
    }
    t->view.generating = 0;
    t->stop_requested = 0;
    pane_status_speed(t->status, t->reply_n, clockx_now() - t->reply_t0);
    t->view.n_visible = chat_n_tokens(c);
    if (t->tree_shown) tui_tree_refresh(t); /* the branch's length and logp moved */
    t->dirty = 1;
}

/* A reply is in progress in the chat (chat_reply_begin, host->fork): the
 * main loop streams it from now on. */
static void tui_reply_started(tui_t *t) {
    t->view.generating = 1;
    t->stop_requested = 0;
    term_take_sigint();
    t->reply_n = 0;
    t->reply_t0 = clockx_now();
    t->dirty = 1;
}

static void tui_start_reply(tui_t *t, const char *text) {
    chat_t *c = tui_chat(t);
    char err[512];
    tui_compare_clear(t); /* the comparison was of the conversation before this turn */
    if (chat_user(c, text, strlen(text), err, sizeof err) != 0) {
        tui_message(t, err, 1);
        return;
    }
    t->view.n_visible = chat_n_tokens(c);
    t->view.sel = -1;
    if (chat_settings(c)->beams > 1) {
        tui_message(t, "beam search...", 0);
        tui_draw(t);
    }
    if (chat_reply_begin(c, err, sizeof err) != 0) {
        tui_message(t, err, 1);
        return;
    }
    tui_reply_started(t);
}

/* The transcript changed wholesale (/clear, /new, /open, /model, a branch
 * switch): caches drop, the selection follows the newest token again. */
static void tui_cleared(tui_t *t, const char *msg) {
    pane_view_t *v = &t->view;
    v->sel = -1;
    v->epoch++;
    v->chat = tui_chat(t);
    v->n_visible = chat_n_tokens(v->chat);
    t->replaying = 0;
    tui_compare_clear(t);
    if (t->tree_shown) tui_tree_refresh(t);
    tui_message(t, msg, 0);
}

/* Why the conversation cannot be forked or switched now, or NULL. */
static const char *tui_busy(const tui_t *t) {
    if (t->view.generating) return "a reply is streaming: Esc stops it first";
    if (t->replaying) return "the replay is running: Esc skips to its end first";
    return NULL;
}

/* host->fork succeeded (F and Enter, or /fork N K): the token at the fork
 * changed in place and the tokens after it are gone; stream the reply. */
static void tui_forked(tui_t *t, const char *msg) {
    tui_reply_started(t);
    tui_cleared(t, msg); /* the tokens after the fork are gone: a wholesale change */
}

static void tui_fork(tui_t *t, int index, int cand) {
    char msg[512] = "";
    const char *busy = tui_busy(t);
    if (busy) {
        tui_message(t, busy, 1);
    } else if (!t->host->fork) {
        tui_message(t, "forking is not available here", 1);
    } else if (t->host->fork(t->host->user, index, cand, msg, sizeof msg) != 0) {
        tui_message(t, msg[0] ? msg : "the fork failed", 1);
    } else {
        if (!msg[0]) snprintf(msg, sizeof msg, "forked at token %d with candidate %d", index, cand + 1);
        tui_forked(t, msg);
    }
}

/* F: the candidates of the selected (else the newest) token. */
static void tui_fork_open(tui_t *t) {
    char msg[256];
    const char *busy = tui_busy(t);
    if (busy) tui_message(t, busy, 1);
    else if (!t->host->fork) tui_message(t, "forking is not available here", 1);
    else if (fork_menu_open(t->fork, pane_view_pos(&t->view), msg, sizeof msg) != 0)
        tui_message(t, msg, 1);
    t->dirty = 1;
}

/* Shows branch id; the cursor lands on the first token where it differs
 * from the branch shown before. */
static void tui_switch_branch(tui_t *t, int id) {
    char msg[512] = "";
    const char *busy = tui_busy(t);
    if (busy) {
        tui_message(t, busy, 1);
        return;
    }
    if (!t->host->switch_branch) {
        tui_message(t, "branches are not available here", 1);
        return;
    }
    chat_t *c = tui_chat(t);
    int n_old = chat_n_tokens(c);
    int *old = n_old > 0 ? malloc((size_t)n_old * sizeof *old) : NULL;
    for (int i = 0; old && i < n_old; i++) old[i] = chat_token(c, i)->id;
    if (t->host->switch_branch(t->host->user, id, msg, sizeof msg) != 0) {
        free(old);
        tui_message(t, msg[0] ? msg : "could not show that branch", 1);
        return;
    }
    if (!msg[0]) snprintf(msg, sizeof msg, "branch %d", id);
    tui_cleared(t, msg);
    c = tui_chat(t);
    int n_new = chat_n_tokens(c), d = 0;
    while (old && d < n_old && d < n_new && chat_token(c, d)->id == old[d]) d++;
    if (old && d < n_new) t->view.sel = d;
    free(old);
}

/* ( and ): the branch before or after the one shown, in tree order. */
static void tui_branch_step(tui_t *t, int step) {
    char msg[256];
    int n = pane_tree_refresh(t->tree, msg, sizeof msg);
    if (n < 0) {
        tui_message(t, msg, 1);
        return;
    }
    int id = pane_tree_neighbour(t->tree, step);
    if (id >= 0) tui_switch_branch(t, id);
    else if (n <= 1) tui_message(t, "no other branch: F on a generated token forks", 0);
    else tui_message(t, step < 0 ? "this is the first branch" : "this is the last branch", 0);
}

/* b (and /branches): the tree under the transcript, focused; b again hides it. */
static void tui_tree_toggle(tui_t *t, int show) {
    pane_view_t *v = &t->view;
    if (!show) {
        t->tree_shown = 0;
        if (v->focus == LAYOUT_FOCUS_TREE) v->focus = LAYOUT_FOCUS_TRANSCRIPT;
    } else {
        char msg[256];
        t->tree_shown = 1;
        int n = pane_tree_refresh(t->tree, msg, sizeof msg);
        if (n < 0) tui_message(t, msg, 1);
        v->focus = LAYOUT_FOCUS_TREE;
    }
    tui_relayout(t); /* after the focus: a zoomed transcript keeps its zoom */
}

/* /compare DIR: the tint and the probability pane show it (view.cmp_*);
 * the arrays are taken from res. */
static void tui_compare_show(tui_t *t, command_result_t *res) {
    pane_view_t *v = &t->view;
    tui_compare_clear(t);
    v->cmp_self = res->lp_self;
    v->cmp_other = res->lp_other;
    res->lp_self = res->lp_other = NULL;
    v->cmp_n = res->n_lp;
    snprintf(v->cmp_label, sizeof v->cmp_label, "%s", res->label[0] ? res->label : "other");
    t->tint_before_compare = v->tint;
    v->tint = PANE_TINT_COMPARE;
    double sa = 0, sb = 0;
    int n = 0;
    for (int i = 0; i < v->cmp_n; i++) {
        if (!isfinite(v->cmp_self[i]) || !isfinite(v->cmp_other[i])) continue;
        sa += v->cmp_self[i];
        sb += v->cmp_other[i];
        n++;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "compare: sum ln p %.2f here, %.2f by %s over %d tokens (t ends it)",
             sa, sb, v->cmp_label, n);
    tui_message(t, msg, 0);
}

static void tui_run_command(tui_t *t, const char *line) {
    command_result_t res;
    memset(&res, 0, sizeof res);
    command_run(t->host, line, &res);
    pane_view_t *v = &t->view;
    switch (res.status) {
    case COMMAND_DONE: tui_message(t, res.msg, 0); break;
    case COMMAND_ERROR: tui_message(t, res.msg, 1); break;
    case COMMAND_HELP: tui_show_help(t); break;
    case COMMAND_PANE:
        v->plugin_pane = res.pane;
        tui_message(t, res.msg, 0);
        break;
    case COMMAND_QUIT: t->quit = 1; break;
    case COMMAND_PROBS:
        if (res.token >= 0 && res.token < v->n_visible) v->sel = res.token;
        v->focus = LAYOUT_FOCUS_PROBS;
        tui_message(t, res.msg, 0);
        break;
    case COMMAND_ATTN:
        if (res.layer >= 0) v->layer = res.layer;
        if (res.head != -2) v->head = res.head;
        v->attn_view = PANE_ATTN_ROW;
        v->focus = LAYOUT_FOCUS_ATTN;
        tui_message(t, res.msg, 0);
        break;
    case COMMAND_SESSIONS:
        tui_overlay(t, "Sessions", res.text ? res.text : strdup(res.msg));
        res.text = NULL;
        break;
    case COMMAND_CLEARED: tui_cleared(t, res.msg); break;
    case COMMAND_FORKED: tui_forked(t, res.msg); break;
    case COMMAND_BRANCHES: tui_tree_toggle(t, 1); break; /* an empty tree says why */
    case COMMAND_COMPARE: tui_compare_show(t, &res); break;
    }
    free(res.text);
    free(res.lp_self);
    free(res.lp_other);
    t->dirty = 1;
}

static void tui_submit(tui_t *t, char *line) {
    if (t->view.generating || t->replaying) {
        free(t->pending_line); /* the newest line wins */
        t->pending_line = line;
        tui_message(t, "queued until the reply ends", 0);
        return;
    }
    if (command_is_command(line)) tui_run_command(t, line);
    else tui_start_reply(t, line);
    free(line);
}

static void tui_after_input(tui_t *t) {
    int eof;
    char *line = input_take_line(t->input, &eof);
    if (line) tui_submit(t, line);
    if (eof) t->quit = 1;
}

/* Esc or Ctrl-C: stop what runs. Returns 1 if something was stopped. */
static int tui_interrupt(tui_t *t) {
    if (t->view.generating) {
        t->stop_requested = 1;
        return 1;
    }
    if (t->replaying) {
        t->replaying = 0;
        t->view.n_visible = chat_n_tokens(tui_chat(t));
        tui_message(t, "replay skipped to the end", 0);
        return 1;
    }
    return 0;
}

static void tui_mouse(tui_t *t) {
    MEVENT ev;
    if (getmouse(&ev) != OK || !t->layout.ok) return;
    layout_focus_t before = t->view.focus;
    if (ev.bstate & BUTTON4_PRESSED) {
        pane_transcript_scroll(t->transcript, -3);
    } else if (ev.bstate & BUTTON5_PRESSED) {
        pane_transcript_scroll(t->transcript, 3);
    } else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)) {
        int tok = pane_transcript_hit(t->transcript, ev.y, ev.x);
        if (layout_contains(&t->tree_rect, ev.y, ev.x)) {
            pane_tree_hit(t->tree, ev.y, ev.x);
            t->view.focus = LAYOUT_FOCUS_TREE;
        } else if (tok >= 0) {
            t->view.sel = tok;
            t->view.focus = LAYOUT_FOCUS_TRANSCRIPT;
        } else if (layout_contains(&t->layout.transcript, ev.y, ev.x)) {
            t->view.focus = LAYOUT_FOCUS_TRANSCRIPT;
        } else if (layout_contains(&t->layout.attn, ev.y, ev.x)) {
            t->view.focus = LAYOUT_FOCUS_ATTN;
        } else if (layout_contains(&t->layout.probs, ev.y, ev.x)) {
            t->view.focus = LAYOUT_FOCUS_PROBS;
        } else if (layout_contains(&t->layout.input, ev.y, ev.x)) {
            t->view.focus = LAYOUT_FOCUS_INPUT;
        }
    }
    if (t->zoom && t->view.focus != before) tui_relayout(t);
    t->dirty = 1;
}

/* Tab's next focus; the tree only while it is on screen. */
static layout_focus_t tui_next_focus(const tui_t *t, int dir) {
    layout_focus_t f = layout_next_focus(t->view.focus, dir);
    if (f == LAYOUT_FOCUS_TREE && !t->tree_rect.h) f = layout_next_focus(f, dir);
    return f;
}

/* A key for the focused pane, then the pane keys, then the global ones. */
static void tui_pane_key(tui_t *t, int key) {
    pane_view_t *v = &t->view;
    int r = 0;
    switch (v->focus) {
    case LAYOUT_FOCUS_TRANSCRIPT: r = pane_transcript_handle_key(t->transcript, key); break;
    case LAYOUT_FOCUS_ATTN: r = pane_heatmap_handle_key(t->heatmap, key); break;
    case LAYOUT_FOCUS_PROBS: r = pane_probs_handle_key(t->probs, key); break;
    case LAYOUT_FOCUS_TREE: r = pane_tree_handle_key(t->tree, key); break;
    default: break;
    }
    if (r & PANE_ACTION) { /* Enter in the tree: show the branch under its cursor */
        int id = pane_tree_cursor(t->tree);
        if (id >= 0 && id == pane_tree_neighbour(t->tree, 0))
            tui_message(t, "that is the branch shown", 0);
        else if (id >= 0)
            tui_switch_branch(t, id);
    }
    if (v->focus == LAYOUT_FOCUS_TREE && key == 27) { /* Esc leaves the tree, shown */
        v->focus = LAYOUT_FOCUS_TRANSCRIPT;
        t->dirty = 1;
        return;
    }
    if (!(r & PANE_CONSUMED) && v->focus != LAYOUT_FOCUS_ATTN && v->opts->attn_available &&
        key > 0 && key < 128 && strchr("[]{}ampnHo", key))
        r = pane_heatmap_handle_key(t->heatmap, key);
    if (r & PANE_CONSUMED) {
        if (r & PANE_REDRAW) t->dirty = 1;
        return;
    }
    switch (key) {
    case 't':
        if (v->tint == PANE_TINT_COMPARE) { /* back to the tint before /compare */
            tui_compare_clear(t);
            break;
        }
        /* attention, probability, none (attention only when there is some) */
        v->tint = v->tint == PANE_TINT_ATTN   ? PANE_TINT_PROB
                  : v->tint == PANE_TINT_PROB ? PANE_TINT_OFF
                  : v->opts->attn_available   ? PANE_TINT_ATTN
                                              : PANE_TINT_PROB;
        break;
    case 'z':
        t->zoom = !t->zoom;
        tui_relayout(t);
        break;
    case 'q': t->quit = 1; break;
    case '?': tui_show_help(t); break;
    case 'F': tui_fork_open(t); break;
    case 'b': tui_tree_toggle(t, !t->tree_shown); break;
    case '(':
    case ')': tui_branch_step(t, key == '(' ? -1 : 1); break;
    case '\r':
    case '\n':
    case 'i':
    case KEY_ENTER: v->focus = LAYOUT_FOCUS_INPUT; break;
    case TUI_KEY_CTRL('d'): t->quit = 1; break;
    case 27: v->sel = -1; break;
    default:
        /* typing in a pane goes to the input */
        if (key >= ' ' && key < 127) {
            char b = (char)key;
            v->focus = LAYOUT_FOCUS_INPUT;
            input_feed(t->input, &b, 1);
            tui_after_input(t);
        }
        break; /* the focus moved and the input changed: redraw now */
    }
    t->dirty = 1;
}

static void tui_key(tui_t *t, int is_code, wint_t wch) {
    pane_view_t *v = &t->view;
    int key = (int)wch;
    if (is_code && key == KEY_RESIZE) {
        tui_relayout(t);
        clearok(curscr, TRUE);
        return;
    }
    if (overlay_handle_key(t->overlay, is_code, key)) {
        t->dirty = 1;
        return;
    }
    if (!t->layout.ok) {
        if (!is_code && (key == 'q' || key == TUI_KEY_CTRL('d'))) t->quit = 1;
        if (!is_code && key == TUI_KEY_CTRL('c')) tui_interrupt(t);
        return;
    }
    int fr = fork_menu_handle_key(t->fork, is_code, key);
    if (fr) {
        if (fr & PANE_ACTION) {
            int index, cand;
            fork_menu_choice(t->fork, &index, &cand);
            tui_fork(t, index, cand);
        }
        t->dirty = 1;
        return;
    }
    if (is_code) {
        switch (key) {
        case KEY_MOUSE: tui_mouse(t); return;
        case KEY_F(1): tui_show_help(t); return;
        case KEY_BTAB:
            v->focus = tui_next_focus(t, -1);
            if (t->zoom) tui_relayout(t);
            t->dirty = 1;
            return;
        case KEY_PPAGE:
        case KEY_NPAGE: {
            int h = t->layout.transcript.h > 3 ? t->layout.transcript.h - 3 : 1;
            if (pane_transcript_scroll(t->transcript, key == KEY_PPAGE ? -h : h)) t->dirty = 1;
            return;
        }
        default: break;
        }
        if (v->focus == LAYOUT_FOCUS_INPUT) {
            if (input_handle_key(t->input, key)) t->dirty = 1;
            tui_after_input(t);
        } else {
            tui_pane_key(t, key);
        }
        return;
    }
    if (key == TUI_KEY_CTRL('c')) {
        if (!tui_interrupt(t)) {
            if (v->focus == LAYOUT_FOCUS_INPUT && !input_is_empty(t->input)) input_clear(t->input);
            else tui_message(t, "Ctrl-D, q (in a pane) or /quit leaves", 0);
        }
        t->dirty = 1;
        return;
    }
    if (key == 27) {
        /* Esc alone, or Alt+key (Esc then the key at once) */
        wint_t next;
        wtimeout(t->keys, 0);
        int rc = wget_wch(t->keys, &next);
        if (rc == OK && v->focus == LAYOUT_FOCUS_INPUT) {
            char b[8] = {27};
            size_t n = 1 + (size_t)utf8proc_encode_char((utf8proc_int32_t)next, (utf8proc_uint8_t *)b + 1);
            input_feed(t->input, b, n);
            tui_after_input(t);
            t->dirty = 1;
            return;
        }
        if (rc != ERR) return; /* Alt+key outside the input: nothing */
        if (!tui_interrupt(t) && v->focus != LAYOUT_FOCUS_INPUT) tui_pane_key(t, 27);
        t->dirty = 1;
        return;
    }
    if (key == '\t') {
        const char *txt = input_text(t->input);
        if (v->focus == LAYOUT_FOCUS_INPUT && txt[0] == '/' && !strchr(txt, ' ')) {
            input_feed(t->input, "\t", 1);
        } else {
            v->focus = tui_next_focus(t, 1);
            if (t->zoom) tui_relayout(t);
        }
        t->dirty = 1;
        return;
    }
    if (v->focus == LAYOUT_FOCUS_INPUT) {
        if (key == '?' && input_is_empty(t->input)) {
            tui_show_help(t);
            return;
        }
        char b[8];
        size_t n = (size_t)utf8proc_encode_char((utf8proc_int32_t)wch, (utf8proc_uint8_t *)b);
        if (n > 0) {
            input_feed(t->input, b, n);
            tui_after_input(t);
        }
        t->dirty = 1;
        return;
    }
    if (key < 128) {
        tui_pane_key(t, key);
    } else if (wch >= 0xa0) {
        /* a non-ASCII letter typed in a pane goes to the input, as ASCII does */
        char b[8];
        size_t n = (size_t)utf8proc_encode_char((utf8proc_int32_t)wch, (utf8proc_uint8_t *)b);
        v->focus = LAYOUT_FOCUS_INPUT;
        if (n > 0) input_feed(t->input, b, n);
        tui_after_input(t);
        t->dirty = 1;
    }
}

/* Reads keys for up to timeout_ms (0: only what is there) and handles them. */
static void tui_poll(tui_t *t, int timeout_ms) {
    wint_t wch;
    wtimeout(t->keys, timeout_ms);
    int rc = wget_wch(t->keys, &wch);
    for (int n = 0; rc != ERR && n < 4096 && !t->quit; n++) {
        tui_key(t, rc == KEY_CODE_YES, wch);
        wtimeout(t->keys, 0);
        rc = wget_wch(t->keys, &wch);
    }
}

/* One token of the reply in progress. */
static void tui_reply_step(tui_t *t) {
    if (t->stop_requested || term_take_sigint()) {
        tui_reply_end(t, CHAT_STOP_INTERRUPTED);
        return;
    }
    chat_t *c = tui_chat(t);
    chat_stop_t stop = CHAT_STOP_NONE;
    char err[512];
    if (chat_reply_step(c, &stop, err, sizeof err) != 0) {
        tui_message(t, err, 1);
        tui_reply_end(t, CHAT_STOP_ERROR);
        return;
    }
    t->reply_n++;
    t->view.n_visible = chat_n_tokens(c);
    if (stop != CHAT_STOP_NONE) tui_reply_end(t, stop);
    t->dirty = 1;
}

/* Reveals the replayed tokens that are due; returns seconds to the next one. */
static double tui_replay_step(tui_t *t) {
    chat_t *c = tui_chat(t);
    double now = clockx_now(), speed = t->opts.replay_speed > 0 ? t->opts.replay_speed : 1.0;
    int n = chat_n_tokens(c);
    while (t->view.n_visible < n) {
        const chat_token_t *tok = chat_token(c, t->view.n_visible);
        const chat_turn_t *tu = chat_turn(c, tok->turn);
        if (tok->turn != t->replay_turn) {
            t->replay_turn = tok->turn;
            t->replay_t0 = t->replay_next_t0;
        }
        double due = t->replay_t0 + (tu->role == CHAT_USER ? 0.0 : tok->t_ms / 1000.0 / speed);
        if (due > now) return due - now;
        t->view.n_visible++;
        t->dirty = 1;
        /* the next turn starts a moment after this token */
        t->replay_next_t0 = due + 0.3 / speed;
        if (t->view.n_visible == tu->first + tu->n && tu->role == CHAT_MODEL)
            pane_status_speed(t->status, tu->n, tu->elapsed_ms / 1000.0);
    }
    t->replaying = 0;
    tui_message(t, "replay finished: type to continue the session", 0);
    return 0;
}

static void tui_free(tui_t *t) {
    pane_transcript_free(t->transcript);
    pane_heatmap_free(t->heatmap);
    attn_cache_free(t->view.attn);
    pane_probs_free(t->probs);
    pane_plugin_free(t->plugin);
    pane_class_free(t->cls);
    pane_status_free(t->status);
    input_free(t->input);
    if (t->keys) delwin(t->keys);
    overlay_free(t->overlay);
    pane_tree_free(t->tree);
    fork_menu_free(t->fork);
    free(t->view.cmp_self);
    free(t->view.cmp_other);
    free(t->pending_line);
}

int tui_run(const ui_host_t *host, const tui_options_t *opts, char *err, size_t errlen) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the terminal UI needs a terminal");
        return -1;
    }
    tui_t t;
    memset(&t, 0, sizeof t);
    t.host = host;
    t.opts = *opts;
    if (!(t.opts.replay_speed > 0)) t.opts.replay_speed = 1.0;
    pane_view_t *v = &t.view;
    v->host = host;
    v->opts = &t.opts;
    v->chat = tui_chat(&t);
    v->sel = -1;
    v->layer = -1; /* the last layer */
    v->head = -1;  /* mean of the heads */
    v->tint = t.opts.attn_available ? PANE_TINT_ATTN : PANE_TINT_PROB;
    v->attn = attn_cache_create();
    /* each row (each head, in the heads view) shaded by its own maximum: a
       whole-matrix scale is dominated by the first query, whose only key
       has weight 1 */
    v->scale = SHADE_SCALE_ROW;
    v->focus = LAYOUT_FOCUS_INPUT;
    v->plugin_pane = -1;
    v->n_visible = t.opts.replay ? 0 : chat_n_tokens(v->chat);
    t.replaying = t.opts.replay && chat_n_tokens(v->chat) > 0;
    t.replay_turn = -1;

    if (term_open(&t.term, t.opts.no_color, t.opts.mouse, v, err, errlen) != 0) return -1;
    if (host->screen) host->screen(host->user, 1);
    t.keys = newwin(1, 1, 0, 0);
    keypad(t.keys, TRUE);
    wnoutrefresh(t.keys); /* untouched from now on, so reading keys never repaints it */
    t.transcript = pane_transcript_create(v);
    t.heatmap = pane_heatmap_create(v);
    t.probs = pane_probs_create(v);
    t.plugin = pane_plugin_create(v);
    t.cls = pane_class_create(v);
    t.status = pane_status_create(v);
    t.overlay = overlay_create(v);
    t.tree = pane_tree_create(v);
    t.fork = fork_menu_create(v);
    t.input = input_create(v, t.opts.history_path, err, errlen);
    int rc = 0;
    if (!v->attn || !t.transcript || !t.heatmap || !t.probs || !t.plugin || !t.cls || !t.status ||
        !t.overlay || !t.tree || !t.fork || !t.input) {
        if (t.input) snprintf(err, errlen, "out of memory");
        rc = -1;
        t.quit = 1;
    } else {
        tui_relayout(&t);
        if (t.replaying) t.replay_next_t0 = clockx_now() + 0.3 / t.opts.replay_speed;
    }

    while (!t.quit && !term_ended()) {
        v->chat = tui_chat(&t);
        if (v->generating) {
            /* keys every TUI_POLL_S: a poll is a system call, a small model
               makes a token in less than 0.1 ms */
            double now = clockx_now();
            if (now - t.last_poll >= TUI_POLL_S) {
                tui_poll(&t, 0);
                t.last_poll = now;
            }
            if (t.quit || term_ended()) break;
            if (v->generating) tui_reply_step(&t);
            if (t.dirty && (clockx_now() - t.last_draw >= TUI_FRAME_S || !v->generating)) tui_draw(&t);
            continue;
        }
        if (t.replaying) {
            double wait = tui_replay_step(&t);
            if (t.dirty) tui_draw(&t);
            if (t.replaying) {
                int ms = (int)(wait * 1000.0);
                tui_poll(&t, ms < 1 ? 1 : ms > TUI_IDLE_MS ? TUI_IDLE_MS : ms);
            }
            continue;
        }
        term_take_sigint(); /* SIGINT while idle: nothing to stop */
        v->n_visible = chat_n_tokens(v->chat);
        if (t.pending_line) {
            char *line = t.pending_line;
            t.pending_line = NULL;
            tui_submit(&t, line);
            continue;
        }
        if (t.dirty) tui_draw(&t);
        int had_msg = pane_status_has_message(t.status);
        tui_poll(&t, TUI_IDLE_MS);
        if (had_msg && !pane_status_has_message(t.status)) t.dirty = 1; /* take it down */
    }
    if (v->generating) tui_reply_end(&t, CHAT_STOP_INTERRUPTED);

    tui_free(&t);
    term_close(&t.term);
    if (host->screen) host->screen(host->user, 0);
    return rc;
}
