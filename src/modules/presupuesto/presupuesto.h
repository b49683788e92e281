// The participatory-budget module (Presupuesto Participativo): yearly processes with phases,
// zones (delegaciones, rural zones, colonias) with their budgets and voting rules, categories,
// proposals registered by residents, the staff's feasibility review, one ballot per resident
// per process (online or captured at a booth), the count (greedy or Method of Equal Shares, by
// the engine in counting.h), anonymized ballots as Pabulib files, and the follow-up of the
// winners' execution.
//
// All of its SQL lives in pp_model.cc; every read and write is an action declared there, and
// pages (pp_views.cc) and the JSON API only call actions through the dispatcher.
//
// Voter privacy: who voted (a keyed hash of the CURP or elector key, and of the account) is
// kept in pp_voters, apart from the ballot box (pp_ballots), which holds no identity, no
// account and no time finer than the day. Ballots are never written to the audit log, which is
// public history.
//
// Thread-safety: stateless functions over the caller's connection.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "abierto/registry.h"
#include "modules/presupuesto/pabulib.h"

namespace abierto::presupuesto {

// Declares the module's migrations, actions, routes and demo content.
void Register(Registry& registry);

// Internal pieces shared by the module's files.
void RegisterActions(Registry& registry);
void RegisterViews(Registry& registry);
void RegisterDemo(Registry& registry);

// Phase of a process on `today` ("proximamente", "registro", "revision", "votacion",
// "resultados", "ejecucion") from its dates.
std::string PhaseOn(std::string_view today, std::string_view proposals_from,
                    std::string_view proposals_to, std::string_view voting_from,
                    std::string_view voting_to, std::string_view execution_from);

// Identity documents a voter may show. True when `id` (already upper-cased) has the shape of a
// CURP (18 characters: 4 letters, birth date, sex, state, 3 consonants, check characters) or of
// an INE elector key (18 letters and digits).
bool IsCurp(std::string_view id);
bool IsElectorKey(std::string_view id);

// The keyed hash (HMAC-SHA-256, hex) that stands for a voter identifier in pp_voters. The key
// comes from ABIERTO_VOTER_KEY (64 hex digits) when set, otherwise from pp_secret, created once.
Result<std::string> VoterHash(db::Connection& db, std::string_view kind, std::string_view id);

// The Pabulib instance of the ballots of one zone of a process: viable projects with their
// official cost, ballots in an order that reveals nothing (sorted by their receipt hash) and
// numbered 1..n. NotFound when the zone is not in the process.
Result<PbInstance> ZoneInstance(db::Connection& db, int64_t process_id, int64_t zone_id);

}  // namespace abierto::presupuesto
