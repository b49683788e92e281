// Tracking: the pure computation behind the public dashboard of the action plan (PAMGA).
//
// The plan's matrix (Objetivo – Acción – Responsable – Meta – Indicador – Verificación) comes in as
// plain structs: axes group commitments, commitments hold actions, and each action carries its
// indicator's baseline and target and its validated progress reports. ComputeTracking() turns that
// into what the dashboard draws: the validated and expected progress and the traffic light
// (semáforo) of every action, commitment, axis and of the plan, the distribution of commitments by
// state, a per-commitment timeline of expected against validated progress, and the four
// cross-cutting indicators (participación, transparencia, ambición, sostenibilidad). Nothing here
// touches the database, the clock or the network: "today" is an argument, so the same input always
// gives the same dashboard and the page, the exports and the tests agree.
//
// THE TRAFFIC-LIGHT RULE (TrafficLightRuleText() gives it in Spanish for the page):
//   - expected(today) for an action = 0 before its start date, 100 on or after its due date, else
//     linear: days elapsed since start / days from start to due * 100.
//   - progress p of an action = the latest validated report's value mapped to 0-100:
//     (value - baseline) / (target - baseline) * 100, clamped to [0, 100]; if target == baseline,
//     100 when value >= target else 0; no validated report -> 0. A decreasing indicator
//     (target < baseline) works the same way: from 30 days down to 10, a value of 20 is 50.
//   - state from validated progress p and expected e: cumplido if p >= 100; sin_iniciar if p == 0
//     and e == 0 (its schedule has not started); otherwise gap g = e - p: en_tiempo if
//     g <= delay_points; con_retraso if g <= critical_points; critico otherwise.
//   - roll-up (weighted): a commitment's p and e are the weight-averaged p and e of its actions (a
//     commitment with no actions: p = 0, e from its own start/end dates); an axis is the weighted
//     average of its commitments (commitment weight); the plan is the weighted average of all its
//     commitments. Each level's state applies the same rule to its rolled-up p and e.
// Every p and e is reported rounded to one decimal, and the state is decided on those rounded
// values (compared in exact tenths of a point), so the numbers a resident reads are the numbers
// that decided the colour. Roll-ups average the unrounded values of the level below, so rounding
// does not accumulate.
//
// Thread-safety: free functions over values; no shared state. Safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "abierto/status.h"

namespace abierto::plan {

// ---------------------------------------------------------------------------------------------
// Dates. The matrix stores ISO dates; the arithmetic needs day counts.

// Days since 1970-01-01 of a proleptic-Gregorian "YYYY-MM-DD" (exactly 10 characters, a real
// calendar day, years 0001-9999). InvalidArgument otherwise.
Result<int64_t> ParseIsoDay(std::string_view iso);
// The inverse of ParseIsoDay: "YYYY-MM-DD".
std::string FormatIsoDay(int64_t day);

// ---------------------------------------------------------------------------------------------
// States.

enum class State { kSinIniciar, kEnTiempo, kConRetraso, kCritico, kCumplido };
inline constexpr int kStateCount = 5;
// All states in the order the dashboard lists them (also the index order of Distribution).
inline constexpr std::array<State, kStateCount> kAllStates = {
    State::kSinIniciar, State::kEnTiempo, State::kConRetraso, State::kCritico, State::kCumplido};

// Stable machine key: "sin_iniciar", "en_tiempo", "con_retraso", "critico", "cumplido".
std::string_view StateKey(State state);
// Label for people: "Sin iniciar", "En tiempo", "Con retraso", "Crítico", "Cumplido"; with
// lang "en" (or "en-*"): "Not started", "On track", "Delayed", "Critical", "Completed". Any
// other lang is Spanish, the platform's first language; the same holds for every `lang` below.
std::string_view StateLabel(State state, std::string_view lang = "es");
// Background colour "#RRGGBB" of the state's badge. Every colour keeps a contrast ratio of at
// least 4.5:1 (WCAG 2.1 AA, normal text) against StateTextColor(), which is white; the state is
// never conveyed by colour alone, the label goes with it.
std::string_view StateColor(State state);
std::string_view StateTextColor(State state);

// Gaps, in percentage points, between expected and validated progress at which a state turns
// from en_tiempo to con_retraso and from con_retraso to critico. Used in tenths of a point.
struct Thresholds {
  double delay_points = 10;
  double critical_points = 25;
};

// The expected progress (0-100) on `today` of a schedule running from `start` to `due` (day
// counts from ParseIsoDay), by the rule in the file comment. Unrounded.
double ExpectedProgress(int64_t today, int64_t start, int64_t due);
// The validated progress (0-100) that `value` represents between `baseline` and `target`, by the
// rule in the file comment. Unrounded.
double ProgressFromValue(double value, double baseline, double target);
// The state for progress p and expected e (both rounded to one decimal first).
State Classify(double progress, double expected, const Thresholds& thresholds);
// The rule in plain words with the thresholds filled in, for the dashboard. Spanish unless
// lang is "en".
std::string TrafficLightRuleText(const Thresholds& thresholds, std::string_view lang = "es");

// ---------------------------------------------------------------------------------------------
// Cross-cutting indicators.

enum class Indicator { kParticipacion, kTransparencia, kAmbicion, kSostenibilidad };

// OGP potential-impact scale, rated by the Secretariado Técnico.
enum class Ambition { kUnrated, kNone, kMinor, kModerate, kTransformative };

// What full participation means for this plan (a commitment reaching both gets 100).
struct ParticipationTargets {
  int64_t target_citizens = 30;
  int64_t target_organizations = 3;
};

// "Participación", "Transparencia", "Ambición", "Sostenibilidad" (or English).
std::string_view IndicatorName(Indicator indicator, std::string_view lang = "es");
// The formula the page prints under each indicator, with the plan's targets filled in.
std::string IndicatorFormula(Indicator indicator, const ParticipationTargets& targets,
                             std::string_view lang = "es");

// Values 0-100, rounded to one decimal.
//   participacion  = 50 * min(1, citizens / target_citizens)
//                  + 50 * min(1, organizations / target_organizations)
//   transparencia  = 100 * actions with a validated report with public evidence / actions
//                    (0 without actions); for the plan, over all the plan's actions
//   ambicion       = none 0, minor 100/3 (33.3), moderate 200/3 (66.7), transformative 100;
//                    nullopt ("sin calificar") when unrated, or, for the plan, when no commitment
//                    is rated (unrated commitments are left out of the plan's average)
//   sostenibilidad = 40 if budget_assigned > 0, + 30 if institutionalized, + 30 if continuity
// The plan's participacion, ambicion and sostenibilidad are weighted averages over commitments.
struct Indicators {
  double participacion = 0;
  double transparencia = 0;
  std::optional<double> ambicion;
  double sostenibilidad = 0;
};

// ---------------------------------------------------------------------------------------------
// Input: one plan, as the caller read it from the matrix. Dates are "YYYY-MM-DD".

// One VALIDATED progress report. The caller passes only validated reports; pending or rejected
// ones must not move the dashboard.
struct ProgressReport {
  std::string date;
  double value = 0;
  bool has_evidence = false;  // it links public evidence (the matrix's "Verificación")
};

// One row of the matrix.
struct ActionInput {
  int64_t id = 0;
  double weight = 1;       // > 0
  std::string start_date;  // empty: the commitment's start date
  std::string due_date;    // empty: the commitment's end date; must not precede start
  double baseline = 0;     // the indicator's línea base
  double target = 100;     // the indicator's meta; may be below baseline (decreasing)
  // Validated reports in date order. The latest (by date; on the same date, the later in the
  // vector) decides the progress even when it is lower than an earlier one: a correction wins.
  std::vector<ProgressReport> reports;
};

struct CommitmentInput {
  int64_t id = 0;
  double weight = 1;  // > 0
  std::string start_date;
  std::string end_date;  // must not precede start_date
  std::vector<ActionInput> actions;
  // Participation.
  int64_t citizens_involved = 0;
  int64_t organizations_involved = 0;
  // Ambition.
  Ambition ambition = Ambition::kUnrated;
  // Sustainability.
  double budget_assigned = 0;      // MXN, >= 0
  bool institutionalized = false;  // regulation or formal institutionalization
  bool continuity = false;         // continues beyond the current administration
};

struct AxisInput {
  int64_t id = 0;
  std::vector<CommitmentInput> commitments;
};

struct PlanInput {
  Thresholds thresholds;
  ParticipationTargets participation;
  std::vector<AxisInput> axes;
};

// ---------------------------------------------------------------------------------------------
// Output. Progress and expected are 0-100, rounded to one decimal.

// How many commitments are in each state, indexed like kAllStates.
struct Distribution {
  std::array<int, kStateCount> counts{};
  int Count(State state) const { return counts[static_cast<int>(state)]; }
  int Total() const;
};

struct ActionTracking {
  int64_t id = 0;
  double progress = 0;
  double expected = 0;
  State state = State::kSinIniciar;
  bool has_evidence = false;  // at least one validated report with public evidence
};

// One point of the expected-vs-validated chart.
struct TimelinePoint {
  std::string date;
  double progress = 0;  // rolled-up validated progress as of the end of that day
  double expected = 0;  // rolled-up expected progress on that day
};

struct CommitmentTracking {
  int64_t id = 0;
  double progress = 0;
  double expected = 0;
  State state = State::kSinIniciar;
  Indicators indicators;
  std::vector<ActionTracking> actions;  // in input order
  // Ascending dates, each once: the commitment's start date, every date on which one of its
  // actions has a validated report, and today.
  std::vector<TimelinePoint> timeline;
};

struct AxisTracking {
  int64_t id = 0;
  double progress = 0;  // 0 (and sin_iniciar) for an axis without commitments
  double expected = 0;
  State state = State::kSinIniciar;
  Distribution distribution;
  std::vector<CommitmentTracking> commitments;  // in input order
};

struct PlanTracking {
  double progress = 0;
  double expected = 0;
  State state = State::kSinIniciar;
  Distribution distribution;
  Indicators indicators;
  int commitments = 0;
  int actions = 0;
  int actions_with_evidence = 0;
  std::vector<AxisTracking> axes;  // in input order
};

// Computes the dashboard of `plan` as of `today` ("YYYY-MM-DD"). Returns InvalidArgument, with
// the offending fields named (e.g. "axes[0].commitments[1].actions[2].due_date"), for a malformed
// date, a due/end date before its start, a weight <= 0, a negative count or budget, a non-finite
// number, a target of participation < 1, or thresholds that are negative or out of order.
Result<PlanTracking> ComputeTracking(const PlanInput& plan, std::string_view today);

}  // namespace abierto::plan
