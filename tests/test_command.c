/* test_command.c - the slash-command parser and runner (ui/command.c) with a
 * fake host: settings reach the chat, bad values and unknown commands give
 * messages naming them, host actions are called with their arguments, and
 * the front-end statuses (help, quit, probs, attn) come back. */
#include "chat.h"
#include "command.h"
#include "tap.h"

typedef struct fake_host {
    chat_t *chat;
    int settings_changed, new_calls, list_calls, model_calls, export_calls;
    int64_t opened;
    char export_path[256], model_dir[256];
    int fail_open;
    int fork_index, fork_cand, branch, compare_calls;
    char compare_dir[256];
} fake_host_t;

static chat_t *fh_chat(void *u) { return ((fake_host_t *)u)->chat; }
static int fh_fork(void *u, int index, int cand, char *msg, size_t n) {
    fake_host_t *h = u;
    h->fork_index = index;
    h->fork_cand = cand;
    snprintf(msg, n, "branch 1");
    return 0;
}
static int fh_branches(void *u, ui_branch_t *out, int cap, char *msg, size_t n) {
    (void)u, (void)out, (void)cap;
    snprintf(msg, n, "1 branch");
    return 1;
}
static int fh_switch(void *u, int branch, char *msg, size_t n) {
    fake_host_t *h = u;
    if (branch > 3) {
        snprintf(msg, n, "no branch %d", branch);
        return -1;
    }
    h->branch = branch;
    snprintf(msg, n, "branch %d", branch);
    return 0;
}
static int fh_compare(void *u, const char *dir, double **a, double **b, int *n, char *label,
                      size_t labellen, char *msg, size_t msglen) {
    fake_host_t *h = u;
    h->compare_calls++;
    snprintf(h->compare_dir, sizeof h->compare_dir, "%s", dir);
    *a = calloc(2, sizeof **a);
    *b = calloc(2, sizeof **b);
    *n = 2;
    snprintf(label, labellen, "other");
    snprintf(msg, msglen, "compared");
    return 0;
}
static int fh_settings(void *u, char *msg, size_t n) {
    (void)msg, (void)n;
    ((fake_host_t *)u)->settings_changed++;
    return 0;
}
static int fh_new(void *u, char *msg, size_t n) {
    ((fake_host_t *)u)->new_calls++;
    snprintf(msg, n, "new session");
    return 0;
}
static int fh_open(void *u, int64_t id, char *msg, size_t n) {
    fake_host_t *h = u;
    if (h->fail_open) {
        snprintf(msg, n, "db: no session %lld", (long long)id);
        return -1;
    }
    h->opened = id;
    snprintf(msg, n, "opened %lld", (long long)id);
    return 0;
}
static int fh_list(void *u, char **text, char *msg, size_t n) {
    ((fake_host_t *)u)->list_calls++;
    *text = strdup("     1  a session\n");
    snprintf(msg, n, "1 sessions");
    return 0;
}
static int fh_export(void *u, const char *path, char *msg, size_t n) {
    fake_host_t *h = u;
    h->export_calls++;
    snprintf(h->export_path, sizeof h->export_path, "%s", path ? path : "(default)");
    snprintf(msg, n, "written");
    return 0;
}
static int fh_model(void *u, const char *dir, char *msg, size_t n) {
    fake_host_t *h = u;
    h->model_calls++;
    snprintf(h->model_dir, sizeof h->model_dir, "%s", dir);
    snprintf(msg, n, "model %s", dir);
    return 0;
}

/* A plugin host with one sampler ("fake"), one command (/hello; /boom
 * fails) and one pane ("fake"). */
static int fh_set_sampler(void *u, const char *spec, char *msg, size_t n) {
    (void)u;
    if (!spec) {
        snprintf(msg, n, "sampler: default (built-in); plugin samplers:\n  fake (plugin x)");
        return 0;
    }
    if (strcmp(spec, "fake") == 0 || strcmp(spec, "default") == 0) {
        snprintf(msg, n, "sampler: %s", spec);
        return 0;
    }
    snprintf(msg, n, "no sampler '%s'", spec);
    return -1;
}
static int fh_plugin_command(void *u, const char *name, const char *args, char *msg, size_t n) {
    (void)u;
    if (strcmp(name, "hello") == 0) {
        snprintf(msg, n, "hello [%s]", args);
        return 1;
    }
    if (strcmp(name, "boom") == 0) {
        snprintf(msg, n, "plugin x: it broke");
        return -1;
    }
    return 0;
}
static char *fh_plugin_help(void *u) {
    (void)u;
    return strdup("  /hello ARGS        says hello (plugin x)\n");
}
static int fh_n_panes(void *u) {
    (void)u;
    return 1;
}
static const char *fh_pane_name(void *u, int i, const char **title) {
    (void)u;
    if (i != 0) return NULL;
    if (title) *title = "Fake pane";
    return "fake";
}

static command_status_t run(const ui_host_t *h, const char *line, command_result_t *r) {
    command_run(h, line, r);
    return r->status;
}

int main(void) {
    tap_t t = {0, 0};
    char dir[4096], err[512];
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = m ? tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err) : NULL;
    if (!m || !tok) {
        printf("1..0 # SKIP reference model not available (%s)\n", err);
        gpt_free(m);
        return 0;
    }
    chat_settings_t cs = chat_settings_default();
    fake_host_t fh = {0};
    fh.chat = chat_init(m, tok, &cs, 1, 0, err, sizeof err);
    ui_host_t host = {&fh,     fh_chat,   NULL,     NULL, fh_settings, fh_new, fh_open,
                      fh_list, fh_export, fh_model, NULL, NULL,        NULL,   fh_set_sampler,
                      fh_plugin_command, fh_plugin_help, fh_n_panes, fh_pane_name, NULL, NULL,
                      fh_fork, fh_branches, fh_switch, fh_compare};
    command_result_t r;

    tap_ok(&t, command_is_command("  /temp 1") && !command_is_command("hello /temp") &&
                   !command_is_command(""),
           "a command is a line whose first non-blank is '/'");
    const chat_settings_t *s = chat_settings(fh.chat);
    tap_ok(&t, run(&host, "/temp 0.7", &r) == COMMAND_DONE && s->sampling.temperature == 0.7f &&
                   strstr(r.msg, "temp 0.7") && fh.settings_changed == 1,
           "/temp 0.7 sets the temperature and tells the host (%s)", r.msg);
    tap_ok(&t, run(&host, "/top-k 40", &r) == COMMAND_DONE && s->sampling.top_k == 40, "/top-k 40");
    tap_ok(&t, run(&host, "  /top-p   0.9  ", &r) == COMMAND_DONE && s->sampling.top_p == 0.9f,
           "/top-p with extra blanks");
    tap_ok(&t, run(&host, "/min-p 0.05", &r) == COMMAND_DONE && s->sampling.min_p == 0.05f, "/min-p");
    tap_ok(&t, run(&host, "/rep 1.3", &r) == COMMAND_DONE && s->sampling.repetition_penalty == 1.3f,
           "/rep");
    tap_ok(&t, run(&host, "/seed 18446744073709551615", &r) == COMMAND_DONE &&
                   s->sampling.seed == UINT64_MAX,
           "/seed takes a full 64-bit value");
    tap_ok(&t, run(&host, "/max-tokens 5", &r) == COMMAND_DONE && s->max_tokens == 5, "/max-tokens");
    tap_ok(&t, run(&host, "/beams 3", &r) == COMMAND_DONE && s->beams == 3, "/beams");
    tap_ok(&t, run(&host, "/eos 0", &r) == COMMAND_DONE && s->stop_at_eos == 0, "/eos 0");
    tap_ok(&t, run(&host, "/settings", &r) == COMMAND_DONE && strstr(r.msg, "top-k 40") &&
                   strstr(r.msg, "beams 3"),
           "/settings lists them (%s)", r.msg);
    tap_ok(&t, run(&host, "/show", &r) == COMMAND_DONE && strstr(r.msg, "top-k 40"),
           "/show is /settings (%s)", r.msg);
    tap_ok(&t, run(&host, "/temp", &r) == COMMAND_DONE && strstr(r.msg, "temp 0.7") &&
                   s->sampling.temperature == 0.7f,
           "a bare /temp shows the value and changes nothing (%s)", r.msg);
    tap_ok(&t, run(&host, "/set temperature 0.5", &r) == COMMAND_DONE &&
                   s->sampling.temperature == 0.5f,
           "/set temperature 0.5 (%s)", r.msg);
    tap_ok(&t, run(&host, "/set parameter top_k 30", &r) == COMMAND_DONE && s->sampling.top_k == 30,
           "ollama's /set parameter top_k 30 (%s)", r.msg);
    tap_ok(&t, run(&host, "/set repeat_penalty 1.2", &r) == COMMAND_DONE &&
                   s->sampling.repetition_penalty == 1.2f,
           "/set repeat_penalty");
    tap_ok(&t, run(&host, "/presence-penalty 0.4", &r) == COMMAND_DONE &&
                   s->sampling.presence_penalty == 0.4f && strstr(r.msg, "presence-penalty 0.4"),
           "/presence-penalty (%s)", r.msg);
    tap_ok(&t, run(&host, "/set frequency_penalty 0.25", &r) == COMMAND_DONE &&
                   s->sampling.frequency_penalty == 0.25f,
           "/set frequency_penalty");
    tap_ok(&t, run(&host, "/temperature 0.7", &r) == COMMAND_DONE && s->sampling.temperature == 0.7f,
           "/temperature is /temp");
    run(&host, "/top-k 40", &r);

    struct {
        const char *line, *want;
    } bad[] = {
        {"/set bogus 1", "no setting 'bogus'"},
        {"/set model x", "no setting 'model'"},
        {"/set temp abc", "'abc' is not a number"},
        {"/set", "needs NAME X"},
        {"/temp abc", "'abc' is not a number"},
        {"/temp -1", "out of range"},
        {"/temp 1e999", "not a number"},
        {"/top-k 2.5", "not an integer"},
        {"/top-p 0", "out of range"},
        {"/top-p 1.5", "out of range"},
        {"/max-tokens 0", "out of range"},
        {"/beams 17", "out of range"},
        {"/seed -3", "not a non-negative integer"},
        {"/clear now", "takes no argument"},
        {"/model", "needs DIR"},
        {"/attn x", "expected [L] [H]"},
        {"/attn 1 2 3", "expected [L] [H]"},
        {"/attn 7", "the model has layers 0..1"},
        {"/bogus", "unknown command '/bogus'"},
        {"/", "unknown command '/'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tap_ok(&t, run(&host, bad[i].line, &r) == COMMAND_ERROR && strstr(r.msg, bad[i].want),
               "'%s' -> error '%s' (%s)", bad[i].line, bad[i].want, r.msg);
    tap_ok(&t, s->sampling.temperature == 0.7f && s->sampling.top_p == 0.9f && s->beams == 3,
           "failed commands change nothing");

    tap_ok(&t, run(&host, "/help", &r) == COMMAND_HELP && strstr(command_help_text(), "/temp X") &&
                   strstr(command_help_text(), "/open ID") && strstr(command_help_text(), "/quit"),
           "/help, and the text lists every command");
    free(r.text); /* the plugins' lines */
    int n_names = 0;
    for (const char *const *nm = command_names(); *nm; nm++) n_names++;
    tap_ok(&t, n_names >= 18, "command_names lists them for completion (%d)", n_names);
    tap_ok(&t, run(&host, "/quit", &r) == COMMAND_QUIT, "/quit");
    tap_ok(&t, run(&host, "/probs", &r) == COMMAND_PROBS, "/probs");
    tap_ok(&t, run(&host, "/attn", &r) == COMMAND_ATTN && r.layer == -2 && r.head == -2,
           "/attn without arguments");
    tap_ok(&t, run(&host, "/attn 1", &r) == COMMAND_ATTN && r.layer == 1 && r.head == -1,
           "/attn 1: layer 1, mean of heads");
    tap_ok(&t, run(&host, "/attn 1 3", &r) == COMMAND_ATTN && r.layer == 1 && r.head == 3,
           "/attn 1 3");

    tap_ok(&t, run(&host, "/new", &r) == COMMAND_CLEARED && fh.new_calls == 1, "/new calls the host");
    tap_ok(&t, run(&host, "/clear", &r) == COMMAND_CLEARED && fh.new_calls == 2, "/clear too");
    tap_ok(&t, run(&host, "/open 42", &r) == COMMAND_CLEARED && fh.opened == 42 &&
                   strcmp(r.msg, "opened 42") == 0,
           "/open 42");
    fh.fail_open = 1;
    tap_ok(&t, run(&host, "/open 7", &r) == COMMAND_ERROR && strstr(r.msg, "no session 7"),
           "a failed /open carries the host's message (%s)", r.msg);
    tap_ok(&t, run(&host, "/sessions", &r) == COMMAND_SESSIONS && r.text &&
                   strstr(r.text, "a session") && fh.list_calls == 1,
           "/sessions returns the listing");
    free(r.text);
    tap_ok(&t, run(&host, "/export", &r) == COMMAND_DONE && strcmp(fh.export_path, "(default)") == 0,
           "/export without a file");
    tap_ok(&t, run(&host, "/export my notes.md", &r) == COMMAND_DONE &&
                   strcmp(fh.export_path, "my notes.md") == 0,
           "/export FILE (spaces kept)");
    tap_ok(&t, run(&host, "/model /some/dir", &r) == COMMAND_CLEARED &&
                   strcmp(fh.model_dir, "/some/dir") == 0,
           "/model DIR");

    /* branching: /fork N K counts K from 1 and hands the host K - 1 */
    tap_ok(&t, run(&host, "/fork 5 2", &r) == COMMAND_FORKED && fh.fork_index == 5 &&
                   fh.fork_cand == 1 && strstr(r.msg, "branch 1"),
           "/fork 5 2 forks token 5 with candidate index 1 (%s)", r.msg);
    tap_ok(&t, run(&host, "/fork 5", &r) == COMMAND_ERROR && strstr(r.msg, "needs N K") &&
                   run(&host, "/fork 5 0", &r) == COMMAND_ERROR && run(&host, "/fork", &r) == COMMAND_ERROR &&
                   run(&host, "/fork a b", &r) == COMMAND_ERROR,
           "/fork without K, with K 0, without anything, with words: errors (%s)", r.msg);
    tap_ok(&t, run(&host, "/branches", &r) == COMMAND_BRANCHES, "/branches asks the front end to list");
    tap_ok(&t, run(&host, "/branch 2", &r) == COMMAND_CLEARED && fh.branch == 2 &&
                   run(&host, "/branch 9", &r) == COMMAND_ERROR && strstr(r.msg, "no branch 9"),
           "/branch B switches; the host's refusal is the message (%s)", r.msg);
    tap_ok(&t, run(&host, "/probs", &r) == COMMAND_PROBS && r.token == -1 &&
                   run(&host, "/probs 1 2", &r) == COMMAND_ERROR &&
                   run(&host, "/probs 1", &r) == COMMAND_ERROR && strstr(r.msg, "no token 1"),
           "/probs: the selected token; /probs N past the end is an error (%s)", r.msg);
    tap_ok(&t, run(&host, "/compare some/dir", &r) == COMMAND_COMPARE && r.n_lp == 2 &&
                   !strcmp(fh.compare_dir, "some/dir") && !strcmp(r.label, "other"),
           "/compare DIR hands the host's arrays to the front end");
    free(r.lp_self);
    free(r.lp_other);
    tap_ok(&t, run(&host, "/compare", &r) == COMMAND_ERROR, "/compare needs DIR (%s)", r.msg);

    /* during a reply: settings and session changes wait */
    int rc = chat_user(fh.chat, "hi", 2, err, sizeof err);
    rc |= chat_reply_begin(fh.chat, err, sizeof err);
    tap_ok(&t, rc == 0 && run(&host, "/probs 1", &r) == COMMAND_PROBS && r.token == 1,
           "/probs 1 names token 1 once there is one");
    tap_ok(&t, rc == 0 && run(&host, "/temp 1", &r) == COMMAND_ERROR && strstr(r.msg, "wait"),
           "settings cannot change mid-reply (%s)", r.msg);
    tap_ok(&t, run(&host, "/open 3", &r) == COMMAND_ERROR && strstr(r.msg, "wait"),
           "nor the session");
    tap_ok(&t, run(&host, "/fork 1 2", &r) == COMMAND_ERROR && strstr(r.msg, "wait") &&
                   run(&host, "/branch 1", &r) == COMMAND_ERROR,
           "nor a fork or a branch switch");
    chat_reply_end(fh.chat, CHAT_STOP_INTERRUPTED, err, sizeof err);

    /* plugins: their commands, samplers and panes go through the host */
    tap_ok(&t, run(&host, "/hello  big world ", &r) == COMMAND_DONE && !strcmp(r.msg, "hello [big world]"),
           "a plugin's command runs with its arguments trimmed (%s)", r.msg);
    tap_ok(&t, run(&host, "/boom", &r) == COMMAND_ERROR && strstr(r.msg, "it broke"),
           "a plugin command's failure is an error with its message (%s)", r.msg);
    tap_ok(&t, run(&host, "/nosuch", &r) == COMMAND_ERROR && strstr(r.msg, "unknown command '/nosuch'"),
           "a name no plugin has is still unknown (%s)", r.msg);
    tap_ok(&t, run(&host, "/help", &r) == COMMAND_HELP && r.text && strstr(r.text, "/hello ARGS") &&
                   strstr(command_help_text(), "/sampler") && strstr(command_help_text(), "/pane"),
           "/help carries the plugins' commands");
    free(r.text);
    tap_ok(&t, run(&host, "/sampler fake", &r) == COMMAND_DONE && strstr(r.msg, "fake"),
           "/sampler NAME picks a plugin sampler (%s)", r.msg);
    tap_ok(&t, run(&host, "/sampler nope", &r) == COMMAND_ERROR && strstr(r.msg, "nope"),
           "/sampler with an unknown name is an error (%s)", r.msg);
    tap_ok(&t, run(&host, "/sampler", &r) == COMMAND_SESSIONS && r.text && strstr(r.text, "fake (plugin x)"),
           "a bare /sampler lists the samplers");
    free(r.text);
    tap_ok(&t, run(&host, "/pane fake", &r) == COMMAND_PANE && r.pane == 0, "/pane NAME shows it");
    tap_ok(&t, run(&host, "/pane off", &r) == COMMAND_PANE && r.pane == -1, "/pane off hides it");
    tap_ok(&t, run(&host, "/pane nope", &r) == COMMAND_ERROR && strstr(r.msg, "no pane 'nope'"),
           "/pane with an unknown name is an error (%s)", r.msg);
    tap_ok(&t, run(&host, "/pane", &r) == COMMAND_DONE && strstr(r.msg, "fake"),
           "a bare /pane lists the panes (%s)", r.msg);

    /* a host without the optional callbacks */
    ui_host_t bare = {&fh,  fh_chat, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                      NULL, NULL,    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                      NULL, NULL,    NULL, NULL};
    tap_ok(&t, run(&bare, "/fork 1 2", &r) == COMMAND_ERROR && strstr(r.msg, "not available") &&
                   run(&bare, "/branches", &r) == COMMAND_ERROR &&
                   run(&bare, "/branch 1", &r) == COMMAND_ERROR &&
                   run(&bare, "/compare x", &r) == COMMAND_ERROR,
           "without a store: /fork, /branches, /branch, /compare are not available (%s)", r.msg);
    tap_ok(&t, run(&bare, "/sampler x", &r) == COMMAND_ERROR && run(&bare, "/pane x", &r) == COMMAND_ERROR &&
                   run(&bare, "/hello", &r) == COMMAND_ERROR,
           "without plugin callbacks: /sampler, /pane and plugin names are errors");
    tap_ok(&t, run(&bare, "/sessions", &r) == COMMAND_ERROR && strstr(r.msg, "not available"),
           "a command the host does not offer says so (%s)", r.msg);
    tap_ok(&t, run(&bare, "/clear", &r) == COMMAND_CLEARED && chat_n_tokens(fh.chat) == 0,
           "/clear without a store still clears");

    chat_free(fh.chat);
    tokenizer_free(tok);
    gpt_free(m);
    return tap_done(&t);
}
