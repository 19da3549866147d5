export type NodeCallback<T = void> = (error?: Error | null, value?: T) => void;

/**
 * Hands a promise's outcome to a callback-style library (the session store's callers). Such a
 * callback goes on with the library's work, sending the response among it; called from inside
 * `.then`, anything it throws would become an unhandled rejection and end the process. Here a
 * throw goes back into the same callback as an error, which the library passes to Fastify's
 * error handling for the request: the request gets a 500, the process keeps serving.
 */
export function settle<T>(promise: Promise<T>, callback: NodeCallback<T>, onUnreported: (error: unknown) => void): void {
  promise.then(
    (value) => {
      try {
        callback(null, value);
      } catch (error) {
        reportBack(callback, error, onUnreported);
      }
    },
    (error: unknown) => reportBack(callback, error, onUnreported),
  );
}

function reportBack<T>(callback: NodeCallback<T>, error: unknown, onUnreported: (error: unknown) => void): void {
  try {
    callback(error instanceof Error ? error : new Error(String(error)));
  } catch (secondError) {
    onUnreported(secondError);
  }
}
