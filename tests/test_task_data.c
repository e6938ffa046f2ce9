/* test_task_data.c - the fine-tuning task formats (core/task/task_data.c): each
 * format read, labels collected in sorted order or checked against a fixed
 * set, and every malformed line refused with its line number and field. */
#include <string.h>

#include "tap.h"
#include "task_data.h"

static int parse(task_data_t *d, task_kind_t k, const char *text, const task_read_opts_t *o,
                 char *err, size_t errlen) {
    return task_data_parse(d, k, text, strlen(text), "f.jsonl", o, err, errlen);
}

/* the text fails to parse with a message containing want */
static void refused(tap_t *t, task_kind_t k, const char *text, const task_read_opts_t *o,
                    const char *want) {
    task_data_t d;
    char err[256] = "";
    int rc = parse(&d, k, text, o, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, want) && d.n == 0, "refused: %s", err);
    if (rc == 0) task_data_free(&d);
}

int main(void) {
    tap_t t = {0};
    char err[256];
    task_data_t d;
    task_read_opts_t need = {NULL, 0, 1, 0};

    int rc = parse(&d, TASK_CLASSIFY,
                   "{\"text\": \"buy now\", \"label\": \"spam\"}\n\n"
                   "{\"text\": \"hi mum\", \"label\": \"ham\", \"extra\": 1}\r\n"
                   "{\"text\": \"\\u00e9t\\u00e9\", \"label\": \"spam\"}",
                   &need, err, sizeof err);
    tap_ok(&t, rc == 0 && d.n == 3 && d.n_labels == 2 && strcmp(d.labels[0], "ham") == 0 &&
                   strcmp(d.labels[1], "spam") == 0,
           "classify: 3 examples, labels sorted (ham, spam) (%s)", rc ? err : "");
    tap_ok(&t, rc == 0 && d.ex[0].label == 1 && d.ex[1].label == 0 && d.ex[1].line == 3 &&
                   strcmp(d.ex[2].fields[0], "\xc3\xa9t\xc3\xa9") == 0,
           "classify: label indices, line numbers past a blank line, escapes decoded");
    if (rc == 0) task_data_free(&d);

    rc = parse(&d, TASK_ENTAIL, "{\"premise\": \"p\", \"hypothesis\": \"h\", \"label\": 2}\n",
               &need, err, sizeof err);
    tap_ok(&t, rc == 0 && d.n == 1 && d.ex[0].n_fields == 2 && strcmp(d.ex[0].fields[1], "h") == 0 &&
                   d.n_labels == 1 && strcmp(d.labels[0], "2") == 0,
           "entail: premise, hypothesis; an integer label is its decimal text");
    if (rc == 0) task_data_free(&d);
    rc = parse(&d, TASK_SIMILAR, "{\"a\": \"x\", \"b\": \"y\", \"label\": \"same\"}", &need, err,
               sizeof err);
    tap_ok(&t, rc == 0 && d.ex[0].n_fields == 2 && strcmp(d.ex[0].fields[0], "x") == 0,
           "similar: a, b");
    if (rc == 0) task_data_free(&d);
    rc = parse(&d, TASK_CHOICE, "{\"context\": \"c\", \"choices\": [\"0\", \"1\", \"2\"], \"label\": 2}",
               &need, err, sizeof err);
    tap_ok(&t, rc == 0 && d.ex[0].n_fields == 4 && d.ex[0].label == 2 && d.n_labels == 0 &&
                   strcmp(d.ex[0].fields[3], "2") == 0,
           "choice: context and 3 choices, the label is the right one's index");
    if (rc == 0) task_data_free(&d);

    /* a fixed label set: the model's */
    const char *fixed[2] = {"ham", "spam"};
    task_read_opts_t with = {fixed, 2, 1, 0};
    rc = parse(&d, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": \"spam\"}", &with, err, sizeof err);
    tap_ok(&t, rc == 0 && d.n_labels == 2 && d.ex[0].label == 1, "fixed labels: spam is 1");
    if (rc == 0) task_data_free(&d);
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": \"eggs\"}", &with,
            "f.jsonl:1: label \"eggs\" is not one of the model's labels (ham, spam)");

    /* unlabelled input, and raw lines */
    task_read_opts_t input = {fixed, 2, 0, 1};
    rc = parse(&d, TASK_CLASSIFY, "just a line\n{\"text\": \"obj\"}\n", &input, err, sizeof err);
    tap_ok(&t, rc == 0 && d.n == 2 && d.ex[0].label == -1 && strcmp(d.ex[0].fields[0], "just a line") == 0 &&
                   strcmp(d.ex[1].fields[0], "obj") == 0,
           "classify input: raw lines and objects, labels optional (%s)", rc ? err : "");
    if (rc == 0) task_data_free(&d);
    refused(&t, TASK_CLASSIFY, "bad \xff line\n", &input, "f.jsonl:1: the line is not valid UTF-8");

    /* malformed lines: line number and field */
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": \"x\"}\n{\"label\": \"x\"}\n", &need,
            "f.jsonl:2: \"text\" is missing");
    refused(&t, TASK_CLASSIFY, "{\"text\": 5, \"label\": \"x\"}", &need, "f.jsonl:1: \"text\" must be a string");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\"}", &need, "f.jsonl:1: \"label\" is missing");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": [1]}", &need,
            "f.jsonl:1: \"label\" must be a non-empty string or an integer");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": \"\"}", &need, "\"label\" must be");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"label\": \"x\"", &need, "f.jsonl:1: not valid JSON");
    refused(&t, TASK_CLASSIFY, "[1, 2]", &need, "f.jsonl:1: not a JSON object");
    refused(&t, TASK_CLASSIFY, "plain text", &need, "f.jsonl:1: not a JSON object");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"a\", \"text\": \"b\", \"label\": \"x\"}", &need,
            "duplicate key \"text\"");
    refused(&t, TASK_CLASSIFY, "{\"text\": \"\xc3\x28\", \"label\": \"x\"}", &need,
            "\"text\" is not valid UTF-8 (byte 0)");
    refused(&t, TASK_ENTAIL, "{\"premise\": \"p\", \"label\": 1}", &need, "\"hypothesis\" is missing");
    refused(&t, TASK_SIMILAR, "{\"a\": \"p\", \"b\": null, \"label\": 1}", &need, "\"b\" must be a string");
    refused(&t, TASK_CHOICE, "{\"context\": \"c\", \"choices\": [], \"label\": 0}", &need,
            "\"choices\" must be a non-empty array of strings");
    refused(&t, TASK_CHOICE, "{\"context\": \"c\", \"choices\": [\"a\", 3], \"label\": 0}", &need,
            "\"choices\"[1] must be a string");
    refused(&t, TASK_CHOICE, "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 2}", &need,
            "\"label\" must be the index of a choice (0 to 1)");
    refused(&t, TASK_CHOICE, "{\"context\": \"c\", \"choices\": [\"a\"], \"label\": \"a\"}", &need,
            "\"label\" must be the index");
    refused(&t, TASK_CLASSIFY, "\n  \n", &need, "f.jsonl: no examples");

    task_kind_t k;
    tap_ok(&t, task_kind_parse("entail", &k) == 0 && k == TASK_ENTAIL &&
                   strcmp(task_kind_name(TASK_CHOICE), "choice") == 0 && task_kind_parse("x", &k) == -1,
           "task names");
    tap_ok(&t, task_data_read(&d, TASK_CLASSIFY, "/nonexistent/x.jsonl", &need, err, sizeof err) == -1 &&
                   strstr(err, "/nonexistent/x.jsonl"),
           "a missing file is named (%s)", err);
    return tap_done(&t);
}
