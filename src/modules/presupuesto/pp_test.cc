// Tests of the participatory-budget module through the dispatcher, on a real SQLite database with
// every module registered as in production: proposals, review, voting and its refusals (each
// checked to store nothing), receipts, counting, publication, execution, Pabulib export/import.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "abierto/web.h"
#include "modules.h"
#include "modules/presupuesto/counting.h"
#include "modules/presupuesto/presupuesto.h"

namespace abierto::presupuesto {
namespace {

namespace json = boost::json;

constexpr char kToday[] = "2026-11-21";
constexpr char kCurpA[] = "GOMA850101HGTRRN09";
constexpr char kCurpB[] = "LOPE900215MGTPRR02";
constexpr char kCurpC[] = "HERJ770707HGTRNS01";

class PpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("ABIERTO_TODAY", kToday, 1);
    unsetenv("ABIERTO_VOTER_KEY");
    dir_ = std::filesystem::temp_directory_path() / ("abierto-pp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    web::Config c;
    c.db_url = "sqlite:" + (dir_ / "pp.db").string();
    auto app = web::App::Create(c, Modules());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app.value()).release();
    ASSERT_TRUE(app_->Migrate().ok());
    // Users 1 and 2 are residents, 3 works in the participatory-budget office.
    for (const char* email : {"ana@example.org", "beto@example.org", "carla@example.org"}) {
      bool staff = std::string(email) == "carla@example.org";
      auto u = app_->dispatcher().Run(Db(), Principal::System(), "users.create",
                                      json::object{{"email", email},
                                                   {"name", email},
                                                   {"role", staff ? "secretariado" : "ciudadano"},
                                                   {"password", "contrasena-larga"}});
      ASSERT_TRUE(u.ok()) << u.status().ToString();
    }
    // Process "abierto": proposals open today. Process "votando": voting open today, with
    // projects loaded by the system principal (which may record earlier phases).
    open_ =
        MakeProcess("abierto", "2026-11-01", "2026-11-30", "2026-12-10", "2026-12-20", "greedy");
    open_zone_ = MakeZone(open_, "Coecillo", 1000, "aprobacion");
    voting_ =
        MakeProcess("votando", "2026-06-01", "2026-07-31", "2026-11-15", "2026-11-30", "greedy");
    approval_ = MakeZone(voting_, "Cerro Gordo", 1000, "aprobacion", 2);
    knapsack_ = MakeZone(voting_, "San Miguel", 1000, "mochila");
    points_ = MakeZone(voting_, "Las Joyas", 1000, "puntos", 3, 10);
    for (int64_t z : {approval_, knapsack_, points_})
      for (int64_t cost : {600, 300, 200, 100})
        projects_[z].push_back(MakeViable(voting_, z, cost));
  }
  static void TearDownTestSuite() {
    delete app_;
    std::filesystem::remove_all(dir_);
  }

  static db::Connection& Db() { return **app_->ThreadConnection(); }
  static Result<json::value> Sys(std::string_view action, json::object in) {
    return app_->dispatcher().Run(Db(), Principal::System(), action, in);
  }
  static Result<json::value> As(const Principal& p, std::string_view action, json::object in) {
    return app_->dispatcher().Run(Db(), p, action, in);
  }
  static int64_t Id(const Result<json::value>& r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->at("id").as_int64() : 0;
  }
  static int64_t MakeProcess(const char* slug, const char* pf, const char* pt, const char* vf,
                             const char* vt, const char* rule) {
    return Id(Sys("pp.process.create", {{"year", 2026},
                                        {"title", std::string("Proceso ") + slug},
                                        {"slug", slug},
                                        {"proposals_from", pf},
                                        {"proposals_to", pt},
                                        {"voting_from", vf},
                                        {"voting_to", vt},
                                        {"counting_rule", rule}}));
  }
  static int64_t MakeZone(int64_t process, const char* name, int64_t budget, const char* rule,
                          int64_t max_choices = 3, int64_t max_points = 10) {
    return Id(Sys("pp.zone.create", {{"process_id", process},
                                     {"name", name},
                                     {"kind", "delegacion"},
                                     {"budget", budget},
                                     {"vote_rule", rule},
                                     {"max_choices", max_choices},
                                     {"max_points", max_points}}));
  }
  static int64_t MakeViable(int64_t process, int64_t zone, int64_t cost) {
    int64_t id = Id(Sys("pp.proposal.create", {{"process_id", process},
                                               {"zone_id", zone},
                                               {"title", "Proyecto de " + std::to_string(cost)},
                                               {"description", "d"},
                                               {"estimated_cost", cost}}));
    EXPECT_TRUE(Sys("pp.proposal.submit", {{"id", id}}).ok());
    auto r = Sys("pp.proposal.review", {{"id", id},
                                        {"technical_ok", true},
                                        {"legal_ok", true},
                                        {"financial_ok", true},
                                        {"official_cost", cost}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }
  static Principal Citizen(int64_t user_id) {
    Principal p;
    p.user_id = user_id;
    p.role = Role::kCiudadano;
    p.email = "c@example.org";
    return p;
  }
  static Principal Booth() {
    Principal p;
    p.user_id = 1;
    p.role = Role::kEnlace;
    p.unit_id = 1;
    return p;
  }
  static Principal Office() {
    Principal p;
    p.user_id = 3;
    p.role = Role::kSecretariado;
    p.email = "carla@example.org";
    return p;
  }
  static std::string Csv(const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
  }
  static json::object Ballot(int64_t process, int64_t zone, std::string projects,
                             const char* curp) {
    return {{"process_id", process},   {"zone_id", zone},  {"projects", projects},
            {"voter_id_type", "curp"}, {"voter_id", curp}, {"privacy_accepted", true}};
  }

  // Everything a write could leave behind, to prove a refusal stored nothing.
  static std::string Trace() {
    auto n = Db().Query(
        "SELECT (SELECT COUNT(*) FROM pp_ballots) AS b, (SELECT COUNT(*) FROM pp_ballot_items) "
        "AS i, (SELECT COUNT(*) FROM pp_voters) AS v, (SELECT COUNT(*) FROM pp_projects) AS p, "
        "(SELECT COUNT(*) FROM audit_log) AS a, (SELECT rev FROM meta_revision WHERE id = 1) AS r, "
        "(SELECT COUNT(*) FROM pp_photos) AS ph, (SELECT COUNT(*) FROM files) AS f");
    if (!n.ok()) return "error";
    const db::Row& r = (*n)[0];
    return std::to_string(r.Int("b")) + "/" + std::to_string(r.Int("i")) + "/" +
           std::to_string(r.Int("v")) + "/" + std::to_string(r.Int("p")) + "/" +
           std::to_string(r.Int("a")) + "/" + std::to_string(r.Int("r")) + "/" +
           std::to_string(r.Int("ph")) + "/" + std::to_string(r.Int("f"));
  }

  static web::App* app_;
  static std::filesystem::path dir_;
  static int64_t open_, open_zone_, voting_, approval_, knapsack_, points_;
  static std::map<int64_t, std::vector<int64_t>> projects_;
};

web::App* PpTest::app_ = nullptr;
std::filesystem::path PpTest::dir_;
int64_t PpTest::open_, PpTest::open_zone_, PpTest::voting_, PpTest::approval_, PpTest::knapsack_,
    PpTest::points_;
std::map<int64_t, std::vector<int64_t>> PpTest::projects_;

TEST(PpRules, PhasesFollowTheDates) {
  auto at = [](const char* today) {
    return PhaseOn(today, "2026-01-10", "2026-02-10", "2026-03-01", "2026-03-10", "2026-05-01");
  };
  EXPECT_EQ(at("2026-01-09"), "proximamente");
  EXPECT_EQ(at("2026-01-10"), "registro");
  EXPECT_EQ(at("2026-02-10"), "registro");
  EXPECT_EQ(at("2026-02-11"), "revision");
  EXPECT_EQ(at("2026-03-01"), "votacion");
  EXPECT_EQ(at("2026-03-10"), "votacion");
  EXPECT_EQ(at("2026-03-11"), "resultados");
  EXPECT_EQ(at("2026-05-01"), "ejecucion");
  EXPECT_EQ(PhaseOn("2027-01-01", "2026-01-10", "2026-02-10", "2026-03-01", "2026-03-10", ""),
            "resultados");
}

TEST(PpRules, VoterDocumentShapes) {
  EXPECT_TRUE(IsCurp("GOMA850101HGTRRN09"));
  EXPECT_TRUE(IsCurp("LOPE900215MGTPRR02"));
  EXPECT_TRUE(IsCurp("LOPE000215MGTPRRA2"));
  EXPECT_FALSE(IsCurp("GOMA851301HGTRRN09"));  // month 13
  EXPECT_FALSE(IsCurp("GOMA850101HZZRRN09"));  // no such state
  EXPECT_FALSE(IsCurp("GOMA850101HGTRRN0"));   // 17 characters
  EXPECT_FALSE(IsCurp("goma850101hgtrrn09"));  // callers upper-case first
  EXPECT_TRUE(IsElectorKey("GMRSAN85010111H400"));
  EXPECT_FALSE(IsElectorKey("GMRSAN85010111H40"));
  EXPECT_FALSE(IsElectorKey("GMRSAN85010111H40-"));
}

TEST_F(PpTest, ProposalIsADraftUntilSubmittedAndOnlyThenPublic) {
  Principal ana = Citizen(1), beto = Citizen(2);
  std::string before = Trace();
  auto made = As(ana, "pp.proposal.create",
                 {{"process_id", open_},
                  {"zone_id", open_zone_},
                  {"title", "Luminarias en la calle Hidalgo"},
                  {"description", "Iluminar el camino a la escuela"},
                  {"lat", 21.12},
                  {"lng", -101.68},
                  {"estimated_cost", 350000}});
  int64_t id = Id(made);
  // Drafts are private: not listed, not shown to others.
  auto list = Sys("pp.project.list", {{"process", "abierto"}});
  ASSERT_TRUE(list.ok());
  for (auto& p : list->as_array()) EXPECT_NE(p.at("id").as_int64(), id);
  EXPECT_EQ(As(Principal::Anonymous(), "pp.project.show", {{"id", id}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(As(ana, "pp.project.show", {{"id", id}}).ok());
  // Someone else cannot submit it.
  EXPECT_EQ(As(beto, "pp.proposal.submit", {{"id", id}}).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(As(ana, "pp.proposal.submit", {{"id", id}}).ok());
  auto shown = As(Principal::Anonymous(), "pp.project.show", {{"id", id}});
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->at("status"), "registrado");
  // Accent-insensitive search finds it.
  auto found = Sys("pp.project.list", {{"q", "CALLE hidálgo"}});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->as_array().size(), 1u);
  EXPECT_EQ(found->as_array()[0].at("id").as_int64(), id);
  EXPECT_NE(Trace(), before);
}

TEST_F(PpTest, ProposalInAZoneOfAnotherProcessIsRefusedAndStoresNothing) {
  std::string before = Trace();
  auto r = As(Citizen(1), "pp.proposal.create",
              {{"process_id", open_},
               {"zone_id", approval_},  // zone of "votando"
               {"title", "Parque"},
               {"description", "d"},
               {"estimated_cost", 100}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_FALSE(r.status().fields().empty());
  EXPECT_EQ(r.status().fields()[0].field, "zone_id");
  EXPECT_EQ(Trace(), before);
}

TEST_F(PpTest, ProposalOutsideTheRegistrationPhaseIsRefused) {
  std::string before = Trace();
  auto r = As(Citizen(1), "pp.proposal.create",
              {{"process_id", voting_},
               {"zone_id", approval_},
               {"title", "Tarde"},
               {"description", "d"},
               {"estimated_cost", 100}});
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Trace(), before);
}

TEST_F(PpTest, ReviewNeedsAReasonForEachNoAndTheCostForAViableProject) {
  int64_t id = Id(Sys("pp.proposal.create", {{"process_id", open_},
                                             {"zone_id", open_zone_},
                                             {"title", "Cancha"},
                                             {"description", "d"},
                                             {"estimated_cost", 500}}));
  ASSERT_TRUE(Sys("pp.proposal.submit", {{"id", id}}).ok());
  Principal staff = Booth();
  std::string before = Trace();
  auto r = As(staff, "pp.proposal.review",
              {{"id", id}, {"technical_ok", true}, {"legal_ok", false}, {"financial_ok", true}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().fields()[0].field, "legal_reason");
  r = As(staff, "pp.proposal.review",
         {{"id", id}, {"technical_ok", true}, {"legal_ok", true}, {"financial_ok", true}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().fields()[0].field, "official_cost");
  EXPECT_EQ(Trace(), before);
  r = As(staff, "pp.proposal.review",
         {{"id", id},
          {"technical_ok", true},
          {"legal_ok", false},
          {"legal_reason", "El predio es propiedad privada"},
          {"financial_ok", true}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto shown = As(Principal::Anonymous(), "pp.project.show", {{"id", id}});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->at("status"), "no_viable");
  EXPECT_EQ(shown->at("review").at("legal").at("reason"), "El predio es propiedad privada");
}

TEST_F(PpTest, BadBallotsAreRefusedWithAReasonAndStoreNothing) {
  const auto& ap = projects_[approval_];
  const auto& kn = projects_[knapsack_];
  const auto& pt = projects_[points_];
  int64_t open_project = MakeViable(open_, open_zone_, 100);
  struct Case {
    const char* what;
    Principal who;
    json::object ballot;
    StatusCode code;
    const char* field;
  };
  json::object no_privacy = Ballot(voting_, approval_, Csv({ap[0]}), kCurpC);
  no_privacy["privacy_accepted"] = false;
  json::object bad_curp = Ballot(voting_, approval_, Csv({ap[0]}), "GOMA851301HGTRRN09");
  std::vector<Case> cases = {
      {"unknown project", Booth(), Ballot(voting_, approval_, "999999", kCurpC),
       StatusCode::kInvalidArgument, "projects"},
      {"project of another zone", Booth(), Ballot(voting_, approval_, Csv({kn[0]}), kCurpC),
       StatusCode::kInvalidArgument, "projects"},
      {"over-budget knapsack", Booth(),
       Ballot(voting_, knapsack_, Csv({kn[0], kn[1], kn[2]}), kCurpC),  // 600+300+200 > 1000
       StatusCode::kInvalidArgument, "projects"},
      {"too many approvals", Booth(),
       Ballot(voting_, approval_, Csv({ap[0], ap[1], ap[2]}), kCurpC), StatusCode::kInvalidArgument,
       "projects"},
      {"too many points", Booth(),
       Ballot(voting_, points_, std::to_string(pt[0]) + ":6," + std::to_string(pt[1]) + ":5",
              kCurpC),
       StatusCode::kInvalidArgument, "projects"},
      {"points in an approval zone", Booth(),
       Ballot(voting_, approval_, std::to_string(ap[0]) + ":2", kCurpC),
       StatusCode::kInvalidArgument, "projects"},
      {"repeated project", Booth(), Ballot(voting_, approval_, Csv({ap[0], ap[0]}), kCurpC),
       StatusCode::kInvalidArgument, "projects"},
      {"zone of another process", Booth(), Ballot(voting_, open_zone_, Csv({open_project}), kCurpC),
       StatusCode::kInvalidArgument, "zone_id"},
      {"outside the voting phase", Booth(), Ballot(open_, open_zone_, Csv({open_project}), kCurpC),
       StatusCode::kConflict, nullptr},
      {"privacy notice not accepted", Booth(), no_privacy, StatusCode::kInvalidArgument,
       "privacy_accepted"},
      {"malformed CURP", Booth(), bad_curp, StatusCode::kInvalidArgument, "voter_id"},
      {"empty ballot", Booth(), Ballot(voting_, approval_, " , ", kCurpC),
       StatusCode::kInvalidArgument, "projects"},
  };
  for (const Case& c : cases) {
    std::string before = Trace();
    auto r = As(c.who, "pp.vote.booth", c.ballot);
    ASSERT_FALSE(r.ok()) << c.what << " was accepted";
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty()) << c.what;
    if (c.field) {
      ASSERT_FALSE(r.status().fields().empty()) << c.what;
      EXPECT_EQ(r.status().fields()[0].field, c.field) << c.what;
      EXPECT_FALSE(r.status().fields()[0].message.empty()) << c.what;
    }
    EXPECT_EQ(Trace(), before) << c.what << " stored something";
  }
}

TEST_F(PpTest, OneBallotPerPersonPerProcessAcrossChannels) {
  const auto& ap = projects_[approval_];
  // A fresh process so that earlier tests' ballots do not interfere.
  int64_t proc =
      MakeProcess("unico", "2026-06-01", "2026-07-31", "2026-11-15", "2026-11-30", "greedy");
  int64_t zone = MakeZone(proc, "Del Carmen", 1000, "aprobacion");
  int64_t p1 = MakeViable(proc, zone, 100);
  (void)ap;
  auto first = As(Citizen(1), "pp.vote.cast", Ballot(proc, zone, Csv({p1}), kCurpA));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string receipt(first->at("receipt").as_string());
  EXPECT_EQ(receipt.size(), 11u);
  struct Case {
    const char* what;
    Principal who;
    const char* action;
    const char* curp;
  };
  for (const Case& c : std::vector<Case>{
           {"same CURP online, other account", Citizen(2), "pp.vote.cast", kCurpA},
           {"same CURP at a booth", Booth(), "pp.vote.booth", kCurpA},
           {"same account, another CURP", Citizen(1), "pp.vote.cast", kCurpB},
       }) {
    std::string before = Trace();
    auto r = As(c.who, c.action, Ballot(proc, zone, Csv({p1}), c.curp));
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kConflict) << c.what;
    EXPECT_NE(r.status().message().find("Ya se registró un voto"), std::string::npos);
    EXPECT_EQ(Trace(), before) << c.what;
  }
  // Lower case and spaces are the same document.
  auto spaced = As(Booth(), "pp.vote.booth", Ballot(proc, zone, Csv({p1}), "goma 850101 hgtrrn09"));
  EXPECT_EQ(spaced.status().code(), StatusCode::kConflict);
  // The same person may vote in another process.
  auto other = As(Booth(), "pp.vote.booth", Ballot(voting_, approval_, Csv({ap[0]}), kCurpA));
  EXPECT_TRUE(other.ok()) << other.status().ToString();
}

TEST_F(PpTest, TheBallotBoxHoldsNoIdentityAndBallotsAreNotAudited) {
  int64_t proc =
      MakeProcess("privado", "2026-06-01", "2026-07-31", "2026-11-15", "2026-11-30", "greedy");
  int64_t zone = MakeZone(proc, "Coecillo", 1000, "aprobacion");
  int64_t p1 = MakeViable(proc, zone, 100);
  auto audit_before = Db().Query("SELECT COUNT(*) AS n FROM audit_log");
  auto r = As(Citizen(2), "pp.vote.cast", Ballot(proc, zone, Csv({p1}), kCurpC));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto audit_after = Db().Query("SELECT COUNT(*) AS n FROM audit_log");
  EXPECT_EQ((*audit_before)[0].Int("n"), (*audit_after)[0].Int("n"));
  // The register holds keyed hashes, never the document.
  auto voters = Db().Query("SELECT voter_hash FROM pp_voters WHERE process_id = ?", {proc});
  ASSERT_TRUE(voters.ok());
  ASSERT_EQ(voters->size(), 2u);  // the CURP's and the account's
  for (const db::Row& v : *voters) {
    EXPECT_EQ(v.Text("voter_hash").size(), 64u);
    EXPECT_EQ(v.Text("voter_hash").find(kCurpC), std::string::npos);
  }
  // The ballot rows have no column that names a person or an account.
  auto cols = Db().Query("SELECT * FROM pp_ballots WHERE process_id = ?", {proc});
  ASSERT_TRUE(cols.ok() && cols->size() == 1);
  for (const std::string& c : (*cols)[0].names())
    EXPECT_TRUE(c == "id" || c == "process_id" || c == "zone_id" || c == "receipt_hash" ||
                c == "channel" || c == "cast_on" || c == "is_example")
        << c;
  // A server key changes every hash, so the database's own key is not the only secret.
  auto db_hash = VoterHash(Db(), "curp", kCurpC);
  setenv("ABIERTO_VOTER_KEY", std::string(64, 'a').c_str(), 1);
  auto env_hash = VoterHash(Db(), "curp", kCurpC);
  setenv("ABIERTO_VOTER_KEY", "corta", 1);
  auto bad_key = VoterHash(Db(), "curp", kCurpC);
  unsetenv("ABIERTO_VOTER_KEY");
  ASSERT_TRUE(db_hash.ok() && env_hash.ok());
  EXPECT_NE(*db_hash, *env_hash);
  EXPECT_FALSE(bad_key.ok());
}

TEST_F(PpTest, ReceiptConfirmsTheBallotWithoutRevealingIt) {
  const auto& kn = projects_[knapsack_];
  auto r = As(Booth(), "pp.vote.booth", Ballot(voting_, knapsack_, Csv({kn[0], kn[1]}), kCurpB));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string code(r->at("receipt").as_string());
  std::string lower = code;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  auto check = As(Principal::Anonymous(), "pp.receipt.check", {{"code", lower}});
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ(check->at("zone"), "San Miguel");
  EXPECT_EQ(check->at("channel"), "modulo");
  EXPECT_FALSE(check->as_object().contains("projects"));
  EXPECT_EQ(
      As(Principal::Anonymous(), "pp.receipt.check", {{"code", "AAAAA-AAAAA"}}).status().code(),
      StatusCode::kNotFound);
}

// A finished process: ballots loaded as the system (a past year), counted, published, exported
// and re-imported; the published file recounts to the same winners.
TEST_F(PpTest, CountPublishExportAndReimportAgree) {
  for (const char* rule : {"greedy", "mes"}) {
    std::string slug = std::string("cerrado-") + rule;
    int64_t proc =
        MakeProcess(slug.c_str(), "2025-03-01", "2025-04-30", "2025-09-01", "2025-09-30", rule);
    int64_t zone = MakeZone(proc, "San Juan Bosco", 1000, "aprobacion", 3);
    std::vector<int64_t> p = {MakeViable(proc, zone, 600), MakeViable(proc, zone, 500),
                              MakeViable(proc, zone, 300), MakeViable(proc, zone, 200)};
    // 6 ballots for p0+p2, 3 for p1, 2 for p1+p3: greedy takes p2 (6 votes, cheaper of the
    // tie) and p0 (6, 600), leaving 100; p1 (5, 500) and p3 (2, 200) do not fit.
    std::vector<std::vector<int64_t>> ballots;
    for (int i = 0; i < 6; ++i) ballots.push_back({p[0], p[2]});
    for (int i = 0; i < 3; ++i) ballots.push_back({p[1]});
    for (int i = 0; i < 2; ++i) ballots.push_back({p[1], p[3]});
    int n = 0;
    for (const auto& b : ballots) {
      char curp[19];
      snprintf(curp, sizeof curp, "GOMA85%02d01HGTRRN%02d", 1 + n % 12, n);
      json::object in = Ballot(proc, zone, Csv(b), curp);
      in["cast_on"] = "2025-09-10";
      auto r = Sys("pp.vote.booth", in);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ++n;
    }
    auto res = As(Principal::Anonymous(), "pp.results", {{"process", slug}, {"zone_id", zone}});
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_TRUE(res->at("available").as_bool());
    EXPECT_EQ(res->at("ballots").as_int64(), 11);
    std::set<int64_t> winners;
    for (auto& pr : res->at("projects").as_array())
      if (pr.at("selected").as_bool()) winners.insert(pr.at("id").as_int64());
    if (std::string(rule) == "greedy") {
      EXPECT_EQ(winners, (std::set<int64_t>{p[0], p[2]}));
      for (auto& pr : res->at("projects").as_array())
        if (pr.at("id").as_int64() == p[1]) {
          EXPECT_EQ(pr.at("decision"), "no cupo en el presupuesto restante");
          EXPECT_EQ(pr.at("budget_left").as_int64(), 100);
          EXPECT_EQ(pr.at("votes").as_int64(), 5);
        }
    } else {
      // MES: p1's 5 supporters hold 5/11 of the budget and can pay for it alone.
      EXPECT_TRUE(winners.count(p[1])) << json::serialize(*res);
      for (auto& pr : res->at("projects").as_array())
        if (pr.at("selected").as_bool()) {
          EXPECT_GT(pr.at("payers").as_int64(), 0);
        }
    }
    // Publication marks exactly the counted winners, once.
    auto pub = As(Booth(), "pp.results.publish", {{"process_id", proc}});
    EXPECT_EQ(pub.status().code(), StatusCode::kPermissionDenied);
    Principal sec;
    sec.user_id = 1;
    sec.role = Role::kSecretariado;
    pub = As(sec, "pp.results.publish", {{"process_id", proc}});
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    EXPECT_EQ(As(sec, "pp.results.publish", {{"process_id", proc}}).status().code(),
              StatusCode::kConflict);
    auto listed = Sys("pp.project.list", {{"process", slug}, {"status", "ganador"}});
    ASSERT_TRUE(listed.ok());
    std::set<int64_t> marked;
    for (auto& pr : listed->as_array()) marked.insert(pr.at("id").as_int64());
    EXPECT_EQ(marked, winners);

    // The anonymized file: ballots numbered 1..n, no receipts, recounts to the same winners.
    auto pb =
        As(Principal::Anonymous(), "pp.ballots.export", {{"process", slug}, {"zone_id", zone}});
    ASSERT_TRUE(pb.ok()) << pb.status().ToString();
    std::string text(pb->at("pb").as_string());
    auto inst = ParsePb(text);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    EXPECT_EQ(inst->votes.size(), 11u);
    EXPECT_EQ(inst->budget, 1000);
    auto recount = std::string(rule) == "mes" ? CountMes(*inst) : CountGreedy(*inst);
    ASSERT_TRUE(recount.ok());
    std::set<int64_t> recounted;
    for (const std::string& id : recount->selected) recounted.insert(std::stoll(id));
    EXPECT_EQ(recounted, winners);
    auto hashes = Db().Query("SELECT receipt_hash FROM pp_ballots WHERE process_id = ?", {proc});
    for (const db::Row& h : *hashes)
      EXPECT_EQ(text.find(h.Text("receipt_hash")), std::string::npos);

    // Import of that file as a past process gives the same count.
    Principal admin;
    admin.user_id = 1;
    admin.role = Role::kAdmin;
    auto imp = As(
        admin, "pp.pb.import",
        {{"file", json::object{{"name", "z.pb"}, {"content_type", "text/plain"}, {"data", text}}},
         {"title", "Importado"},
         {"slug", slug + "-importado"},
         {"year", 2024},
         {"zone_name", "Zona importada"},
         {"counting_rule", rule}});
    ASSERT_TRUE(imp.ok()) << imp.status().ToString();
    auto res2 = Sys("pp.results",
                    {{"process", slug + "-importado"}, {"zone_id", imp->at("zone_id").as_int64()}});
    ASSERT_TRUE(res2.ok()) << res2.status().ToString();
    std::vector<int64_t> a, b;
    for (auto& pr : res->at("projects").as_array()) a.push_back(pr.at("votes").as_int64());
    for (auto& pr : res2->at("projects").as_array()) b.push_back(pr.at("votes").as_int64());
    EXPECT_EQ(a, b);
    EXPECT_EQ(res2->at("total_cost"), res->at("total_cost"));
  }
}

TEST_F(PpTest, ABadPbFileIsRefusedAndStoresNothing) {
  Principal admin;
  admin.user_id = 1;
  admin.role = Role::kAdmin;
  std::string before = Trace();
  auto r = As(admin, "pp.pb.import",
              {{"file", json::object{{"name", "x.pb"}, {"data", "META\nkey;value\nbudget;x\n"}}},
               {"title", "Roto"},
               {"year", 2020},
               {"zone_name", "Z"},
               {"counting_rule", "greedy"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().fields()[0].field, "file");
  EXPECT_EQ(Trace(), before);
}

TEST_F(PpTest, ResultsStayHiddenWhileVotingAndExecutionOnlyForWinners) {
  auto res = Sys("pp.results", {{"process", "votando"}, {"zone_id", approval_}});
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->at("available").as_bool());
  EXPECT_FALSE(res->as_object().contains("projects"));
  EXPECT_EQ(
      Sys("pp.ballots.export", {{"process", "votando"}, {"zone_id", approval_}}).status().code(),
      StatusCode::kNotFound);
  std::string before = Trace();
  auto ex = As(Booth(), "pp.execution.report",
               {{"project_id", projects_[approval_][0]},
                {"milestone", "Inicio"},
                {"physical_pct", 10},
                {"financial_pct", 5}});
  EXPECT_EQ(ex.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Trace(), before);
  // A winner of a published process takes execution reports, shown on its page. The test
  // makes its own closed process so that it does not depend on the order tests run in.
  int64_t proc = MakeProcess("cerrado-ejecucion", "2025-03-01", "2025-04-30", "2025-09-01",
                             "2025-09-30", "greedy");
  int64_t zone = MakeZone(proc, "Del Carmen", 1000, "aprobacion", 3);
  int64_t project = MakeViable(proc, zone, 400);
  json::object ballot = Ballot(proc, zone, Csv({project}), "GOMA850101HGTRRN77");
  ballot["cast_on"] = "2025-09-10";
  ASSERT_TRUE(Sys("pp.vote.booth", ballot).ok());
  ASSERT_TRUE(Sys("pp.results.publish", {{"process_id", proc}}).ok());
  auto winners = Sys("pp.project.list", {{"process", "cerrado-ejecucion"}, {"status", "ganador"}});
  ASSERT_TRUE(winners.ok()) << winners.status().ToString();
  ASSERT_EQ(winners->as_array().size(), 1u);
  int64_t w = winners->as_array()[0].at("id").as_int64();
  EXPECT_EQ(w, project);
  ex = As(Booth(), "pp.execution.report",
          {{"project_id", w},
           {"reported_on", "2026-10-01"},
           {"milestone", "Contrato firmado"},
           {"physical_pct", 0},
           {"financial_pct", 30},
           {"contract_ref", "OP-2026-014"},
           {"delay_reason", "Lluvias"}});
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  auto shown = Sys("pp.project.show", {{"id", w}});
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->at("execution").as_array().size(), 1u);
  EXPECT_EQ(shown->at("execution").as_array()[0].at("contract_ref"), "OP-2026-014");
}

// --- editing processes, zones and proposals; photos --------------------------------------------

// The fields of pp.process.update with the process's current values, to change one at a time.
json::object ProcessForm(const json::value& shown) {
  json::object in{{"id", shown.at("id")}};
  for (const char* k : {"year", "title", "description", "proposals_from", "proposals_to",
                        "voting_from", "voting_to", "execution_from", "counting_rule"})
    if (const json::value* v = shown.as_object().if_contains(k);
        v && !(v->is_string() && v->as_string().empty()))
      in[k] = *v;
  return in;
}

json::object ZoneForm(const json::value& z) {
  json::object in;
  for (const char* k : {"id", "name", "kind", "budget", "vote_rule", "max_choices", "max_points"})
    in[k] = z.at(k);
  return in;
}

TEST_F(PpTest, StaffEditAProcessBeforeVotingWithTheSameRulesAsCreating) {
  int64_t proc =
      MakeProcess("editable", "2026-11-01", "2026-11-30", "2026-12-10", "2026-12-20", "greedy");
  auto values = As(Office(), "pp.process.values", {{"id", proc}});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->at("voting_from"), "2026-12-10");
  EXPECT_FALSE(values->as_object().contains("slug"));
  json::object form = ProcessForm(*values);
  std::string before = Trace();
  struct Case {
    const char* what;
    json::object change;
    StatusCode code;
    const char* field;
  };
  std::vector<Case> bad = {
      {"phases out of order",
       {{"voting_from", "2026-11-15"}},
       StatusCode::kInvalidArgument,
       "voting_from"},
      {"execution before voting ends",
       {{"execution_from", "2026-12-01"}},
       StatusCode::kInvalidArgument,
       "execution_from"},
      {"voting ending in the past",
       {{"proposals_from", "2026-01-01"},
        {"proposals_to", "2026-01-31"},
        {"voting_from", "2026-02-01"},
        {"voting_to", "2026-02-10"}},
       StatusCode::kInvalidArgument,
       "voting_to"},
      {"unknown counting rule",
       {{"counting_rule", "sorteo"}},
       StatusCode::kInvalidArgument,
       "counting_rule"},
      {"empty title", {{"title", ""}}, StatusCode::kInvalidArgument, "title"},
  };
  for (const Case& c : bad) {
    json::object in = form;
    for (const auto& kv : c.change) in[kv.key()] = kv.value();
    auto r = As(Office(), "pp.process.update", in);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status().ToString();
    bool named = false;
    for (const FieldError& f : r.status().fields()) named |= f.field == c.field;
    EXPECT_TRUE(named) << c.what << ": " << r.status().ToString();
    EXPECT_EQ(Trace(), before) << c.what;
  }
  EXPECT_EQ(As(Office(), "pp.process.update",
               [&] {
                 json::object in = form;
                 in["id"] = 999999;
                 return in;
               }())
                .status()
                .code(),
            StatusCode::kNotFound);
  // Registration extended by a week and the rule changed: fine before voting, and audited.
  form["title"] = "Proceso editado";
  form["proposals_to"] = "2026-12-07";
  form["counting_rule"] = "mes";
  auto ok = As(Office(), "pp.process.update", form);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->at("slug"), "editable");
  auto shown = Sys("pp.process.show", {{"process", "editable"}});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->at("title"), "Proceso editado");
  EXPECT_EQ(shown->at("proposals_to"), "2026-12-07");
  EXPECT_EQ(shown->at("counting_rule"), "mes");
  auto audit = Db().Query(
      "SELECT before_json, after_json FROM audit_log WHERE action = 'pp.process.update' AND "
      "entity_id = ?",
      {proc});
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_NE((*audit)[0].Text("before_json").find("2026-11-30"), std::string::npos);
  EXPECT_NE((*audit)[0].Text("after_json").find("2026-12-07"), std::string::npos);
}

TEST_F(PpTest, OnceVotingStartedAProcessKeepsItsRulesButNotItsWording) {
  auto values = As(Office(), "pp.process.values", {{"id", voting_}});
  ASSERT_TRUE(values.ok());
  json::object form = ProcessForm(*values);
  std::string before = Trace();
  for (auto [field, value] :
       std::vector<std::pair<const char*, json::value>>{{"counting_rule", "mes"},
                                                        {"voting_to", "2026-12-31"},
                                                        {"voting_from", "2026-11-16"},
                                                        {"year", 2027},
                                                        {"proposals_from", "2026-06-02"}}) {
    json::object in = form;
    in[field] = value;
    auto r = As(Office(), "pp.process.update", in);
    EXPECT_EQ(r.status().code(), StatusCode::kConflict) << field << ": " << r.status().ToString();
    EXPECT_EQ(Trace(), before) << field;
  }
  form["description"] = "Votación en línea y en módulos";
  form["execution_from"] = "2027-03-01";
  auto ok = As(Office(), "pp.process.update", form);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto shown = Sys("pp.process.show", {{"process", "votando"}});
  EXPECT_EQ(shown->at("description"), "Votación en línea y en módulos");
  EXPECT_EQ(shown->at("execution_from"), "2027-03-01");
  EXPECT_EQ(shown->at("phase"), "votacion");
  // Back as it was, for the other tests.
  form.erase("execution_from");
  form.erase("description");
  ASSERT_TRUE(As(Office(), "pp.process.update", form).ok());
}

TEST_F(PpTest, ZoneEditsKeepTheBallotOnceVotingStarted) {
  int64_t proc =
      MakeProcess("zonas", "2026-11-01", "2026-11-30", "2026-12-10", "2026-12-20", "greedy");
  int64_t a = MakeZone(proc, "Norte", 5000, "aprobacion");
  MakeZone(proc, "Sur", 5000, "aprobacion");
  auto values = As(Office(), "pp.zone.values", {{"id", a}});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  json::object form = ZoneForm(*values);
  std::string before = Trace();
  struct Case {
    const char* what;
    const char* field;
    json::value value;
  };
  for (const Case& c : std::vector<Case>{{"zero budget", "budget", 0},
                                         {"negative budget", "budget", -100},
                                         {"budget that is not a number", "budget", "mucho"},
                                         {"name of another zone", "name", "Sur"},
                                         {"unknown rule", "vote_rule", "sorteo"},
                                         {"no choices", "max_choices", 0}}) {
    json::object in = form;
    in[c.field] = c.value;
    auto r = As(Office(), "pp.zone.update", in);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.what;
    bool named = false;
    for (const FieldError& f : r.status().fields()) named |= f.field == c.field;
    EXPECT_TRUE(named) << c.what << ": " << r.status().ToString();
    EXPECT_EQ(Trace(), before) << c.what;
  }
  // Before voting: budget and rule may change; the zone stays in its process.
  form["budget"] = 7000;
  form["vote_rule"] = "mochila";
  form["name"] = "Norte Poniente";
  form["process_id"] = voting_;  // not a field of the update: ignored
  auto ok = As(Office(), "pp.zone.update", form);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto z = As(Office(), "pp.zone.values", {{"id", a}});
  EXPECT_EQ(z->at("budget").as_int64(), 7000);
  EXPECT_EQ(z->at("name"), "Norte Poniente");
  auto shown = Sys("pp.process.show", {{"process", "zonas"}});
  EXPECT_EQ(shown->at("budget").as_int64(), 12000);
  // During voting: the budget and the ballot are fixed, the name is not.
  auto vz = As(Office(), "pp.zone.values", {{"id", approval_}});
  json::object vform = ZoneForm(*vz);
  before = Trace();
  for (auto [field, value] : std::vector<std::pair<const char*, json::value>>{
           {"budget", 2000}, {"vote_rule", "puntos"}, {"max_choices", 3}}) {
    json::object in = vform;
    in[field] = value;
    EXPECT_EQ(As(Office(), "pp.zone.update", in).status().code(), StatusCode::kConflict) << field;
    EXPECT_EQ(Trace(), before) << field;
  }
  vform["kind"] = "colonia";
  ASSERT_TRUE(As(Office(), "pp.zone.update", vform).ok());
  vform["kind"] = "delegacion";
  ASSERT_TRUE(As(Office(), "pp.zone.update", vform).ok());
}

json::object DraftFields(int64_t process, int64_t zone) {
  return {{"process_id", process},
          {"zone_id", zone},
          {"title", "Bancas en el jardín"},
          {"description", "Diez bancas de concreto"},
          {"lat", 21.12},
          {"lng", -101.68},
          {"estimated_cost", 90000}};
}

json::object EditFields(int64_t id, int64_t zone) {
  return {{"id", id},
          {"zone_id", zone},
          {"title", "Bancas y sombra en el jardín"},
          {"description", "Diez bancas y dos pérgolas"},
          {"colonia", "Centro"},
          {"lat", 21.121},
          {"lng", -101.681},
          {"estimated_cost", 150000}};
}

TEST_F(PpTest, TheAuthorEditsTheirDraftUntilItIsSubmittedThenStaffUntilTheReview) {
  Principal ana = Citizen(1), beto = Citizen(2);
  int64_t id = Id(As(ana, "pp.proposal.create", DraftFields(open_, open_zone_)));
  auto values = As(ana, "pp.proposal.values", {{"id", id}});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->at("title"), "Bancas en el jardín");
  EXPECT_EQ(As(beto, "pp.proposal.values", {{"id", id}}).status().code(), StatusCode::kNotFound);
  std::string audit_before = Trace();
  auto edited = As(ana, "pp.proposal.update", EditFields(id, open_zone_));
  ASSERT_TRUE(edited.ok()) << edited.status().ToString();
  auto shown = As(ana, "pp.project.show", {{"id", id}});
  EXPECT_EQ(shown->at("title"), "Bancas y sombra en el jardín");
  EXPECT_EQ(shown->at("estimated_cost").as_int64(), 150000);
  EXPECT_TRUE(shown->at("mine").as_bool());
  // A draft is private: its edits are not in the public history (only the revision moved).
  auto n = Db().Query("SELECT COUNT(*) AS n FROM audit_log WHERE scope = ?",
                      {"pp_project:" + std::to_string(id)});
  EXPECT_EQ((*n)[0].Int("n"), 0);
  // The search index follows the edit.
  auto found = Sys("pp.project.list", {{"q", "pergolas"}});
  EXPECT_TRUE(found.ok());

  auto snapshot = [&] { return json::serialize(*Sys("pp.project.show", {{"id", id}})); };
  std::string was = snapshot(), before = Trace();
  struct Case {
    const char* what;
    Principal who;
    json::object input;
    StatusCode code;
    const char* field;
  };
  json::object other_zone = EditFields(id, approval_);  // a zone of "votando"
  json::object half_point = EditFields(id, open_zone_);
  half_point.erase("lng");
  json::object no_cost = EditFields(id, open_zone_);
  no_cost["estimated_cost"] = 0;
  json::object bad_category = EditFields(id, open_zone_);
  bad_category["category_id"] = 999999;
  std::vector<Case> cases = {
      {"someone else's draft", beto, EditFields(id, open_zone_), StatusCode::kPermissionDenied, ""},
      {"staff on a private draft", Office(), EditFields(id, open_zone_),
       StatusCode::kPermissionDenied, ""},
      {"a zone of another process", ana, other_zone, StatusCode::kInvalidArgument, "zone_id"},
      {"latitude without longitude", ana, half_point, StatusCode::kInvalidArgument, "lng"},
      {"no cost", ana, no_cost, StatusCode::kInvalidArgument, "estimated_cost"},
      {"unknown category", ana, bad_category, StatusCode::kInvalidArgument, "category_id"},
      {"unknown proposal", ana, EditFields(999999, open_zone_), StatusCode::kNotFound, ""},
  };
  for (const Case& c : cases) {
    auto r = As(c.who, "pp.proposal.update", c.input);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status().ToString();
    if (*c.field) {
      bool named = false;
      for (const FieldError& f : r.status().fields()) named |= f.field == c.field;
      EXPECT_TRUE(named) << c.what << ": " << r.status().ToString();
    }
    EXPECT_EQ(Trace(), before) << c.what;
    EXPECT_EQ(snapshot(), was) << c.what;
  }

  // Submitted: the author can no longer change it; staff may correct it, in public.
  ASSERT_TRUE(As(ana, "pp.proposal.submit", {{"id", id}}).ok());
  before = Trace();
  was = snapshot();
  auto late = As(ana, "pp.proposal.update", EditFields(id, open_zone_));
  EXPECT_EQ(late.status().code(), StatusCode::kConflict) << late.status().ToString();
  EXPECT_EQ(Trace(), before);
  EXPECT_EQ(snapshot(), was);
  json::object fix = EditFields(id, open_zone_);
  fix["colonia"] = "Barrio Arriba";
  auto fixed = As(Office(), "pp.proposal.update", fix);
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  auto history = Db().Query(
      "SELECT role, before_json, after_json FROM audit_log WHERE action = 'pp.proposal.update' "
      "AND entity_id = ?",
      {id});
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].Text("role"), "secretariado");
  EXPECT_NE((*history)[0].Text("before_json").find("Centro"), std::string::npos);
  EXPECT_NE((*history)[0].Text("after_json").find("Barrio Arriba"), std::string::npos);

  // Reviewed: nobody edits it any more.
  ASSERT_TRUE(As(Office(), "pp.proposal.review",
                 {{"id", id},
                  {"technical_ok", true},
                  {"legal_ok", true},
                  {"financial_ok", true},
                  {"official_cost", 160000}})
                  .ok());
  before = Trace();
  EXPECT_EQ(As(Office(), "pp.proposal.update", fix).status().code(), StatusCode::kConflict);
  EXPECT_EQ(Trace(), before);
}

// Small files with the signatures of each image type (the content past them does not matter to
// the check, which reads the first bytes only).
std::string Png() { return std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + "png-data"; }
std::string Jpeg() { return std::string("\xFF\xD8\xFF\xE0\0\x10JFIF", 10) + "jpeg-data"; }
std::string Webp() { return std::string("RIFF\x10\0\0\0WEBPVP8 ", 16) + "webp-data"; }

json::object Photo(int64_t project, std::string data, std::string caption = "Vista del jardín",
                   std::string name = "foto.png", std::string type = "image/png") {
  json::object in{{"project_id", project},
                  {"photo", json::object{{"name", name}, {"content_type", type}, {"data", data}}}};
  if (!caption.empty()) in["caption"] = caption;
  return in;
}

TEST_F(PpTest, PhotosAreCheckedByContentAndAddedByTheAuthorOrByStaff) {
  Principal ana = Citizen(1), beto = Citizen(2);
  int64_t id = Id(As(ana, "pp.proposal.create", DraftFields(open_, open_zone_)));
  auto first = As(ana, "pp.photo.add", Photo(id, Png()));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  int64_t file = first->at("id").as_int64();
  // A draft's photo is as private as the draft.
  EXPECT_TRUE(As(ana, "pp.photo.show", {{"id", file}}).ok());
  EXPECT_EQ(As(Principal::Anonymous(), "pp.photo.show", {{"id", file}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(As(beto, "pp.photo.show", {{"id", file}}).status().code(), StatusCode::kNotFound);
  // A JPEG whose sender did not say what it is is still a JPEG.
  auto jpeg = As(ana, "pp.photo.add",
                 Photo(id, Jpeg(), "Banca rota", "IMG_0001", "application/octet-stream"));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  auto served = As(ana, "pp.photo.show", {{"id", jpeg->at("id")}});
  EXPECT_EQ(served->at("content_type"), "image/jpeg");
  ASSERT_TRUE(As(ana, "pp.photo.add", Photo(id, Webp(), "Desde la esquina", "f.webp")).ok());

  std::string before = Trace();
  struct Case {
    const char* what;
    Principal who;
    json::object input;
    StatusCode code;
    const char* field;
  };
  std::vector<Case> cases = {
      {"an HTML page called .jpg", ana,
       Photo(id, "<html><script>alert(1)</script></html>", "x", "foto.jpg", "image/jpeg"),
       StatusCode::kInvalidArgument, "photo"},
      {"a PDF", ana, Photo(id, "%PDF-1.7\n...", "x", "doc.pdf", "application/pdf"),
       StatusCode::kInvalidArgument, "photo"},
      {"a GIF", ana, Photo(id, "GIF89a....", "x", "a.gif", "image/gif"),
       StatusCode::kInvalidArgument, "photo"},
      {"too big", ana, Photo(id, Png() + std::string(5 * 1024 * 1024, 'x')),
       StatusCode::kInvalidArgument, "photo"},
      {"empty file", ana, Photo(id, ""), StatusCode::kInvalidArgument, "photo"},
      {"no caption", ana, Photo(id, Png(), ""), StatusCode::kInvalidArgument, "caption"},
      {"someone else's draft", beto, Photo(id, Png()), StatusCode::kPermissionDenied, ""},
      {"staff on a private draft", Office(), Photo(id, Png()), StatusCode::kPermissionDenied, ""},
      {"unknown project", ana, Photo(999999, Png()), StatusCode::kNotFound, ""},
  };
  for (const Case& c : cases) {
    auto r = As(c.who, "pp.photo.add", c.input);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status().ToString();
    if (*c.field) {
      bool named = false;
      for (const FieldError& f : r.status().fields()) named |= f.field == c.field;
      EXPECT_TRUE(named) << c.what << ": " << r.status().ToString();
    }
    EXPECT_EQ(Trace(), before) << c.what;
  }
  auto big = As(ana, "pp.photo.add", Photo(id, Png() + std::string(5 * 1024 * 1024, 'x')));
  EXPECT_NE(big.status().fields()[0].message.find("5 MB"), std::string::npos)
      << big.status().ToString();

  // Submitted: the author's photos are public; new ones come from staff, at any stage.
  ASSERT_TRUE(As(ana, "pp.proposal.submit", {{"id", id}}).ok());
  EXPECT_TRUE(As(Principal::Anonymous(), "pp.photo.show", {{"id", file}}).ok());
  before = Trace();
  EXPECT_EQ(As(ana, "pp.photo.add", Photo(id, Png())).status().code(), StatusCode::kConflict);
  EXPECT_EQ(As(beto, "pp.photo.add", Photo(id, Png())).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Trace(), before);
  auto staff = As(Office(), "pp.photo.add", Photo(id, Png(), "Visita técnica al predio"));
  ASSERT_TRUE(staff.ok()) << staff.status().ToString();
  auto shown = As(Principal::Anonymous(), "pp.project.show", {{"id", id}});
  ASSERT_TRUE(shown.ok());
  const json::array& photos = shown->at("photos").as_array();
  ASSERT_EQ(photos.size(), 4u);
  EXPECT_EQ(photos[0].at("caption"), "Vista del jardín");
  EXPECT_EQ(photos[3].at("caption"), "Visita técnica al predio");
  EXPECT_EQ(photos[3].at("stage"), "propuesta");
  auto audited =
      Db().Query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'pp.photo.add' AND scope = ?",
                 {"pp_project:" + std::to_string(id)});
  EXPECT_EQ((*audited)[0].Int("n"), 1);
}

}  // namespace
}  // namespace abierto::presupuesto
