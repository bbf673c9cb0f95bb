/* Twilio status callbacks: form parsing, X-Twilio-Signature (HMAC-SHA1 over URL + sorted
 * parameters, or URL alone with bodySHA256), and normalization to the call model. */
#ifndef INGEST_WEBHOOK_TWILIO_H
#define INGEST_WEBHOOK_TWILIO_H

#include <stdbool.h>
#include <stddef.h>

#include "callmodel.h"

#define INGEST_FORM_MAX_PARAMS 256

struct ingest_kv {
    char *name;  /* owned, decoded */
    char *value; /* owned, decoded */
};

struct ingest_form {
    struct ingest_kv *kv; /* owned array */
    size_t n;
};

/* application/x-www-form-urlencoded: '+' is a space, %XX must be two hex digits, a name
 * without '=' has an empty value, empty segments are skipped. Returns 0, RT_EPARSE (bad
 * escape, NUL byte) or RT_E2BIG (more than INGEST_FORM_MAX_PARAMS). */
int ingest_form_parse(const char *body, size_t len, struct ingest_form *out);
void ingest_form_free(struct ingest_form *f);
/* The JSON variant's parameters: the top-level members of a JSON object body whose values are
 * strings, numbers (integers in decimal) or booleans ("true"/"false"); null, arrays and objects
 * are left out. Returns 0, RT_EPARSE (not a JSON object, duplicate names) or RT_E2BIG (more
 * than INGEST_FORM_MAX_PARAMS members). Free with ingest_form_free. */
int ingest_twilio_json_params(const char *body, size_t len, struct ingest_form *out);
/* First value of name, or NULL (borrowed). */
const char *ingest_form_get(const struct ingest_form *f, const char *name);

/* base64(HMAC-SHA1(token, url + sorted params)); params NULL signs the URL alone. out needs 29
 * bytes. Returns 0 or RT_EINVAL. */
int ingest_twilio_sign(const char *token, const char *url, const struct ingest_form *params,
                       char out[29]);

/* Verifies X-Twilio-Signature against every token, for the URL as given and with the scheme's
 * default port added or removed. When the URL's query has bodySHA256, the URL alone is signed
 * and the raw body's SHA-256 must equal it; otherwise params (form body, NULL for GET) are
 * signed. Returns 0, RT_EAUTH (no match, bad signature encoding, body hash mismatch) or
 * RT_EINVAL (bodySHA256 repeated or not 64 hex digits). */
int ingest_twilio_verify(const char *const *tokens, size_t ntokens, const char *url,
                         const struct ingest_form *params, const char *body, size_t body_len,
                         const char *signature);

/* True when the URL's query carries bodySHA256 (JSON variant). */
bool ingest_twilio_has_body_hash(const char *url);

/* Fills c from a status callback. Returns 0 or RT_EINVAL (CallSid, AccountSid or CallStatus
 * missing or unknown, SequenceNumber/CallDuration not decimal, a field too long). */
int ingest_twilio_normalize(const struct ingest_form *f, struct ingest_call *c);

#endif
