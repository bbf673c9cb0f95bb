/* The Lua script that stores a batch of one transaction's events and advances the slot's
 * progress marker in the same atomic step (see pg_publish.h for how it is used). */
#ifndef INGEST_PG_SCRIPT_H
#define INGEST_PG_SCRIPT_H

/* KEYS[1]: checkpoint key; KEYS[2]: progress key; KEYS[2+i]: stream and channel of event i.
 * ARGV[1]: MAXLEN ~; ARGV[2], ARGV[3]: the transaction's commit LSN, high and low 32 bits;
 * ARGV[4]: index in the transaction of the first event; ARGV[5]: the position ("hi lo index")
 * of the last event this session sent before, "" for none; ARGV[6]: the end LSN to store as
 * checkpoint when the batch ends its transaction, else ""; ARGV[6+i]: envelope i without id;
 * the last ARGV: MINID of the streams' age limit ("0" none; rt:calls:all keeps MAXLEN only).
 * Reply: {stored, skipped} (events at or before the progress marker are skipped: a replay), or
 * an error: "GAP ..." when the marker is behind ARGV[5] (an earlier batch failed; nothing is
 * stored), or the error of a failed XADD after the marker was set to the last stored event. */
extern const char ingest_pg_batch_script[];

#endif
