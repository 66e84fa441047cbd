// Loads URLs with loadtest and prints what it measured as JSON (used by bench/web.py).
// One process for the whole run (importing loadtest takes half a second): each line on stdin
// is a job {"url", "concurrency", "seconds", "headers"}, answered by one line on stdout
// ("result " and JSON).
// loadtest opens a connection per request, as browsers do against gunicorn's sync workers.
// The headers (a session's Cookie, an API token's Authorization, Accept) go with every request.
// A job with "words" replaces "QWORD" in its URL with the next of them on each request, in
// every mix of capitals in turn ("grid", "Grid", "gRid" …): the same search, a new address, so
// no request finds the page kept by the one before.
import { createInterface } from "node:readline";
import { loadTest } from "loadtest";

function nextWord(words) {
  let count = 0;
  return () => {
    const word = words[count % words.length];
    const mix = Math.floor(count / words.length);
    count += 1;
    return [...word].map((c, i) => ((mix >> i) & 1 ? c.toUpperCase() : c)).join("");
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const job = JSON.parse(line);
  const result = await loadTest({
    url: job.url,
    concurrency: job.concurrency,
    maxSeconds: job.seconds,
    headers: job.headers || {},
    timeout: 30000,
    quiet: true,
    ...(job.words ? { indexParam: "QWORD", indexParamCallback: nextWord(job.words) } : {}),
  });
  // Marked, so that anything else loadtest may print is not taken for a result.
  const figures = {
    rps: result.effectiveRps,
    requests: result.totalRequests,
    errors: result.totalErrors,
    codes: result.errorCodes,
    p50: result.percentiles["50"],
    p99: result.percentiles["99"],
  };
  console.log("result " + JSON.stringify(figures));
}
