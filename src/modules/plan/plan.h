// The action-plan module (PAMGA): plans, axes, commitments, the matrix of actions, progress
// reports with evidence and their validation, traffic lights, the four cross-cutting
// indicators and the public dashboard with its exports and API.
//
// All of its SQL lives in plan_model.cc; its actions (the only way to read or change it) are
// declared in Register(). Thread-safety: stateless functions over the caller's connection.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "abierto/registry.h"

namespace abierto::plan {

// Declares the module's migrations, actions, routes and demo content.
void Register(Registry& registry);

// Internal pieces shared by the module's files.
void RegisterActions(Registry& registry);
void RegisterViews(Registry& registry);
void RegisterDemo(Registry& registry);

// The whole plan (axes, commitments, matrix rows, validated progress, traffic lights,
// indicators) as the JSON the dashboard, the API and the exports all read. `key` is the numeric
// id or the slug. NotFound when there is no such plan.
Result<boost::json::object> LoadPlan(db::Connection& db, std::string_view key,
                                     std::string_view today);

}  // namespace abierto::plan
