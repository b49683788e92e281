#include "modules/plan/tracking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "abierto/text.h"

namespace abierto::plan {
namespace {

// Tenths of a point: the unit in which states are decided, so that boundaries are exact and
// floating-point noise (49.999999...) cannot flip a colour.
int64_t Tenths(double x) { return std::llround(x * 10.0); }
double Round1(double x) { return static_cast<double>(Tenths(x)) / 10.0; }

bool IsEnglish(std::string_view lang) { return lang == "en" || lang.starts_with("en-"); }

// "10" or "12.5": thresholds and targets as a person would write them.
std::string FormatNumber(double x) {
  const int64_t t = Tenths(x);
  std::string s = std::to_string(t / 10);
  if (t % 10 != 0) s += "." + std::to_string(std::abs(t % 10));
  return s;
}

// Weighted mean of (value, weight) pairs; 0 when there is no weight at all.
class WeightedMean {
 public:
  void Add(double value, double weight) {
    sum_ += value * weight;
    weight_ += weight;
  }
  bool empty() const { return weight_ <= 0; }
  double Get() const { return empty() ? 0.0 : sum_ / weight_; }

 private:
  double sum_ = 0;
  double weight_ = 0;
};

// ----- Validated, parsed input ------------------------------------------------------------------

struct Report {
  int64_t day;
  double value;
  bool has_evidence;
};

struct PreparedAction {
  const ActionInput* in;
  int64_t start;
  int64_t due;
  std::vector<Report> reports;  // stable-sorted by day: the last one on or before a day wins
};

struct PreparedCommitment {
  const CommitmentInput* in;
  int64_t start;
  int64_t end;
  std::vector<PreparedAction> actions;
};

// Collects every problem with the input at once, so a form can show them all.
class Checker {
 public:
  std::optional<int64_t> Date(std::string_view value, std::string field) {
    Result<int64_t> day = ParseIsoDay(value);
    if (day.ok()) return *day;
    Fail(std::move(field), day.status().message());
    return std::nullopt;
  }
  bool Positive(double value, std::string field) {
    if (std::isfinite(value) && value > 0) return true;
    Fail(std::move(field), "Debe ser un número mayor que 0");
    return false;
  }
  bool NonNegative(double value, std::string field) {
    if (std::isfinite(value) && value >= 0) return true;
    Fail(std::move(field), "Debe ser un número no negativo");
    return false;
  }
  bool Finite(double value, std::string field) {
    if (std::isfinite(value)) return true;
    Fail(std::move(field), "Debe ser un número");
    return false;
  }
  void Fail(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }
  bool ok() const { return errors_.empty(); }
  std::vector<FieldError> Take() { return std::move(errors_); }

 private:
  std::vector<FieldError> errors_;
};

// Parses and checks one action; nullopt (with the reasons in `check`) when it cannot be used.
// Missing dates fall back to the commitment's, which may themselves be invalid (already reported).
std::optional<PreparedAction> PrepareAction(const ActionInput& a, const std::string& path,
                                            std::optional<int64_t> c_start,
                                            std::optional<int64_t> c_end, Checker& check) {
  std::optional<int64_t> start =
      a.start_date.empty() ? c_start : check.Date(a.start_date, path + ".start_date");
  std::optional<int64_t> due =
      a.due_date.empty() ? c_end : check.Date(a.due_date, path + ".due_date");
  bool ok = start.has_value() && due.has_value();
  if (ok && *due < *start) {
    check.Fail(path + ".due_date", "La fecha compromiso no puede ser anterior a la de inicio");
    ok = false;
  }
  ok = check.Positive(a.weight, path + ".weight") && ok;
  ok = check.Finite(a.baseline, path + ".baseline") && ok;
  ok = check.Finite(a.target, path + ".target") && ok;

  PreparedAction out{&a, start.value_or(0), due.value_or(0), {}};
  for (size_t i = 0; i < a.reports.size(); ++i) {
    const ProgressReport& r = a.reports[i];
    const std::string rpath = path + ".reports[" + std::to_string(i) + "]";
    std::optional<int64_t> day = check.Date(r.date, rpath + ".date");
    const bool value_ok = check.Finite(r.value, rpath + ".value");
    if (day && value_ok) {
      out.reports.push_back({*day, r.value, r.has_evidence});
    } else {
      ok = false;
    }
  }
  // Stable, so that of two reports on the same day the later one given still wins.
  std::stable_sort(out.reports.begin(), out.reports.end(),
                   [](const Report& x, const Report& y) { return x.day < y.day; });
  if (!ok) return std::nullopt;
  return out;
}

// ----- Computation ------------------------------------------------------------------------------

// Progress of an action counting only reports dated on or before `as_of`.
double ActionProgressAsOf(const PreparedAction& a, int64_t as_of) {
  const Report* latest = nullptr;
  for (const Report& r : a.reports) {
    if (r.day > as_of) break;
    latest = &r;
  }
  return latest ? ProgressFromValue(latest->value, a.in->baseline, a.in->target) : 0.0;
}

double CommitmentProgressAsOf(const PreparedCommitment& c, int64_t as_of) {
  WeightedMean mean;
  for (const PreparedAction& a : c.actions) mean.Add(ActionProgressAsOf(a, as_of), a.in->weight);
  return mean.Get();
}

double CommitmentExpectedOn(const PreparedCommitment& c, int64_t day) {
  if (c.actions.empty()) return ExpectedProgress(day, c.start, c.end);
  WeightedMean mean;
  for (const PreparedAction& a : c.actions) {
    mean.Add(ExpectedProgress(day, a.start, a.due), a.in->weight);
  }
  return mean.Get();
}

// Unrounded indicator values, kept so that plan averages are not averages of rounded numbers.
struct RawIndicators {
  double participacion = 0;
  std::optional<double> ambicion;
  double sostenibilidad = 0;
  int actions = 0;
  int actions_with_evidence = 0;
};

std::optional<double> AmbitionValue(Ambition a) {
  switch (a) {
    case Ambition::kNone:
      return 0.0;
    case Ambition::kMinor:
      return 100.0 / 3.0;
    case Ambition::kModerate:
      return 200.0 / 3.0;
    case Ambition::kTransformative:
      return 100.0;
    case Ambition::kUnrated:
      break;
  }
  return std::nullopt;
}

double Transparency(int with_evidence, int actions) {
  return actions == 0 ? 0.0 : 100.0 * with_evidence / actions;
}

RawIndicators CommitmentIndicators(const PreparedCommitment& c, const ParticipationTargets& t) {
  const CommitmentInput& in = *c.in;
  RawIndicators raw;
  raw.participacion =
      50.0 * std::min(1.0, static_cast<double>(in.citizens_involved) / t.target_citizens) +
      50.0 * std::min(1.0, static_cast<double>(in.organizations_involved) / t.target_organizations);
  raw.ambicion = AmbitionValue(in.ambition);
  raw.sostenibilidad = (in.budget_assigned > 0 ? 40.0 : 0.0) + (in.institutionalized ? 30.0 : 0.0) +
                       (in.continuity ? 30.0 : 0.0);
  raw.actions = static_cast<int>(c.actions.size());
  for (const PreparedAction& a : c.actions) {
    if (std::any_of(a.reports.begin(), a.reports.end(),
                    [](const Report& r) { return r.has_evidence; })) {
      ++raw.actions_with_evidence;
    }
  }
  return raw;
}

Indicators Publish(const RawIndicators& raw) {
  Indicators out;
  out.participacion = Round1(raw.participacion);
  out.transparencia = Round1(Transparency(raw.actions_with_evidence, raw.actions));
  if (raw.ambicion) out.ambicion = Round1(*raw.ambicion);
  out.sostenibilidad = Round1(raw.sostenibilidad);
  return out;
}

CommitmentTracking TrackCommitment(const PreparedCommitment& c, int64_t today,
                                   const PlanInput& plan, double* raw_p, double* raw_e,
                                   RawIndicators* raw_ind) {
  CommitmentTracking out;
  out.id = c.in->id;
  for (const PreparedAction& a : c.actions) {
    ActionTracking at;
    at.id = a.in->id;
    const double p = ActionProgressAsOf(a, std::numeric_limits<int64_t>::max());
    const double e = ExpectedProgress(today, a.start, a.due);
    at.progress = Round1(p);
    at.expected = Round1(e);
    at.state = Classify(p, e, plan.thresholds);
    at.has_evidence = std::any_of(a.reports.begin(), a.reports.end(),
                                  [](const Report& r) { return r.has_evidence; });
    out.actions.push_back(at);
  }
  *raw_p = CommitmentProgressAsOf(c, std::numeric_limits<int64_t>::max());
  *raw_e = CommitmentExpectedOn(c, today);
  out.progress = Round1(*raw_p);
  out.expected = Round1(*raw_e);
  out.state = Classify(*raw_p, *raw_e, plan.thresholds);

  *raw_ind = CommitmentIndicators(c, plan.participation);
  out.indicators = Publish(*raw_ind);

  std::set<int64_t> days = {c.start, today};
  for (const PreparedAction& a : c.actions) {
    for (const Report& r : a.reports) days.insert(r.day);
  }
  for (int64_t day : days) {
    out.timeline.push_back({FormatIsoDay(day), Round1(CommitmentProgressAsOf(c, day)),
                            Round1(CommitmentExpectedOn(c, day))});
  }
  return out;
}

}  // namespace

// ----- Dates ------------------------------------------------------------------------------------

// The calendar itself lives in text.h; these keep the tracking API's Result-returning shape.
Result<int64_t> ParseIsoDay(std::string_view iso) {
  int y, m, d;
  if (!text::ParseIsoDate(iso, &y, &m, &d))
    return Status::InvalidArgument("Fecha no válida (AAAA-MM-DD): '" +
                                   std::string(iso.substr(0, 32)) + "'");
  return text::DaysFromCivil(y, m, d);
}

std::string FormatIsoDay(int64_t day) { return text::IsoFromDays(day); }

// ----- States -----------------------------------------------------------------------------------

std::string_view StateKey(State state) {
  switch (state) {
    case State::kSinIniciar:
      return "sin_iniciar";
    case State::kEnTiempo:
      return "en_tiempo";
    case State::kConRetraso:
      return "con_retraso";
    case State::kCritico:
      return "critico";
    case State::kCumplido:
      return "cumplido";
  }
  return "sin_iniciar";
}

std::string_view StateLabel(State state, std::string_view lang) {
  const bool en = IsEnglish(lang);
  switch (state) {
    case State::kSinIniciar:
      return en ? "Not started" : "Sin iniciar";
    case State::kEnTiempo:
      return en ? "On track" : "En tiempo";
    case State::kConRetraso:
      return en ? "Delayed" : "Con retraso";
    case State::kCritico:
      return en ? "Critical" : "Crítico";
    case State::kCumplido:
      return en ? "Completed" : "Cumplido";
  }
  return "";
}

std::string_view StateColor(State state) {
  // Dark enough that white text keeps >= 4.5:1 (checked by a test), still read as the usual
  // semáforo hues: grey, green, amber, red, and blue for done.
  switch (state) {
    case State::kSinIniciar:
      return "#5A6270";
    case State::kEnTiempo:
      return "#1E7B34";
    case State::kConRetraso:
      return "#A35200";
    case State::kCritico:
      return "#B42318";
    case State::kCumplido:
      return "#1D4ED8";
  }
  return "#5A6270";
}

std::string_view StateTextColor(State) { return "#FFFFFF"; }

int Distribution::Total() const {
  int total = 0;
  for (int c : counts) total += c;
  return total;
}

double ExpectedProgress(int64_t today, int64_t start, int64_t due) {
  if (today < start) return 0.0;
  if (today >= due) return 100.0;
  return static_cast<double>(today - start) / static_cast<double>(due - start) * 100.0;
}

double ProgressFromValue(double value, double baseline, double target) {
  if (target == baseline) return value >= target ? 100.0 : 0.0;
  const double p = (value - baseline) / (target - baseline) * 100.0;
  return std::clamp(p, 0.0, 100.0);
}

State Classify(double progress, double expected, const Thresholds& thresholds) {
  const int64_t p = Tenths(progress);
  const int64_t e = Tenths(expected);
  if (p >= 1000) return State::kCumplido;
  if (p == 0 && e == 0) return State::kSinIniciar;
  const int64_t gap = e - p;
  if (gap <= Tenths(thresholds.delay_points)) return State::kEnTiempo;
  if (gap <= Tenths(thresholds.critical_points)) return State::kConRetraso;
  return State::kCritico;
}

std::string TrafficLightRuleText(const Thresholds& t, std::string_view lang) {
  const std::string delay = FormatNumber(t.delay_points);
  const std::string critical = FormatNumber(t.critical_points);
  if (IsEnglish(lang)) {
    return "Expected progress is 0 before the start date, 100 on or after the due date, and in "
           "between grows in proportion to the days elapsed. Validated progress is the latest "
           "validated report of the indicator, between its baseline (0) and its target (100). "
           "Completed: validated progress reaches 100. Not started: validated and expected "
           "progress are both 0. Otherwise, with the gap = expected - validated: On track if the "
           "gap is at most " +
           delay + " points; Delayed if it is at most " + critical +
           " points; Critical if it is larger. Commitments, axes and the plan use the weighted "
           "average of their parts and the same rule.";
  }
  return "El avance esperado es 0 antes de la fecha de inicio, 100 a partir de la fecha "
         "compromiso, y entre ambas crece en proporción a los días transcurridos. El avance "
         "validado es el último reporte validado del indicador, entre su línea base (0) y su meta "
         "(100). Cumplido: el avance validado llega a 100. Sin iniciar: el avance validado y el "
         "esperado son 0. En otro caso, con la brecha = esperado − validado: En tiempo si la "
         "brecha es de hasta " +
         delay + " puntos; Con retraso si es de hasta " + critical +
         " puntos; Crítico si es mayor. Compromisos, ejes y plan usan el promedio ponderado de "
         "sus partes y la misma regla.";
}

// ----- Indicators -------------------------------------------------------------------------------

std::string_view IndicatorName(Indicator indicator, std::string_view lang) {
  const bool en = IsEnglish(lang);
  switch (indicator) {
    case Indicator::kParticipacion:
      return en ? "Participation" : "Participación";
    case Indicator::kTransparencia:
      return en ? "Transparency" : "Transparencia";
    case Indicator::kAmbicion:
      return en ? "Ambition" : "Ambición";
    case Indicator::kSostenibilidad:
      return en ? "Sustainability" : "Sostenibilidad";
  }
  return "";
}

std::string IndicatorFormula(Indicator indicator, const ParticipationTargets& t,
                             std::string_view lang) {
  const bool en = IsEnglish(lang);
  const std::string citizens = std::to_string(t.target_citizens);
  const std::string orgs = std::to_string(t.target_organizations);
  switch (indicator) {
    case Indicator::kParticipacion:
      return en ? "50 × min(1, citizens involved / " + citizens +
                      ") + 50 × min(1, organizations involved / " + orgs + ")"
                : "50 × mín(1, personas participantes / " + citizens +
                      ") + 50 × mín(1, organizaciones participantes / " + orgs + ")";
    case Indicator::kTransparencia:
      return en ? "100 × actions with at least one validated report with public evidence / "
                  "actions (for the plan, over all its actions)"
                : "100 × acciones con al menos un avance validado con evidencia pública / "
                  "acciones (en el plan, sobre todas sus acciones)";
    case Indicator::kAmbicion:
      return en ? "OGP potential impact: none 0, minor 33.3, moderate 66.7, transformative 100; "
                  "unrated commitments are left out of the plan's average"
                : "Impacto potencial (escala de OGP): ninguno 0, menor 33.3, moderado 66.7, "
                  "transformador 100; los compromisos sin calificar no cuentan en el promedio "
                  "del plan";
    case Indicator::kSostenibilidad:
      return en ? "40 if it has an assigned budget + 30 if institutionalized (regulation or "
                  "formal agreement) + 30 if it continues beyond the current administration"
                : "40 si tiene presupuesto asignado + 30 si está institucionalizado (reglamento "
                  "o acuerdo formal) + 30 si continúa más allá de la administración actual";
  }
  return "";
}

// ----- The dashboard ----------------------------------------------------------------------------

Result<PlanTracking> ComputeTracking(const PlanInput& plan, std::string_view today_iso) {
  Checker check;
  std::optional<int64_t> today = check.Date(today_iso, "today");
  const Thresholds& th = plan.thresholds;
  check.NonNegative(th.delay_points, "thresholds.delay_points");
  check.NonNegative(th.critical_points, "thresholds.critical_points");
  if (std::isfinite(th.delay_points) && std::isfinite(th.critical_points) &&
      th.critical_points < th.delay_points) {
    check.Fail("thresholds.critical_points",
               "El umbral crítico no puede ser menor que el de retraso");
  }
  if (plan.participation.target_citizens < 1) {
    check.Fail("participation.target_citizens", "Debe ser al menos 1");
  }
  if (plan.participation.target_organizations < 1) {
    check.Fail("participation.target_organizations", "Debe ser al menos 1");
  }

  std::vector<std::vector<PreparedCommitment>> axes(plan.axes.size());
  for (size_t x = 0; x < plan.axes.size(); ++x) {
    const std::vector<CommitmentInput>& commitments = plan.axes[x].commitments;
    for (size_t i = 0; i < commitments.size(); ++i) {
      const CommitmentInput& c = commitments[i];
      const std::string path =
          "axes[" + std::to_string(x) + "].commitments[" + std::to_string(i) + "]";
      std::optional<int64_t> start = check.Date(c.start_date, path + ".start_date");
      std::optional<int64_t> end = check.Date(c.end_date, path + ".end_date");
      if (start && end && *end < *start) {
        check.Fail(path + ".end_date", "La fecha de término no puede ser anterior a la de inicio");
      }
      check.Positive(c.weight, path + ".weight");
      if (c.citizens_involved < 0) check.Fail(path + ".citizens_involved", "No puede ser negativo");
      if (c.organizations_involved < 0) {
        check.Fail(path + ".organizations_involved", "No puede ser negativo");
      }
      check.NonNegative(c.budget_assigned, path + ".budget_assigned");

      PreparedCommitment pc{&c, start.value_or(0), end.value_or(0), {}};
      for (size_t j = 0; j < c.actions.size(); ++j) {
        std::optional<PreparedAction> pa = PrepareAction(
            c.actions[j], path + ".actions[" + std::to_string(j) + "]", start, end, check);
        if (pa) pc.actions.push_back(std::move(*pa));
      }
      axes[x].push_back(std::move(pc));
    }
  }
  if (!check.ok()) {
    return Status::InvalidArgument("El plan tiene datos no válidos", check.Take());
  }

  PlanTracking out;
  WeightedMean plan_p, plan_e, plan_part, plan_amb, plan_sost;
  for (size_t x = 0; x < axes.size(); ++x) {
    AxisTracking axis;
    axis.id = plan.axes[x].id;
    WeightedMean axis_p, axis_e;
    for (const PreparedCommitment& pc : axes[x]) {
      double raw_p = 0, raw_e = 0;
      RawIndicators raw;
      CommitmentTracking ct = TrackCommitment(pc, *today, plan, &raw_p, &raw_e, &raw);
      const double w = pc.in->weight;
      axis_p.Add(raw_p, w);
      axis_e.Add(raw_e, w);
      plan_p.Add(raw_p, w);
      plan_e.Add(raw_e, w);
      plan_part.Add(raw.participacion, w);
      plan_sost.Add(raw.sostenibilidad, w);
      if (raw.ambicion) plan_amb.Add(*raw.ambicion, w);
      ++axis.distribution.counts[static_cast<int>(ct.state)];
      ++out.distribution.counts[static_cast<int>(ct.state)];
      ++out.commitments;
      out.actions += raw.actions;
      out.actions_with_evidence += raw.actions_with_evidence;
      axis.commitments.push_back(std::move(ct));
    }
    axis.progress = Round1(axis_p.Get());
    axis.expected = Round1(axis_e.Get());
    axis.state = Classify(axis_p.Get(), axis_e.Get(), th);
    out.axes.push_back(std::move(axis));
  }
  out.progress = Round1(plan_p.Get());
  out.expected = Round1(plan_e.Get());
  out.state = Classify(plan_p.Get(), plan_e.Get(), th);
  out.indicators.participacion = Round1(plan_part.Get());
  out.indicators.transparencia = Round1(Transparency(out.actions_with_evidence, out.actions));
  if (!plan_amb.empty()) out.indicators.ambicion = Round1(plan_amb.Get());
  out.indicators.sostenibilidad = Round1(plan_sost.Get());
  return out;
}

}  // namespace abierto::plan
