#include "eventtime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callmodel.h"

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

static bool valid(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 &&
           mi <= 59 && s <= 60;
}

static int64_t to_ms(int y, int mo, int d, int h, int mi, int s, int ms, int off_min)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return ((int64_t)timegm(&tm) - (int64_t)off_min * 60) * 1000 + ms;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" (ISO) */
static bool iso_offset(const char *p, int *off_min)
{
    int h = 0, m = 0;
    if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
        *off_min = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p++ == '-' ? -1 : 1;
    if (!digits(&p, 2, &h))
        return false;
    if (*p == ':')
        p++;
    if (*p && !digits(&p, 2, &m))
        return false;
    if (*p || h > 23 || m > 59)
        return false;
    *off_min = sign * (h * 60 + m);
    return true;
}

static bool parse_iso(const char *p, int64_t *out)
{
    int y, mo, d, h, mi, s, ms = 0, off;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &s))
        return false;
    if (*p == '.' || *p == ',') {
        int n = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        if (n == 0)
            return false;
        for (; n < 3; n++)
            ms *= 10;
    }
    if (!valid(y, mo, d, h, mi, s) || !iso_offset(p, &off))
        return false;
    *out = to_ms(y, mo, d, h, mi, s, ms, off);
    return true;
}

/* "Thu, 14 Nov 2023 22:13:20 +0000" (the weekday optional; zone numeric, GMT, UT or Z) */
static bool parse_rfc2822(const char *p, int64_t *out)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int d, y, h, mi, s = 0, mo = -1, off = 0;
    if (isalpha((unsigned char)*p)) {
        const char *comma = strchr(p, ',');
        if (!comma || comma - p != 3)
            return false;
        p = comma + 1;
    }
    while (*p == ' ')
        p++;
    int n = 0;
    char mon[4] = "", zone[8] = "";
    if (sscanf(p, "%2d %3s %4d %2d:%2d%n", &d, mon, &y, &h, &mi, &n) != 5)
        return false;
    p += n;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &s))
            return false;
    }
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, months[i]) == 0)
            mo = i + 1;
    if (*p != ' ' || sscanf(p, " %7s%n", zone, &n) != 1 || p[n] != '\0')
        return false;
    if (strcmp(zone, "GMT") == 0 || strcmp(zone, "UT") == 0 || strcmp(zone, "UTC") == 0 ||
        strcmp(zone, "Z") == 0)
        off = 0;
    else {
        const char *z = zone;
        int hh, mm;
        if ((*z != '+' && *z != '-') || strlen(z) != 5)
            return false;
        int sign = *z++ == '-' ? -1 : 1;
        if (!digits(&z, 2, &hh) || !digits(&z, 2, &mm) || hh > 23 || mm > 59)
            return false;
        off = sign * (hh * 60 + mm);
    }
    if (mo < 0 || !valid(y, mo, d, h, mi, s))
        return false;
    *out = to_ms(y, mo, d, h, mi, s, 0, off);
    return true;
}

bool ingest_event_time_parse(const char *s, int64_t *ms)
{
    if (!s || strlen(s) > 64)
        return false;
    return isdigit((unsigned char)s[0]) && s[4] == '-' ? parse_iso(s, ms) : parse_rfc2822(s, ms);
}

bool ingest_event_time_iso(const char *s, char *buf, size_t cap)
{
    int64_t ms;
    if (cap <= INGEST_EVENT_TIME_ISO_LEN || !ingest_event_time_parse(s, &ms) || ms < 0)
        return false;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return true;
}

bool ingest_call_set_time(char **dst, const char *raw)
{
    char iso[INGEST_EVENT_TIME_ISO_LEN + 1];
    if (raw && ingest_event_time_iso(raw, iso, sizeof(iso)))
        return ingest_call_set(dst, iso);
    return ingest_call_set(dst, raw);
}
