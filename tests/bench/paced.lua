-- wrk pacing: each connection waits 1 ms between requests, so c connections offer at most
-- c x 1000 requests/s (wrk has no fixed-rate mode; wrk2 is not packaged in Debian 12).
function delay()
    return 1
end
