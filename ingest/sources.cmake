# rt-ingest modules for webhooks and the publish API (also compiled into their unit tests).
set(INGEST_WEBHOOK_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/sigutil.c ${CMAKE_CURRENT_LIST_DIR}/webhook_json.c
    ${CMAKE_CURRENT_LIST_DIR}/webhook_twilio.c ${CMAKE_CURRENT_LIST_DIR}/webhook_telnyx.c
    ${CMAKE_CURRENT_LIST_DIR}/webhook_vonage.c ${CMAKE_CURRENT_LIST_DIR}/webhook_generic.c
    ${CMAKE_CURRENT_LIST_DIR}/callmodel.c ${CMAKE_CURRENT_LIST_DIR}/eventtime.c
    ${CMAKE_CURRENT_LIST_DIR}/secrets.c
    ${CMAKE_CURRENT_LIST_DIR}/apikeys.c ${CMAKE_CURRENT_LIST_DIR}/ratelimit.c
    ${CMAKE_CURRENT_LIST_DIR}/refusal.c ${CMAKE_CURRENT_LIST_DIR}/webhook.c
    ${CMAKE_CURRENT_LIST_DIR}/publish_api.c ${CMAKE_CURRENT_LIST_DIR}/batchpub.c
    ${CMAKE_CURRENT_LIST_DIR}/sigfail.c)

# rt-ingest modules for the PostgreSQL source.
set(INGEST_PG_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/pgoutput.c ${CMAKE_CURRENT_LIST_DIR}/pgvalue.c
    ${CMAKE_CURRENT_LIST_DIR}/routes.c ${CMAKE_CURRENT_LIST_DIR}/pg_event.c
    ${CMAKE_CURRENT_LIST_DIR}/pg_publish.c ${CMAKE_CURRENT_LIST_DIR}/pg_script.c
    ${CMAKE_CURRENT_LIST_DIR}/pg_repl.c
    ${CMAKE_CURRENT_LIST_DIR}/slot_lock.c)
