// Loads one URL for a while and prints what it measured as JSON (used by bench/web.py).
// loadtest opens a connection per request, as browsers do against gunicorn's sync workers.
import { loadTest } from "loadtest";

const [url, concurrency, seconds, cookie] = process.argv.slice(2);
const result = await loadTest({
  url,
  concurrency: Number(concurrency),
  maxSeconds: Number(seconds),
  headers: cookie ? { Cookie: cookie } : {},
  timeout: 30000,
});
console.log(
  JSON.stringify({
    rps: result.effectiveRps,
    requests: result.totalRequests,
    errors: result.totalErrors,
    p50: result.percentiles["50"],
    p99: result.percentiles["99"],
  }),
);
