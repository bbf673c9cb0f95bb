#include "pgoutput.h"

#include "rt/err.h"

#include <stdlib.h>
#include <string.h>

struct ingest_pgo {
    struct ingest_pgo_relation *rels; /* owned, nrels */
    size_t nrels, caprels;
    size_t last; /* index of the last relation found (rows come in runs of one table) */
    struct ingest_pgo_value *scratch[2]; /* owned: old and new tuple values */
    size_t scratch_cap[2];
    uint32_t *relids; /* owned: TRUNCATE relation ids */
    size_t relids_cap;
};

struct rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static uint8_t u8(struct rd *r)
{
    if (r->off + 1 > r->len) {
        r->bad = true;
        return 0;
    }
    return r->p[r->off++];
}

static uint64_t be(struct rd *r, int n)
{
    uint64_t v = 0;
    if (r->off + (size_t)n > r->len) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < n; i++)
        v = (v << 8) | r->p[r->off + (size_t)i];
    r->off += (size_t)n;
    return v;
}

/* A NUL-terminated string inside the message; borrowed. */
static const char *str(struct rd *r)
{
    if (r->off >= r->len) {
        r->bad = true;
        return "";
    }
    const uint8_t *s = r->p + r->off;
    const uint8_t *nul = memchr(s, 0, r->len - r->off);
    if (!nul) {
        r->bad = true;
        return "";
    }
    r->off += (size_t)(nul - s) + 1;
    return (const char *)s;
}

struct ingest_pgo *ingest_pgo_new(void)
{
    return rt_xcalloc(1, sizeof(struct ingest_pgo));
}

static void relation_clear(struct ingest_pgo_relation *rel)
{
    for (uint16_t i = 0; i < rel->ncols; i++)
        free(rel->cols[i].name);
    free(rel->cols);
    free(rel->schema);
    free(rel->table);
    memset(rel, 0, sizeof(*rel));
}

void ingest_pgo_reset(struct ingest_pgo *d)
{
    for (size_t i = 0; i < d->nrels; i++)
        relation_clear(&d->rels[i]);
    d->nrels = 0;
    d->last = 0;
}

void ingest_pgo_free(struct ingest_pgo *d)
{
    if (!d)
        return;
    ingest_pgo_reset(d);
    free(d->rels);
    free(d->scratch[0]);
    free(d->scratch[1]);
    free(d->relids);
    free(d);
}

static struct ingest_pgo_relation *find(const struct ingest_pgo *d, uint32_t id)
{
    struct ingest_pgo *m = (struct ingest_pgo *)d;
    if (m->last < m->nrels && m->rels[m->last].id == id)
        return &m->rels[m->last];
    for (size_t i = 0; i < m->nrels; i++) {
        if (m->rels[i].id == id) {
            m->last = i;
            return &m->rels[i];
        }
    }
    return NULL;
}

const struct ingest_pgo_relation *ingest_pgo_relation(const struct ingest_pgo *d, uint32_t id)
{
    return find(d, id);
}

static int decode_relation(struct ingest_pgo *d, struct rd *r, struct ingest_pgo_msg *m)
{
    struct ingest_pgo_relation rel = {0};
    rel.id = (uint32_t)be(r, 4);
    const char *schema = str(r);
    const char *table = str(r);
    rel.replident = (char)u8(r);
    uint64_t ncols = be(r, 2);
    if (r->bad)
        return RT_EPROTO;
    if (ncols > INGEST_PGO_MAX_COLS)
        return RT_E2BIG;
    rel.ncols = (uint16_t)ncols;
    rel.cols = rt_xcalloc(ncols ? ncols : 1, sizeof(*rel.cols));
    for (uint16_t i = 0; i < rel.ncols; i++) {
        struct ingest_pgo_column *c = &rel.cols[i];
        c->key = (u8(r) & 1) != 0;
        const char *name = str(r);
        c->type_oid = (uint32_t)be(r, 4);
        c->typmod = (int32_t)(uint32_t)be(r, 4);
        c->name = rt_xstrdup(name);
        if (r->bad) {
            rel.ncols = (uint16_t)(i + 1);
            relation_clear(&rel);
            return RT_EPROTO;
        }
    }
    rel.schema = rt_xstrdup(schema);
    rel.table = rt_xstrdup(table);
    struct ingest_pgo_relation *old = find(d, rel.id);
    if (old) {
        relation_clear(old);
        *old = rel;
    } else {
        if (d->nrels == d->caprels) {
            d->caprels = d->caprels ? d->caprels * 2 : 16;
            d->rels = rt_xrealloc(d->rels, d->caprels * sizeof(*d->rels));
        }
        d->rels[d->nrels++] = rel;
        old = &d->rels[d->nrels - 1];
    }
    m->rel = old;
    return 0;
}

static int decode_tuple(struct ingest_pgo *d, int which, struct rd *r,
                        const struct ingest_pgo_relation *rel, struct ingest_pgo_tuple *t)
{
    uint64_t ncols = be(r, 2);
    if (r->bad || ncols != rel->ncols)
        return RT_EPROTO;
    if (ncols > d->scratch_cap[which]) {
        d->scratch_cap[which] = ncols;
        d->scratch[which] = rt_xrealloc(d->scratch[which], ncols * sizeof(*d->scratch[which]));
    }
    t->ncols = (uint16_t)ncols;
    t->vals = d->scratch[which];
    for (uint16_t i = 0; i < t->ncols; i++) {
        struct ingest_pgo_value *v = &t->vals[i];
        v->kind = (char)u8(r);
        v->data = NULL;
        v->len = 0;
        switch (v->kind) {
        case INGEST_PGO_NULL:
        case INGEST_PGO_UNCHANGED:
            break;
        case INGEST_PGO_TEXT: {
            uint64_t len = be(r, 4);
            if (r->bad || len > r->len - r->off)
                return RT_EPROTO;
            v->data = (const char *)r->p + r->off;
            v->len = (uint32_t)len;
            r->off += len;
            break;
        }
        default: /* 'b' (binary) is never requested */
            return RT_EPROTO;
        }
        if (r->bad)
            return RT_EPROTO;
    }
    return 0;
}

static int decode_row(struct ingest_pgo *d, struct rd *r, struct ingest_pgo_msg *m)
{
    uint32_t id = (uint32_t)be(r, 4);
    if (r->bad)
        return RT_EPROTO;
    m->rel = find(d, id);
    if (!m->rel)
        return RT_EPROTO;
    char tag = (char)u8(r);
    if (m->kind != INGEST_PGO_INSERT && (tag == 'K' || tag == 'O')) {
        m->old_kind = tag;
        int rc = decode_tuple(d, 0, r, m->rel, &m->old_tuple);
        if (rc)
            return rc;
        if (m->kind == INGEST_PGO_DELETE)
            return r->off == r->len ? 0 : RT_EPROTO;
        tag = (char)u8(r);
    }
    if (m->kind == INGEST_PGO_DELETE || tag != 'N')
        return RT_EPROTO;
    int rc = decode_tuple(d, 1, r, m->rel, &m->new_tuple);
    if (rc)
        return rc;
    return r->off == r->len ? 0 : RT_EPROTO;
}

static int decode_truncate(struct ingest_pgo *d, struct rd *r, struct ingest_pgo_msg *m)
{
    uint64_t n = be(r, 4);
    m->flags = u8(r);
    if (r->bad || n > (r->len - r->off) / 4)
        return RT_EPROTO;
    if (n > d->relids_cap) {
        d->relids_cap = n;
        d->relids = rt_xrealloc(d->relids, n * sizeof(*d->relids));
    }
    for (uint64_t i = 0; i < n; i++)
        d->relids[i] = (uint32_t)be(r, 4);
    m->nrelids = (uint32_t)n;
    m->relids = d->relids;
    return 0;
}

int ingest_pgo_decode(struct ingest_pgo *d, const uint8_t *buf, size_t len,
                      struct ingest_pgo_msg *m)
{
    struct rd r = {.p = buf, .len = len};
    int rc = 0;
    memset(m, 0, sizeof(*m));
    switch (u8(&r)) {
    case 'B':
        m->kind = INGEST_PGO_BEGIN;
        m->lsn = be(&r, 8);
        m->commit_ts = (int64_t)be(&r, 8);
        m->xid = (uint32_t)be(&r, 4);
        break;
    case 'C':
        m->kind = INGEST_PGO_COMMIT;
        m->flags = u8(&r);
        m->lsn = be(&r, 8);
        m->end_lsn = be(&r, 8);
        m->commit_ts = (int64_t)be(&r, 8);
        break;
    case 'O':
        m->kind = INGEST_PGO_ORIGIN;
        m->lsn = be(&r, 8);
        m->name1 = str(&r);
        break;
    case 'M': {
        m->kind = INGEST_PGO_MESSAGE;
        m->flags = u8(&r);
        m->lsn = be(&r, 8);
        m->name1 = str(&r);
        uint64_t n = be(&r, 4);
        if (!r.bad && n != r.len - r.off)
            return RT_EPROTO;
        r.off = r.len;
        break;
    }
    case 'R':
        m->kind = INGEST_PGO_RELATION;
        rc = decode_relation(d, &r, m);
        break;
    case 'Y':
        m->kind = INGEST_PGO_TYPE;
        m->type_oid = (uint32_t)be(&r, 4);
        m->name1 = str(&r);
        m->name2 = str(&r);
        break;
    case 'I':
        m->kind = INGEST_PGO_INSERT;
        return decode_row(d, &r, m);
    case 'U':
        m->kind = INGEST_PGO_UPDATE;
        return decode_row(d, &r, m);
    case 'D':
        m->kind = INGEST_PGO_DELETE;
        return decode_row(d, &r, m);
    case 'T':
        m->kind = INGEST_PGO_TRUNCATE;
        rc = decode_truncate(d, &r, m);
        break;
    default:
        return RT_EPROTO;
    }
    if (rc)
        return rc;
    return r.bad || r.off != r.len ? RT_EPROTO : 0;
}
