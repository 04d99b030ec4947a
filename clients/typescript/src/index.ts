/**
 * A durable session service for adk-js agents: `RemoteSessionService` extends adk-js's
 * `BaseSessionService` and keeps sessions in an `adk-sessions serve` server over HTTP.
 *
 * Units: adk-js counts event timestamps and `lastUpdateTime` in epoch MILLISECONDS; the
 * server (like adk-python) speaks float epoch SECONDS and stores microseconds. Every time
 * crossing the wire goes through whole microseconds, so an integer-millisecond time comes
 * back as the very same number, and the server's microsecond times survive the round trip.
 */
import {
  BaseSessionService,
  createEvent,
  type Event,
  type Session,
} from '@google/adk';

// The request/response shapes of BaseSessionService's methods, taken from its signatures
// so this file follows adk-js's types without importing non-exported paths.
type CreateSessionRequest = Parameters<BaseSessionService['createSession']>[0];
type GetSessionRequest = Parameters<BaseSessionService['getSession']>[0];
type ListSessionsRequest = Parameters<BaseSessionService['listSessions']>[0];
type ListSessionsResponse = Awaited<ReturnType<BaseSessionService['listSessions']>>;
type DeleteSessionRequest = Parameters<BaseSessionService['deleteSession']>[0];
type AppendEventRequest = Parameters<BaseSessionService['appendEvent']>[0];

const TEMP_PREFIX = 'temp:';

export interface RemoteSessionServiceOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  baseUrl: string;
  /** Bearer token; defaults to the `ADK_SESSIONS_TOKEN` environment variable. */
  token?: string;
  /** Per-attempt timeout in milliseconds (default 30000; 0 = none). */
  timeoutMs?: number;
  /**
   * Extra attempts for GET requests after a network error, a timeout or a 502/503/504
   * (default 2). Writes (POST, DELETE) are never retried: a lost answer could hide a
   * write that happened.
   */
  retries?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** The server answered with an error status the service does not map to an adk-js result. */
export class AdkSessionsHttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    /** The server's `detail` (a string, or FastAPI's list of validation items). */
    readonly detail: unknown,
  ) {
    super(
      `adk-sessions server answered ${status} to ${method} ${url}: ${
        typeof detail === 'string' ? detail : JSON.stringify(detail)
      }`,
    );
    this.name = 'AdkSessionsHttpError';
  }
}

/** The server could not be reached (connection refused, DNS, reset) or did not answer in time. */
export class AdkSessionsConnectionError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(
      `adk-sessions server unreachable: ${method} ${url} failed after ${attempts} attempt${
        attempts === 1 ? '' : 's'
      }: ${describeCause(options?.cause)} (is \`adk-sessions serve\` running at that address?)`,
      options,
    );
    this.name = 'AdkSessionsConnectionError';
  }
}

/**
 * `appendEvent` with a session handle that is older than the stored session: another
 * writer appended since this handle was read. Nothing was stored and the handle is
 * unchanged; reload it with `getSession` and retry. (adk-js 2.0.0 has no such error: its
 * in-memory service never detects a stale handle, and its `DatabaseSessionService`
 * silently reloads the handle. adk-python raises a `ValueError`.)
 */
export class StaleSessionError extends Error {
  constructor(
    readonly appName: string,
    readonly userId: string,
    readonly sessionId: string,
    /** The handle's `lastUpdateTime`, milliseconds. */
    readonly handleLastUpdateTime: number,
    /** The server's explanation (it names the stored update time, in seconds). */
    readonly detail: string,
  ) {
    super(
      `Session ${sessionId} (app ${appName}, user ${userId}) was modified in storage since this ` +
        `handle was read (handle lastUpdateTime ${handleLastUpdateTime} ms); the event was not ` +
        `appended. Reload the session with getSession and retry. Server: ${detail}`,
    );
    this.name = 'StaleSessionError';
  }
}

/**
 * `appendEvent` on a session that does not exist (any more). The message is the one adk-js's
 * `DatabaseSessionService` throws (its in-memory service only logs a warning).
 */
export class SessionNotFoundError extends Error {
  constructor(readonly sessionId: string) {
    super(`Session ${sessionId} not found for appendEvent`);
    this.name = 'SessionNotFoundError';
  }
}

/**
 * `createSession` with an id that is taken. The message is the one adk-js's
 * `DatabaseSessionService` throws (its in-memory service silently replaces the session).
 */
export class SessionAlreadyExistsError extends Error {
  constructor(readonly sessionId: string) {
    super(`Session with id ${sessionId} already exists.`);
    this.name = 'SessionAlreadyExistsError';
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') {
      return `no answer in time (${cause.message})`;
    }
    const inner = (cause as { cause?: unknown }).cause;
    if (inner instanceof Error && inner.message) {
      return `${cause.message}: ${inner.message}`;
    }
    return cause.message;
  }
  return String(cause);
}

// ---------------------------------------------------------------------------------------
// Time conversion: adk-js milliseconds <-> server seconds, exact to the microsecond
// ---------------------------------------------------------------------------------------

/** Whole epoch microseconds of a float epoch-seconds value (as the server reads it). */
export function secondsToMicros(seconds: number): number {
  const whole = Math.trunc(seconds);
  return whole * 1_000_000 + Math.round((seconds - whole) * 1_000_000);
}

/** Whole epoch microseconds of an epoch-milliseconds value. */
export function millisToMicros(ms: number): number {
  const whole = Math.trunc(ms);
  return whole * 1000 + Math.round((ms - whole) * 1000);
}

/** Float epoch seconds of whole microseconds (the same double the server writes). */
export function microsToSeconds(micros: number): number {
  const whole = Math.floor(micros / 1_000_000);
  return whole + (micros - whole * 1_000_000) / 1_000_000;
}

/** Epoch milliseconds of whole microseconds (an integer when the time is whole ms). */
export function microsToMillis(micros: number): number {
  const whole = Math.floor(micros / 1000);
  return whole + (micros - whole * 1000) / 1000;
}

/** Server seconds -> adk-js milliseconds. */
export function secondsToMillis(seconds: number): number {
  return microsToMillis(secondsToMicros(seconds));
}

/** adk-js milliseconds -> server seconds. */
export function millisToSeconds(ms: number): number {
  return microsToSeconds(millisToMicros(ms));
}

/** adk-js milliseconds as an exact decimal seconds string (for query parameters). */
function millisToSecondsText(ms: number): string {
  const micros = millisToMicros(ms);
  const whole = Math.floor(micros / 1_000_000);
  const frac = micros - whole * 1_000_000;
  return `${whole}.${String(frac).padStart(6, '0')}`;
}

// ---------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------

interface WireSession {
  id: string;
  appName: string;
  userId: string;
  state?: Record<string, unknown>;
  events?: Record<string, unknown>[];
  lastUpdateTime: number;
}

function withoutTempKeys(state: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    if (!k.startsWith(TEMP_PREFIX)) {
      out[k] = v;
    }
  }
  return out;
}

/** An adk-js event as the server takes it: camelCase, seconds, no `temp:` state. */
function eventToWire(event: Event): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (v !== undefined) {
      wire[k] = v;
    }
  }
  wire.timestamp = millisToSeconds(event.timestamp);
  if (event.actions?.stateDelta) {
    wire.actions = {...event.actions, stateDelta: withoutTempKeys(event.actions.stateDelta)};
  }
  return wire;
}

/** A server event as adk-js holds it: milliseconds, made by adk-js's `createEvent`. */
function eventFromWire(wire: Record<string, unknown>): Event {
  const {timestamp, nodeInfo, ...rest} = wire;
  const event = createEvent(rest as Parameters<typeof createEvent>[0]);
  event.timestamp = secondsToMillis(timestamp as number);
  // The server (like adk-python) writes `nodeInfo: {path: ""}` for an event without node
  // info; adk-js leaves the field out, and reads an empty path as "none" either way.
  if (nodeInfo !== undefined && !isEmptyNodeInfo(nodeInfo)) {
    event.nodeInfo = nodeInfo as Event['nodeInfo'];
  }
  return event;
}

function isEmptyNodeInfo(v: unknown): boolean {
  if (v === null) {
    return true;
  }
  if (typeof v !== 'object') {
    return false;
  }
  const keys = Object.keys(v as object);
  return keys.length === 0 || (keys.length === 1 && (v as {path?: unknown}).path === '');
}

function sessionFromWire(wire: WireSession): Session {
  return {
    id: wire.id,
    appName: wire.appName,
    userId: wire.userId,
    state: wire.state ?? {},
    events: (wire.events ?? []).map(eventFromWire),
    lastUpdateTime: secondsToMillis(wire.lastUpdateTime),
  };
}

// ---------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
  url: string;
}

const RETRIED_STATUSES = new Set([502, 503, 504]);
const LIST_PAGE_SIZE = 500;

/**
 * adk-js `BaseSessionService` backed by an `adk-sessions serve` server.
 *
 * Behaves like adk-js's `InMemorySessionService` for what a caller sees (returned
 * sessions, `temp:` keys, `app:`/`user:` scopes, the handle after `appendEvent`, partial
 * events, filters, list paging), but durable and shared, and with a real stale check: an
 * append through an outdated handle throws {@link StaleSessionError} instead of
 * overwriting another writer's work.
 */
export class RemoteSessionService extends BaseSessionService {
  readonly baseUrl: string;
  private readonly token?: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RemoteSessionServiceOptions) {
    super();
    if (!options || typeof options.baseUrl !== 'string' || !options.baseUrl) {
      throw new TypeError('RemoteSessionService needs {baseUrl}, e.g. http://127.0.0.1:8000');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const envToken =
      typeof process !== 'undefined' ? process.env?.ADK_SESSIONS_TOKEN : undefined;
    this.token = options.token ?? (envToken || undefined);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 2));
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') {
      throw new TypeError('RemoteSessionService needs a global fetch (Node 18+) or {fetch}');
    }
    this.fetchImpl = f;
  }

  // --- BaseSessionService --------------------------------------------------------------

  override async createSession({
    appName,
    userId,
    state,
    sessionId,
  }: CreateSessionRequest): Promise<Session> {
    const body: Record<string, unknown> = {};
    if (sessionId) {
      body.sessionId = sessionId;
    }
    if (state) {
      body.state = withoutTempKeys(state);
    }
    const answer = await this.send('POST', this.sessionsPath(appName, userId), {body});
    if (answer.status === 409 && sessionId) {
      throw new SessionAlreadyExistsError(sessionId);
    }
    this.expectOk('POST', answer);
    return sessionFromWire(answer.body as WireSession);
  }

  override async getSession({
    appName,
    userId,
    sessionId,
    config,
  }: GetSessionRequest): Promise<Session | undefined> {
    const query: Record<string, string> = {};
    // As adk-js's in-memory service: a falsy filter value means "no filter".
    if (config?.numRecentEvents && config.numRecentEvents > 0) {
      query.numRecentEvents = String(Math.floor(config.numRecentEvents));
    }
    if (config?.afterTimestamp) {
      query.afterTimestamp = millisToSecondsText(config.afterTimestamp);
    }
    const answer = await this.send('GET', this.sessionPath(appName, userId, sessionId), {query});
    if (answer.status === 404) {
      return undefined;
    }
    this.expectOk('GET', answer);
    return sessionFromWire(answer.body as WireSession);
  }

  /**
   * Sessions without events or state (as adk-js's in-memory service and the
   * `ListSessionsResponse` contract say), paged and ordered as the in-memory service does
   * (`order` sorts by `lastUpdateTime`, then id; without it, the server's order: oldest
   * update first). Every user's sessions when `userId` is omitted.
   */
  override async listSessions({
    appName,
    userId,
    limit,
    offset,
    page,
    order,
  }: ListSessionsRequest): Promise<ListSessionsResponse> {
    const all: Session[] = [];
    const path =
      userId === undefined
        ? `/apps/${seg(appName)}/sessions`
        : this.sessionsPath(appName, userId);
    let pageToken: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const query: Record<string, string> = {pageSize: String(LIST_PAGE_SIZE)};
      if (pageToken) {
        query.pageToken = pageToken;
      }
      const answer = await this.send('GET', path, {query});
      this.expectOk('GET', answer);
      for (const s of answer.body as WireSession[]) {
        all.push({
          id: s.id,
          appName: s.appName,
          userId: s.userId,
          state: {},
          events: [],
          lastUpdateTime: secondsToMillis(s.lastUpdateTime),
        });
      }
      const next = answer.headers.get('x-next-page-token') ?? undefined;
      if (!next || seen.has(next)) {
        break;
      }
      seen.add(next);
      pageToken = next;
    }
    if (order === 'asc') {
      all.sort((a, b) => a.lastUpdateTime - b.lastUpdateTime || a.id.localeCompare(b.id));
    } else if (order === 'desc') {
      all.sort((a, b) => b.lastUpdateTime - a.lastUpdateTime || a.id.localeCompare(b.id));
    }
    return paginate(all, limit, offset, page);
  }

  override async deleteSession({appName, userId, sessionId}: DeleteSessionRequest): Promise<void> {
    const answer = await this.send('DELETE', this.sessionPath(appName, userId, sessionId));
    this.expectOk('DELETE', answer);
  }

  /**
   * Appends `event` to the stored session, checking that `session` (the handle) is current:
   * the server compares the handle's `lastUpdateTime` with its own, to the microsecond, and
   * refuses with {@link StaleSessionError} when another writer got there first (nothing is
   * stored, the handle is unchanged).
   *
   * On success the handle holds what adk-js's in-memory service leaves in it: the event
   * appended (`temp:` keys removed from its `stateDelta`, in place), the non-`temp:` delta
   * applied to `session.state`, and `lastUpdateTime` set to the stored session's update
   * time (the event's timestamp, unless that would move the session's time backwards:
   * then one microsecond past the previous update). A partial event is returned untouched
   * and neither stored nor applied.
   */
  override async appendEvent({session, event}: AppendEventRequest): Promise<Event> {
    if (event.partial) {
      return event;
    }
    const {appName, userId, id: sessionId} = session;
    const path = `${this.sessionPath(appName, userId, sessionId)}/events`;
    const answer = await this.send('POST', path, {
      body: eventToWire(event),
      query: {expectedLastUpdateTime: millisToSecondsText(session.lastUpdateTime)},
    });
    if (answer.status === 404) {
      throw new SessionNotFoundError(sessionId);
    }
    if (answer.status === 409) {
      const detail = detailOf(answer.body);
      // Every stale append answers "stale session …: stored revision …" (servers before
      // this change also answered "Session was updated at …" when they caught it early).
      if (typeof detail === 'string' && /^(Session was updated at|stale session)/.test(detail)) {
        throw new StaleSessionError(appName, userId, sessionId, session.lastUpdateTime, detail);
      }
    }
    this.expectOk('POST', answer);
    const stored = answer.body as {event: Record<string, unknown>; lastUpdateTime: number};
    if (!event.id) {
      event.id = stored.event.id as string;
    }
    if (typeof stored.event.timestamp === 'number') {
      // Microsecond precision, as stored (an integer-millisecond time is unchanged).
      event.timestamp = secondsToMillis(stored.event.timestamp);
    }
    await super.appendEvent({session, event});
    session.lastUpdateTime = secondsToMillis(stored.lastUpdateTime);
    return event;
  }

  // --- Extras of the server ------------------------------------------------------------

  /** The user-scoped state (keys without the `user:` prefix). */
  async getUserState(appName: string, userId: string): Promise<Record<string, unknown>> {
    const answer = await this.send('GET', `/apps/${seg(appName)}/users/${seg(userId)}/state`);
    this.expectOk('GET', answer);
    return answer.body as Record<string, unknown>;
  }

  /** The app-scoped state (keys without the `app:` prefix). */
  async getAppState(appName: string): Promise<Record<string, unknown>> {
    const answer = await this.send('GET', `/apps/${seg(appName)}/state`);
    this.expectOk('GET', answer);
    return answer.body as Record<string, unknown>;
  }

  // --- HTTP ----------------------------------------------------------------------------

  private sessionsPath(appName: string, userId: string): string {
    return `/apps/${seg(appName)}/users/${seg(userId)}/sessions`;
  }

  private sessionPath(appName: string, userId: string, sessionId: string): string {
    return `${this.sessionsPath(appName, userId)}/${seg(sessionId)}`;
  }

  private expectOk(method: string, answer: Answer): void {
    if (answer.status < 200 || answer.status >= 300) {
      throw new AdkSessionsHttpError(method, answer.url, answer.status, detailOf(answer.body));
    }
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: {query?: Record<string, string>; body?: unknown} = {},
  ): Promise<Answer> {
    let url = this.baseUrl + path;
    const qs = new URLSearchParams(opts.query ?? {}).toString();
    if (qs) {
      url += `?${qs}`;
    }
    const headers: Record<string, string> = {accept: 'application/json'};
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    if (this.token) {
      headers.authorization = `Bearer ${this.token}`;
    }
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const attempts = method === 'GET' ? 1 + this.retries : 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        await sleep(Math.min(2000, 100 * 2 ** (attempt - 2)));
      }
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body,
          signal: this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined,
        });
      } catch (e) {
        lastError = e;
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (e) {
        lastError = e;
        continue;
      }
      if (RETRIED_STATUSES.has(response.status) && attempt < attempts) {
        continue;
      }
      let parsed: unknown = text;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON (a proxy's error page): keep the text for the error message.
        }
      }
      return {status: response.status, body: parsed, headers: response.headers, url};
    }
    throw new AdkSessionsConnectionError(method, url, attempts, {cause: lastError});
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function detailOf(body: unknown): unknown {
  if (body && typeof body === 'object' && 'detail' in body) {
    return (body as {detail: unknown}).detail;
  }
  return body;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** adk-js's in-memory `listSessions` paging, verbatim in behaviour. */
function paginate(
  all: Session[],
  limit: number | undefined,
  offset: number | undefined,
  page: number | undefined,
): ListSessionsResponse {
  if (limit === undefined) {
    const totalItems = all.length;
    return {
      sessions: offset ? all.slice(offset) : all,
      page: 1,
      limit: totalItems,
      totalItems,
      totalPages: totalItems === 0 ? 0 : 1,
    };
  }
  const totalItems = all.length;
  const totalPages = limit === 0 ? 0 : Math.ceil(totalItems / limit);
  let effectiveOffset: number;
  let effectivePage: number;
  if (page !== undefined) {
    effectiveOffset = (page - 1) * limit;
    effectivePage = page;
  } else {
    effectiveOffset = offset ?? 0;
    effectivePage = limit === 0 ? 1 : Math.floor(effectiveOffset / limit) + 1;
  }
  return {
    sessions: all.slice(effectiveOffset, effectiveOffset + limit),
    page: effectivePage,
    limit,
    totalItems,
    totalPages,
  };
}
