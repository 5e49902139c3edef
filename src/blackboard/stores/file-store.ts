import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { brandClass } from '../brand.js';
import { BlackboardError, type Conflict } from '../errors.js';
import type { CommitDraft, LogEvent, MessageDraft, MessageEvent } from '../events.js';
import type { Path } from '../path.js';
import { checkRunId } from '../run-id.js';
import { SerialQueue } from '../serial-queue.js';
import type { EndedRun, OpenedRun, StoreCommitResult, StoredSnapshot } from '../store.js';
import { MemoryStore } from './memory-store.js';

/**
 * When appended records reach the disk:
 * - `always` (default): every accepted commit and message is fsynced before `commit`/`append` resolves,
 *   so an acknowledged record survives a crash of the process or of the machine;
 * - `never`: records are written (they survive a crash of the process, not of the machine) and the
 *   operating system flushes them when it likes.
 */
export type FsyncPolicy = 'always' | 'never';

/** What opening a run's log found and repaired. */
export interface RecoveryReport {
  readonly runId: string;
  readonly file: string;
  /** Records read back intact. */
  readonly records: number;
  /** Bytes cut from the end: a torn or corrupt last record, never acknowledged when fsync is `always`. */
  readonly truncatedBytes: number;
}

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** The folder for the logs and snapshots (created if missing). */
  readonly dir: string;
  readonly fsync?: FsyncPolicy;
  /** Called when a run's log had a torn or corrupt tail that was truncated. */
  readonly onRecover?: (report: RecoveryReport) => void;
}

const HEADER = 12;

/**
 * How many ended runs a {@link FileStore} keeps loaded in memory (older ones are read back when opened).
 *
 * @example
 * store.runCount <= LOADED_ENDED_RUNS + runsInProgress; // true
 */
export const LOADED_ENDED_RUNS = 64;

/** One record: [u32 payload length][u32 crc32 of the payload][u32 crc32 of the first 8 bytes] then the payload. */
function encode(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const record = Buffer.allocUnsafe(HEADER + body.length);
  record.writeUInt32LE(body.length, 0);
  record.writeUInt32LE(crc32(body), 4);
  record.writeUInt32LE(crc32(record.subarray(0, 8)), 8);
  body.copy(record, HEADER);
  return record;
}

/** The record at `offset`, if one is intact there. */
function decodeAt(buf: Buffer, offset: number): { payload: LogEvent; end: number } | undefined {
  if (buf.length - offset < HEADER) return undefined;
  if (crc32(buf.subarray(offset, offset + 8)) !== buf.readUInt32LE(offset + 8)) return undefined;
  const length = buf.readUInt32LE(offset);
  const end = offset + HEADER + length;
  if (end > buf.length) return undefined;
  const body = buf.subarray(offset + HEADER, end);
  if (crc32(body) !== buf.readUInt32LE(offset + 4)) return undefined;
  try {
    return { payload: JSON.parse(body.toString('utf8')) as LogEvent, end };
  } catch {
    return undefined;
  }
}

/**
 * Reads a log: every intact record from the start. At the first damaged record it looks further: if an
 * intact record follows, the damage is in the middle of acknowledged history and reading refuses
 * (`corrupt_log`); if none does, the damage is a torn or corrupt tail, and its offset is returned so the
 * file can be cut there.
 */
export function readLog(buf: Buffer): { events: LogEvent[]; validBytes: number } {
  const events: LogEvent[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const record = decodeAt(buf, offset);
    if (!record) {
      for (let probe = offset + 1; probe + HEADER <= buf.length; probe++) {
        if (decodeAt(buf, probe)) {
          throw new BlackboardError(
            'corrupt_log',
            `The log is damaged at byte ${offset}, before intact records (the next at byte ${probe}). Refusing to open it: restore it from a backup.`,
            { details: { offset, next: probe } },
          );
        }
      }
      break;
    }
    events.push(record.payload);
    offset = record.end;
  }
  return { events, validBytes: offset };
}

const safeName = (runId: string): string => encodeURIComponent(runId).replaceAll('.', '%2E');

/**
 * The longest a run's file name stem (its id, URI-encoded, `.` encoded too) may be: file systems hold names
 * of at most 255 bytes, and the longest suffix is `.snap-<12 digits>.json`.
 */
const MAX_NAME_STEM = 200;

/** Refuses (`invalid_id`) a run id this store cannot name a file after. */
function checkFileRunId(runId: string): void {
  checkRunId(runId);
  const stem = safeName(runId).length;
  if (stem > MAX_NAME_STEM)
    throw new BlackboardError(
      'invalid_id',
      `The run id ${JSON.stringify(runId.slice(0, 60))}${runId.length > 60 ? '…' : ''} is too long for a FileStore file name (${stem} characters once URI-encoded, at most ${MAX_NAME_STEM}): use a shorter id (up to 200 ASCII letters and digits, fewer of other characters).`,
      { details: { id: 'runId', problem: 'too long for a file name' } },
    );
}

/** The log file of a run in a file store's folder. */
export const logFileOf = (dir: string, runId: string): string => join(dir, `${safeName(runId)}.log`);

/** A run's snapshots in a file store's folder, oldest first (none when the folder is missing); a damaged one is an error. */
export async function readSnapshots(dir: string, runId: string): Promise<StoredSnapshot[]> {
  const prefix = `${safeName(runId)}.snap-`;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: StoredSnapshot[] = [];
  for (const name of names) {
    const raw = await readFile(join(dir, name));
    const record = decodeAt(raw, 0) as { payload: unknown; end: number } | undefined;
    if (!record || record.end !== raw.length) {
      throw new BlackboardError(
        'corrupt_log',
        `The snapshot ${name} is damaged. Remove it to fall back on the log, or restore it.`,
      );
    }
    out.push(record.payload as StoredSnapshot);
  }
  return out;
}

/** Log files a file store keeps open at once (the most recently written runs'). */
const OPEN_LOGS = 64;
/** A run's log file is closed after this long without a write. */
const IDLE_LOG_MS = 1_000;

/** Events written to a run's log together, and the write's outcome. */
interface Batch {
  readonly events: LogEvent[];
  done: Promise<void>;
}

/**
 * A durable store on the local file system: one append-only log per run (each record with its length
 * and checksums), plus snapshots written atomically. The conflict rule, idempotency and ordering are
 * the memory store's (one implementation); each accepted record is appended, and by default fsynced,
 * before it is acknowledged. Opening a run replays its newest snapshot's log and cuts a torn tail. A run's
 * files are named after its id, URI-encoded: an id longer than 200 characters once encoded is refused
 * (`invalid_id`), as is any id `checkRunId` refuses.
 *
 * @example
 * const store = new FileStore({ dir: './runs' });
 * const board = await createBlackboard({ schema, initial, store, runId: 'nightly' }); // reopens if it exists
 */
export class FileStore extends MemoryStore {
  private readonly dir: string;
  private readonly fsync: FsyncPolicy;
  private readonly onRecover: ((report: RecoveryReport) => void) | undefined;
  private readonly queues = new Map<string, SerialQueue>();
  private readonly failed = new Map<string, unknown>();
  /** Per run, the events waiting for the next write of its log (see `persist`). */
  private readonly batches = new Map<string, Batch>();
  /** Open log files, most recently written last: at most {@link OPEN_LOGS}. */
  private readonly handles = new Map<string, FileHandle>();
  /** Per open log, the timer that closes it once the run has written nothing for {@link IDLE_LOG_MS}. */
  private readonly idle = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(options: FileStoreOptions) {
    super();
    this.dir = options.dir;
    this.fsync = options.fsync ?? 'always';
    this.onRecover = options.onRecover;
  }

  private logFile(runId: string): string {
    return logFileOf(this.dir, runId);
  }

  private snapshotFile(runId: string, version: number): string {
    return join(this.dir, `${safeName(runId)}.snap-${String(version).padStart(12, '0')}.json`);
  }

  override async openRun(runId: string, initial: unknown): Promise<OpenedRun> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    checkFileRunId(runId);
    const created = !this.runs.has(runId) && (await this.load(runId, initial));
    const opened = await super.openRun(runId, initial);
    return created ? { ...opened, created: true } : opened;
  }

  /** Reads a run back from disk into memory, or creates it; true when it was created. */
  private async load(runId: string, initial: unknown): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const file = this.logFile(runId);
    const snapshots = await this.readSnapshots(runId);
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // A run is created as snapshot 0, then an empty log. A crash between the two leaves snapshot 0 alone:
      // nothing was acknowledged yet, so creating the run is finished from that snapshot.
      if (snapshots.length > 1 || (snapshots[0] && snapshots[0].version !== 0)) {
        throw new BlackboardError('corrupt_log', `Run "${runId}" has snapshots but no log at ${file}.`);
      }
      const start = snapshots[0] ?? { version: 0, seq: 0, state: initial };
      if (!snapshots[0]) await this.writeSnapshot(runId, start);
      await this.durable(file, async (fh) => void (await fh.write(Buffer.alloc(0))));
      super.adopt(runId, [start], []);
      return !snapshots[0];
    }
    const { events, validBytes } = readLog(buf);
    if (validBytes < buf.length) {
      await truncate(file, validBytes);
      this.onRecover?.({ runId, file, records: events.length, truncatedBytes: buf.length - validBytes });
    }
    if (snapshots.length === 0)
      throw new BlackboardError('corrupt_log', `Run "${runId}" has a log but no snapshot in ${this.dir}.`);
    // The log holds every record after its oldest snapshot, one sequence number after another.
    const first = events[0]?.seq;
    if (first !== undefined && first > snapshots[0]!.seq + 1) {
      throw new BlackboardError(
        'corrupt_log',
        `The log of run "${runId}" starts at seq ${first}, after a gap from its snapshot at seq ${snapshots[0]!.seq}.`,
      );
    }
    events.forEach((e, i) => {
      if (i > 0 && e.seq !== events[i - 1]!.seq + 1) {
        throw new BlackboardError(
          'corrupt_log',
          `The log of run "${runId}" skips from seq ${events[i - 1]!.seq} to ${e.seq}.`,
        );
      }
    });
    super.adopt(runId, snapshots, events);
    return false;
  }

  private readSnapshots(runId: string): Promise<StoredSnapshot[]> {
    return readSnapshots(this.dir, runId);
  }

  override async commit(
    runId: string,
    draft: CommitDraft,
    touched: readonly Path[],
  ): Promise<StoreCommitResult> {
    this.assertHealthy(runId);
    const result = await super.commit(runId, draft, touched);
    if (result.ok && !result.duplicate) await this.persist(runId, result.event);
    return result;
  }

  override async append(runId: string, draft: MessageDraft): Promise<MessageEvent> {
    this.assertHealthy(runId);
    const event = await super.append(runId, draft);
    await this.persist(runId, event);
    return event;
  }

  override async checkConflicts(
    runId: string,
    baseVersion: number,
    touched: readonly Path[],
  ): Promise<Conflict | undefined> {
    this.assertHealthy(runId);
    return super.checkConflicts(runId, baseVersion, touched);
  }

  override async saveSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void> {
    await this.writeSnapshot(runId, snapshot);
    await super.saveSnapshot(runId, snapshot);
  }

  /**
   * Drops from the log (on disk and in memory) every record before the newest snapshot, and the older
   * snapshots. Reads and `at()` before that snapshot are no longer possible; bases older than it
   * answer `base_too_old`.
   */
  async compact(runId: string): Promise<{ removedRecords: number }> {
    this.assertHealthy(runId);
    return this.queue(runId).run(async () => {
      const run = this.run(runId);
      const keep = run.snapshots.at(-1)!;
      const retained = run.events.filter((e) => e.seq > keep.seq);
      const removed = run.events.length - retained.length;
      const file = this.logFile(runId);
      const tmp = `${file}.compact`;
      await this.durable(tmp, async (fh) => void (await fh.write(Buffer.concat(retained.map(encode)))));
      // The open file is the old log: later appends go to the new one.
      await this.dropHandle(runId);
      await rename(tmp, file);
      await this.syncDir();
      for (const old of run.snapshots.slice(0, -1))
        await rm(this.snapshotFile(runId, old.version), { force: true });
      super.adopt(runId, [keep], retained);
      return { removedRecords: removed };
    });
  }

  /**
   * Appends one event to the run's log, in acceptance order; durable before it resolves (fsync `always`).
   * Events accepted while a write is under way go out together in the next one (one open, write and
   * fsync for the batch: a group commit), each still resolving only once it is written.
   */
  private persist(runId: string, event: LogEvent): Promise<void> {
    let batch = this.batches.get(runId);
    if (batch === undefined) {
      const next: Batch = { events: [], done: undefined as unknown as Promise<void> };
      next.done = this.queue(runId).run(() => {
        // From here on, events go to the next batch.
        if (this.batches.get(runId) === next) this.batches.delete(runId);
        return this.write(runId, next.events);
      });
      this.batches.set(runId, next);
      batch = next;
    }
    batch.events.push(event);
    return batch.done;
  }

  private async write(runId: string, events: readonly LogEvent[]): Promise<void> {
    try {
      const fh = await this.handle(runId);
      await fh.write(events.length === 1 ? encode(events[0]!) : Buffer.concat(events.map(encode)));
      if (this.fsync === 'always') await fh.datasync();
      // Closed when the run goes quiet, so a store nobody closes does not hold its files.
      clearTimeout(this.idle.get(runId));
      const timer = setTimeout(() => {
        void this.queue(runId)
          .run(() => this.dropHandle(runId))
          .catch(() => undefined);
      }, IDLE_LOG_MS);
      timer.unref();
      this.idle.set(runId, timer);
    } catch (error) {
      await this.dropHandle(runId);
      // Memory is ahead of the disk now: nothing more may be acknowledged for this run.
      this.failed.set(runId, error);
      throw new BlackboardError(
        'store_failure',
        `Could not append to the log of run "${runId}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * The run's log, open for appending (kept open between writes: an open and a close cost more than the
   * write). Runs the run's queue: only that run's writes use it. Beyond {@link OPEN_LOGS} the least
   * recently written run's file is closed, in its own queue (after what it is writing).
   */
  private async handle(runId: string): Promise<FileHandle> {
    const known = this.handles.get(runId);
    if (known) {
      this.handles.delete(runId);
      this.handles.set(runId, known);
      return known;
    }
    const fh = await open(this.logFile(runId), 'a');
    this.handles.set(runId, fh);
    while (this.handles.size > OPEN_LOGS) {
      const [oldest, old] = this.handles.entries().next().value as [string, FileHandle];
      this.handles.delete(oldest);
      void this.queue(oldest)
        .run(() => old.close())
        .catch(() => undefined);
    }
    return fh;
  }

  /** Closes the run's log file if it is open (call from the run's queue). */
  private async dropHandle(runId: string): Promise<void> {
    clearTimeout(this.idle.get(runId));
    this.idle.delete(runId);
    const fh = this.handles.get(runId);
    if (!fh) return;
    this.handles.delete(runId);
    await fh.close().catch(() => undefined);
  }

  private async writeSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = this.snapshotFile(runId, snapshot.version);
    const tmp = `${file}.tmp`;
    await this.durable(tmp, async (fh) => void (await fh.write(encode(snapshot))));
    await rename(tmp, file);
    await this.syncDir();
  }

  private async durable(
    file: string,
    write: (fh: Awaited<ReturnType<typeof open>>) => Promise<void>,
  ): Promise<void> {
    const fh = await open(file, 'w');
    try {
      await write(fh);
      if (this.fsync === 'always') await fh.sync();
    } finally {
      await fh.close();
    }
  }

  private async syncDir(): Promise<void> {
    if (this.fsync !== 'always') return;
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  private queue(runId: string): SerialQueue {
    let q = this.queues.get(runId);
    if (!q) {
      q = new SerialQueue();
      this.queues.set(runId, q);
    }
    return q;
  }

  private assertHealthy(runId: string): void {
    const error = this.failed.get(runId);
    if (error)
      throw new BlackboardError(
        'store_failure',
        `Run "${runId}" stopped accepting writes after a failed append.`,
        { cause: error },
      );
  }

  /** The runs this store's folder holds. */
  override async listRuns(): Promise<string[]> {
    try {
      return (await readdir(this.dir))
        .filter((n) => n.endsWith('.log'))
        .map((n) => decodeURIComponent(n.slice(0, -4)));
    } catch {
      return [];
    }
  }

  /** Ended runs still loaded in memory, oldest first: beyond {@link LOADED_ENDED_RUNS} they are unloaded. */
  private readonly loadedEnded: string[] = [];
  /** The folder's ended marks, read once and then kept in step (a retention policy asks after every run). */
  private endedMarks: Map<string, number> | undefined;

  private endedFile(runId: string): string {
    return join(this.dir, `${safeName(runId)}.ended`);
  }

  /**
   * Records the run as ended in a small file beside its log (`<run>.ended`), then keeps at most
   * {@link LOADED_ENDED_RUNS} ended runs loaded in memory: older ones are unloaded (read back from disk
   * when opened again), so a long-lived process does not hold every run it ever served. Nothing on disk is
   * deleted: that takes `deleteRun` (or a retention policy the user configures on the runtime).
   */
  override async markEnded(runId: string, endedAt: number): Promise<void> {
    this.assertHealthy(runId);
    this.run(runId);
    await this.queue(runId).run(async () => {
      const tmp = `${this.endedFile(runId)}.tmp`;
      await writeFile(tmp, JSON.stringify({ endedAt }));
      await rename(tmp, this.endedFile(runId));
    });
    await super.markEnded(runId, endedAt);
    await this.readEndedMarks();
    this.endedMarks?.delete(runId);
    this.endedMarks?.set(runId, endedAt);
    const at = this.loadedEnded.indexOf(runId);
    if (at >= 0) this.loadedEnded.splice(at, 1);
    this.loadedEnded.push(runId);
    while (this.loadedEnded.length > LOADED_ENDED_RUNS) {
      const old = this.loadedEnded.shift()!;
      // After whatever is still being appended to it.
      await this.queue(old).run(async () => {
        await this.dropHandle(old);
        this.runs.delete(old);
        this.queues.delete(old);
      });
    }
  }

  /** The runs marked ended in this store's folder (loaded or not), oldest first. */
  override async endedRuns(): Promise<EndedRun[]> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    const marks = await this.readEndedMarks();
    return [...marks].map(([runId, endedAt]) => ({ runId, endedAt })).sort((a, b) => a.endedAt - b.endedAt);
  }

  private async readEndedMarks(): Promise<Map<string, number>> {
    if (this.endedMarks) return this.endedMarks;
    const marks = new Map<string, number>();
    let names: string[] = [];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.ended'));
    } catch {
      // No folder yet: no marks.
    }
    for (const name of names) {
      try {
        const { endedAt } = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as { endedAt: number };
        marks.set(decodeURIComponent(name.slice(0, -'.ended'.length)), endedAt);
      } catch {
        // Deleted meanwhile, or half-written by a crash: not a record of an ended run.
      }
    }
    this.endedMarks ??= marks;
    return this.endedMarks;
  }

  /** Deletes the run's log, snapshots and ended mark from the folder, and the run from memory. */
  override async deleteRun(runId: string, options: { readonly ifEmpty?: boolean } = {}): Promise<boolean> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    const held = this.runs.has(runId) || (await this.listRuns()).includes(runId);
    // A run with anything on its log is kept (this process is the file store's only writer: once loaded,
    // what it holds in memory is the log).
    if (options.ifEmpty && held) {
      if (!this.runs.has(runId)) await this.openRun(runId, null);
      if (this.holdsEvents(runId)) return false;
    }
    await this.queue(runId).run(async () => {
      await this.dropHandle(runId);
      await rm(this.logFile(runId), { force: true });
      await rm(this.endedFile(runId), { force: true });
      const prefix = `${safeName(runId)}.snap-`;
      let names: string[] = [];
      try {
        names = (await readdir(this.dir)).filter((n) => n.startsWith(prefix));
      } catch {
        // No folder: nothing to remove.
      }
      for (const name of names) await rm(join(this.dir, name), { force: true });
      await this.syncDir().catch(() => undefined);
    });
    await super.deleteRun(runId);
    this.endedMarks?.delete(runId);
    this.queues.delete(runId);
    this.failed.delete(runId);
    const at = this.loadedEnded.indexOf(runId);
    if (at >= 0) this.loadedEnded.splice(at, 1);
    return held;
  }

  /** Closes the store and drops what it held in memory (the folder keeps every run). */
  override async close(): Promise<void> {
    await super.close();
    // After what each run is still writing.
    await Promise.all(
      [...this.handles.keys()].map((runId) => this.queue(runId).run(() => this.dropHandle(runId))),
    );
    this.queues.clear();
    this.failed.clear();
    this.loadedEnded.length = 0;
    this.endedMarks = undefined;
  }

  /** The size of a run's log file in bytes (for tests and operators). */
  async logSize(runId: string): Promise<number> {
    return (await stat(this.logFile(runId))).size;
  }
}
brandClass(FileStore, 'FileStore');
