// A bare node:http proxy with a keep-alive agent that checks nothing, forwarding every
// request to ORIGIN_URL + the path: what a Node gate built on node:http's client and server
// costs on this machine. bench/gate.mjs runs it beside tokengate (whose origin leg is its own
// HTTP/1.1 client, src/origin-client.ts).
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
