// The floor for any Node gate: a bare node:http proxy with a keep-alive agent that checks
// nothing, forwarding every request to ORIGIN_URL + the path. bench/gate.mjs runs it beside
// tokengate so the table shows what Node itself costs on this machine.
import { Agent, createServer, request } from "node:http";

const origin = new URL(process.env.ORIGIN_URL);
const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo" });
createServer((req, res) => {
  const upstream = request(
    {
      hostname: origin.hostname,
      port: origin.port,
      path: req.url,
      agent,
      headers: { host: origin.host },
    },
    (answer) => {
      res.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => res.destroy());
  upstream.end();
}).listen(Number(process.env.PORT), "127.0.0.1");
