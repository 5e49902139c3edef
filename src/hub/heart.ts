import type { WebSocket } from 'ws';

/** Ping/pong liveness of one socket: a peer that did not answer the last ping by the next beat is dropped. */
export class Heart {
  private alive = true;

  constructor(private readonly ws: WebSocket) {
    ws.on('pong', () => {
      this.alive = true;
    });
  }

  beat(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }
}
