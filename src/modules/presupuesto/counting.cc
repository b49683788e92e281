#include "modules/presupuesto/counting.h"

#include <gmpxx.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

namespace abierto::presupuesto {
namespace {

// The instance reshaped for counting: costs, approval counts and, per project, the voters
// that support it (compressed rows, so one run touches contiguous memory).
struct Profile {
  const PbInstance* instance = nullptr;
  int32_t num_voters = 0;
  int32_t num_projects = 0;
  std::vector<int64_t> approvals;
  std::vector<int32_t> offsets;     // num_projects + 1
  std::vector<int32_t> supporters;  // voter indices, grouped by project

  int64_t Cost(int p) const { return instance->projects[p].cost; }
  const std::string& Id(int p) const { return instance->projects[p].id; }
  int32_t Begin(int p) const { return offsets[p]; }
  int32_t End(int p) const { return offsets[p + 1]; }
  int32_t Support(int p) const { return offsets[p + 1] - offsets[p]; }
};

Profile MakeProfile(const PbInstance& x) {
  Profile P;
  P.instance = &x;
  P.num_voters = static_cast<int32_t>(x.votes.size());
  P.num_projects = static_cast<int32_t>(x.projects.size());
  P.approvals.assign(P.num_projects, 0);
  for (const PbVote& v : x.votes) {
    for (int32_t p : v.projects) ++P.approvals[p];
  }
  P.offsets.assign(P.num_projects + 1, 0);
  for (int p = 0; p < P.num_projects; ++p) {
    P.offsets[p + 1] = P.offsets[p] + static_cast<int32_t>(P.approvals[p]);
  }
  P.supporters.resize(P.offsets.back());
  std::vector<int32_t> fill(P.offsets.begin(), P.offsets.end() - 1);
  for (int32_t i = 0; i < P.num_voters; ++i) {
    for (int32_t p : x.votes[i].projects) P.supporters[fill[p]++] = i;
  }
  return P;
}

// The order among projects that the rule itself cannot tell apart: lower cost, then more
// approvals, then the smaller id, so that the result never depends on file order.
bool TieBefore(const Profile& P, int p, int q) {
  if (P.Cost(p) != P.Cost(q)) return P.Cost(p) < P.Cost(q);
  if (P.approvals[p] != P.approvals[q]) return P.approvals[p] > P.approvals[q];
  if (P.Id(p) != P.Id(q)) return P.Id(p) < P.Id(q);
  return p < q;
}

std::vector<ProjectResult> BaseResults(const Profile& P) {
  std::vector<ProjectResult> out(P.num_projects);
  for (int p = 0; p < P.num_projects; ++p) {
    out[p].id = P.Id(p);
    out[p].cost = P.Cost(p);
    out[p].approvals = P.approvals[p];
    out[p].score = P.approvals[p];
  }
  return out;
}

int64_t Clamp(__int128 v) {
  return v > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max()
                                                 : static_cast<int64_t>(v);
}

// ---------------------------------------------------------------------------------------------
// Method of Equal Shares: one run at a fixed endowment.

struct Interval {
  double lo, hi;
};

struct Run {
  bool certain = true;         // fast pass: every decision was certified
  std::vector<int32_t> order;  // selected projects, in order
  __int128 cost = 0;
  std::vector<int64_t> payers;  // per project
  std::vector<double> max_payment;
  std::vector<std::string> max_payment_exact;
  std::vector<double> money_left;  // supporters' money when the run ended
  // Fast pass: final voter balances, in currency units, from which money_left is derived for
  // the one run that is returned (deriving it for every Add1 run would cost as much as a
  // quarter of the run itself).
  std::vector<Interval> balances;
  bool money_known = false;

  void Reset(int m) {
    certain = true;
    order.clear();
    cost = 0;
    payers.assign(m, 0);
    max_payment.assign(m, 0);
    max_payment_exact.assign(m, std::string());
    money_left.assign(m, 0);
    balances.clear();
    money_known = false;
  }
};

// Exact run with GMP rationals. Money is scaled by n so that the endowment (B + k n) / n
// becomes the integer B + k n and costs become c n; payments are then fractions whose
// denominators are supporter counts.
class ExactMes {
 public:
  explicit ExactMes(const Profile& P) : P_(P) {}

  void Count(int64_t k, Run* out) {
    const int m = P_.num_projects;
    const mpz_class n = static_cast<long>(P_.num_voters);
    const mpz_class endowment = mpz_class(static_cast<long>(P_.instance->budget)) + n * k;
    balance_.assign(P_.num_voters, mpq_class(endowment));
    std::vector<mpz_class> cost(m);
    for (int p = 0; p < m; ++p) cost[p] = mpz_class(static_cast<long>(P_.Cost(p))) * n;
    std::vector<int> candidates;
    for (int p = 0; p < m; ++p) {
      if (P_.Support(p) > 0) candidates.push_back(p);
    }
    out->Reset(m);
    mpq_class total, a, best_a;
    while (true) {
      int best = -1;
      for (size_t i = 0; i < candidates.size();) {
        const int q = candidates[i];
        total = 0;
        for (int32_t s = P_.Begin(q); s < P_.End(q); ++s) total += balance_[P_.supporters[s]];
        if (total < cost[q]) {
          // Balances only go down, so it stays unaffordable for the rest of the run.
          candidates[i] = candidates.back();
          candidates.pop_back();
          continue;
        }
        ++i;
        MaxPayment(q, cost[q], &a);
        if (best < 0 || Better(q, a, cost[q], best, best_a, cost[best])) {
          best = q;
          best_a = a;
        }
      }
      if (best < 0) break;
      candidates.erase(std::find(candidates.begin(), candidates.end(), best));
      int64_t payers = 0;
      for (int32_t s = P_.Begin(best); s < P_.End(best); ++s) {
        mpq_class& b = balance_[P_.supporters[s]];
        if (sgn(b) == 0 || sgn(best_a) == 0) continue;
        ++payers;
        if (b <= best_a) {
          b = 0;
        } else {
          b -= best_a;
        }
      }
      out->order.push_back(best);
      out->cost += P_.Cost(best);
      out->payers[best] = payers;
      // Back to currency units: payments were scaled by n.
      mpq_class unscaled = best_a / mpq_class(n);
      out->max_payment[best] = unscaled.get_d();
      out->max_payment_exact[best] = unscaled.get_str();
    }
    for (int p = 0; p < m; ++p) {
      total = 0;
      for (int32_t s = P_.Begin(p); s < P_.End(p); ++s) total += balance_[P_.supporters[s]];
      out->money_left[p] = mpq_class(total / mpq_class(n)).get_d();
    }
    out->money_known = true;
  }

 private:
  // The smallest a with sum over supporters of min(balance, a) = cost (the supporters can
  // afford the project; checked by the caller).
  void MaxPayment(int q, const mpz_class& cost, mpq_class* a) {
    if (sgn(cost) == 0) {
      *a = 0;
      return;
    }
    pool_.clear();
    for (int32_t s = P_.Begin(q); s < P_.End(q); ++s) {
      const mpq_class& b = balance_[P_.supporters[s]];
      if (sgn(b) > 0) pool_.push_back(&b);
    }
    mpq_class rest = cost;
    // Everyone pays the same share unless that exceeds what some have; those pay all they
    // have, and the share of the others is recomputed until nobody else falls short.
    while (true) {
      *a = rest / static_cast<long>(pool_.size());
      size_t kept = 0;
      for (const mpq_class* b : pool_) {
        if (*b < *a) {
          rest -= *b;
        } else {
          pool_[kept++] = b;
        }
      }
      if (kept == pool_.size()) return;
      pool_.resize(kept);
    }
  }

  bool Better(int q, const mpq_class& aq, const mpz_class& cq, int b, const mpq_class& ab,
              const mpz_class& cb) {
    const bool q_free = sgn(cq) == 0, b_free = sgn(cb) == 0;
    if (q_free != b_free) return q_free;
    if (!q_free) {
      const int c = cmp(aq * cb, ab * cq);
      if (c != 0) return c < 0;
    }
    return TieBefore(P_, q, b);
  }

  const Profile& P_;
  std::vector<mpq_class> balance_;
  std::vector<const mpq_class*> pool_;
};

// The neighbouring doubles, as std::nextafter towards -inf / +inf, but inlined: Pay calls them
// for every supporter, and the libm call was a twentieth of the run time.
double Up(double x) {
  if (std::isnan(x) || x == std::numeric_limits<double>::infinity()) return x;
  if (x == 0) return std::numeric_limits<double>::denorm_min();
  const uint64_t bits = std::bit_cast<uint64_t>(x);
  return std::bit_cast<double>(x > 0 ? bits + 1 : bits - 1);
}
double Down(double x) { return -Up(-x); }

// Bounds for the rounding error of a sum of N non-negative doubles added left to right:
// the computed sum is within a factor (1 ± (N - 1) 2^-53) of the true one; we widen by
// (N + 2) 2^-52, which also covers the rounding of the widening product itself.
double SumDown(double s, size_t n) { return s * (1.0 - static_cast<double>(n + 2) * 0x1p-52); }
double SumUp(double s, size_t n) { return s * (1.0 + static_cast<double>(n + 2) * 0x1p-52); }

// Fast run with interval arithmetic. Every voter balance is kept as [lo, hi] containing the
// exact rational value; [0, 0] means exactly zero. Each decision the rule takes (affordable
// or not, which project has the smaller ratio, pruning) is made only when the intervals prove
// it; otherwise the run reports `certain = false` and the caller recounts it exactly.
//
// Speed: a run evaluates about a thousand candidates of a few thousand supporters each, and
// the supporters are scattered over the voters. So lo and hi live side by side (one cache
// line per voter, not two), and each evaluation reads them once, copying the non-zero ones
// into contiguous buffers that the later passes (approximation, proofs) scan sequentially.
class FastMes {
 public:
  explicit FastMes(const Profile& P) : P_(P) {
    const int m = P_.num_projects;
    stale_.resize(m);
    keys_.resize(m);
    int32_t widest = 0;
    for (int p = 0; p < m; ++p) widest = std::max(widest, P_.Support(p));
    buf_lo_.resize(widest);
    buf_hi_.resize(widest);
    pool_.resize(widest);
  }

  // Leaves the final balances in out->balances; money_left is filled by the caller, and only
  // for the run it keeps.
  void Count(int64_t k, Run* out) {
    const int m = P_.num_projects;
    const int64_t num = P_.instance->budget + k * static_cast<int64_t>(P_.num_voters);
    const double n = P_.num_voters;
    const double e_lo = Down(Down(static_cast<double>(num)) / n);
    const double e_hi = Up(Up(static_cast<double>(num)) / n);
    out->Reset(m);
    bal_ = &out->balances;
    bal_->assign(P_.num_voters, Interval{e_lo, e_hi});
    candidates_.clear();
    for (int p = 0; p < m; ++p) {
      if (P_.Support(p) > 0) {
        candidates_.push_back(p);
        stale_[p] = 0;
      }
    }
    while (true) {
      int best = -1;
      for (size_t i = 0; i < candidates_.size();) {
        const int q = candidates_[i];
        if (best >= 0 && stale_[q] > keys_[best].r_hi) break;  // sorted: the rest are worse
        Key& key = keys_[q];
        const Eval e = Evaluate(q, &key);
        if (e == Eval::kUncertain) {
          out->certain = false;
          return;
        }
        if (e == Eval::kUnaffordable) {
          candidates_.erase(candidates_.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        stale_[q] = key.r_lo;
        ++i;
        if (best < 0) {
          best = q;
          continue;
        }
        const int c = Compare(q, best);
        if (c == 0) {
          out->certain = false;
          return;
        }
        if (c < 0) best = q;
      }
      if (best < 0) break;
      candidates_.erase(std::find(candidates_.begin(), candidates_.end(), best));
      // Ratios only grow as balances shrink, so r_lo from an earlier round stays a lower bound.
      std::sort(candidates_.begin(), candidates_.end(),
                [this](int a, int b) { return stale_[a] < stale_[b]; });
      Pay(best, out);
    }
  }

 private:
  enum class Eval { kAffordable, kUnaffordable, kUncertain };

  // The ratio (max payment / cost) of a project: exact as 1/u when nobody is short of the
  // equal share (the common case, and the one where genuine ties happen), else an interval.
  struct Key {
    bool exact = false;
    bool free = false;  // cost 0: ratio 0, before anything else
    int64_t u = 0;      // exact: ratio is 1/u
    double a_lo = 0, a_hi = 0;
    double r_lo = 0, r_hi = 0;
  };

  Eval Evaluate(int q, Key* key) {
    const int32_t begin = P_.Begin(q), end = P_.End(q);
    const size_t size = static_cast<size_t>(end - begin);
    const Interval* bal = bal_->data();
    const int32_t* who = P_.supporters.data();
    double* lo = buf_lo_.data();
    double* hi = buf_hi_.data();
    // Two accumulators per sum to overlap the additions; the error bound of SumDown/SumUp
    // holds for any summation order of non-negative terms.
    double lo0 = 0, lo1 = 0, hi0 = 0, hi1 = 0, min_lo = std::numeric_limits<double>::infinity();
    size_t nonzero = 0;
    int32_t s = begin;
    for (; s + 1 < end; s += 2) {
      const Interval x = bal[who[s]], y = bal[who[s + 1]];
      lo0 += x.lo;
      hi0 += x.hi;
      lo1 += y.lo;
      hi1 += y.hi;
      lo[nonzero] = x.lo;
      hi[nonzero] = x.hi;
      nonzero += x.hi > 0;
      lo[nonzero] = y.lo;
      hi[nonzero] = y.hi;
      nonzero += y.hi > 0;
      min_lo = std::min(min_lo, x.hi > 0 ? x.lo : min_lo);
      min_lo = std::min(min_lo, y.hi > 0 ? y.lo : min_lo);
    }
    if (s < end) {
      const Interval x = bal[who[s]];
      lo0 += x.lo;
      hi0 += x.hi;
      lo[nonzero] = x.lo;
      hi[nonzero] = x.hi;
      nonzero += x.hi > 0;
      min_lo = std::min(min_lo, x.hi > 0 ? x.lo : min_lo);
    }
    count_ = nonzero;
    const double sum_lo = lo0 + lo1, sum_hi = hi0 + hi1;
    const double c = static_cast<double>(P_.Cost(q));  // exact: costs are at most 10^15
    *key = Key();
    if (c == 0) {
      key->exact = key->free = true;
      return Eval::kAffordable;
    }
    if (SumUp(sum_hi, size) < c) return Eval::kUnaffordable;
    if (SumDown(sum_lo, size) < c) return Eval::kUncertain;
    // No shortcut for candidates that certainly lose to the current best (say, by the lower
    // bound c / nonzero for the payment): their bounds are computed in full anyway, because a
    // tight r_lo keeps them out of the next rounds' evaluations, and gathering the balances
    // costs more than the bounds.
    const double share_hi = Up(c / static_cast<double>(nonzero));
    if (min_lo >= share_hi) {
      key->exact = true;
      key->u = static_cast<int64_t>(nonzero);
      key->a_lo = Down(c / static_cast<double>(nonzero));
      key->a_hi = share_hi;
      key->r_lo = Down(1.0 / static_cast<double>(nonzero));
      key->r_hi = Up(1.0 / static_cast<double>(nonzero));
      return Eval::kAffordable;
    }
    // Lower balances need a larger payment: an upper bound for the payment comes from the lo
    // ends, a lower bound from the hi ends. Each is an approximation pushed outward and then
    // proved by evaluating sum min(balance, a) against the cost with outward rounding. Near
    // the solution that sum grows at rate u (the supporters paying the full share), so the
    // push must beat the sum's rounding error divided by u.
    double a_hi = 0, a_lo = 0;
    if (!Bound(buf_lo_.data(), c, size, /*upper=*/true, &a_hi)) return Eval::kUncertain;
    if (!Bound(buf_hi_.data(), c, size, /*upper=*/false, &a_lo)) return Eval::kUncertain;
    key->a_lo = a_lo;
    key->a_hi = a_hi;
    key->r_lo = Down(a_lo / c);
    key->r_hi = Up(a_hi / c);
    return Eval::kAffordable;
  }

  // x: the count_ gathered balances (lo or hi ends) of the project being evaluated.
  bool Bound(const double* x, double c, size_t size, bool upper, double* a) {
    int64_t u = 0;
    const double approx = Approximate(x, c, &u);
    double push = approx * 0x1p-40 + 4.0 * static_cast<double>(size + 2) * 0x1p-52 * c /
                                         static_cast<double>(std::max<int64_t>(u, 1));
    for (int attempt = 0; attempt < 4; ++attempt, push *= 64) {
      if (upper) {
        *a = approx + push;
        if (SumDown(Fill(x, *a), size) >= c) return true;
      } else {
        *a = std::max(0.0, approx - push);
        if (SumUp(Fill(x, *a), size) < c) return true;
      }
    }
    return false;
  }

  // sum of min(x, a) over the gathered balances, rounded to nearest (the caller widens it).
  double Fill(const double* x, double a) const {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= count_; i += 4) {
      s0 += std::min(x[i], a);
      s1 += std::min(x[i + 1], a);
      s2 += std::min(x[i + 2], a);
      s3 += std::min(x[i + 3], a);
    }
    for (; i < count_; ++i) s0 += std::min(x[i], a);
    return (s0 + s1) + (s2 + s3);
  }

  // The payment for balances `x`, in plain floating point; `u` gets the number paying it.
  double Approximate(const double* x, double c, int64_t* u) {
    double* pool = pool_.data();
    size_t size = 0;
    for (size_t i = 0; i < count_; ++i) {
      pool[size] = x[i];
      size += x[i] > 0;
    }
    double rest = c;
    while (size > 0) {
      const double a = rest / static_cast<double>(size);
      size_t kept = 0;
      for (size_t i = 0; i < size; ++i) {
        const double b = pool[i];
        if (b < a) {
          rest -= b;
        } else {
          pool[kept++] = b;
        }
      }
      if (kept == size) {
        *u = static_cast<int64_t>(kept);
        return a;
      }
      size = kept;
    }
    *u = 0;
    return c;  // cannot happen when affordable; the proof step will reject it
  }

  // <0 when q goes first, >0 when b does, 0 when the intervals cannot tell.
  int Compare(int q, int b) const {
    const Key& kq = keys_[q];
    const Key& kb = keys_[b];
    if (kq.free || kb.free) {
      if (kq.free != kb.free) return kq.free ? -1 : 1;
      return TieBefore(P_, q, b) ? -1 : 1;
    }
    if (kq.exact && kb.exact) {
      if (kq.u != kb.u) return kq.u > kb.u ? -1 : 1;
      return TieBefore(P_, q, b) ? -1 : 1;
    }
    if (kq.r_hi < kb.r_lo) return -1;
    if (kq.r_lo > kb.r_hi) return 1;
    return 0;
  }

  void Pay(int q, Run* out) {
    const Key& key = keys_[q];
    out->order.push_back(q);
    out->cost += P_.Cost(q);
    out->max_payment[q] = 0.5 * (key.a_lo + key.a_hi);
    if (key.free) return;
    Interval* bal = bal_->data();
    int64_t payers = 0;
    for (int32_t s = P_.Begin(q); s < P_.End(q); ++s) {
      Interval& b = bal[P_.supporters[s]];
      if (b.hi == 0) continue;
      ++payers;
      if (b.hi <= key.a_lo) {
        b.lo = b.hi = 0;  // certainly paid everything it had: exactly zero now
      } else {
        b.lo = std::max(0.0, Down(b.lo - key.a_hi));
        b.hi = Up(b.hi - key.a_lo);
      }
    }
    out->payers[q] = payers;
  }

  const Profile& P_;
  std::vector<Interval>* bal_ = nullptr;  // the balances of the run being counted
  std::vector<double> buf_lo_, buf_hi_, pool_, stale_;
  size_t count_ = 0;  // entries of buf_lo_/buf_hi_ filled by the last Evaluate
  std::vector<Key> keys_;
  std::vector<int> candidates_;
};

}  // namespace

const char* DecisionText(Decision decision) {
  switch (decision) {
    case Decision::kSelected:
      return "seleccionado";
    case Decision::kDidNotFit:
      return "no cupo en el presupuesto restante";
    case Decision::kNotAffordable:
      return "sus votantes ya no tenían fondos suficientes";
    case Decision::kNoSupporters:
      return "no recibió votos";
  }
  return "";
}

Result<Outcome> CountGreedy(const PbInstance& x) {
  const Profile P = MakeProfile(x);
  std::vector<__int128> score(P.num_projects, 0);
  switch (x.vote_type) {
    case VoteType::kApproval:
    case VoteType::kChoose1:
      for (int p = 0; p < P.num_projects; ++p) score[p] = P.approvals[p];
      break;
    case VoteType::kCumulative:
      for (const PbVote& v : x.votes) {
        for (size_t j = 0; j < v.projects.size(); ++j) {
          score[v.projects[j]] += j < v.points.size() ? v.points[j] : 1;
        }
      }
      break;
    case VoteType::kOrdinal: {
      // Borda: the first of a ballot gets max_length points, the next one less, and so on.
      int64_t top = 0;
      if (const std::string* max_length = x.Meta("max_length")) {
        top = std::strtoll(max_length->c_str(), nullptr, 10);
      }
      for (const PbVote& v : x.votes) top = std::max<int64_t>(top, v.projects.size());
      for (const PbVote& v : x.votes) {
        for (size_t j = 0; j < v.projects.size(); ++j) {
          score[v.projects[j]] += top - static_cast<int64_t>(j);
        }
      }
      break;
    }
  }
  std::vector<int> order(P.num_projects);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int p, int q) {
    if (score[p] != score[q]) return score[p] > score[q];
    return TieBefore(P, p, q);
  });
  Outcome out;
  out.rule = "greedy";
  out.budget = x.budget;
  out.projects = BaseResults(P);
  int64_t left = x.budget;
  int position = 0;
  for (int p : order) {
    ProjectResult& r = out.projects[p];
    r.score = Clamp(score[p]);
    r.position = ++position;
    r.budget_left = left;
    if (P.Cost(p) <= left) {
      left -= P.Cost(p);
      r.decision = Decision::kSelected;
      out.selected.push_back(P.Id(p));
      out.total_cost += P.Cost(p);
    } else {
      r.decision = Decision::kDidNotFit;
    }
  }
  return out;
}

Result<Outcome> CountMes(const PbInstance& x, const MesOptions& options) {
  if (x.vote_type != VoteType::kApproval && x.vote_type != VoteType::kChoose1) {
    return Status::InvalidArgument(
        std::string("el Método de Partes Iguales (mes) solo se aplica a votos de aprobación; "
                    "este archivo tiene votos de tipo ") +
        VoteTypeName(x.vote_type));
  }
  const Profile P = MakeProfile(x);
  int supported = 0;
  __int128 all_cost = 0;
  for (int p = 0; p < P.num_projects; ++p) {
    if (P.Support(p) > 0) {
      ++supported;
      all_cost += P.Cost(p);
    }
  }
  Outcome out;
  out.rule = "mes";
  out.budget = x.budget;
  out.projects = BaseResults(P);
  for (ProjectResult& r : out.projects) {
    r.decision = r.approvals ? Decision::kNotAffordable : Decision::kNoSupporters;
  }
  if (P.num_voters == 0) {
    out.endowment = "0";
    return out;
  }

  // Add1 runs are independent of each other, so with two threads the next two endowments
  // are counted at once and their results consumed in order, exactly as one thread would
  // (a run past the stopping point is wasted, not used). Small instances stay on one thread:
  // starting threads would cost more than the runs.
  int threads = options.threads;
  if (threads <= 0) {
    threads = P.supporters.size() >= 200000 && std::thread::hardware_concurrency() >= 2 ? 2 : 1;
  }
  if (options.exact_only) threads = 1;
  threads = std::min(threads, 2);

  ExactMes exact(P);
  std::vector<FastMes> fast(threads, FastMes(P));
  Run kept;
  std::vector<Run> next(threads);
  int64_t k = 0;
  if (options.exact_only) {
    exact.Count(0, &kept);
  } else {
    fast[0].Count(0, &kept);  // spends at most n * B / n = B
    if (!kept.certain) exact.Count(0, &kept);
  }
  out.runs = 1;
  // Add1: the last outcome within the budget. Once every supported project is in, raising
  // the endowment cannot change anything; that also bounds the loop (at an endowment of the
  // total cost, a single supporter can pay for everything).
  bool done = false;
  while (!done && static_cast<int>(kept.order.size()) < supported && all_cost > 0) {
    if (options.exact_only) {
      next[0].certain = false;
    } else if (threads == 1) {
      fast[0].Count(k + 1, &next[0]);
    } else {
      std::thread helper([&] { fast[1].Count(k + 2, &next[1]); });
      fast[0].Count(k + 1, &next[0]);
      helper.join();
    }
    for (int t = 0; t < threads && !done; ++t) {
      if (static_cast<int>(kept.order.size()) >= supported || all_cost == 0) {
        done = true;
        break;
      }
      if (out.runs >= options.max_runs) {
        return Status::TooLarge("el conteo mes con Add1 necesita más de " +
                                std::to_string(options.max_runs) +
                                " rondas; revise el presupuesto y los costos del archivo");
      }
      Run& run = next[t];
      if (!run.certain) exact.Count(k + 1, &run);
      ++out.runs;
      if (run.cost > x.budget) {
        done = true;
        break;
      }
      ++k;
      std::swap(kept, run);
    }
  }

  mpq_class endowment(
      mpz_class(static_cast<long>(x.budget)) + mpz_class(static_cast<long>(P.num_voters)) * k,
      mpz_class(static_cast<long>(P.num_voters)));
  endowment.canonicalize();
  out.endowment = endowment.get_str();
  int position = 0;
  for (int32_t p : kept.order) {
    ProjectResult& r = out.projects[p];
    r.decision = Decision::kSelected;
    r.position = ++position;
    r.payers = kept.payers[p];
    r.max_payment = kept.max_payment[p];
    r.max_payment_exact = kept.max_payment_exact[p];
    out.selected.push_back(P.Id(p));
    out.total_cost += P.Cost(p);
  }
  if (!kept.money_known) {
    for (int p = 0; p < P.num_projects; ++p) {
      double total = 0;
      for (int32_t s = P.Begin(p); s < P.End(p); ++s) {
        const Interval& b = kept.balances[P.supporters[s]];
        total += 0.5 * (b.lo + b.hi);
      }
      kept.money_left[p] = total;
    }
  }
  for (int p = 0; p < P.num_projects; ++p) {
    if (out.projects[p].decision != Decision::kSelected) {
      out.projects[p].supporters_money = kept.money_left[p];
    }
  }
  return out;
}

}  // namespace abierto::presupuesto
