/* export.c - stored sessions as Markdown, a terminal transcript or JSON (export.h). */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cli.h"

/* Writes bytes for a terminal or Markdown: invalid UTF-8 as U+FFFD, and
 * control characters other than newline and tab as \xNN, so that model
 * output can never drive the reader's terminal (an ESC sequence in a reply
 * would otherwise be executed by `sessions show`). */
static void export_text(FILE *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t bad;
        int k = cli_utf8_seq(p + i, n - i, &bad);
        if (!k) {
            fputs("\xEF\xBF\xBD", out);
            i += bad;
            continue;
        }
        if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\n' && p[i] != '\t')
            fprintf(out, "\\x%02x", p[i]);
        else
            fwrite(p + i, 1, (size_t)k, out);
        i += (size_t)k;
    }
}

/* A stored settings object as the user set it (0.7, not the float noise
 * 0.699999988079071 that sessions stored before the writer was fixed);
 * none when there is no settings text. */
static void export_settings(FILE *out, const char *json, const char *none) {
    if (!json) {
        fputs(none, out);
        return;
    }
    char *tidy = chat_settings_json_tidy(json);
    fputs(tidy ? tidy : json, out);
    free(tidy);
}

static int export_n_generated(const store_session_data_t *d) {
    int n = 0;
    for (int i = 0; i < d->n_turns; i++)
        if (strcmp(d->turns[i].role, "model") == 0) n += d->turns[i].n_tokens;
    return n;
}

void export_list_line(const store_session_info_t *i, FILE *out) {
    const char *model = i->model_path ? i->model_path : "";
    const char *slash = strrchr(model, '/');
    /* the time shown is the one the list is sorted by: the last use */
    fprintf(out, "%6lld  %.19s  %-16.16s %3d turns %6d tokens  ", (long long)i->id, i->updated,
            slash ? slash + 1 : model, i->n_turns, i->n_tokens);
    char title[64];
    size_t n = 0;
    for (const char *t = i->title ? i->title : ""; *t && n < 50; t++)
        title[n++] = (*t == '\n' || *t == '\r' || *t == '\t') ? ' ' : *t;
    export_text(out, title, n);
    fputc('\n', out);
}

void export_show(const store_session_data_t *d, FILE *out) {
    const store_session_info_t *i = &d->info;
    fprintf(out, "session %lld, created %s, updated %s\n", (long long)i->id, i->created, i->updated);
    fprintf(out, "model %s (checksum %s)\n", i->model_path ? i->model_path : "?",
            i->model_checksum ? i->model_checksum : "?");
    fprintf(out, "settings ");
    export_settings(out, i->settings_json, "{}");
    fputc('\n', out);
    if (d->n_branches > 1)
        fprintf(out, "branch %d of %d (sessions tree %lld lists them; show --branch B)\n", d->branch,
                d->n_branches, (long long)i->id);
    for (int k = 0; k < d->n_turns; k++) {
        const store_turn_data_t *t = &d->turns[k];
        if (strcmp(t->role, "user") == 0)
            fprintf(out, "\n[%d user, %d tokens]\n", t->idx, t->n_tokens);
        else
        {
            fprintf(out, "\n[%d model, %d tokens, %s, %.0f ms", t->idx, t->n_tokens,
                    t->stop ? t->stop : "unfinished", t->elapsed_ms);
            if (t->settings_json) fprintf(out, ", settings ");
            export_settings(out, t->settings_json, "");
            fprintf(out, "]\n");
        }
        export_text(out, t->text, t->text_len);
        fputc('\n', out);
    }
}

/* Turns as Markdown sections at heading level h ("##"). */
static void export_md_turns(FILE *out, const store_turn_data_t *turns, int n, const char *h) {
    for (int k = 0; k < n; k++) {
        const store_turn_data_t *t = &turns[k];
        int user = strcmp(t->role, "user") == 0;
        if (user) fprintf(out, "\n%s Prompt\n\n", h);
        else
            fprintf(out, "\n%s Reply (%d tokens, stopped: %s)\n\n", h, t->n_tokens,
                    t->stop ? t->stop : "unfinished");
        /* a fenced block keeps the text exactly as it was (no Markdown parsing) */
        fputs("```text\n", out);
        export_text(out, t->text, t->text_len);
        fputs("\n```\n", out);
    }
}

void export_markdown(const store_session_data_t *d, FILE *out) {
    const store_session_info_t *i = &d->info;
    fprintf(out, "# gptscope session %lld\n\n", (long long)i->id);
    fprintf(out, "- created: %s\n- model: `%s` (checksum `%s`)\n- settings: `", i->created,
            i->model_path ? i->model_path : "?", i->model_checksum ? i->model_checksum : "?");
    export_settings(out, i->settings_json, "{}");
    fprintf(out, "`\n");
    fprintf(out, "- turns: %d, generated tokens: %d\n", d->n_turns, export_n_generated(d));
    if (d->n_branches > 1) fprintf(out, "- branch %d of %d\n", d->branch, d->n_branches);
    export_md_turns(out, d->turns, d->n_turns, "##");
    /* the other branches: where each forked, then its own turns */
    for (int b = 0; b < d->n_all; b++) {
        const store_branch_data_t *bd = &d->all[b];
        if (bd->info.branch == d->branch) continue;
        if (bd->info.parent < 0) {
            fprintf(out, "\n## Branch %d (the first line)\n", bd->info.branch);
        } else {
            fprintf(out, "\n## Branch %d: forked from branch %d at token %d (turn %d), `",
                    bd->info.branch, bd->info.parent, bd->info.fork_index, bd->info.fork_pos);
            export_text(out, bd->info.token_text, (size_t)bd->info.token_len);
            fputs("` instead of `", out);
            export_text(out, bd->info.other_text, (size_t)bd->info.other_len);
            fprintf(out, "` (rank %d)\n", bd->info.rank + 1);
        }
        export_md_turns(out, bd->turns, bd->n_turns, "###");
    }
}

/* A stored text of n bytes (NUL bytes included) as "text" and, when it is
 * not whole UTF-8 characters, "bytes". */
static void export_json_bytes(FILE *out, const char *s, size_t n) {
    cli_json_string(out, s, n);
    if (cli_utf8_valid(s, n)) return;
    fputs(",\"bytes\":[", out);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s%u", i ? "," : "", (unsigned char)s[i]);
    fputc(']', out);
}

static void export_json_str_or_null(FILE *out, const char *s) {
    if (s) cli_json_string(out, s, strlen(s));
    else fputs("null", out);
}

/* Turns as a JSON array. */
static void export_json_turns(FILE *out, const store_turn_data_t *turns, int n) {
    fputc('[', out);
    for (int k = 0; k < n; k++) {
        const store_turn_data_t *t = &turns[k];
        fprintf(out, "%s{\"idx\":%d,\"role\":\"%s\",\"created\":\"%s\",\"stop\":", k ? "," : "",
                t->idx, t->role, t->created);
        export_json_str_or_null(out, t->stop);
        fputs(",\"elapsed_ms\":", out);
        cli_json_number(out, t->elapsed_ms);
        fprintf(out, ",\"settings\":");
        export_settings(out, t->settings_json, "null");
        fprintf(out, ",\"text\":");
        export_json_bytes(out, t->text, t->text_len);
        fputs(",\"tokens\":[", out);
        for (int j = 0; j < t->n_tokens; j++) {
            const store_token_t *tk = &t->tokens[j];
            fprintf(out, "%s{\"idx\":%d,\"id\":%d,\"text\":", j ? "," : "", tk->idx, tk->id);
            export_json_bytes(out, tk->text, tk->text_len);
            fputs(",\"t_ms\":", out);
            cli_json_number(out, tk->t_ms);
            /* the session token index the model's window began at when this
             * token ran (null: not known, or never run) */
            if (tk->window_start >= 0) fprintf(out, ",\"window_start\":%d", tk->window_start);
            else fputs(",\"window_start\":null", out);
            if (tk->has_sample) {
                fputs(",\"chosen_prob\":", out);
                cli_json_number(out, tk->chosen_prob);
                fputs(",\"chosen_raw_logprob\":", out);
                cli_json_number(out, tk->chosen_raw_logprob);
                fputs(",\"entropy_raw\":", out);
                cli_json_number(out, tk->entropy_raw);
                fputs(",\"entropy_final\":", out);
                cli_json_number(out, tk->entropy_final);
                fprintf(out, ",\"n_kept\":%d,\"chosen_rank\":%d,\"candidates\":[", tk->n_kept,
                        tk->chosen_rank);
                for (int c = 0; c < tk->n_cand; c++) {
                    const store_cand_t *cd = &tk->cand[c];
                    fprintf(out, "%s{\"id\":%d,\"text\":", c ? "," : "", cd->id);
                    export_json_bytes(out, cd->text, (size_t)cd->text_len);
                    fputs(",\"logit\":", out);
                    cli_json_number(out, cd->logit);
                    fputs(",\"raw_prob\":", out);
                    cli_json_number(out, cd->raw_prob);
                    fputs(",\"prob\":", out);
                    cli_json_number(out, cd->prob);
                    fprintf(out, ",\"kept\":%s}", cd->kept ? "true" : "false");
                }
                fputc(']', out);
            }
            fputc('}', out);
        }
        fputc(']', out);
        /* a beam-search reply: every hypothesis, best (the reply) first */
        if (t->n_hyps > 0) {
            fputs(",\"beams\":[", out);
            for (int h = 0; h < t->n_hyps; h++) {
                fprintf(out, "%s{\"score\":", h ? "," : "");
                cli_json_number(out, t->hyps[h].score);
                fputs(",\"sum_logprob\":", out);
                cli_json_number(out, t->hyps[h].sum_logprob);
                fputs(",\"ids\":[", out);
                for (int i = 0; i < t->hyps[h].n; i++)
                    fprintf(out, "%s%d", i ? "," : "", t->hyps[h].ids[i]);
                fputs("]}", out);
            }
            fputc(']', out);
        }
        fputc('}', out);
    }
    fputc(']', out);
}

void export_json(const store_session_data_t *d, FILE *out) {
    const store_session_info_t *i = &d->info;
    fprintf(out, "{\"id\":%lld,\"created\":\"%s\",\"updated\":\"%s\",\"model_path\":",
            (long long)i->id, i->created, i->updated);
    export_json_str_or_null(out, i->model_path);
    fputs(",\"model_checksum\":", out);
    export_json_str_or_null(out, i->model_checksum);
    fprintf(out, ",\"settings\":");
    export_settings(out, i->settings_json, "{}");
    fprintf(out, ",\"turns\":");
    export_json_turns(out, d->turns, d->n_turns);
    fprintf(out, ",\"branch\":%d,\"n_branches\":%d", d->branch, d->n_branches);
    /* every branch with its own turns (the ones it does not share with
       its parent): the whole tree, which the fields say how to rebuild */
    if (d->all) {
        fputs(",\"branches\":[", out);
        for (int b = 0; b < d->n_all; b++) {
            const store_branch_t *bi = &d->all[b].info;
            fprintf(out, "%s{\"branch\":%d,\"parent\":", b ? "," : "", bi->branch);
            if (bi->parent >= 0) fprintf(out, "%d", bi->parent);
            else fputs("null", out);
            if (bi->parent >= 0) {
                fprintf(out, ",\"fork_turn\":%d,\"fork_at\":%d,\"fork_index\":%d,"
                             "\"token\":{\"id\":%d,\"text\":",
                        bi->fork_pos, bi->fork_at, bi->fork_index, bi->token_id);
                export_json_bytes(out, bi->token_text, (size_t)bi->token_len);
                fprintf(out, ",\"rank\":%d},\"instead_of\":{\"id\":%d,\"text\":", bi->rank,
                        bi->other_id);
                export_json_bytes(out, bi->other_text, (size_t)bi->other_len);
                fputc('}', out);
            }
            fprintf(out, ",\"n_turns\":%d,\"n_tokens\":%d,\"n_generated\":%d,\"sum_logprob\":",
                    bi->n_turns, bi->n_tokens, bi->n_sampled);
            cli_json_number(out, bi->sum_logprob);
            fputs(",\"own_turns\":", out);
            export_json_turns(out, d->all[b].turns, d->all[b].n_turns);
            fputc('}', out);
        }
        fputc(']', out);
    }
    fputs("}\n", out);
}
