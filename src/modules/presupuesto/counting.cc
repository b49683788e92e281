#include "modules/presupuesto/counting.h"

#include <gmpxx.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
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
  // The same as byte offsets into an array of [lo, hi] balances (index * 16), so that the
  // fast pass's gathers need no multiplication.
  std::vector<size_t> balance_offsets;

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
  P.balance_offsets.resize(P.supporters.size());
  for (size_t s = 0; s < P.supporters.size(); ++s) {
    P.balance_offsets[s] = static_cast<size_t>(P.supporters[s]) * 16;
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

// An interval [lo, hi] of money as a two-lane vector (GCC/Clang vector extensions: SSE2 on
// x86-64, plain scalar code elsewhere), so that both ends are added, compared and masked in
// one instruction; and the lane masks that comparisons of such vectors give (-1 for true).
typedef double V2 __attribute__((vector_size(16)));
typedef int64_t M2 __attribute__((vector_size(16)));

// The two lanes of a comparison mask as bits 0 and 1.
int Bits(M2 mask) {
#if defined(__SSE2__)
  return _mm_movemask_pd(reinterpret_cast<__m128d>(mask));
#else
  return static_cast<int>((mask[0] & 1) | ((mask[1] & 1) << 1));
#endif
}

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
  std::vector<V2> balances;  // [lo, hi]
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
// Speed: a run evaluates several hundred candidates of a few thousand supporters each, and
// the supporters are scattered over the voters. So lo and hi live side by side (one cache
// line per voter, not two), and each evaluation reads them once: those that certainly pay
// all they have are only summed, those that certainly pay the full share only counted, and
// the few near the payment copied to a buffer that the later passes (approximation, proofs)
// scan. Those passes and Pay are branch-free: who is short of the share is unpredictable.
// The first round reads no balances at all.
class FastMes {
 public:
  explicit FastMes(const Profile& P) : P_(P) {
    const int m = P_.num_projects;
    stale_.resize(m);
    keys_.resize(m);
    int32_t widest = 0;
    for (int p = 0; p < m; ++p) widest = std::max(widest, P_.Support(p));
    pool_.resize(widest);
    far_.resize(widest);
    work_.resize(widest);
  }

  // Leaves the final balances in out->balances; money_left is filled by the caller, and only
  // for the run it keeps.
  void Count(int64_t k, Run* out) {
    const int m = P_.num_projects;
    const int64_t num = P_.instance->budget + k * static_cast<int64_t>(P_.num_voters);
    const double n = P_.num_voters;
    // [0, 0] stands for exactly zero, so an endowment of 0 must not become [-tiny, tiny].
    const double e_lo = num == 0 ? 0.0 : Down(Down(static_cast<double>(num)) / n);
    const double e_hi = num == 0 ? 0.0 : Up(Up(static_cast<double>(num)) / n);
    out->Reset(m);
    bal_ = &out->balances;
    bal_->assign(P_.num_voters, V2{e_lo, e_hi});
    pristine_ = true;
    candidates_.clear();
    for (int p = 0; p < m; ++p) {
      keys_[p] = Key();
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
    const double c = static_cast<double>(P_.Cost(q));  // exact: costs are at most 10^15
    // The payment only grows during a run (balances only shrink), so the lower bound proved
    // at this project's last evaluation still holds; c / supporters is one from the start.
    const double floor = key->a_lo;
    *key = Key();
    if (c == 0) {
      key->exact = key->free = true;
      return Eval::kAffordable;
    }
    const int32_t begin = P_.Begin(q), end = P_.End(q);
    const size_t size = static_cast<size_t>(end - begin);
    if (pristine_) {
      // Nobody has paid yet: every supporter holds [e_lo, e_hi], no need to read them.
      const double u = static_cast<double>(size);
      const double e_lo = (*bal_)[0][0], e_hi = (*bal_)[0][1];
      if (SumUp(e_hi * u, 1) < c) return Eval::kUnaffordable;
      if (e_lo > 0 && SumDown(e_lo * u, 1) >= c && e_lo >= Up(c / u)) {
        SetExact(key, c, size);
        return Eval::kAffordable;
      }
      // Borderline (everyone about as short as the share): the general path decides.
    }
    const double a0 = std::max(floor, Down(c / static_cast<double>(size)));
    // The payment rarely grows by a quarter between two evaluations of a project, so balances
    // whose lo is at least `far` (mostly) pay the full share, and only their number matters
    // unless the payment turns out to reach `far`. (On the 100k-voter instance 1.25 needs
    // the fewest instructions: a smaller factor retries too often, a larger one keeps more
    // balances near.)
    const double far = 1.25 * a0;
    // One pass over the supporters' balances (the only random access of an evaluation):
    // totals for affordability; the balances below a0 set apart (whoever certainly holds
    // less than a0 <= payment pays everything, so only their sum matters); the others copied
    // to contiguous buffers, near and far, so that the later passes (approximation, proofs)
    // usually scan a few hundred near ones only. [lo, hi] pairs are added as two-lane
    // vectors, with four accumulators to overlap the additions; the error bounds of
    // SumDown/SumUp hold for any order of adding non-negative terms. The loop is
    // branch-free and lean: at several hundred evaluations of thousands of supporters per
    // run, its instruction count is most of the count's time.
    const char* bal = reinterpret_cast<const char*>(bal_->data());
    const size_t* who = P_.balance_offsets.data() + begin;
    auto at = [bal](size_t offset) { return *reinterpret_cast<const V2*>(bal + offset); };
    V2* pool = pool_.data();
    V2* far_pool = far_.data();
    V2 sum[4] = {}, set_apart[4] = {};
    const V2 thresholds = {far, a0};
    // Each balance is written at both ends and the pointer that keeps it advances, by a step
    // taken from these tables, indexed by the comparison bits below: 0 far, 1 near, 3 set
    // apart (2 cannot happen: lo <= hi and a0 < far). Byte steps and byte offsets spare the
    // loop every multiplication by 16.
    static constexpr uint8_t kNear[4] = {0, sizeof(V2), 0, 0}, kFar[4] = {sizeof(V2), 0, 0, 0};
    char* next_near = reinterpret_cast<char*>(pool);
    char* next_far = reinterpret_cast<char*>(far_pool);
    auto take = [&](V2 x, int j) {
      sum[j] += x;
      const M2 below = x < thresholds;  // lo < far, hi < a0
      const M2 apart = __builtin_shufflevector(below, below, 1, 1);
      set_apart[j] += reinterpret_cast<V2>(reinterpret_cast<M2>(x) & apart);
      const int bits = Bits(below);
      *reinterpret_cast<V2*>(next_near) = x;
      *reinterpret_cast<V2*>(next_far) = x;
      next_near += kNear[bits];
      next_far += kFar[bits];
    };
    size_t i = 0;
    for (; i + 4 <= size; i += 4) {
      // Supporters are sorted, but far apart: fetch a few iterations ahead.
      if (i + 20 <= size) {
        __builtin_prefetch(bal + who[i + 16]);
        __builtin_prefetch(bal + who[i + 17]);
        __builtin_prefetch(bal + who[i + 18]);
        __builtin_prefetch(bal + who[i + 19]);
      }
      const V2 x0 = at(who[i]), x1 = at(who[i + 1]), x2 = at(who[i + 2]), x3 = at(who[i + 3]);
      take(x0, 0);
      take(x1, 1);
      take(x2, 2);
      take(x3, 3);
    }
    for (; i < size; ++i) take(at(who[i]), 0);
    size_t near = static_cast<size_t>(reinterpret_cast<V2*>(next_near) - pool);
    size_t distant = static_cast<size_t>(reinterpret_cast<V2*>(next_far) - far_pool);
    const V2 total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    const V2 apart = (set_apart[0] + set_apart[1]) + (set_apart[2] + set_apart[3]);
    if (SumUp(total[1], size) < c) return Eval::kUnaffordable;
    if (SumDown(total[0], size) < c) return Eval::kUncertain;
    // Nobody short of the equal share c / nonzero: the ratio is exactly 1 / nonzero. Only
    // possible when every balance set apart is zero (a non-zero one is below a0 <= c / nonzero,
    // and then somebody is short), that is when their hi ends add up to exactly 0.
    if (apart[1] == 0) {
      const size_t nonzero = near + distant;
      const double share_hi = Up(c / static_cast<double>(nonzero));
      double min_lo = std::numeric_limits<double>::infinity();
      for (size_t j = 0; j < near; ++j) min_lo = std::min(min_lo, pool[j][0]);
      if (far < share_hi) {
        for (size_t j = 0; j < distant; ++j) min_lo = std::min(min_lo, far_pool[j][0]);
      }
      if (min_lo >= share_hi) {
        SetExact(key, c, nonzero);
        return Eval::kAffordable;
      }
    }
    // If the payment reaches `far`, the far balances below a threshold above it join the
    // near ones and it is redone; the second time, all of them.
    double limit = far;
    for (int attempt = 0;; ++attempt) {
      const Proof proof = Prove(c, size, a0, apart, near, distant, limit, key);
      if (proof != Proof::kTooFar) {
        return proof == Proof::kProved ? Eval::kAffordable : Eval::kUncertain;
      }
      limit = attempt == 0 ? 1.5 * key->a_hi : std::numeric_limits<double>::infinity();
      size_t still = 0;
      for (size_t j = 0; j < distant; ++j) {
        const V2 x = far_pool[j];
        const bool in = x[0] < limit;
        pool[near] = x;
        far_pool[still] = x;
        near += in;
        still += !in;
      }
      distant = still;
    }
  }

  enum class Proof { kProved, kUncertain, kTooFar };

  // Someone is short: approximate the payment in plain floating point, then prove an upper
  // bound from the lo ends (sum of min(lo, a_hi) >= c) and a lower bound from the hi ends
  // (sum of min(hi, a_lo) < c). `apart` holds the sums of the balances set apart (below a0),
  // the pool the `near` balances; the `distant` ones (lo >= far) are counted as paying the
  // full share, which holds while a_hi <= far.
  // Near the solution the sum grows at rate u (the supporters paying the full share), so the
  // first try is pushed out by the sum's rounding error divided by u; a failed try is
  // corrected by a Newton step on its own side (the lo and hi ends differ by the width of the
  // intervals) and pushed further.
  Proof Prove(double c, size_t size, double a0, V2 apart, size_t near, size_t distant, double far,
              Key* key) {
    const double dl = apart[0], dh = apart[1];
    const double d = static_cast<double>(distant);
    int64_t u = 0;
    const V2 approx = Approximate(near, distant, V2{c - dl, c - dh}, &u);
    double push = approx[1] * 0x1p-40 + 4.0 * static_cast<double>(size + 2) * 0x1p-52 * c /
                                            static_cast<double>(std::max<int64_t>(u, 1));
    // try_hi >= a0 keeps min(lo, try_hi) = lo for the balances set apart; for a try_lo below
    // a0, counting them in full (dh) only overestimates the sum, which keeps that proof valid.
    double try_hi = std::max(std::max(approx[0], approx[1]) + push, a0);
    double try_lo = std::max(0.0, approx[1] - push);
    bool have_hi = false, have_lo = false;
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (try_hi > far) {
        key->a_hi = try_hi;  // how far it went
        return Proof::kTooFar;
      }
      const Fills f = Fill(near, try_hi, try_lo);
      if (!have_hi) have_hi = SumDown(dl + (f.lo + d * try_hi), size) >= c;
      if (!have_lo) have_lo = SumUp(dh + (f.hi + d * try_lo), size) < c;
      if (have_hi && have_lo) break;
      if (attempt > 0) push *= 64;  // the first correction is usually enough
      if (!have_hi) {
        const double slope = static_cast<double>(std::max<size_t>(f.lo_above + distant, 1));
        try_hi += std::max(0.0, (c - dl - (f.lo + d * try_hi)) / slope) + push;
      }
      if (!have_lo) {
        const double slope = static_cast<double>(std::max<size_t>(f.hi_above + distant, 1));
        try_lo =
            std::max(0.0, try_lo - std::max(0.0, (dh + (f.hi + d * try_lo) - c) / slope) - push);
      }
    }
    if (!have_hi || !have_lo) return Proof::kUncertain;
    key->a_lo = std::max(try_lo, a0);  // both are lower bounds
    key->a_hi = try_hi;
    key->r_lo = Down(key->a_lo / c);
    key->r_hi = Up(key->a_hi / c);
    return Proof::kProved;
  }

  static void SetExact(Key* key, double c, size_t u) {
    const double n = static_cast<double>(u);
    key->exact = true;
    key->u = static_cast<int64_t>(u);
    key->a_lo = Down(c / n);
    key->a_hi = Up(c / n);
    key->r_lo = Down(1.0 / n);
    key->r_hi = Up(1.0 / n);
  }

  struct Fills {
    double lo = 0, hi = 0;  // sums of min(lo, a_hi) and of min(hi, a_lo), rounded to nearest
    size_t lo_above = 0, hi_above = 0;  // balances with lo >= a_hi, hi >= a_lo (the slopes)
  };

  // Over the first `count` pooled balances, both sums in the two lanes of one vector.
  Fills Fill(size_t count, double a_hi, double a_lo) const {
    const V2* x = pool_.data();
    const V2 a = {a_hi, a_lo};
    V2 s0 = {}, s1 = {};
    M2 below0 = {}, below1 = {};
    auto add = [&a](V2 b, V2& s, M2& below) {
      const M2 lt = b < a;
      s += reinterpret_cast<V2>((reinterpret_cast<M2>(b) & lt) | (reinterpret_cast<M2>(a) & ~lt));
      below -= lt;  // comparisons give -1 for true
    };
    size_t i = 0;
    for (; i + 2 <= count; i += 2) {
      add(x[i], s0, below0);
      add(x[i + 1], s1, below1);
    }
    if (i < count) add(x[i], s0, below0);
    const V2 s = s0 + s1;
    const M2 below = below0 + below1;
    Fills f;
    f.lo = s[0];
    f.hi = s[1];
    f.lo_above = count - static_cast<size_t>(below[0]);
    f.hi_above = count - static_cast<size_t>(below[1]);
    return f;
  }

  // The payment in plain floating point: Newton's method on a -> sum of min(hi, a) over the
  // first `count` pooled balances plus `distant` times a (the far ones, assumed to pay the
  // full share), which must cover what remains of the cost, rest[1], once the balances set
  // apart have paid. Each step starts from below the solution, drops the
  // balances that fall short of the current payment and shares the rest equally among the
  // others. Branch-free: which balances fall short is unpredictable. The pairs are carried
  // along, so that the same shortfall on the lo ends (rest[0]) gives an estimate for their
  // solution too. Returns {lo estimate, hi solution}; `u` gets the number paying in full.
  V2 Approximate(size_t count, size_t distant, V2 rest, int64_t* u) {
    const V2* x = pool_.data();  // first step: read the pool, write the survivors to work_
    V2* kept_out = work_.data();
    size_t size = count;
    while (size + distant > 0) {
      const double n = static_cast<double>(size + distant);
      const double a = rest[1] / n;
      const V2 share = {a, a};
      V2 short0 = {}, short1 = {};
      // As in Evaluate: the hi lane's comparison, broadcast, masks the sum, and the output
      // pointer advances by a byte step indexed by the comparison bits (bit 1: hi < a).
      static constexpr uint8_t kKeep[4] = {sizeof(V2), sizeof(V2), 0, 0};
      char* out = reinterpret_cast<char*>(kept_out);
      auto step = [&](V2 b, V2& sum) {
        const M2 below = b < share;
        sum += reinterpret_cast<V2>(reinterpret_cast<M2>(b) &
                                    __builtin_shufflevector(below, below, 1, 1));
        *reinterpret_cast<V2*>(out) = b;
        out += kKeep[Bits(below)];
      };
      size_t i = 0;
      for (; i + 2 <= size; i += 2) {
        const V2 b0 = x[i], b1 = x[i + 1];
        step(b0, short0);
        step(b1, short1);
      }
      if (i < size) step(x[i], short0);
      const size_t kept = static_cast<size_t>(reinterpret_cast<V2*>(out) - kept_out);
      if (kept == size) {
        *u = static_cast<int64_t>(kept + distant);
        return V2{rest[0] / n, a};
      }
      rest -= short0 + short1;
      size = kept;
      x = kept_out;  // from the second step on, in place
    }
    *u = 0;
    return rest;  // cannot happen when affordable; the proof step will reject it
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
    pristine_ = false;
    // Branch-free, since who pays everything is unpredictable: new [lo, hi] =
    // [Down(lo - a_hi) or 0 if that is not positive, Up(hi - a_lo)], or exactly [0, 0] when
    // hi <= a_lo (certainly paid all it had; this leaves zeros unchanged too). hi - a_lo is
    // then positive, and Down / Up of positive doubles are the neighbouring bit patterns.
    V2* bal = bal_->data();
    const V2 a = {key.a_hi, key.a_lo}, limit = {key.a_lo, key.a_lo};
    const V2 zero = {};
    const M2 step = {-1, 1}, keep_hi = {0, -1};
    M2 payers0 = {}, payers1 = {};  // hi lanes count the non-zero balances (-1 per true)
    auto pay = [&](V2& b, M2& payers) {
      payers += b > zero;
      const V2 d = b - a;
      const M2 keep = (d > zero) | keep_hi;
      const M2 all = b <= limit;  // hi lane: hi <= a_lo, pays all it has
      const M2 alive = ~__builtin_shufflevector(all, all, 1, 1);
      b = reinterpret_cast<V2>((reinterpret_cast<M2>(d) + step) & keep & alive);
    };
    char* base = reinterpret_cast<char*>(bal);
    const size_t* who = P_.balance_offsets.data();
    auto at = [base](size_t offset) -> V2& { return *reinterpret_cast<V2*>(base + offset); };
    int32_t s = P_.Begin(q);
    for (; s + 2 <= P_.End(q); s += 2) {
      V2& b0 = at(who[s]);
      V2& b1 = at(who[s + 1]);
      pay(b0, payers0);
      pay(b1, payers1);
    }
    if (s < P_.End(q)) pay(at(who[s]), payers0);
    out->payers[q] = -(payers0[1] + payers1[1]);
  }

  const Profile& P_;
  std::vector<V2>* bal_ = nullptr;  // the balances of the run being counted
  std::vector<V2> pool_;            // near balances of the project being evaluated, as [lo, hi]
  std::vector<V2> far_;             // its far balances
  std::vector<V2> work_;            // Approximate's shrinking pool
  std::vector<double> stale_;
  bool pristine_ = false;  // nobody has paid anything yet in this run
  std::vector<Key> keys_;
  std::vector<int> candidates_;
};

// Fast runs for the endowment indices 0, 1, 2, ..., handed out in that order. Add1 runs are
// independent of each other, so with a helper thread the two threads count the next runs at
// once, each taking the next index not yet taken, up to kAhead beyond the one awaited; the
// caller still consumes them strictly in order, exactly as with one thread. Taking indices
// one at a time (rather than in fixed pairs) keeps both threads busy when runs take unequal
// time or one thread is descheduled on a busy machine.
class AheadCounter {
 public:
  AheadCounter(const Profile& P, bool helper) : main_(P), helper_(P) {
    if (helper) thread_ = std::thread([this] { Help(); });
  }

  ~AheadCounter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Swaps the run for index k into *out (k = 0, 1, 2, ... in order); *out's old buffers are
  // reused for a later run.
  void Take(int64_t k, Run* out) {
    std::unique_lock<std::mutex> lock(mu_);
    wanted_ = k;
    changed_.notify_all();
    while (true) {
      auto it = ready_.find(k);
      if (it != ready_.end()) {
        std::swap(*out, it->second);
        spare_.push_back(std::move(it->second));
        ready_.erase(it);
        wanted_ = k + 1;
        changed_.notify_all();
        return;
      }
      if (next_ < wanted_ + kAhead) {
        CountNext(main_, lock);
      } else {
        changed_.wait(lock);
      }
    }
  }

 private:
  static constexpr int64_t kAhead = 2;

  void Help() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      changed_.wait(lock, [this] { return stop_ || next_ < wanted_ + kAhead; });
      if (stop_) return;
      CountNext(helper_, lock);
    }
  }

  // Claims the next index and counts it with `fast`, unlocked meanwhile.
  void CountNext(FastMes& fast, std::unique_lock<std::mutex>& lock) {
    const int64_t k = next_++;
    Run run;
    if (!spare_.empty()) {
      run = std::move(spare_.back());
      spare_.pop_back();
    }
    lock.unlock();
    fast.Count(k, &run);
    lock.lock();
    ready_.emplace(k, std::move(run));
    changed_.notify_all();
  }

  FastMes main_, helper_;
  std::mutex mu_;
  std::condition_variable changed_;
  int64_t next_ = 0;    // next index to count
  int64_t wanted_ = 0;  // index the caller awaits next
  bool stop_ = false;
  std::map<int64_t, Run> ready_;
  std::vector<Run> spare_;
  std::thread thread_;
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

  // Small instances stay on one thread: starting one would cost more than the runs.
  int threads = options.threads;
  if (threads <= 0) {
    threads = P.supporters.size() >= 200000 && std::thread::hardware_concurrency() >= 2 ? 2 : 1;
  }
  threads = std::min(threads, 2);

  ExactMes exact(P);
  Run kept, run;
  int64_t k = 0;
  std::optional<AheadCounter> ahead;
  if (options.exact_only) {
    exact.Count(0, &kept);
  } else {
    ahead.emplace(P, threads == 2);
    ahead->Take(0, &kept);  // spends at most n * B / n = B
    if (!kept.certain) exact.Count(0, &kept);
  }
  out.runs = 1;
  // Add1: the last outcome within the budget. Once every supported project is in, raising
  // the endowment cannot change anything; that also bounds the loop (at an endowment of the
  // total cost, a single supporter can pay for everything).
  while (static_cast<int>(kept.order.size()) < supported && all_cost > 0) {
    if (out.runs >= options.max_runs) {
      return Status::TooLarge("el conteo mes con Add1 necesita más de " +
                              std::to_string(options.max_runs) +
                              " rondas; revise el presupuesto y los costos del archivo");
    }
    if (options.exact_only) {
      exact.Count(k + 1, &run);
    } else {
      ahead->Take(k + 1, &run);
      if (!run.certain) exact.Count(k + 1, &run);
    }
    ++out.runs;
    if (run.cost > x.budget) break;
    ++k;
    std::swap(kept, run);
  }
  ahead.reset();  // a run counted ahead past the stopping point is wasted, not used

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
        const V2 b = kept.balances[P.supporters[s]];
        total += 0.5 * (b[0] + b[1]);
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
