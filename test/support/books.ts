// Books the API tests share: small, and runnable on any machine.

/** A `web` book that does nothing, any number of times at once (`unique: none`). */
export const PING_BOOK = `name: web.ping
kind: web
action: ping
unique: none
steps:
  - { name: ping, kind: shell, run: "true" }
`;
