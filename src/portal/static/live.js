// Live events over socket.io, with catch-up: each subscription keeps the last `seq` it saw and,
// after a reconnect, subscribes again with `since` so the server replays what was missed before
// the live events, in order. When socket.io is unavailable (the client script does not load, the
// server refuses, the connection drops) `status` says so and the views poll the REST API.

const CLIENT_URL = '/socket.io/socket.io.min.js';
const SEEN_MEMORY = 10_000;
const ACK_TIMEOUT_MS = 10_000;

let clientLoad = null;

/** Loads the socket.io browser client served by the service; resolves to `io` or null. */
export function loadClient() {
  if (window.io) return Promise.resolve(window.io);
  clientLoad ??= new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = CLIENT_URL;
    script.async = true;
    const timer = setTimeout(() => resolve(null), 8000);
    script.onload = () => {
      clearTimeout(timer);
      resolve(window.io ?? null);
    };
    script.onerror = () => {
      clearTimeout(timer);
      resolve(null);
    };
    document.head.append(script);
  }).then((io) => {
    if (!io) clientLoad = null; // try again next time
    return io;
  });
  return clientLoad;
}

const KINDS = ['job', 'deployment', 'group', 'cluster', 'all'];
const keyOf = (target) => {
  const kind = KINDS.find((k) => target[k] !== undefined);
  return kind === 'all' ? 'all' : `${kind}:${target[kind]}`;
};

/**
 * One socket.io connection and its subscriptions.
 * status: 'connecting' | 'live' | 'offline' | 'unavailable' | 'unauthorized' | 'closed'
 */
export class LiveChannel {
  constructor({ token, onEvent = () => {}, onNotification = () => {}, onStatus = () => {}, onCaughtUp = () => {} }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onNotification = onNotification;
    this.onStatus = onStatus;
    this.onCaughtUp = onCaughtUp;
    this.subscriptions = new Map();
    this.seen = new Set();
    this.socket = null;
    this.status = 'connecting';
    this.error = null;
    this.closed = false;
  }

  async start() {
    const io = await loadClient();
    if (this.closed) return;
    if (!io) return this.setStatus('unavailable', 'the socket.io client could not be loaded');
    // A connection of its own (forceNew): the server drops events it already sent on a
    // connection, so a page that replays a job from its start must not share one.
    this.socket = io({ auth: { token: this.token }, forceNew: true, reconnectionDelayMax: 5000 });
    this.socket.on('connect', () => this.resubscribeAll());
    this.socket.on('disconnect', (reason) => {
      if (this.closed) return;
      this.setStatus('offline', `disconnected (${reason})`);
      // The server closed the connection: socket.io does not retry that by itself.
      if (reason === 'io server disconnect') setTimeout(() => !this.closed && this.socket.connect(), 1000);
    });
    this.socket.on('connect_error', (error) => {
      if (/unauthorized/i.test(error?.message ?? '')) {
        this.setStatus('unauthorized', error.message);
        this.socket.disconnect();
      } else {
        this.setStatus('offline', error?.message ?? 'cannot connect');
      }
    });
    this.socket.on('deploy_event', (event) => this.receive(event));
    this.socket.on('notification', (notification) => this.onNotification(notification));
  }

  /**
   * target: { job: id } | { deployment: id } | { group: id } | { cluster: id } | { all: true }.
   * since: replay from this seq on the first subscribe (0: the whole stored history).
   */
  subscribe(target, { since } = {}) {
    const key = keyOf(target);
    if (this.subscriptions.has(key)) return;
    const subscription = { key, target, lastSeq: since ?? null, id: target.all ? null : Object.values(target)[0], ok: false };
    this.subscriptions.set(key, subscription);
    if (this.socket?.connected) this.send(subscription);
  }

  unsubscribe(target) {
    const key = keyOf(target);
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    this.subscriptions.delete(key);
    if (this.socket?.connected) this.socket.emit('unsubscribe', subscription.target);
  }

  close() {
    this.closed = true;
    this.subscriptions.clear();
    this.socket?.disconnect();
    this.socket?.removeAllListeners?.();
    this.setStatus('closed');
  }

  get live() {
    return this.status === 'live';
  }

  lastSeq(target) {
    return this.subscriptions.get(keyOf(target))?.lastSeq ?? null;
  }

  resubscribeAll() {
    if (this.subscriptions.size === 0) return this.setStatus('live');
    this.setStatus('connecting', 'subscribing');
    for (const subscription of this.subscriptions.values()) {
      subscription.ok = false;
      this.send(subscription);
    }
  }

  send(subscription) {
    const payload = { ...subscription.target };
    if (subscription.lastSeq !== null) payload.since = subscription.lastSeq;
    this.socket.timeout(ACK_TIMEOUT_MS).emit('subscribe', payload, (timeout, answer) => {
      if (this.closed || this.subscriptions.get(subscription.key) !== subscription) return;
      if (timeout || !answer?.ok) {
        subscription.ok = false;
        this.setStatus('offline', timeout ? 'the server did not answer subscribe' : (answer?.error ?? 'subscribe refused'));
        return;
      }
      if (answer.id) subscription.id = answer.id;
      // The replay stopped at the server's page limit (`more`): ask for the rest, from the last
      // seq it replayed (events it left out as already sent do not reach receive()).
      if (answer.more) {
        if (typeof answer.last_seq === 'number' && (subscription.lastSeq === null || answer.last_seq > subscription.lastSeq)) subscription.lastSeq = answer.last_seq;
        return this.send(subscription);
      }
      subscription.ok = true;
      if ([...this.subscriptions.values()].every((s) => s.ok)) {
        this.setStatus('live');
        this.onCaughtUp();
      }
    });
  }

  receive(event) {
    if (!event || typeof event.seq !== 'number') return;
    for (const subscription of this.subscriptions.values()) {
      if (this.matches(subscription, event) && (subscription.lastSeq === null || event.seq > subscription.lastSeq))
        subscription.lastSeq = event.seq;
    }
    if (this.seen.has(event.seq)) return;
    this.seen.add(event.seq);
    if (this.seen.size > SEEN_MEMORY) this.seen.delete(this.seen.values().next().value);
    this.onEvent(event);
  }

  matches(subscription, event) {
    const t = subscription.target;
    if (t.all) return true;
    if (t.job !== undefined) return event.job_id === subscription.id;
    if (t.deployment !== undefined) return event.deployment_id === subscription.id;
    if (t.group !== undefined) return event.group_id === subscription.id;
    if (t.cluster !== undefined) return event.cluster_id === subscription.id;
    return false;
  }

  setStatus(status, error = null) {
    if (this.status === status && this.error === error) return;
    this.status = status;
    this.error = error;
    this.onStatus(status, error);
  }
}
