// TLS terminator that REQUIRES a client certificate, in front of a Cerbos
// listening on plain HTTP on loopback. Used by `cerbos.sh start DIR --mtls`.
//
// Why: Cerbos' own server.tls.caCert only verifies a client certificate when
// one is offered (Go's VerifyClientCertIfGiven) and serves clients that offer
// none, so it cannot test "vigild presents its client certificate".
//
//   node mtls-proxy.js LISTEN_PORT BACKEND_PORT CERT KEY CA
//
// Listens on 127.0.0.1:LISTEN_PORT; each verified connection is piped
// byte-for-byte to 127.0.0.1:BACKEND_PORT (HTTP keep-alive passes through).
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');

const [listenPort, backendPort, cert, key, ca] = process.argv.slice(2);
if (!ca) {
  console.error('usage: mtls-proxy.js LISTEN_PORT BACKEND_PORT CERT KEY CA');
  process.exit(2);
}

const server = tls.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  ca: fs.readFileSync(ca),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.2',
}, (client) => {
  const backend = net.connect(Number(backendPort), '127.0.0.1');
  client.pipe(backend).pipe(client);
  const close = () => { client.destroy(); backend.destroy(); };
  client.on('error', close);
  backend.on('error', close);
  client.on('close', close);
  backend.on('close', close);
});

server.on('tlsClientError', (err) => {
  console.error(`refused TLS client: ${err.message}`);
});
server.on('error', (err) => {
  console.error(`listen failed: ${err.message}`);
  process.exit(1);
});
server.listen(Number(listenPort), '127.0.0.1', () => {
  console.error(`mTLS proxy 127.0.0.1:${listenPort} -> 127.0.0.1:${backendPort}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
