/* input.c - readline in a curses window (input.h).
 *
 * Readline normally owns the terminal. Here it owns nothing: its terminal
 * preparation is a no-op, its output goes to /dev/null, its input comes
 * from a byte queue the screen manager fills from curses (rl_getc_function,
 * rl_input_available_hook), and its redisplay only marks the window dirty;
 * input_draw paints rl_line_buffer and rl_point. Readline keeps all its
 * state in globals, hence the one static pointer below: the callbacks have
 * no user argument to carry it. */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>
#include <utf8proc.h>

#include "command.h"
#include "text.h"

#define INPUT_QUEUE 8192
#define INPUT_PROMPT "> "
#define INPUT_CONT "  " /* before continuation lines */
#define INPUT_HISTORY_MAX 2000

struct input {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    const char *history_path;
    FILE *devnull;
    unsigned char queue[INPUT_QUEUE];
    size_t q_head, q_len;
    char *line; /* submitted, not yet taken */
    int eof;
    char note[512];
    int complete_idx; /* next command name for the completion generator */
};

static input_t *input_active; /* see the top of the file */

static int input_queue_pop(input_t *in) {
    if (in->q_len == 0) return EOF;
    int c = in->queue[in->q_head];
    in->q_head = (in->q_head + 1) % INPUT_QUEUE;
    in->q_len--;
    return c;
}

static void input_queue_push(input_t *in, const char *b, size_t n) {
    for (size_t i = 0; i < n && in->q_len < INPUT_QUEUE; i++) {
        in->queue[(in->q_head + in->q_len) % INPUT_QUEUE] = (unsigned char)b[i];
        in->q_len++;
    }
}

/* Curses key to the bytes readline expects from a terminal; 0 if none. */
static size_t input_key_bytes(int key, char *out) {
    const char *s = NULL;
    switch (key) {
    case KEY_LEFT: s = "\033[D"; break;
    case KEY_RIGHT: s = "\033[C"; break;
    case KEY_UP: s = "\033[A"; break;
    case KEY_DOWN: s = "\033[B"; break;
    case KEY_HOME: s = "\033[H"; break;
    case KEY_END: s = "\033[F"; break;
    case KEY_DC: s = "\033[3~"; break;
    case KEY_BACKSPACE: s = "\177"; break;
    case KEY_ENTER: s = "\r"; break;
    default: return 0;
    }
    size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

/* readline reads a byte: from the queue, or, in the middle of a key
   sequence or a bracketed paste, by waiting for curses. */
static int input_rl_getc(FILE *f) {
    (void)f;
    input_t *in = input_active;
    while (in && in->q_len == 0 && in->win) {
        wint_t wch;
        wtimeout(in->win, 1000);
        int rc = wget_wch(in->win, &wch);
        if (rc == ERR) return EOF; /* nothing for a second: give up the sequence */
        char b[8];
        size_t n = 0;
        if (rc == KEY_CODE_YES) n = input_key_bytes((int)wch, b);
        else n = (size_t)utf8proc_encode_char((utf8proc_int32_t)wch, (utf8proc_uint8_t *)b);
        input_queue_push(in, b, n);
    }
    return in ? input_queue_pop(in) : EOF;
}

static int input_rl_available(void) { return input_active && input_active->q_len > 0; }

static void input_rl_redisplay(void) { /* input_draw paints from rl_line_buffer */ }

static void input_rl_prep(int meta) { (void)meta; }
static void input_rl_deprep(void) {}

static void input_on_line(char *line) {
    input_t *in = input_active;
    if (!in) {
        free(line);
        return;
    }
    if (!line) {
        in->eof = 1;
        return;
    }
    if (line[0]) {
        add_history(line);
        if (in->history_path) {
            /* append_history does not create the file */
            if (access(in->history_path, F_OK) != 0) write_history(in->history_path);
            else append_history(1, in->history_path);
        }
    }
    free(in->line);
    in->line = line;
}

/* Enter: a trailing backslash becomes a newline and editing goes on. */
static int input_rl_accept(int count, int key) {
    if (rl_end > 0 && rl_point == rl_end && rl_line_buffer[rl_end - 1] == '\\') {
        rl_delete_text(rl_end - 1, rl_end);
        rl_point = rl_end;
        rl_insert_text("\n");
        return 0;
    }
    return rl_newline(count, key);
}

static int input_rl_newline(int count, int key) {
    (void)count;
    (void)key;
    rl_insert_text("\n");
    return 0;
}

static char *input_command_generator(const char *text, int state) {
    /* readline calls this until NULL, state 0 the first time */
    input_t *in = input_active;
    const char *const *names = command_names();
    if (!state) in->complete_idx = 0;
    if (text[0] != '/') return NULL;
    while (names[in->complete_idx]) {
        const char *n = names[in->complete_idx++];
        if (strncmp(n, text + 1, strlen(text + 1)) == 0) {
            size_t len = strlen(n) + 2;
            char *m = malloc(len);
            if (m) snprintf(m, len, "/%s", n);
            return m;
        }
    }
    return NULL;
}

static char **input_complete(const char *text, int start, int end) {
    (void)end;
    rl_attempted_completion_over = 1; /* never file names */
    if (start != 0) return NULL;
    return rl_completion_matches(text, input_command_generator);
}

/* Several candidates: readline would print them; show them in the status bar. */
static void input_show_matches(char **matches, int n, int max_len) {
    (void)max_len;
    input_t *in = input_active;
    if (!in) return;
    size_t o = 0;
    for (int i = 1; i <= n && o + 2 < sizeof in->note; i++)
        o += (size_t)snprintf(in->note + o, sizeof in->note - o, "%s ", matches[i]);
}

input_t *input_create(pane_view_t *v, const char *history_path, char *err, size_t errlen) {
    if (input_active) {
        snprintf(err, errlen, "input: readline is already in use");
        return NULL;
    }
    input_t *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->v = v;
    in->history_path = history_path;
    in->devnull = fopen("/dev/null", "w");
    input_active = in;
    rl_readline_name = "gptscope";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = input_rl_prep;
    rl_deprep_term_function = input_rl_deprep;
    rl_getc_function = input_rl_getc;
    rl_input_available_hook = input_rl_available;
    rl_redisplay_function = input_rl_redisplay;
    rl_attempted_completion_function = input_complete;
    rl_completion_display_matches_hook = input_show_matches;
    if (in->devnull) rl_outstream = in->devnull;
    /* entries may span lines: timestamps mark where each begins in the file */
    history_write_timestamps = 1;
    history_comment_char = '#'; /* timestamps are written only with a comment character */
    history_multiline_entries = 1;
    using_history();
    if (history_path) read_history(history_path);
    rl_callback_handler_install(INPUT_PROMPT, input_on_line);
    /* after install: readline has initialised its keymaps */
    rl_bind_keyseq("\033[A", rl_get_previous_history);
    rl_bind_keyseq("\033[B", rl_get_next_history);
    rl_bind_keyseq("\033[C", rl_forward_char);
    rl_bind_keyseq("\033[D", rl_backward_char);
    rl_bind_keyseq("\033[H", rl_beg_of_line);
    rl_bind_keyseq("\033[F", rl_end_of_line);
    rl_bind_keyseq("\033[3~", rl_delete);
    rl_bind_keyseq("\033[200~", rl_bracketed_paste_begin);
    rl_bind_key('\r', input_rl_accept);
    rl_bind_key('\n', input_rl_accept);
    rl_bind_keyseq("\033\r", input_rl_newline);
    rl_bind_keyseq("\033\n", input_rl_newline);
    return in;
}

void input_free(input_t *in) {
    if (!in) return;
    rl_callback_handler_remove();
    if (in->history_path) history_truncate_file(in->history_path, INPUT_HISTORY_MAX);
    clear_history();
    if (in->win) delwin(in->win);
    if (in->devnull) {
        rl_outstream = NULL;
        fclose(in->devnull);
    }
    free(in->line);
    input_active = NULL;
    free(in);
}

WINDOW *input_window(input_t *in) { return in->win; }

void input_resize(input_t *in, layout_rect_t r) {
    in->r = r;
    pane_window(&in->win, r);
}

int input_feed(input_t *in, const char *bytes, size_t n) {
    input_queue_push(in, bytes, n);
    while (in->q_len > 0 && !in->eof) rl_callback_read_char();
    return PANE_CONSUMED | PANE_REDRAW;
}

int input_handle_key(input_t *in, int key) {
    char b[8];
    size_t n = input_key_bytes(key, b);
    if (!n) return 0;
    return input_feed(in, b, n);
}

char *input_take_line(input_t *in, int *eof) {
    *eof = in->eof;
    char *l = in->line;
    in->line = NULL;
    return l;
}

int input_is_empty(const input_t *in) { return rl_end == 0 && !in->line; }

const char *input_text(const input_t *in) {
    (void)in;
    return rl_line_buffer ? rl_line_buffer : "";
}

void input_clear(input_t *in) {
    /* Ctrl-G first leaves an incremental search or a half-typed key sequence */
    input_feed(in, "\007", 1);
    rl_replace_line("", 0);
    rl_point = rl_end = 0;
}

int input_take_note(input_t *in, char *out, size_t cap) {
    if (!in->note[0]) return 0;
    snprintf(out, cap, "%s", in->note);
    in->note[0] = '\0';
    return 1;
}

/* Lays out prompt + buffer: calls put(row, col, bytes, n, ctx) for each
   character (NULL put: measure only); returns the row count and the cursor's
   row and column. */
typedef void (*input_put_fn)(void *ctx, int row, int col, const char *b, int n);

static int input_layout(const char *prompt, const char *buf, int len, int point, int width,
                        input_put_fn put, void *ctx, int *cur_row, int *cur_col) {
    int row = 0, col = 0;
    if (width < 4) width = 4;
    int pw = text_width(prompt, strlen(prompt));
    if (pw > width - 2) pw = width - 2;
    if (put) put(ctx, 0, 0, prompt, (int)text_fit(prompt, strlen(prompt), pw, NULL));
    col = pw;
    *cur_row = 0;
    *cur_col = col;
    int i = 0;
    while (i < len) {
        if (i == point) {
            *cur_row = row;
            *cur_col = col;
        }
        if (buf[i] == '\n') {
            row++;
            if (put) put(ctx, row, 0, INPUT_CONT, 2);
            col = 2;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)buf + i, len - i, &cp);
        int cw = 1;
        if (k <= 0) k = 1;
        else cw = text_cp_width(cp);
        if (col + cw > width) {
            row++;
            col = 0;
            if (i == point) {
                *cur_row = row;
                *cur_col = col;
            }
        }
        if (put) {
            if (k == 1 && (unsigned char)buf[i] < 0x20) put(ctx, row, col, "?", 1);
            else put(ctx, row, col, buf + i, (int)k);
        }
        col += cw;
        i += (int)k;
    }
    if (point >= len) {
        if (col >= width) {
            row++;
            col = 0;
        }
        *cur_row = row;
        *cur_col = col;
    }
    return row + 1;
}

int input_wanted_lines(const input_t *in, int width) {
    (void)in;
    int r, c;
    const char *prompt = rl_display_prompt ? rl_display_prompt : INPUT_PROMPT;
    return input_layout(prompt, rl_line_buffer ? rl_line_buffer : "", rl_end, rl_point, width,
                        NULL, NULL, &r, &c);
}

typedef struct input_draw_ctx {
    WINDOW *win;
    int top, h;
} input_draw_ctx_t;

static void input_put(void *ctx, int row, int col, const char *b, int n) {
    input_draw_ctx_t *d = ctx;
    if (row < d->top || row >= d->top + d->h) return;
    mvwaddnstr(d->win, row - d->top, col, b, n);
}

void input_draw(input_t *in) {
    if (!in->win) return;
    pane_view_t *v = in->v;
    int focused = v->focus == LAYOUT_FOCUS_INPUT;
    werase(in->win);
    const char *prompt = rl_display_prompt ? rl_display_prompt : INPUT_PROMPT;
    int cr, cc;
    int rows = input_layout(prompt, rl_line_buffer ? rl_line_buffer : "", rl_end, rl_point,
                            in->r.w, NULL, NULL, &cr, &cc);
    input_draw_ctx_t d = {in->win, 0, in->r.h};
    if (cr >= d.h) d.top = cr - d.h + 1;
    if (rows - d.top < d.h && rows > d.h) d.top = rows - d.h;
    attr_t a = focused ? A_BOLD : pane_attr(v, PANE_PAIR_DIM, A_DIM);
    wattron(in->win, a);
    input_layout(prompt, rl_line_buffer ? rl_line_buffer : "", rl_end, rl_point, in->r.w, input_put,
                 &d, &cr, &cc);
    wattroff(in->win, a);
    if (rl_end == 0 && strcmp(prompt, INPUT_PROMPT) == 0) {
        wattron(in->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        pane_put(in->win, 0, 2,
                 focused ? "type a prompt; /help lists commands, F1 the keys, Tab moves focus"
                         : "(Tab or Enter returns here)",
                 in->r.w - 3);
        wattroff(in->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
    }
    wmove(in->win, cr - d.top, cc < in->r.w ? cc : in->r.w - 1);
}
