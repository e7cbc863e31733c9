// One object followed through the API server's watch, so that no state it passes through is missed: a poll once a
// second misses a state that lasts less (seen: Argo CD writes an operation's Failed and starts the next commit's
// operation within the same second). List once for the current object and the resourceVersion, then watch from it,
// resuming from the last version seen when a stream ends (the server closes it after timeoutSeconds), listing again
// only when that version is too old (410 Gone) or the request failed.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
export interface WatchTransport {
  get<T>(path: string): Promise<T>;
  /** GETs `path` and calls `onLine` for each line of the answer as it arrives; resolves when the server ends it. */
  stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
}

interface Versioned {
  metadata?: { resourceVersion?: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `onObject` with object `name` of collection `listPath` now and after every change, until stop(). */
export function watchObject<T extends Versioned>(transport: WatchTransport, listPath: string, name: string, onObject: (object: T) => void): { stop(): void } {
  const controller = new AbortController();
  const selector = `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  void (async () => {
    let version: string | undefined;
    while (!controller.signal.aborted) {
      try {
        if (version === undefined) {
          const list = await transport.get<{ metadata: { resourceVersion: string }; items: T[] }>(`${listPath}?${selector}`);
          for (const item of list.items) onObject(item);
          version = list.metadata.resourceVersion;
        }
        let gone = false;
        await transport.stream(`${listPath}?${selector}&watch=true&allowWatchBookmarks=true&timeoutSeconds=240&resourceVersion=${version}`, (line) => {
          if (!line.trim()) return;
          const event = JSON.parse(line) as { type: string; object: T & { code?: number } };
          if (event.type === 'ERROR') {
            gone = event.object.code === 410;
            return;
          }
          version = event.object.metadata?.resourceVersion ?? version;
          if (event.type === 'ADDED' || event.type === 'MODIFIED') onObject(event.object);
        }, controller.signal);
        if (gone) version = undefined;
      } catch {
        if (controller.signal.aborted) return;
        version = undefined;
        await sleep(1000);
      }
    }
  })();
  return { stop: () => controller.abort() };
}
