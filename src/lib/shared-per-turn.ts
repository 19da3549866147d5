/**
 * One call of `read` shared by every caller within one turn of the event loop. The read runs in
 * the turn's check phase (setImmediate), after the I/O callbacks that parsed the turn's requests,
 * so it starts after every caller in the batch asked: whatever a caller is owed (a commit
 * acknowledged before its request arrived) the shared read sees as well. A caller that asks while
 * a read is already under way waits for the next one, for the same reason.
 *
 * Under load dozens of requests arrive per turn; the data version they all need then costs one
 * read per turn, not one per request (a WAL read lock on SQLite, a round trip on PostgreSQL).
 */
export function sharedPerTurn<T>(read: () => T | Promise<T>): () => Promise<T> {
  let next: Promise<T> | undefined;
  return () => {
    next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // Callers from here on are after this read started: they get one of their own.
      next = undefined;
      return read();
    });
    return next;
  };
}
