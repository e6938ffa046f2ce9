/* layout.c - pane rectangles from the terminal size (layout.h). */
#include "layout.h"

#include <string.h>

static layout_rect_t layout_rect(int y, int x, int h, int w) {
    layout_rect_t r = {y, x, h > 0 ? h : 0, w > 0 ? w : 0};
    if (!r.h || !r.w) r.h = r.w = 0;
    return r;
}

void layout_compute(layout_t *l, int rows, int cols, layout_focus_t focus, int zoom,
                    int input_lines) {
    memset(l, 0, sizeof *l);
    l->rows = rows;
    l->cols = cols;
    if (rows < LAYOUT_MIN_ROWS || cols < LAYOUT_MIN_COLS) return;
    l->ok = 1;
    if (input_lines < 1) input_lines = 1;
    if (input_lines > LAYOUT_MAX_INPUT) input_lines = LAYOUT_MAX_INPUT;
    l->status = layout_rect(rows - 1, 0, 1, cols);
    l->input = layout_rect(rows - 1 - input_lines, 0, input_lines, cols);
    int body_h = rows - 1 - input_lines;
    if (zoom && focus != LAYOUT_FOCUS_INPUT) {
        layout_rect_t all = layout_rect(0, 0, body_h, cols);
        if (focus == LAYOUT_FOCUS_TRANSCRIPT || focus == LAYOUT_FOCUS_TREE) l->transcript = all;
        else if (focus == LAYOUT_FOCUS_ATTN) l->attn = all;
        else l->probs = all;
        return;
    }
    /* the side column holds the probability table (about 40 columns are
       enough for label, two bars and three numbers); wider terminals give
       it two fifths, up to 100 columns */
    int side_w = cols * 2 / 5;
    if (side_w < 40) side_w = 40;
    if (side_w > 100) side_w = 100;
    int main_w = cols - side_w;
    /* attention gets the larger half: the matrix view wants rows */
    int attn_h = (body_h + 1) / 2;
    l->transcript = layout_rect(0, 0, body_h, main_w);
    l->attn = layout_rect(0, main_w, attn_h, side_w);
    l->probs = layout_rect(attn_h, main_w, body_h - attn_h, side_w);
}

layout_focus_t layout_next_focus(layout_focus_t f, int dir) {
    int n = LAYOUT_N_FOCUS;
    return (layout_focus_t)((((int)f + (dir < 0 ? -1 : 1)) % n + n) % n);
}

int layout_contains(const layout_rect_t *r, int y, int x) {
    return r->h > 0 && r->w > 0 && y >= r->y && y < r->y + r->h && x >= r->x && x < r->x + r->w;
}
