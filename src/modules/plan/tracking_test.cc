#include "modules/plan/tracking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>
#include <set>
#include <string>

namespace abierto::plan {

// Failures print "critico" rather than the enum's bytes.
void PrintTo(State state, std::ostream* os) { *os << StateKey(state); }

namespace {

// ----- Builders ---------------------------------------------------------------------------------

// A ten-day schedule makes expected progress a round 10 points per day.
constexpr char kStart[] = "2025-01-01";
constexpr char kDue[] = "2025-01-11";

ActionInput Action(int64_t id, std::vector<ProgressReport> reports = {}, double weight = 1) {
  ActionInput a;
  a.id = id;
  a.weight = weight;
  a.start_date = kStart;
  a.due_date = kDue;
  a.baseline = 0;
  a.target = 100;
  a.reports = std::move(reports);
  return a;
}

CommitmentInput Commitment(int64_t id, std::vector<ActionInput> actions, double weight = 1) {
  CommitmentInput c;
  c.id = id;
  c.weight = weight;
  c.start_date = kStart;
  c.end_date = kDue;
  c.actions = std::move(actions);
  return c;
}

PlanInput Plan(std::vector<CommitmentInput> commitments) {
  PlanInput p;
  p.axes.push_back({1, std::move(commitments)});
  return p;
}

PlanTracking Compute(const PlanInput& plan, std::string_view today) {
  Result<PlanTracking> r = ComputeTracking(plan, today);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : PlanTracking{};
}

// The dashboard of a single action with validated value `value` on the 10-day schedule.
ActionTracking OneAction(double value, std::string_view today) {
  PlanTracking t =
      Compute(Plan({Commitment(1, {Action(7, {{"2025-01-02", value, false}})})}), today);
  return t.axes.at(0).commitments.at(0).actions.at(0);
}

bool HasField(const Status& s, std::string_view field) {
  for (const FieldError& f : s.fields()) {
    if (f.field == field) return true;
  }
  return false;
}

// ----- Dates ------------------------------------------------------------------------------------

TEST(TrackingDates, ParsesKnownDays) {
  EXPECT_EQ(*ParseIsoDay("1970-01-01"), 0);
  EXPECT_EQ(*ParseIsoDay("1970-01-02"), 1);
  EXPECT_EQ(*ParseIsoDay("1969-12-31"), -1);
  EXPECT_EQ(*ParseIsoDay("2025-01-01"), 20089);
  EXPECT_EQ(*ParseIsoDay("2024-03-01") - *ParseIsoDay("2024-02-28"), 2);  // leap year
  EXPECT_EQ(*ParseIsoDay("2025-03-01") - *ParseIsoDay("2025-02-28"), 1);
}

TEST(TrackingDates, RejectsMalformedDates) {
  for (const char* bad : {"", "2025-1-01", "2025/01/01", "2025-01-1", "2025-13-01", "2025-00-10",
                          "2025-01-00", "2025-01-32", "2025-02-29", "1900-02-29", "0000-01-01",
                          "2025-01-01T00:00", " 2025-01-01", "2025-0a-01", "+025-01-01"}) {
    Result<int64_t> r = ParseIsoDay(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_TRUE(ParseIsoDay("2000-02-29").ok());
  EXPECT_TRUE(ParseIsoDay("0001-01-01").ok());
  EXPECT_TRUE(ParseIsoDay("9999-12-31").ok());
}

// Cross-checks our own day arithmetic against the standard library's calendar over four
// centuries, which covers every leap-year rule.
TEST(TrackingDates, AgreesWithStdChronoAndRoundTrips) {
  using namespace std::chrono;
  const int64_t first = *ParseIsoDay("1800-01-01");
  const int64_t last = *ParseIsoDay("2201-01-01");
  for (int64_t day = first; day <= last; ++day) {
    const year_month_day ymd{sys_days{days{day}}};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    ASSERT_EQ(FormatIsoDay(day), buf);
    Result<int64_t> parsed = ParseIsoDay(buf);
    ASSERT_TRUE(parsed.ok()) << buf;
    ASSERT_EQ(*parsed, day) << buf;
  }
  EXPECT_EQ(FormatIsoDay(*ParseIsoDay("0001-01-01")), "0001-01-01");
  EXPECT_EQ(FormatIsoDay(*ParseIsoDay("9999-12-31")), "9999-12-31");
}

// ----- The rule's parts -------------------------------------------------------------------------

TEST(TrackingRule, ExpectedProgressIsLinearBetweenStartAndDue) {
  EXPECT_EQ(ExpectedProgress(-5, 0, 10), 0);  // before start
  EXPECT_EQ(ExpectedProgress(0, 0, 10), 0);   // on start: nothing elapsed
  EXPECT_EQ(ExpectedProgress(3, 0, 10), 30);
  EXPECT_EQ(ExpectedProgress(9, 0, 10), 90);
  EXPECT_EQ(ExpectedProgress(10, 0, 10), 100);   // on due
  EXPECT_EQ(ExpectedProgress(400, 0, 10), 100);  // after due
  EXPECT_EQ(ExpectedProgress(4, 4, 4), 100);     // a one-day schedule is due on its start
  EXPECT_EQ(ExpectedProgress(3, 4, 4), 0);
}

TEST(TrackingRule, ProgressMapsValueBetweenBaselineAndTarget) {
  EXPECT_DOUBLE_EQ(ProgressFromValue(50, 0, 200), 25);
  EXPECT_DOUBLE_EQ(ProgressFromValue(12, 10, 20), 20);
  EXPECT_DOUBLE_EQ(ProgressFromValue(250, 0, 200), 100);  // clamped above
  EXPECT_DOUBLE_EQ(ProgressFromValue(5, 10, 20), 0);      // clamped below
}

TEST(TrackingRule, DecreasingIndicatorCountsTheReduction) {
  // Reduce the response time from 30 days to 10.
  EXPECT_DOUBLE_EQ(ProgressFromValue(20, 30, 10), 50);
  EXPECT_DOUBLE_EQ(ProgressFromValue(30, 30, 10), 0);
  EXPECT_DOUBLE_EQ(ProgressFromValue(10, 30, 10), 100);
  EXPECT_DOUBLE_EQ(ProgressFromValue(8, 30, 10), 100);  // better than the target
  EXPECT_DOUBLE_EQ(ProgressFromValue(35, 30, 10), 0);   // worse than the baseline
}

TEST(TrackingRule, TargetEqualToBaselineIsAllOrNothing) {
  EXPECT_EQ(ProgressFromValue(5, 5, 5), 100);
  EXPECT_EQ(ProgressFromValue(6, 5, 5), 100);
  EXPECT_EQ(ProgressFromValue(4.9, 5, 5), 0);
}

TEST(TrackingRule, RuleTextNamesTheThresholds) {
  const std::string es = TrafficLightRuleText({10, 25});
  EXPECT_NE(es.find("hasta 10 puntos"), std::string::npos) << es;
  EXPECT_NE(es.find("hasta 25 puntos"), std::string::npos) << es;
  EXPECT_NE(es.find("Crítico"), std::string::npos);
  const std::string custom = TrafficLightRuleText({7.5, 20});
  EXPECT_NE(custom.find("hasta 7.5 puntos"), std::string::npos) << custom;
  const std::string en = TrafficLightRuleText({10, 25}, "en");
  EXPECT_NE(en.find("at most 10 points"), std::string::npos) << en;
  EXPECT_NE(en.find("Critical"), std::string::npos);
}

// ----- States -----------------------------------------------------------------------------------

TEST(TrackingState, GapBoundariesAreInclusive) {
  const Thresholds t;                                    // 10 and 25
  EXPECT_EQ(Classify(40, 50, t), State::kEnTiempo);      // gap exactly 10
  EXPECT_EQ(Classify(39.9, 50, t), State::kConRetraso);  // 10.1
  EXPECT_EQ(Classify(25, 50, t), State::kConRetraso);    // exactly 25
  EXPECT_EQ(Classify(24.9, 50, t), State::kCritico);     // 25.1
  EXPECT_EQ(Classify(0, 100, t), State::kCritico);
  EXPECT_EQ(Classify(80, 50, t), State::kEnTiempo);  // ahead of schedule
}

TEST(TrackingState, CustomThresholds) {
  const Thresholds t{5, 15};
  EXPECT_EQ(Classify(45, 50, t), State::kEnTiempo);
  EXPECT_EQ(Classify(44.9, 50, t), State::kConRetraso);
  EXPECT_EQ(Classify(35, 50, t), State::kConRetraso);
  EXPECT_EQ(Classify(34.9, 50, t), State::kCritico);
}

TEST(TrackingState, NotStartedOnlyWhenNothingIsExpectedYet) {
  const Thresholds t;
  EXPECT_EQ(Classify(0, 0, t), State::kSinIniciar);
  EXPECT_EQ(Classify(0, 10, t), State::kEnTiempo);  // started, within tolerance
  EXPECT_EQ(Classify(0, 10.1, t), State::kConRetraso);
  EXPECT_EQ(Classify(5, 0, t), State::kEnTiempo);  // progress before its schedule
}

TEST(TrackingState, CompletedWinsOverSchedule) {
  const Thresholds t;
  EXPECT_EQ(Classify(100, 0, t), State::kCumplido);
  EXPECT_EQ(Classify(100, 100, t), State::kCumplido);
  EXPECT_EQ(Classify(99.9, 100, t), State::kEnTiempo);
}

// What the page shows (one decimal) is what decides: 33.333... expected and 23.3 validated show a
// gap of 10.0, which is on time, not a hair over.
TEST(TrackingState, DecidedOnTheRoundedNumbersShown) {
  const Thresholds t;
  const double expected = ExpectedProgress(1, 0, 3);  // 33.333...
  EXPECT_EQ(Classify(23.3, expected, t), State::kEnTiempo);
  EXPECT_EQ(Classify(23.2, expected, t), State::kConRetraso);
  EXPECT_EQ(Classify(99.96, 100, t), State::kCumplido);  // shown as 100.0
  EXPECT_EQ(Classify(0.04, 0, t), State::kSinIniciar);   // shown as 0.0
}

TEST(TrackingState, KeysLabelsAndColours) {
  EXPECT_EQ(StateKey(State::kSinIniciar), "sin_iniciar");
  EXPECT_EQ(StateKey(State::kEnTiempo), "en_tiempo");
  EXPECT_EQ(StateKey(State::kConRetraso), "con_retraso");
  EXPECT_EQ(StateKey(State::kCritico), "critico");
  EXPECT_EQ(StateKey(State::kCumplido), "cumplido");
  EXPECT_EQ(StateLabel(State::kCritico), "Crítico");
  EXPECT_EQ(StateLabel(State::kSinIniciar, "es"), "Sin iniciar");
  EXPECT_EQ(StateLabel(State::kConRetraso, "en"), "Delayed");
  EXPECT_EQ(StateLabel(State::kCumplido, "en"), "Completed");
  EXPECT_EQ(StateLabel(State::kEnTiempo, "fr"), "En tiempo");  // Spanish first
}

double Luminance(std::string_view hex) {
  double channel[3];
  for (int i = 0; i < 3; ++i) {
    const double c = std::stoi(std::string(hex.substr(1 + 2 * i, 2)), nullptr, 16) / 255.0;
    channel[i] = c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  }
  return 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2];
}

TEST(TrackingState, ColoursPassWcagAaWithTheirTextColour) {
  std::set<std::string_view> seen;
  for (State s : kAllStates) {
    const std::string_view bg = StateColor(s);
    const std::string_view fg = StateTextColor(s);
    ASSERT_EQ(bg.size(), 7u);
    ASSERT_EQ(bg[0], '#');
    const double a = Luminance(bg), b = Luminance(fg);
    const double ratio = (std::max(a, b) + 0.05) / (std::min(a, b) + 0.05);
    EXPECT_GE(ratio, 4.5) << StateKey(s) << " " << bg << " on " << fg;
    EXPECT_TRUE(seen.insert(bg).second) << "two states share " << bg;
  }
}

// ----- One action through the whole computation -------------------------------------------------

TEST(TrackingCompute, ActionBoundariesThroughThePipeline) {
  // On 2025-01-06 half of the ten days have elapsed: expected 50.
  EXPECT_EQ(OneAction(40, "2025-01-06").state, State::kEnTiempo);
  EXPECT_EQ(OneAction(39.9, "2025-01-06").state, State::kConRetraso);
  EXPECT_EQ(OneAction(25, "2025-01-06").state, State::kConRetraso);
  EXPECT_EQ(OneAction(24.9, "2025-01-06").state, State::kCritico);
  const ActionTracking a = OneAction(40, "2025-01-06");
  EXPECT_DOUBLE_EQ(a.expected, 50);
  EXPECT_DOUBLE_EQ(a.progress, 40);
}

TEST(TrackingCompute, BeforeStartAndAfterDue) {
  PlanInput plan = Plan({Commitment(1, {Action(1)})});
  ActionTracking before = Compute(plan, "2024-12-31").axes[0].commitments[0].actions[0];
  EXPECT_EQ(before.expected, 0);
  EXPECT_EQ(before.state, State::kSinIniciar);
  ActionTracking on_start = Compute(plan, kStart).axes[0].commitments[0].actions[0];
  EXPECT_EQ(on_start.state, State::kSinIniciar);
  ActionTracking after = Compute(plan, "2025-06-01").axes[0].commitments[0].actions[0];
  EXPECT_EQ(after.expected, 100);
  EXPECT_EQ(after.state, State::kCritico);
  EXPECT_EQ(OneAction(90, "2025-06-01").state, State::kEnTiempo);  // gap 10 after due
  EXPECT_EQ(OneAction(100, "2025-06-01").state, State::kCumplido);
  EXPECT_EQ(OneAction(150, "2025-01-02").state, State::kCumplido);  // beyond target: clamped
  EXPECT_EQ(OneAction(150, "2025-01-02").progress, 100);
}

TEST(TrackingCompute, LatestReportWinsEvenIfLower) {
  ActionInput a = Action(1, {{"2025-01-02", 80, false}, {"2025-01-04", 30, false}});
  PlanTracking t = Compute(Plan({Commitment(1, {a})}), "2025-01-06");
  EXPECT_EQ(t.axes[0].commitments[0].actions[0].progress, 30);
  EXPECT_EQ(t.axes[0].commitments[0].actions[0].state, State::kConRetraso);  // gap 20
}

TEST(TrackingCompute, LatestIsByDateAndTheLaterGivenOnTheSameDay) {
  ActionInput a = Action(1, {{"2025-01-05", 30, false}, {"2025-01-03", 90, false}});
  EXPECT_EQ(
      Compute(Plan({Commitment(1, {a})}), "2025-01-06").axes[0].commitments[0].actions[0].progress,
      30);
  ActionInput same_day = Action(1, {{"2025-01-05", 30, false}, {"2025-01-05", 45, false}});
  EXPECT_EQ(Compute(Plan({Commitment(1, {same_day})}), "2025-01-06")
                .axes[0]
                .commitments[0]
                .actions[0]
                .progress,
            45);
}

// The caller passes only validated reports; every report given counts toward progress, evidence
// or not, and none means no progress.
TEST(TrackingCompute, EveryGivenReportIsTakenAsValidated) {
  ActionInput without_evidence = Action(1, {{"2025-01-03", 60, false}});
  ActionInput none = Action(2);
  PlanTracking t = Compute(Plan({Commitment(1, {without_evidence, none})}), "2025-01-06");
  const CommitmentTracking& c = t.axes[0].commitments[0];
  EXPECT_EQ(c.actions[0].progress, 60);
  EXPECT_FALSE(c.actions[0].has_evidence);
  EXPECT_EQ(c.actions[1].progress, 0);
  EXPECT_EQ(c.actions[1].state, State::kCritico);  // expected 50, nothing validated
  EXPECT_EQ(c.indicators.transparencia, 0);
}

TEST(TrackingCompute, DecreasingAndFlatIndicators) {
  ActionInput response_time = Action(1, {{"2025-01-03", 20, true}});
  response_time.baseline = 30;
  response_time.target = 10;
  ActionInput flat = Action(2, {{"2025-01-03", 4, true}});
  flat.baseline = 5;
  flat.target = 5;
  PlanTracking t = Compute(Plan({Commitment(1, {response_time, flat})}), "2025-01-06");
  EXPECT_EQ(t.axes[0].commitments[0].actions[0].progress, 50);
  EXPECT_EQ(t.axes[0].commitments[0].actions[0].state, State::kEnTiempo);
  EXPECT_EQ(t.axes[0].commitments[0].actions[1].progress, 0);
}

TEST(TrackingCompute, ActionDatesDefaultToTheCommitments) {
  ActionInput a = Action(1);
  a.start_date.clear();
  a.due_date.clear();
  CommitmentInput c = Commitment(1, {a});
  c.start_date = "2025-02-01";
  c.end_date = "2025-02-11";
  PlanTracking t = Compute(Plan({c}), "2025-02-04");
  EXPECT_EQ(t.axes[0].commitments[0].actions[0].expected, 30);
}

// ----- Roll-up ----------------------------------------------------------------------------------

TEST(TrackingRollUp, ActionsAreWeightAveraged) {
  ActionInput done = Action(1, {{"2025-01-02", 100, false}}, /*weight=*/3);
  ActionInput idle = Action(2, {}, /*weight=*/1);
  idle.start_date = "2025-01-06";  // expected 0 on the 6th; the other expects 50
  PlanTracking t = Compute(Plan({Commitment(1, {done, idle})}), "2025-01-06");
  const CommitmentTracking& c = t.axes[0].commitments[0];
  EXPECT_DOUBLE_EQ(c.progress, 75);    // (3*100 + 1*0) / 4
  EXPECT_DOUBLE_EQ(c.expected, 37.5);  // (3*50 + 1*0) / 4
  EXPECT_EQ(c.state, State::kEnTiempo);
  EXPECT_EQ(c.actions[0].state, State::kCumplido);
  EXPECT_EQ(c.actions[1].state, State::kSinIniciar);
}

TEST(TrackingRollUp, CommitmentWithoutActionsUsesItsOwnDates) {
  CommitmentInput empty = Commitment(1, {});
  PlanTracking t = Compute(Plan({empty}), "2025-01-03");
  EXPECT_EQ(t.axes[0].commitments[0].progress, 0);
  EXPECT_EQ(t.axes[0].commitments[0].expected, 20);
  EXPECT_EQ(t.axes[0].commitments[0].state, State::kConRetraso);
  EXPECT_EQ(Compute(Plan({empty}), "2025-01-04").axes[0].commitments[0].state, State::kCritico);
  EXPECT_EQ(Compute(Plan({empty}), "2024-12-01").axes[0].commitments[0].state, State::kSinIniciar);
}

TEST(TrackingRollUp, AxesAndPlanAverageCommitmentsByWeight) {
  PlanInput plan;
  // Axis 1: a finished commitment of weight 3 and an untouched one of weight 1.
  plan.axes.push_back({10,
                       {Commitment(1, {Action(1, {{"2025-01-02", 100, true}})}, 3),
                        Commitment(2, {Action(2)}, 1)}});
  // Axis 2: one commitment at 20 with weight 4.
  plan.axes.push_back({20, {Commitment(3, {Action(3, {{"2025-01-02", 20, false}})}, 4)}});
  PlanTracking t = Compute(plan, "2025-01-06");  // every action expects 50

  ASSERT_EQ(t.axes.size(), 2u);
  EXPECT_EQ(t.axes[0].id, 10);
  EXPECT_DOUBLE_EQ(t.axes[0].progress, 75);  // (3*100 + 1*0) / 4
  EXPECT_DOUBLE_EQ(t.axes[0].expected, 50);
  EXPECT_EQ(t.axes[0].state, State::kEnTiempo);
  EXPECT_DOUBLE_EQ(t.axes[1].progress, 20);
  EXPECT_EQ(t.axes[1].state, State::kCritico);  // gap 30
  // The plan weighs all commitments, not the axes: (300 + 0 + 80) / 8.
  EXPECT_DOUBLE_EQ(t.progress, 47.5);
  EXPECT_DOUBLE_EQ(t.expected, 50);
  EXPECT_EQ(t.state, State::kEnTiempo);
  EXPECT_EQ(t.commitments, 3);
  EXPECT_EQ(t.actions, 3);
  EXPECT_EQ(t.actions_with_evidence, 1);
}

TEST(TrackingRollUp, EmptyPlanAndEmptyAxis) {
  PlanInput plan;
  plan.axes.push_back({1, {}});
  PlanTracking t = Compute(plan, "2025-01-06");
  EXPECT_EQ(t.axes[0].state, State::kSinIniciar);
  EXPECT_EQ(t.axes[0].distribution.Total(), 0);
  EXPECT_EQ(t.state, State::kSinIniciar);
  EXPECT_EQ(t.commitments, 0);
  EXPECT_EQ(t.indicators.transparencia, 0);
  EXPECT_FALSE(t.indicators.ambicion.has_value());
}

// ----- Distribution -----------------------------------------------------------------------------

TEST(TrackingDistribution, CountsCommitmentsByStatePerAxisAndPlan) {
  auto at = [](int64_t id, double value) {
    return Commitment(id, {Action(id, {{"2025-01-02", value, false}})});
  };
  CommitmentInput later = Commitment(9, {Action(9)});
  later.start_date = "2025-03-01";
  later.end_date = "2025-04-01";
  later.actions[0].start_date = "2025-03-01";
  later.actions[0].due_date = "2025-04-01";
  PlanInput plan;
  // On the 6th every action on the ten-day schedule expects 50.
  plan.axes.push_back({1, {at(1, 100), at(2, 45), at(3, 45), at(4, 10)}});
  plan.axes.push_back({2, {at(5, 30), later}});
  PlanTracking t = Compute(plan, "2025-01-06");

  const Distribution& a1 = t.axes[0].distribution;
  EXPECT_EQ(a1.Count(State::kCumplido), 1);
  EXPECT_EQ(a1.Count(State::kEnTiempo), 2);
  EXPECT_EQ(a1.Count(State::kCritico), 1);
  EXPECT_EQ(a1.Count(State::kConRetraso), 0);
  EXPECT_EQ(a1.Total(), 4);
  const Distribution& a2 = t.axes[1].distribution;
  EXPECT_EQ(a2.Count(State::kConRetraso), 1);
  EXPECT_EQ(a2.Count(State::kSinIniciar), 1);
  EXPECT_EQ(t.distribution.Count(State::kSinIniciar), 1);
  EXPECT_EQ(t.distribution.Count(State::kEnTiempo), 2);
  EXPECT_EQ(t.distribution.Count(State::kConRetraso), 1);
  EXPECT_EQ(t.distribution.Count(State::kCritico), 1);
  EXPECT_EQ(t.distribution.Count(State::kCumplido), 1);
  EXPECT_EQ(t.distribution.Total(), 6);
}

// ----- Timeline ---------------------------------------------------------------------------------

TEST(TrackingTimeline, PointsAtStartEachReportDateAndToday) {
  ActionInput a = Action(1, {{"2025-01-03", 20, false}, {"2025-01-05", 60, false}});
  a.start_date.clear();  // the commitment's 2025-01-01 .. 2025-01-11
  a.due_date.clear();
  ActionInput b = Action(2, {{"2025-01-08", 50, true}});
  b.start_date = "2025-01-06";
  PlanTracking t = Compute(Plan({Commitment(1, {a, b})}), "2025-01-09");
  const CommitmentTracking& c = t.axes[0].commitments[0];

  const std::vector<TimelinePoint>& tl = c.timeline;
  ASSERT_EQ(tl.size(), 5u);
  EXPECT_EQ(tl[0].date, "2025-01-01");
  EXPECT_EQ(tl[0].progress, 0);
  EXPECT_EQ(tl[0].expected, 0);
  EXPECT_EQ(tl[1].date, "2025-01-03");
  EXPECT_EQ(tl[1].progress, 10);  // (20 + 0) / 2
  EXPECT_EQ(tl[1].expected, 10);  // (20 + 0) / 2
  EXPECT_EQ(tl[2].date, "2025-01-05");
  EXPECT_EQ(tl[2].progress, 30);
  EXPECT_EQ(tl[2].expected, 20);
  EXPECT_EQ(tl[3].date, "2025-01-08");
  EXPECT_EQ(tl[3].progress, 55);  // (60 + 50) / 2
  EXPECT_EQ(tl[3].expected, 55);  // (70 + 40) / 2
  EXPECT_EQ(tl[4].date, "2025-01-09");
  EXPECT_EQ(tl[4].progress, 55);
  EXPECT_EQ(tl[4].expected, 70);  // (80 + 60) / 2
  // The last point is the commitment's current state.
  EXPECT_EQ(c.progress, 55);
  EXPECT_EQ(c.expected, 70);
  EXPECT_EQ(c.state, State::kConRetraso);
}

TEST(TrackingTimeline, SharedDatesAppearOnce) {
  ActionInput a = Action(1, {{"2025-01-01", 10, false}, {"2025-01-04", 30, false}});
  ActionInput b = Action(2, {{"2025-01-04", 50, false}});
  PlanTracking t = Compute(Plan({Commitment(1, {a, b})}), "2025-01-04");
  const std::vector<TimelinePoint>& tl = t.axes[0].commitments[0].timeline;
  ASSERT_EQ(tl.size(), 2u);  // start (with its own report) and the 4th (also today)
  EXPECT_EQ(tl[0].date, "2025-01-01");
  EXPECT_EQ(tl[0].progress, 5);
  EXPECT_EQ(tl[1].date, "2025-01-04");
  EXPECT_EQ(tl[1].progress, 40);
  EXPECT_EQ(tl[1].expected, 30);
}

// ----- Indicators -------------------------------------------------------------------------------

Indicators CommitmentIndicatorsOf(const CommitmentInput& c, PlanInput plan = {}) {
  plan.axes = {{1, {c}}};
  return Compute(plan, "2025-01-06").axes[0].commitments[0].indicators;
}

TEST(TrackingIndicators, Participation) {
  CommitmentInput c = Commitment(1, {});
  EXPECT_EQ(CommitmentIndicatorsOf(c).participacion, 0);
  c.citizens_involved = 15;
  c.organizations_involved = 3;
  EXPECT_EQ(CommitmentIndicatorsOf(c).participacion, 75);  // 25 + 50
  c.citizens_involved = 300;
  c.organizations_involved = 1;
  EXPECT_EQ(CommitmentIndicatorsOf(c).participacion, 66.7);  // 50 (capped) + 16.67
  c.organizations_involved = 40;
  EXPECT_EQ(CommitmentIndicatorsOf(c).participacion, 100);

  PlanInput small_targets;
  small_targets.participation = {10, 1};
  c.citizens_involved = 5;
  c.organizations_involved = 0;
  EXPECT_EQ(CommitmentIndicatorsOf(c, small_targets).participacion, 25);
}

TEST(TrackingIndicators, TransparencyPerCommitmentAndOverAllPlanActions) {
  EXPECT_EQ(CommitmentIndicatorsOf(Commitment(1, {})).transparencia, 0);
  // One of three actions has a validated report with evidence (another has one without).
  CommitmentInput c = Commitment(1, {Action(1, {{"2025-01-02", 5, false}, {"2025-01-03", 6, true}}),
                                     Action(2, {{"2025-01-02", 5, false}}), Action(3)});
  EXPECT_EQ(CommitmentIndicatorsOf(c).transparencia, 33.3);

  // The plan counts actions, not commitments: 1 of 4 is 25, not the average of 100 and 0.
  PlanInput plan = Plan({Commitment(1, {Action(1, {{"2025-01-02", 5, true}})}),
                         Commitment(2, {Action(2), Action(3), Action(4)})});
  PlanTracking t = Compute(plan, "2025-01-06");
  EXPECT_EQ(t.axes[0].commitments[0].indicators.transparencia, 100);
  EXPECT_EQ(t.axes[0].commitments[1].indicators.transparencia, 0);
  EXPECT_EQ(t.indicators.transparencia, 25);
  EXPECT_EQ(t.actions, 4);
  EXPECT_EQ(t.actions_with_evidence, 1);
}

TEST(TrackingIndicators, AmbitionScale) {
  CommitmentInput c = Commitment(1, {});
  EXPECT_FALSE(CommitmentIndicatorsOf(c).ambicion.has_value());
  c.ambition = Ambition::kNone;
  EXPECT_EQ(CommitmentIndicatorsOf(c).ambicion, 0);
  c.ambition = Ambition::kMinor;
  EXPECT_EQ(CommitmentIndicatorsOf(c).ambicion, 33.3);
  c.ambition = Ambition::kModerate;
  EXPECT_EQ(CommitmentIndicatorsOf(c).ambicion, 66.7);
  c.ambition = Ambition::kTransformative;
  EXPECT_EQ(CommitmentIndicatorsOf(c).ambicion, 100);
}

TEST(TrackingIndicators, PlanAmbitionSkipsUnratedAndMayBeUnrated) {
  CommitmentInput unrated = Commitment(1, {}, 5);
  PlanTracking none_rated = Compute(Plan({unrated, unrated}), "2025-01-06");
  EXPECT_FALSE(none_rated.indicators.ambicion.has_value());

  CommitmentInput transformative = Commitment(2, {}, 3);
  transformative.ambition = Ambition::kTransformative;
  CommitmentInput rated_none = Commitment(3, {}, 1);
  rated_none.ambition = Ambition::kNone;
  PlanTracking mixed = Compute(Plan({unrated, transformative, rated_none}), "2025-01-06");
  ASSERT_TRUE(mixed.indicators.ambicion.has_value());
  EXPECT_EQ(*mixed.indicators.ambicion, 75);  // (3*100 + 1*0) / 4; the unrated 5 is left out

  CommitmentInput minor = Commitment(4, {});
  minor.ambition = Ambition::kMinor;
  CommitmentInput moderate = Commitment(5, {});
  moderate.ambition = Ambition::kModerate;
  EXPECT_EQ(*Compute(Plan({minor, moderate}), "2025-01-06").indicators.ambicion, 50);
}

TEST(TrackingIndicators, Sustainability) {
  CommitmentInput c = Commitment(1, {});
  EXPECT_EQ(CommitmentIndicatorsOf(c).sostenibilidad, 0);
  c.budget_assigned = 0.01;
  EXPECT_EQ(CommitmentIndicatorsOf(c).sostenibilidad, 40);
  c.institutionalized = true;
  EXPECT_EQ(CommitmentIndicatorsOf(c).sostenibilidad, 70);
  c.continuity = true;
  EXPECT_EQ(CommitmentIndicatorsOf(c).sostenibilidad, 100);
  c.budget_assigned = 0;
  EXPECT_EQ(CommitmentIndicatorsOf(c).sostenibilidad, 60);
}

TEST(TrackingIndicators, PlanAveragesParticipationAndSustainabilityByWeight) {
  CommitmentInput full = Commitment(1, {}, 3);
  full.citizens_involved = 30;
  full.organizations_involved = 3;
  full.budget_assigned = 1'000'000;
  full.institutionalized = true;
  full.continuity = true;
  CommitmentInput empty = Commitment(2, {}, 1);
  PlanTracking t = Compute(Plan({full, empty}), "2025-01-06");
  EXPECT_EQ(t.indicators.participacion, 75);
  EXPECT_EQ(t.indicators.sostenibilidad, 75);
}

TEST(TrackingIndicators, NamesAndFormulas) {
  EXPECT_EQ(IndicatorName(Indicator::kAmbicion), "Ambición");
  EXPECT_EQ(IndicatorName(Indicator::kSostenibilidad, "en"), "Sustainability");
  const std::string part = IndicatorFormula(Indicator::kParticipacion, {30, 3});
  EXPECT_NE(part.find("personas participantes / 30"), std::string::npos) << part;
  EXPECT_NE(part.find("organizaciones participantes / 3"), std::string::npos) << part;
  const std::string part_en = IndicatorFormula(Indicator::kParticipacion, {50, 5}, "en");
  EXPECT_NE(part_en.find("citizens involved / 50"), std::string::npos) << part_en;
  EXPECT_NE(IndicatorFormula(Indicator::kSostenibilidad, {}).find("40"), std::string::npos);
  EXPECT_NE(IndicatorFormula(Indicator::kAmbicion, {}).find("66.7"), std::string::npos);
  EXPECT_NE(IndicatorFormula(Indicator::kTransparencia, {}).find("evidencia pública"),
            std::string::npos);
}

// ----- Bad input --------------------------------------------------------------------------------

TEST(TrackingInput, RejectsBadInputNamingTheFields) {
  PlanInput plan = Plan({Commitment(1, {Action(1), Action(2, {{"2025-02-30", 1, false}})})});
  CommitmentInput& c = plan.axes[0].commitments[0];
  c.actions[0].due_date = "2024-12-31";  // before its start
  c.actions[1].weight = 0;
  c.budget_assigned = -1;
  c.citizens_involved = -3;
  plan.thresholds = {30, 20};
  plan.participation.target_organizations = 0;

  Result<PlanTracking> r = ComputeTracking(plan, "2025-01-06");
  ASSERT_FALSE(r.ok());
  const Status& s = r.status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasField(s, "axes[0].commitments[0].actions[0].due_date"));
  EXPECT_TRUE(HasField(s, "axes[0].commitments[0].actions[1].weight"));
  EXPECT_TRUE(HasField(s, "axes[0].commitments[0].actions[1].reports[0].date"));
  EXPECT_TRUE(HasField(s, "axes[0].commitments[0].budget_assigned"));
  EXPECT_TRUE(HasField(s, "axes[0].commitments[0].citizens_involved"));
  EXPECT_TRUE(HasField(s, "thresholds.critical_points"));
  EXPECT_TRUE(HasField(s, "participation.target_organizations"));
  EXPECT_EQ(s.fields().size(), 7u);
}

TEST(TrackingInput, RejectsMalformedTodayAndCommitmentDates) {
  PlanInput plan = Plan({Commitment(1, {})});
  EXPECT_FALSE(ComputeTracking(plan, "06/01/2025").ok());
  plan.axes[0].commitments[0].end_date = "2024-01-01";
  Result<PlanTracking> r = ComputeTracking(plan, "2025-01-06");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasField(r.status(), "axes[0].commitments[0].end_date"));
  plan.axes[0].commitments[0].end_date = "";
  EXPECT_FALSE(ComputeTracking(plan, "2025-01-06").ok());
  plan.axes[0].commitments[0].end_date = kDue;
  plan.axes[0].commitments[0].weight = std::nan("");
  EXPECT_FALSE(ComputeTracking(plan, "2025-01-06").ok());
}

}  // namespace
}  // namespace abierto::plan
