// socket.io clients for the tests: connected (or refused) before the test goes on.
import { io, type Socket } from 'socket.io-client';

/** Connects with `token`; rejects with the server's refusal. The caller closes the socket. */
export async function connectSocket(url: string, token: string, sockets?: Socket[]): Promise<Socket> {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false });
  sockets?.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
  return socket;
}
