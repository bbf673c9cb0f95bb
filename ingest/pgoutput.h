/* A pure decoder of pgoutput protocol version 1 messages (the payload of XLogData) with the
 * relation cache the protocol requires. No I/O: tests feed it hand-built messages.
 * Decoded tuples point into the message buffer and into the decoder's scratch space: they are
 * valid until the next call of ingest_pgo_decode or ingest_pgo_free. */
#ifndef INGEST_PGOUTPUT_H
#define INGEST_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_PGO_MAX_COLS 1664 /* MaxTupleAttributeNumber */

enum ingest_pgo_kind {
    INGEST_PGO_BEGIN,
    INGEST_PGO_COMMIT,
    INGEST_PGO_RELATION,
    INGEST_PGO_TYPE,
    INGEST_PGO_INSERT,
    INGEST_PGO_UPDATE,
    INGEST_PGO_DELETE,
    INGEST_PGO_TRUNCATE,
    INGEST_PGO_ORIGIN,  /* decoded and skipped by callers */
    INGEST_PGO_MESSAGE, /* logical decoding message: decoded and skipped by callers */
};

struct ingest_pgo_column {
    char *name; /* owned */
    uint32_t type_oid;
    int32_t typmod;
    bool key; /* part of the replica identity */
};

struct ingest_pgo_relation {
    uint32_t id;
    char *schema;   /* owned */
    char *table;    /* owned */
    char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    uint16_t ncols;
    struct ingest_pgo_column *cols; /* owned, ncols */
};

enum ingest_pgo_value_kind {
    INGEST_PGO_NULL = 'n',
    INGEST_PGO_UNCHANGED = 'u', /* unchanged TOASTed value: not sent */
    INGEST_PGO_TEXT = 't',
};

struct ingest_pgo_value {
    char kind;        /* enum ingest_pgo_value_kind */
    const char *data; /* borrowed from the message; not NUL-terminated; NULL unless TEXT */
    uint32_t len;
};

struct ingest_pgo_tuple {
    uint16_t ncols;
    struct ingest_pgo_value *vals; /* borrowed from the decoder's scratch */
};

struct ingest_pgo_msg {
    enum ingest_pgo_kind kind;
    uint64_t lsn;      /* BEGIN: final LSN of the transaction; COMMIT: commit LSN;
                        * ORIGIN, MESSAGE: their LSN */
    uint64_t end_lsn;  /* COMMIT: end of the commit record (what is confirmed) */
    int64_t commit_ts; /* BEGIN, COMMIT: microseconds since 2000-01-01 UTC */
    uint32_t xid;      /* BEGIN */
    const struct ingest_pgo_relation *rel; /* INSERT, UPDATE, DELETE, RELATION: borrowed */
    char old_kind; /* UPDATE, DELETE: 'K' (key columns only), 'O' (whole old row) or 0 */
    struct ingest_pgo_tuple old_tuple; /* when old_kind != 0 */
    struct ingest_pgo_tuple new_tuple; /* INSERT, UPDATE */
    uint32_t nrelids;                  /* TRUNCATE */
    const uint32_t *relids;            /* TRUNCATE: borrowed from scratch */
    uint8_t flags;     /* TRUNCATE: 1 CASCADE, 2 RESTART IDENTITY; COMMIT, MESSAGE: flags */
    const char *name1; /* TYPE: namespace; ORIGIN: name; MESSAGE: prefix (borrowed) */
    const char *name2; /* TYPE: type name */
    uint32_t type_oid; /* TYPE */
};

struct ingest_pgo;

struct ingest_pgo *ingest_pgo_new(void);
void ingest_pgo_free(struct ingest_pgo *d);

/* Decodes one message. Returns 0, RT_EPROTO (malformed, truncated, unknown message type or a
 * row of an unknown relation) or RT_E2BIG (too many columns). */
int ingest_pgo_decode(struct ingest_pgo *d, const uint8_t *buf, size_t len,
                      struct ingest_pgo_msg *m);

/* The cached relation, or NULL. */
const struct ingest_pgo_relation *ingest_pgo_relation(const struct ingest_pgo *d, uint32_t id);

/* Forgets every relation (a new replication session resends them). */
void ingest_pgo_reset(struct ingest_pgo *d);

#endif
