#include "pg_event.h"

#include "pgvalue.h"
#include "rt/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_VALUE_MAX 1024 /* a column kept in a truncated row is at most this long */

void ingest_pgevent_ts(int64_t pg_us, char *buf, size_t cap)
{
    int64_t secs = pg_us / 1000000, us = pg_us % 1000000;
    if (us < 0) {
        us += 1000000;
        secs--;
    }
    time_t t = (time_t)(secs + INGEST_PG_EPOCH_UNIX);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)us);
}

const char *ingest_pgevent_name(enum ingest_pgo_kind kind)
{
    switch (kind) {
    case INGEST_PGO_INSERT:
        return "INSERT";
    case INGEST_PGO_UPDATE:
        return "UPDATE";
    case INGEST_PGO_DELETE:
        return "DELETE";
    case INGEST_PGO_BEGIN:
    case INGEST_PGO_COMMIT:
    case INGEST_PGO_RELATION:
    case INGEST_PGO_TYPE:
    case INGEST_PGO_TRUNCATE:
    case INGEST_PGO_ORIGIN:
    case INGEST_PGO_MESSAGE:
        return NULL;
    }
    return NULL;
}

static int col_index(const struct ingest_pgo_relation *rel, const char *col)
{
    if (!col)
        return -1;
    for (uint16_t i = 0; i < rel->ncols; i++)
        if (strcmp(rel->cols[i].name, col) == 0)
            return i;
    return -1;
}

static const struct ingest_pgo_tuple *row_tuple(const struct ingest_pgo_msg *m)
{
    if (m->kind == INGEST_PGO_DELETE)
        return m->old_kind ? &m->old_tuple : NULL;
    return &m->new_tuple;
}

int ingest_pgevent_column(const struct ingest_pgo_msg *m, const char *col, char *buf, size_t cap)
{
    const struct ingest_pgo_tuple *t = row_tuple(m);
    int i = col_index(m->rel, col);
    if (!t || i < 0 || t->vals[i].kind != INGEST_PGO_TEXT)
        return RT_ENOENT;
    if (t->vals[i].len >= cap)
        return RT_E2BIG;
    memcpy(buf, t->vals[i].data, t->vals[i].len);
    buf[t->vals[i].len] = '\0';
    if (strlen(buf) != t->vals[i].len) /* an embedded NUL cannot name a tenant */
        return RT_ENOENT;
    return 0;
}

static json_t *unchanged(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "unchanged_toast", json_true());
    return o;
}

/* Whether column i is kept in a keys-only object. */
static bool keep_key(const struct ingest_pgo_relation *rel, int i, const struct ingest_route *route)
{
    const char *name = rel->cols[i].name;
    if (strcmp(name, route->tenant_column) == 0 ||
        (route->user_column && strcmp(name, route->user_column) == 0))
        return true;
    if (rel->replident == 'f')
        return strcmp(name, "id") == 0;
    return rel->cols[i].key;
}

/* fill: an old tuple that may hold values the new one marks unchanged (or NULL). */
static json_t *tuple_obj(const struct ingest_pgo_relation *rel, const struct ingest_pgo_tuple *t,
                         const struct ingest_pgo_tuple *fill, bool only_keys,
                         const struct ingest_route *route, bool truncate)
{
    json_t *o = json_object();
    for (uint16_t i = 0; i < t->ncols; i++) {
        const struct ingest_pgo_value *v = &t->vals[i];
        if (only_keys && !(truncate ? keep_key(rel, i, route) : rel->cols[i].key))
            continue;
        if (v->kind == INGEST_PGO_UNCHANGED && fill && fill->vals[i].kind == INGEST_PGO_TEXT)
            v = &fill->vals[i];
        json_t *j;
        switch (v->kind) {
        case INGEST_PGO_TEXT:
            if (truncate && v->len > KEY_VALUE_MAX)
                continue;
            j = ingest_pgvalue_json(rel->cols[i].type_oid, v->data, v->len);
            break;
        case INGEST_PGO_UNCHANGED:
            j = unchanged();
            break;
        default:
            j = json_null();
            break;
        }
        json_object_set_new(o, rel->cols[i].name, j);
    }
    return o;
}

json_t *ingest_pgevent_row(const struct ingest_pgo_msg *m, const char *commit_ts,
                           const struct ingest_route *route, bool keys_only)
{
    const struct ingest_pgo_relation *rel = m->rel;
    json_t *record = json_null(), *old = json_null();
    const struct ingest_pgo_tuple *full_old = m->old_kind == 'O' ? &m->old_tuple : NULL;
    if (m->kind != INGEST_PGO_DELETE) {
        json_decref(record);
        record = tuple_obj(rel, &m->new_tuple, full_old, keys_only, route, keys_only);
    }
    if (m->kind != INGEST_PGO_INSERT) {
        json_decref(old);
        if (m->old_kind)
            old = tuple_obj(rel, &m->old_tuple, NULL, keys_only || m->old_kind == 'K', route,
                            keys_only);
        else
            old = tuple_obj(rel, &m->new_tuple, NULL, true, route, keys_only);
    }
    json_t *data = json_object();
    json_object_set_new(data, "schema", json_string(rel->schema));
    json_object_set_new(data, "table", json_string(rel->table));
    json_object_set_new(data, "commit_timestamp", json_string(commit_ts));
    json_object_set_new(data, "record", record);
    json_object_set_new(data, "old_record", old);
    if (keys_only)
        json_object_set_new(data, "truncated", json_true());
    return data;
}

static bool is_set(json_t *record, const char *col)
{
    json_t *v = json_object_get(record, col);
    return v && !json_is_null(v);
}

/* Raw status (or outcome) values of a calls row and what they mean in the normalized call model
 * of spec/webhooks.md; compared without case. Twilio's and Vonage's spellings are accepted too,
 * for tables that store a provider's status as is. */
static const struct {
    const char *raw, *state, *outcome;
} call_status[] = {
    {"initiated", "initiated", NULL},     {"queued", "initiated", NULL},
    {"started", "initiated", NULL},       {"ringing", "ringing", NULL},
    {"answered", "answered", NULL},       {"in-progress", "answered", NULL},
    {"in_progress", "answered", NULL},    {"ended", "ended", NULL},
    {"completed", "ended", "completed"},  {"busy", "ended", "busy"},
    {"no_answer", "ended", "no_answer"},  {"no-answer", "ended", "no_answer"},
    {"unanswered", "ended", "no_answer"}, {"timeout", "ended", "no_answer"},
    {"canceled", "ended", "canceled"},    {"cancelled", "ended", "canceled"},
    {"rejected", "ended", "rejected"},    {"failed", "ended", "failed"},
};

static int status_index(json_t *record, const char *col)
{
    json_t *v = json_object_get(record, col);
    if (!json_is_string(v))
        return -1;
    for (size_t i = 0; i < sizeof(call_status) / sizeof(call_status[0]); i++)
        if (strcasecmp(json_string_value(v), call_status[i].raw) == 0)
            return (int)i;
    return -1;
}

/* The normalized state of a calls row: ended once end_time is set; else the state its status
 * names; an unknown or missing status is not copied but derived from the times (answered once
 * answer_time is set, else initiated). The outcome (NULL unless ended): the outcome column when
 * it holds a known outcome, else the one the status implies, else none. */
static const char *call_state(json_t *record, const char **outcome)
{
    int st = status_index(record, "status"), oc = status_index(record, "outcome");
    const char *state;
    if (is_set(record, "end_time"))
        state = "ended";
    else if (st >= 0)
        state = call_status[st].state;
    else
        state = is_set(record, "answer_time") ? "answered" : "initiated";
    *outcome = NULL;
    if (strcmp(state, "ended") == 0) {
        if (oc >= 0 && call_status[oc].outcome)
            *outcome = call_status[oc].outcome;
        else if (st >= 0)
            *outcome = call_status[st].outcome;
    }
    return state;
}

json_t *ingest_pgevent_call(const struct ingest_pgo_msg *m, json_t *row_data, const char **event)
{
    /* the names of the webhook call model (callmodel.c) where one fits; no "provider": rt-health
     * reads that as a webhook provider (staleness), and a row is not a webhook */
    static const char *const fields[][2] = {
        {"call_id", "id"},
        {"direction", "direction"},
        {"from", "from_number"},
        {"to", "to_number"},
        {"duration", "duration_seconds"},
        {"provider_status", "status"},
        {"call_provider", "provider"},
        {"provider_call_id", "provider_call_id"},
        {"start_time", "start_time"},
        {"answer_time", "answer_time"},
        {"end_time", "end_time"},
        {"agent_id", "agent_id"},
        {"user_id", "user_id"},
    };
    json_t *record = json_object_get(row_data, "record");
    json_t *old = json_object_get(row_data, "old_record");
    if (m->kind == INGEST_PGO_DELETE || !json_is_object(record))
        return NULL;
    const char *outcome, *old_outcome;
    const char *state = call_state(record, &outcome);
    bool ended = strcmp(state, "ended") == 0;
    if (m->kind == INGEST_PGO_INSERT)
        *event = ended ? "call_ended" : "new_call";
    else
        /* the first update that ends the call reports it; without the old row (REPLICA
         * IDENTITY other than FULL) every update of an ended call reports call_ended */
        *event = ended && !(m->old_kind == 'O' && json_is_object(old) &&
                            strcmp(call_state(old, &old_outcome), "ended") == 0)
                     ? "call_ended"
                     : "call_update";
    json_t *call = json_object();
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(record, fields[i][1]);
        if (v)
            json_object_set(call, fields[i][0], v);
    }
    json_object_set_new(call, "state", json_string(state));
    json_object_set_new(call, "outcome", outcome ? json_string(outcome) : json_null());
    json_object_set_new(call, "source", json_string("db"));
    json_object_set(call, "commit_timestamp", json_object_get(row_data, "commit_timestamp"));
    return call;
}
