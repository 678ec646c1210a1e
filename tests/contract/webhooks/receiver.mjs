// Receives q10's webhooks and checks each with the Standard Webhooks reference library (npm
// `standardwebhooks`), not with our code. Answers 503 to the first delivery so the retry is seen.
// GET /report answers what arrived: {verified, rejected, retried, types, ids}.
// Usage: node receiver.mjs PORT SECRET

import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const [port, secret] = process.argv.slice(2);
const hook = new Webhook(secret);
const report = { verified: 0, rejected: 0, retried: 0, types: {}, ids: [] };
let first = true;

createServer((req, res) => {
  if (req.method === "GET" && req.url === "/report") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(report));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (first) {
      first = false;
      report.retried += 1;
      res.writeHead(503).end();
      return;
    }
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const event = hook.verify(body, req.headers);
      report.verified += 1;
      report.types[event.type] = (report.types[event.type] || 0) + 1;
      report.ids.push(req.headers["webhook-id"]);
      res.writeHead(204).end();
    } catch (e) {
      report.rejected += 1;
      console.error("rejected:", e.message);
      res.writeHead(400).end();
    }
  });
}).listen(Number(port), "127.0.0.1");
