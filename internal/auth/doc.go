// Package auth verifies the JWTs that viewers present with the auth op and
// turns them into an Identity: the platform's user id, a display name, a
// role and an optional list of rooms.
//
// The operator's own login service mints the tokens, signed with an HMAC
// secret (HS256) or a private key (RS256, EdDSA, ES256); danmaku holds
// only the secret or the public key (Config). Verify requires exp, honours
// nbf and iat, and accepts only the algorithms of the configured keys, so
// that neither "none" nor a token signed with the public key used as an
// HMAC secret gets through.
//
// The platform's user id never reaches other viewers. PublicID maps it to
// a keyed, stable, non-reversible id ("u_…"), and GuestID gives anonymous
// connections a random one ("g_…").
//
// The package has no HTTP or bus code; the gateway calls Verify on the auth
// op and maps the errors to the protocol's unauthorized code and close
// code 4501.
package auth
