/* bench_panes.c - what drawing the attention pane costs while a reply
 * streams, next to what generating the token costs: the TUI redraws after
 * tokens (at most ~33 frames a second), so a view that takes a fraction f
 * of a decode step slows streaming by at most f (one frame per token).
 *
 * The chat and the panes are the real ones (core/decode/chat.h, ui/pane_heatmap.c
 * with its four views) on a curses screen whose output goes to /dev/null,
 * so the figure includes curses' own work of turning the frame into
 * terminal output. Each token is generated, then the row view and the
 * layer x head overview are each drawn and flushed, in alternating order
 * so neither always pays for copying the attention row first.
 *
 *   bench_panes [-m DIR] [-n TOKENS] [-t THREADS] [--size COLSxROWS]
 *
 * Prints per-token decode time and per-frame draw time of each view, each
 * as a share of a decode step (the worst case, a frame per token), and what
 * each costs streaming at the TUI's frame cap. Timings from a 2-core host
 * are noisy: the median of the per-token figures is reported with the mean. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_core.h"
#include "chat.h"
#include "clockx.h"
#include "gpt.h"
#include "layout.h"
#include "pane_heatmap.h"
#include "term.h"
#include "tokenizer.h"
#include "tui.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0;
}

static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : 0;
}

int main(int argc, char **argv) {
    blas_core_restart(argv); /* the AVX-512 sgemm where OpenBLAS missed it, as the app does */
    const char *dir = GPTSCOPE_SRCDIR "/assets/default-model";
    int n_tok = 256, threads = 1, cols = 200, rows = 60;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n_tok = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%dx%d", &cols, &rows) == 2) i++;
        else {
            fprintf(stderr, "usage: bench_panes [-m DIR] [-n TOKENS] [-t THREADS] [--size COLSxROWS]\n");
            return 2;
        }
    }
    if (n_tok < 8 || threads < 1 || cols < 80 || rows < 24) {
        fprintf(stderr, "bench_panes: -n >= 8, -t >= 1, --size at least 80x24\n");
        return 2;
    }
    char err[512];
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = m ? tokenizer_load(dir, m->cfg.n_vocab == 40478 ? TOKENIZER_GPT1
                                                                        : TOKENIZER_GPT2,
                                          err, sizeof err)
                         : NULL;
    if (!tok) {
        fprintf(stderr, "bench_panes: %s\n", err);
        gpt_free(m);
        return 1;
    }
    chat_settings_t set = chat_settings_default();
    set.sampling.seed = 1;
    set.max_tokens = n_tok;
    set.stop_at_eos = 0;
    chat_t *c = chat_init(m, tok, &set, threads, CHAT_CAPTURE_ATTN, err, sizeof err);
    if (!c || chat_user(c, "ROMEO:", 6, err, sizeof err) != 0 ||
        chat_reply_begin(c, err, sizeof err) != 0) {
        fprintf(stderr, "bench_panes: %s\n", err);
        return 1;
    }
    /* the screen: curses writes its frames to /dev/null (stdout is saved
       for the report) */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || !freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "r", stdin)) {
        fprintf(stderr, "bench_panes: cannot redirect to /dev/null\n");
        return 1;
    }
    char size[32];
    snprintf(size, sizeof size, "%d", cols);
    setenv("COLUMNS", size, 1);
    snprintf(size, sizeof size, "%d", rows);
    setenv("LINES", size, 1);
    if (!getenv("TERM")) setenv("TERM", "xterm-256color", 1);
    tui_options_t opts;
    tui_options_default(&opts);
    opts.n_threads = threads;
    opts.attn_available = 1;
    pane_view_t v;
    memset(&v, 0, sizeof v);
    v.opts = &opts;
    v.chat = c;
    v.sel = -1;
    v.layer = -1;
    v.head = -1;
    v.generating = 1;
    v.scale = SHADE_SCALE_ROW;
    v.plugin_pane = -1;
    v.attn = attn_cache_create();
    term_t tm;
    if (term_open(&tm, 0, 0, &v, err, sizeof err) != 0) {
        dup2(saved, STDOUT_FILENO);
        fprintf(stderr, "bench_panes: %s\n", err);
        return 1;
    }
    pane_view_clamp(&v);
    layout_t lay;
    layout_compute(&lay, rows, cols, LAYOUT_FOCUS_INPUT, 0, 1);
    pane_heatmap_t *p = pane_heatmap_create(&v);
    pane_heatmap_resize(p, lay.attn);
    double *dec = malloc((size_t)n_tok * sizeof *dec), *row = malloc((size_t)n_tok * sizeof *row),
           *grid = malloc((size_t)n_tok * sizeof *grid);
    int n = 0, rc = 0;
    chat_stop_t stop = CHAT_STOP_NONE;
    while (n < n_tok && stop == CHAT_STOP_NONE) {
        double t0 = clockx_now();
        rc = chat_reply_step(c, &stop, err, sizeof err);
        double t1 = clockx_now();
        if (rc != 0) break;
        dec[n] = t1 - t0;
        v.n_visible = chat_n_tokens(c);
        for (int k = 0; k < 2; k++) {
            int grid_now = (n + k) % 2;
            v.attn_view = grid_now ? PANE_ATTN_GRID : PANE_ATTN_ROW;
            double a = clockx_now();
            pane_heatmap_draw(p);
            doupdate();
            (grid_now ? grid : row)[n] = clockx_now() - a;
        }
        n++;
    }
    pane_heatmap_free(p);
    attn_cache_free(v.attn);
    term_close(&tm);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    if (rc != 0) {
        fprintf(stderr, "bench_panes: %s\n", err);
        return 1;
    }
    double md = median(dec, n), mr = median(row, n), mg = median(grid, n);
    printf("bench_panes: %s, %d tokens, %d thread%s, screen %dx%d (attention pane %dx%d), "
           "layers x heads %d x %d\n",
           dir, n, threads, threads == 1 ? "" : "s", cols, rows, lay.attn.w, lay.attn.h,
           m->cfg.n_layer, m->cfg.n_head);
    printf("  decode step        median %8.1f us  mean %8.1f us  (%.0f tokens/s)\n", 1e6 * md,
           1e6 * mean(dec, n), md > 0 ? 1 / md : 0);
    printf("  row view frame     median %8.1f us  mean %8.1f us  = %5.2f%% of a decode step\n",
           1e6 * mr, 1e6 * mean(row, n), 100 * mr / md);
    printf("  layer x head frame median %8.1f us  mean %8.1f us  = %5.2f%% of a decode step\n",
           1e6 * mg, 1e6 * mean(grid, n), 100 * mg / md);
    /* the TUI draws at most every 30 ms while streaming (tui.c TUI_FRAME_S) */
    double fps = md > 0 && 1 / md < 1 / 0.03 ? 1 / md : 1 / 0.03;
    printf("  streaming: %.0f frames/s (a frame per token, at most one per 30 ms) slow it by\n"
           "    row view %.2f%%, layer x head overview %.2f%% (the overview's extra: %+.2f%%)\n",
           fps, 100 * fps * mr, 100 * fps * mg, 100 * fps * (mg - mr));
    free(dec);
    free(row);
    free(grid);
    chat_free(c);
    tokenizer_free(tok);
    gpt_free(m);
    return 0;
}
