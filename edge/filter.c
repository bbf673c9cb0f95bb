#include "filter.h"

#include "rt/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NEQ, OP_LT, OP_LTE, OP_GT, OP_GTE, OP_IN };

struct edge_filter {
    char column[64];
    enum op op;
    size_t nvals;
    char **vals; /* owned, nvals strings */
};

static const struct {
    const char *name;
    enum op op;
} ops[] = {{"eq", OP_EQ},   {"neq", OP_NEQ}, {"lte", OP_LTE}, {"lt", OP_LT},
           {"gte", OP_GTE}, {"gt", OP_GT},   {"in", OP_IN}};

static bool column_valid(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static void add_val(struct edge_filter *f, const char *s, size_t n)
{
    f->vals = rt_xrealloc(f->vals, (f->nvals + 1) * sizeof(*f->vals));
    f->vals[f->nvals++] = rt_xstrndup(s, n);
}

/* "(a,b,c)": no empty list, no empty member, no nested parentheses. */
static int parse_in(struct edge_filter *f, const char *v, const char **why)
{
    size_t n = strlen(v);
    if (n < 3 || v[0] != '(' || v[n - 1] != ')') {
        *why = "in.() needs a parenthesized list";
        return RT_EINVAL;
    }
    const char *p = v + 1, *end = v + n - 1;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (stop == p || memchr(p, '(', (size_t)(stop - p)) || memchr(p, ')', (size_t)(stop - p))) {
            *why = "in.() has an empty or malformed member";
            return RT_EINVAL;
        }
        if (f->nvals >= EDGE_FILTER_MAX_IN) {
            *why = "in.() has too many members";
            return RT_EINVAL;
        }
        add_val(f, p, (size_t)(stop - p));
        p = stop + 1;
    }
    return 0;
}

int edge_filter_parse(const char *text, struct edge_filter **out, const char **why)
{
    *out = NULL;
    *why = "malformed filter";
    if (!text || strnlen(text, EDGE_FILTER_MAX + 1) > EDGE_FILTER_MAX) {
        *why = "filter too long";
        return RT_EINVAL;
    }
    const char *eq = strchr(text, '=');
    if (!eq || !column_valid(text, (size_t)(eq - text))) {
        *why = "filter must be column=op.value";
        return RT_EINVAL;
    }
    const char *opname = eq + 1, *dot = strchr(opname, '.');
    if (!dot) {
        *why = "filter must be column=op.value";
        return RT_EINVAL;
    }
    size_t oplen = (size_t)(dot - opname);
    struct edge_filter *f = rt_xcalloc(1, sizeof(*f));
    size_t i;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strlen(ops[i].name) == oplen && memcmp(ops[i].name, opname, oplen) == 0)
            break;
    }
    if (i == sizeof(ops) / sizeof(ops[0])) {
        *why = "unknown filter operator";
        goto fail;
    }
    memcpy(f->column, text, (size_t)(eq - text));
    f->op = ops[i].op;
    if (f->op == OP_IN) {
        if (parse_in(f, dot + 1, why))
            goto fail;
    } else {
        add_val(f, dot + 1, strlen(dot + 1));
    }
    *out = f;
    return 0;
fail:
    edge_filter_free(f);
    return RT_EINVAL;
}

void edge_filter_free(struct edge_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nvals; i++)
        free(f->vals[i]);
    free(f->vals);
    free(f);
}

static bool parse_num(const char *s, double *out)
{
    char *end;
    if (!*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* The value as text for equality (numbers compare numerically below when both sides are). */
static bool value_text(const json_t *v, char *buf, size_t cap)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(buf, cap, "%s", json_string_value(v));
        return strlen(json_string_value(v)) < cap;
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        return true;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        return true;
    case JSON_NULL:
        snprintf(buf, cap, "null");
        return true;
    case JSON_INTEGER:
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return true;
    case JSON_REAL:
        snprintf(buf, cap, "%.17g", json_real_value(v));
        return true;
    case JSON_OBJECT:
    case JSON_ARRAY:
        return false;
    }
    return false;
}

/* <0, 0, >0; numbers numerically when both parse, else bytewise. */
static int compare(const json_t *v, const char *text, const char *want)
{
    if (json_is_number(v)) {
        double a = json_number_value(v), b;
        if (parse_num(want, &b))
            return a < b ? -1 : a > b ? 1 : 0;
    }
    return strcmp(text, want);
}

static bool match_one(const struct edge_filter *f, const json_t *v)
{
    char text[1024];
    if (!v || !value_text(v, text, sizeof(text)))
        return false;
    switch (f->op) {
    case OP_EQ:
        return compare(v, text, f->vals[0]) == 0;
    case OP_NEQ:
        return compare(v, text, f->vals[0]) != 0;
    case OP_LT:
        return compare(v, text, f->vals[0]) < 0;
    case OP_LTE:
        return compare(v, text, f->vals[0]) <= 0;
    case OP_GT:
        return compare(v, text, f->vals[0]) > 0;
    case OP_GTE:
        return compare(v, text, f->vals[0]) >= 0;
    case OP_IN:
        for (size_t i = 0; i < f->nvals; i++) {
            if (compare(v, text, f->vals[i]) == 0)
                return true;
        }
        return false;
    }
    return false;
}

bool edge_filter_match(const struct edge_filter *f, const json_t *data, const char *event)
{
    bool del = event && strcmp(event, "DELETE") == 0;
    const json_t *rec = json_object_get(data, del ? "old_record" : "record");
    if (!json_is_object(rec))
        return false;
    return match_one(f, json_object_get(rec, f->column));
}
