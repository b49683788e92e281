// Accounts: users with roles, browser sessions, API tokens and login throttling.
//
// Passwords are hashed with argon2id (libsodium crypto_pwhash_str_alg). Session and API tokens
// are 256-bit random values; only their BLAKE2b hash is stored, so a copy of the database does
// not let anyone log in. Each session carries its own CSRF token. Failed logins are recorded
// per e-mail and per client address and throttled (5 per e-mail or 20 per address in 15
// minutes).
//
// The account actions (users.create, session.login, session.logout, tokens.create,
// units.create, units.update, units.list) are registered by RegisterAccounts(); these functions
// are for the web layer, which resolves who is calling before it dispatches.
// Thread-safety: free functions; each call uses the caller's connection.
#pragma once

#include <string>

#include "abierto/db.h"
#include "abierto/registry.h"

namespace abierto::accounts {

inline constexpr char kSessionCookie[] = "abierto_sesion";
inline constexpr int kSessionDays = 14;

// Initializes libsodium; call once at start-up. False if it cannot.
bool InitCrypto();

// A random URL-safe token of 32 bytes (43 characters).
std::string RandomToken();
// Hex BLAKE2b-256 of a token, as stored.
std::string HashToken(std::string_view token);
// Constant-time equality.
bool SafeEquals(std::string_view a, std::string_view b);

// argon2id hash in libsodium's string format; Internal on out-of-memory.
Result<std::string> HashPassword(std::string_view password);
bool VerifyPassword(std::string_view hash, std::string_view password);

// The principal of a live session token, with its CSRF token; NotFound if unknown or expired.
struct SessionInfo {
  Principal who;
  std::string csrf;
};
Result<SessionInfo> LookupSession(db::Connection& db, std::string_view token, std::string_view now);
// The principal of an API token ("Authorization: Bearer ..."); Unauthenticated if unknown.
Result<Principal> LookupApiToken(db::Connection& db, std::string_view token);

void RegisterAccounts(Registry& registry);

}  // namespace abierto::accounts
