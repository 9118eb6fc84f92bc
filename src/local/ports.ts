import net from 'node:net';

/**
 * Free loopback ports for the local brokers, Redis and replicas, found by binding port 0
 * and reading what the kernel chose. All servers of a batch stay open until every port is
 * read, so a batch has no duplicates.
 * The usual race remains (another process may bind the port between our close and the
 * real server's bind); the kernel hands out ephemeral ports round-robin, which keeps it
 * rare, and a server that then fails to bind fails its start with a clear log.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/** A server listening on a port the kernel chose, and a close that does not wait for clients. */
export interface Listening {
  readonly port: number;
  /** Stops listening and drops every open connection (keep-alive clients included). */
  close(): Promise<void>;
}

/**
 * Starts `server` on a free port of `host` (port 0: the port is held from the start, no
 * probe race), tracking its connections so close() never hangs on a keep-alive client.
 * Malformed requests just drop their connection.
 */
export async function listenOnFreePort(server: net.Server, host = '127.0.0.1'): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err: Error, socket: net.Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      if (!closing) {
        closing = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
      }
      return closing;
    },
  };
}
