-- wrk script for bench/run.ts: sends Accept: application/json and prints the run's summary as one JSON line
-- (wrk's own text output rounds and changes units). Latencies are in microseconds.
wrk.headers["Accept"] = "application/json"

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK-JSON {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
