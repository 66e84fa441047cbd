// Loads one URL for a while and prints what it measured as JSON (used by bench/web.py).
// loadtest opens a connection per request, as browsers do against gunicorn's sync workers.
// The fourth argument is a JSON object of request headers (a session's Cookie, an API
// token's Authorization, Accept), sent with every request.
import { loadTest } from "loadtest";

const [url, concurrency, seconds, headers] = process.argv.slice(2);
const result = await loadTest({
  url,
  concurrency: Number(concurrency),
  maxSeconds: Number(seconds),
  headers: headers ? JSON.parse(headers) : {},
  timeout: 30000,
});
console.log(
  JSON.stringify({
    rps: result.effectiveRps,
    requests: result.totalRequests,
    errors: result.totalErrors,
    codes: result.errorCodes,
    p50: result.percentiles["50"],
    p99: result.percentiles["99"],
  }),
);
