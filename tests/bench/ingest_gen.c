/* Writes n signed Twilio status callbacks for the ingest benchmark, one per line:
 * "<X-Twilio-Signature>\t<form body>". Each has its own CallSid, so every one is published.
 * usage: bench_ingest_gen <n> <signed url> <auth token> */
#include "webhook_twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <n> <signed url> <auth token>\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    char body[512], sig[29];
    for (long i = 0; i < n; i++) {
        struct ingest_form f;
        snprintf(body, sizeof(body),
                 "AccountSid=ACbench&CallSid=CA%010ld&CallStatus=ringing&SequenceNumber=1"
                 "&From=%%2B15550001&To=%%2B15550002&Direction=outbound-api",
                 i);
        if (ingest_form_parse(body, strlen(body), &f) ||
            ingest_twilio_sign(argv[3], argv[2], &f, sig))
            return 1;
        ingest_form_free(&f);
        printf("%s\t%s\n", sig, body);
    }
    return 0;
}
