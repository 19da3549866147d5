/**
 * A module (or anything slow to make) loaded the first time a request needs it rather than at
 * start-up: most processes never hash a password, render Markdown or inspect an upload, and
 * those that do pay the load once. A failed load is not kept, so the next call tries again.
 */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
