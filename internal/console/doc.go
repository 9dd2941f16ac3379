// Package console is the operator's and moderator's web console, served by
// the binary at /admin/ from embedded files: plain ES modules, no build
// step. It signs in with an API key or an admin or moderator JWT, which it
// keeps in a JavaScript variable only (no cookie, no storage) and sends as
// the Authorization header of every call to the same HTTP API services
// use, so every action is authorized and audited there (internal/logic).
//
// Screens: the overview of the nodes (GET /v1/nodes), the rooms
// (GET /v1/rooms), one room (its live feed over the node's WebSocket
// endpoint, with the browser client of web/, its settings, mutes, bans and
// history), and the keyword filter.
//
// The handler adds a strict Content-Security-Policy (no inline script,
// connections only to the console's own origin and the live feed's),
// refuses framing, sends no referrer and keeps the page out of caches.
// Text from messages is put into the page as text, never as HTML.
package console
