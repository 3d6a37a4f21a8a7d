// Books the API tests share: small, and runnable on any machine.

/** A `web` book that does nothing, any number of times at once (`unique: none`). */
export const PING_BOOK = `name: web.ping
kind: web
action: ping
unique: none
steps:
  - { name: ping, kind: shell, run: "true" }
`;

/**
 * Two clusters for the scope tests: `main` with app-main, and `other` (the one scoped tokens
 * are limited to) with app-other and the extra `web` deployments named.
 */
export function mainAndOtherInventory(extraInOther: string[] = []): string {
  return `clusters:
  - name: main
    groups:
      - name: g-main
        deployments:
          - { name: app-main, kind: web }
  - name: other
    groups:
      - name: g-other
        deployments:
          - { name: app-other, kind: web }
${extraInOther.map((name) => `          - { name: ${name}, kind: web }\n`).join('')}`;
}
