/* overlay.c - framed, scrollable text over the panes (overlay.h). */
#include "overlay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct overlay {
    pane_view_t *v;
    layout_rect_t screen;
    char *text;
    const char *title;
    int scroll;
};

overlay_t *overlay_create(pane_view_t *v) {
    overlay_t *o = calloc(1, sizeof *o);
    if (o) o->v = v;
    return o;
}

void overlay_free(overlay_t *o) {
    if (!o) return;
    free(o->text);
    free(o);
}

void overlay_resize(overlay_t *o, layout_rect_t screen) { o->screen = screen; }

void overlay_show(overlay_t *o, const char *title, char *text) {
    free(o->text);
    o->text = text;
    o->title = title;
    o->scroll = 0;
}

int overlay_shown(const overlay_t *o) { return o->text != NULL; }

void overlay_draw(overlay_t *o) {
    if (!o->text) return;
    int h = o->screen.h - 4, w = o->screen.w - 6;
    if (w > 100) w = 100;
    if (h < 3 || w < 10) return;
    /* a window made for each draw: the overlay lives only between keys */
    WINDOW *win = newwin(h, w, 2, (o->screen.w - w) / 2);
    if (!win) return;
    pane_frame(o->v, win, o->title, 1);
    const char *s = o->text;
    int line = 0, y = 1;
    while (*s && y < h - 1) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (line++ >= o->scroll) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), s);
            pane_put(win, y++, 2, buf, w - 4);
        }
        s += n + (e ? 1 : 0);
    }
    pane_put(win, h - 1, 2, " any key closes; arrows / PgUp / PgDn scroll ", w - 4);
    wnoutrefresh(win);
    delwin(win);
}

int overlay_handle_key(overlay_t *o, int is_code, int key) {
    if (!o->text) return 0;
    int step = 0;
    if (is_code && key == KEY_DOWN) step = 1;
    else if (is_code && key == KEY_UP) step = -1;
    else if (is_code && key == KEY_NPAGE) step = 10;
    else if (is_code && key == KEY_PPAGE) step = -10;
    else if (!is_code && (key == 'j' || key == 'k')) step = key == 'j' ? 1 : -1;
    if (step) {
        o->scroll += step;
        if (o->scroll < 0) o->scroll = 0;
    } else {
        free(o->text);
        o->text = NULL;
    }
    return PANE_CONSUMED | PANE_REDRAW;
}
