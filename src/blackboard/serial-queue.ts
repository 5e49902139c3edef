/**
 * Runs async tasks one at a time, in the order they were queued. A failing task does not stop the
 * queue. The board runs commits through one so its state and the log advance together.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
