/* test_task_encode.c - the GPT-1 input transformations (core/task/task_encode.c)
 * on the reference model's GPT-2 tokenizer: the special tokens appended to
 * vocab.json and read back by the tokenizer, each task's sequences equal to
 * [s] + encode(text) + ... + [e] built by hand, and truncation to max_len. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "task_encode.h"

static int same_ids(const int *a, const int *b, int n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

int main(void) {
    tap_t t = {0};
    char err[512], vin[1024], merges[1024], dir[] = "/tmp/gptscope-enc-XXXXXX", vout[1100];
    const char *src = getenv("GPTSCOPE_SRC");
    snprintf(vin, sizeof vin, "%s/tests/reference/models/gpt2-f32/vocab.json", src ? src : ".");
    snprintf(merges, sizeof merges, "%s/tests/reference/models/gpt2-f32/merges.txt", src ? src : ".");
    if (!mkdtemp(dir)) return 1;
    snprintf(vout, sizeof vout, "%s/vocab.json", dir);
    tokenizer_t *base = tokenizer_load_files(vin, merges, TOKENIZER_GPT2, err, sizeof err);
    task_tokens_t sp = {0};
    int rc = base ? task_vocab_extend(vin, vout, &sp, err, sizeof err) : -1;
    int V = base ? tokenizer_vocab_size(base) : 0;
    tap_ok(&t, rc == 0 && sp.start_id == V && sp.delim_id == V + 1 && sp.extract_id == V + 2,
           "vocab.json extended: start %d, delim %d, extract %d after %d tokens (%s)", sp.start_id,
           sp.delim_id, sp.extract_id, V, rc ? err : "");
    tokenizer_t *tok = rc == 0 ? tokenizer_load_files(vout, merges, TOKENIZER_GPT2, err, sizeof err) : NULL;
    size_t n = 0;
    const char *b = tok ? tokenizer_token_bytes(tok, sp.extract_id, &n) : NULL;
    tap_ok(&t, tok && tokenizer_vocab_size(tok) == V + 3 && b && n == strlen(TASK_EXTRACT_TOKEN) &&
                   memcmp(b, TASK_EXTRACT_TOKEN, n) == 0,
           "the tokenizer reads it: %d tokens, the last is " TASK_EXTRACT_TOKEN, tok ? tokenizer_vocab_size(tok) : 0);
    task_tokens_t again;
    tap_ok(&t, task_vocab_extend(vout, vout, &again, err, sizeof err) == -1 && strstr(err, "already has"),
           "extending twice is refused: %s", err);
    if (!tok) return tap_done(&t);

    int *x = NULL, *y = NULL;
    size_t nx = 0, cx = 0, ny = 0, cy = 0;
    tokenizer_encode(tok, "the cat sat", 11, &x, &nx, &cx, err, sizeof err);
    tokenizer_encode(tok, "on a mat", 8, &y, &ny, &cy, err, sizeof err);
    char *f2[2] = {"the cat sat", "on a mat"};
    task_example_t e = {2, f2, 0, 1};
    task_seqs_t s;
    int want[64], k = 0;
    want[k++] = sp.start_id;
    for (size_t i = 0; i < nx; i++) want[k++] = x[i];
    want[k++] = sp.extract_id;
    e.n_fields = 1;
    rc = task_encode(tok, &sp, TASK_CLASSIFY, &e, 64, &s, err, sizeof err);
    tap_ok(&t, rc == 0 && s.n_seq == 1 && s.len[0] == k && same_ids(s.ids, want, k) && !s.truncated,
           "classify: [s] text [e] (%d tokens)", k);
    task_seqs_free(&s);
    char *f0[1] = {""};
    task_example_t e0 = {1, f0, 0, 1};
    rc = task_encode(tok, &sp, TASK_CLASSIFY, &e0, 64, &s, err, sizeof err);
    tap_ok(&t, rc == 0 && s.n_seq == 1 && s.len[0] == 2 && s.ids[0] == sp.start_id &&
                   s.ids[1] == sp.extract_id,
           "classify: an empty text is [s] [e]");
    task_seqs_free(&s);
    e.n_fields = 2;
    k = 0;
    want[k++] = sp.start_id;
    for (size_t i = 0; i < nx; i++) want[k++] = x[i];
    want[k++] = sp.delim_id;
    for (size_t i = 0; i < ny; i++) want[k++] = y[i];
    want[k++] = sp.extract_id;
    rc = task_encode(tok, &sp, TASK_ENTAIL, &e, 64, &s, err, sizeof err);
    tap_ok(&t, rc == 0 && s.n_seq == 1 && s.len[0] == k && same_ids(s.ids, want, k),
           "entail: [s] premise [$] hypothesis [e]");
    task_seqs_free(&s);
    rc = task_encode(tok, &sp, TASK_SIMILAR, &e, 64, &s, err, sizeof err);
    int ok = rc == 0 && s.n_seq == 2 && same_ids(s.ids, want, k) && s.len[1] == k &&
             s.ids[s.off[1] + 1] == y[0] && s.ids[s.off[1] + 1 + (int)ny] == sp.delim_id;
    tap_ok(&t, ok, "similar: both orders, [s] a [$] b [e] then [s] b [$] a [e]");
    task_seqs_free(&s);
    char *f3[3] = {"the cat sat", "on a mat", "on the cat"};
    task_example_t ch = {3, f3, 1, 1};
    rc = task_encode(tok, &sp, TASK_CHOICE, &ch, 64, &s, err, sizeof err);
    tap_ok(&t, rc == 0 && s.n_seq == 2 && same_ids(s.ids, want, k) && s.ids[s.off[1] + s.len[1] - 1] == sp.extract_id,
           "choice: one sequence per choice, each ending in [e]");
    task_seqs_free(&s);
    /* truncation: the longer text loses tokens from its end */
    int max = (int)(nx + 3 + 2);
    rc = task_encode(tok, &sp, TASK_ENTAIL, &e, max, &s, err, sizeof err);
    int d = 1;
    while (rc == 0 && d < max && s.ids[d] != sp.delim_id) d++;
    int na = d - 1, nb = max - 2 - d; /* what is left of each text */
    /* the longer text is cut first, so both end within one token of each
     * other unless the shorter one was short enough to stay whole */
    ok = rc == 0 && s.len[0] == max && s.truncated && s.ids[0] == sp.start_id &&
         s.ids[max - 1] == sp.extract_id && na + nb == max - 3 &&
         (abs(na - nb) <= 1 || (size_t)na == nx || (size_t)nb == ny) &&
         same_ids(s.ids + 1, x, na) && same_ids(s.ids + d + 1, y, nb);
    tap_ok(&t, ok, "cut to %d tokens: special tokens kept, the longer text shortened first", max);
    task_seqs_free(&s);
    tap_ok(&t, task_encode(tok, &sp, TASK_CLASSIFY, &e, 3, &s, err, sizeof err) == -1,
           "max length 3 refused: %s", err);
    free(x);
    free(y);
    tokenizer_free(tok);
    tokenizer_free(base);
    unlink(vout);
    rmdir(dir);
    return tap_done(&t);
}
