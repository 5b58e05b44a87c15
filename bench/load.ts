/**
 * The load generator of bench/production.ts, in its own process so that it does not share the event
 * loop of the app it measures. Reads one JSON job per stdin line, runs autocannon, answers one JSON
 * line per job: `{ requestsPerSec, latencyP50Ms, non2xx, errors }`.
 */
import { createInterface } from "node:readline";
import autocannon from "autocannon";

interface Job {
  url: string;
  connections: number;
  durationSec: number;
  requests?: autocannon.Request[];
  headers?: Record<string, string>;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  const job = JSON.parse(line) as Job;
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSec,
    ...(job.headers ? { headers: job.headers } : {}),
    ...(job.requests ? { requests: job.requests } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({
      requestsPerSec: result.requests.average,
      latencyP50Ms: result.latency.p50,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    })}\n`,
  );
}
