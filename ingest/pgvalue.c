#include "pgvalue.h"

#include "rt/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX 64 /* longer numbers are kept as strings without parsing */

static json_t *as_string(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    /* not valid UTF-8 (a SQL_ASCII database): keep the value visible rather than drop it */
    return s ? s : json_string("\xef\xbf\xbd");
}

/* Counts significant digits of a decimal text ([-+]digits[.digits][e[-+]digits]); false if the
 * text is not of that shape. */
static bool decimal_digits(const char *s, size_t len, int *sig, bool *integral)
{
    size_t i = 0;
    int digits = 0, lead = 1;
    bool any = false, dot = false;
    int trailing_zeros = 0;
    *integral = true;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = true;
            if (c == '0' && lead)
                continue;
            lead = 0;
            digits++;
            trailing_zeros = c == '0' ? trailing_zeros + 1 : 0;
            if (dot && c != '0')
                *integral = false;
        } else if (c == '.' && !dot) {
            dot = true;
        } else if (c == 'e' || c == 'E') {
            *integral = false;
            size_t j = i + 1;
            if (j < len && (s[j] == '-' || s[j] == '+'))
                j++;
            if (j == len)
                return false;
            for (; j < len; j++)
                if (!isdigit((unsigned char)s[j]))
                    return false;
            break;
        } else {
            return false;
        }
    }
    /* trailing zeros of the integer part count; those after the point do not change the value */
    if (dot && *integral)
        digits -= trailing_zeros;
    *sig = digits < 0 ? 0 : digits;
    return any;
}

static json_t *number(const char *text, size_t len)
{
    char buf[NUM_MAX + 1];
    int sig;
    bool integral;
    if (len == 0 || len > NUM_MAX || !decimal_digits(text, len, &sig, &integral) || sig > 15)
        return as_string(text, len);
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (integral && !memchr(buf, '.', len)) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    errno = 0;
    double d = strtod(buf, NULL);
    if (errno != 0)
        return as_string(text, len);
    return json_real(d);
}

static json_t *integer(const char *text, size_t len)
{
    char buf[32];
    char *end;
    if (len == 0 || len >= sizeof(buf))
        return as_string(text, len);
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0')
        return as_string(text, len);
    return json_integer(v);
}

static size_t span_digits(const char *s, size_t i, size_t len)
{
    size_t j = i;
    while (j < len && isdigit((unsigned char)s[j]))
        j++;
    return j - i;
}

int ingest_pgvalue_iso8601(const char *text, size_t len, char *buf, size_t cap)
{
    /* YYYY-MM-DD HH:MM:SS[.f+][(+|-)HH[:MM[:SS]]] */
    size_t i = 0, n = span_digits(text, 0, len);
    if (n < 4 || n + 6 > len || text[n] != '-')
        return RT_EINVAL;
    i = n + 1;
    if (span_digits(text, i, len) != 2 || text[i + 2] != '-')
        return RT_EINVAL;
    i += 3;
    if (span_digits(text, i, len) != 2 || i + 2 >= len || text[i + 2] != ' ')
        return RT_EINVAL;
    size_t date_end = i + 2;
    i = date_end + 1;
    for (int k = 0; k < 3; k++) {
        if (span_digits(text, i, len) != 2)
            return RT_EINVAL;
        i += 2;
        if (k < 2) {
            if (i >= len || text[i] != ':')
                return RT_EINVAL;
            i++;
        }
    }
    if (i < len && text[i] == '.') {
        size_t f = span_digits(text, i + 1, len);
        if (f == 0)
            return RT_EINVAL;
        i += 1 + f;
    }
    size_t time_end = i;
    const char *zone = "";
    char zbuf[16];
    if (i < len) {
        if (text[i] != '+' && text[i] != '-')
            return RT_EINVAL;
        size_t zlen = len - i;
        if (zlen >= sizeof(zbuf) - 3)
            return RT_EINVAL;
        for (size_t k = i + 1; k < len; k++)
            if (!isdigit((unsigned char)text[k]) && text[k] != ':')
                return RT_EINVAL;
        if (span_digits(text, i + 1, len) != 2)
            return RT_EINVAL;
        if ((zlen == 3 || (zlen == 6 && memcmp(text + i + 3, ":00", 3) == 0)) &&
            memcmp(text + i + 1, "00", 2) == 0) {
            zone = "Z";
        } else {
            memcpy(zbuf, text + i, zlen);
            zbuf[zlen] = '\0';
            if (zlen == 3)
                strcat(zbuf, ":00");
            zone = zbuf;
        }
    }
    size_t need = time_end + strlen(zone) + 1;
    if (need > cap)
        return RT_E2BIG;
    memcpy(buf, text, date_end);
    buf[date_end] = 'T';
    memcpy(buf + date_end + 1, text + date_end + 1, time_end - date_end - 1);
    strcpy(buf + time_end, zone);
    return 0;
}

static json_t *timestamp(const char *text, size_t len)
{
    char buf[64];
    if (ingest_pgvalue_iso8601(text, len, buf, sizeof(buf)) != 0)
        return as_string(text, len);
    return json_string(buf);
}

json_t *ingest_pgvalue_json(uint32_t oid, const char *text, size_t len)
{
    switch (oid) {
    case INGEST_OID_INT2:
    case INGEST_OID_INT4:
    case INGEST_OID_INT8:
    case INGEST_OID_OID:
        return integer(text, len);
    case INGEST_OID_NUMERIC:
    case INGEST_OID_FLOAT4:
    case INGEST_OID_FLOAT8:
        return number(text, len);
    case INGEST_OID_BOOL:
        if (len == 1 && (text[0] == 't' || text[0] == 'f'))
            return json_boolean(text[0] == 't');
        return as_string(text, len);
    case INGEST_OID_JSON:
    case INGEST_OID_JSONB: {
        json_error_t err;
        json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        return v ? v : as_string(text, len);
    }
    case INGEST_OID_TIMESTAMP:
    case INGEST_OID_TIMESTAMPTZ:
        return timestamp(text, len);
    default:
        return as_string(text, len);
    }
}
