/**
 * The hub's Stately-compatible endpoint, one client at a time. Apart from {@link StatelyTranslator} (public,
 * in stately.ts) because it holds a `ws` socket: the public declarations then name no type of `@types/ws`,
 * which users of the package do not have (it is a devDependency).
 */
import type { WebSocket } from 'ws';
import type { Unsubscribe } from '../blackboard/index.js';
import { admitsRun, type Grant } from './auth.js';
import { Heart } from './heart.js';
import type { HubSource } from './source.js';
import { StatelyTranslator } from './stately.js';

/** One client of the Stately-compatible endpoint: every run from its start, then live. Read-only. */
export class StatelyStream {
  private readonly stops: Unsubscribe[] = [];
  /** Runs followed: a run restarted on a new board (resumed) is followed on from the last seq sent. */
  private readonly runs = new Map<
    string,
    { stop: Unsubscribe; lastSeq: number; translator: StatelyTranslator }
  >();
  private readonly heart: Heart;

  constructor(
    private readonly ws: WebSocket,
    private readonly grant: Grant,
    private readonly source: HubSource,
    private readonly bounds: { readonly maxBufferedBytes: number; readonly closeGraceMs: number },
    private readonly log: (line: string) => void,
    onClose: () => void,
  ) {
    this.heart = new Heart(ws);
    ws.on('error', () => {});
    ws.on('close', () => {
      this.close();
      onClose();
    });
    this.stops.push(this.source.onRunStarted((runId) => this.background(this.follow(runId))));
    const stopDeleted = this.source.onRunDeleted?.((runId) => {
      this.runs.get(runId)?.stop();
      this.runs.delete(runId);
    });
    if (stopDeleted) this.stops.push(stopDeleted);
    this.background(
      this.source.listRuns().then(async (runs) => {
        for (const r of runs) if (!this.runs.has(r.runId)) await this.follow(r.runId);
      }),
    );
  }

  beat(): void {
    this.heart.beat();
  }

  close(code = 1001, reason = 'closing'): void {
    for (const stop of this.stops.splice(0)) stop();
    for (const run of this.runs.values()) run.stop();
    this.runs.clear();
    this.ws.close(code, reason);
  }

  private background(work: Promise<unknown>): void {
    work.catch((error: unknown) =>
      this.log(`hub: the Stately stream failed to follow a run: ${String(error)}`),
    );
  }

  private async follow(runId: string): Promise<void> {
    if (!admitsRun(this.grant, runId)) return;
    const board = await this.source.openRun(runId);
    if (!board || this.ws.readyState !== this.ws.OPEN) return;
    const previous = this.runs.get(runId);
    previous?.stop();
    const run = {
      stop: () => {},
      lastSeq: previous?.lastSeq ?? 0,
      translator:
        previous?.translator ?? new StatelyTranslator(runId, (id) => this.source.machineDefinition(id)),
    };
    this.runs.set(runId, run);
    run.stop = board.subscribe({ from: run.lastSeq + 1 }, (event) => {
      if (this.ws.readyState !== this.ws.OPEN || event.seq <= run.lastSeq) return;
      run.lastSeq = event.seq;
      for (const m of run.translator.translate(event)) this.ws.send(JSON.stringify(m));
      if (this.ws.bufferedAmount > this.bounds.maxBufferedBytes) {
        this.close(4008, 'slow consumer: reconnect');
        // The close frame is behind what is queued: the peer has the grace period to read up to it.
        const grace = setTimeout(() => this.ws.terminate(), this.bounds.closeGraceMs);
        grace.unref();
        this.ws.once('close', () => clearTimeout(grace));
      }
    });
  }
}
