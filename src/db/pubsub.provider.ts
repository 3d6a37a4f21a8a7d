export const PUBSUB = Symbol('PUBSUB');
