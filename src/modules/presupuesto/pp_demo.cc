// Demo content: the 2025 programme of León as the participatory-budget office describes it (seven
// urban delegaciones and the rural zone), with illustrative proposals marked as examples,
// feasibility decisions, demo ballots, published results and one winner under construction; and
// a 2026 process open for voting in November. Loaded through the dispatcher as the system
// principal, which may record past phases. Booth ballots are used so that no demo voter account
// (and no argon2 hash) is needed.
#include <cstdio>
#include <map>

#include "modules/presupuesto/presupuesto.h"

namespace abierto::presupuesto {

namespace json = boost::json;

namespace {

Result<int64_t> Id(Result<json::value> r) {
  if (!r.ok()) return r.status();
  return r->as_object().at("id").as_int64();
}

struct DemoProject {
  const char* zone;
  const char* category;
  const char* title;
  const char* description;
  const char* colonia;
  double lat, lng;
  int64_t cost;
  // Empty: viable. Otherwise the aspect ("tecnica", "legal", "financiera") and the reason.
  const char* not_viable_aspect;
  const char* reason;
};

const char* kZones[] = {"Cerro Gordo",    "Coecillo",   "Del Carmen",       "Las Joyas",
                        "San Juan Bosco", "San Miguel", "Cerrito de Jerez", "Zona rural"};

// A synthetic, well-formed CURP for demo ballot n (state GT, never a real person's on purpose:
// the first letters XEXX are not produced by RENAPO's name rules).
std::string DemoCurp(int n) {
  char buf[19];
  snprintf(buf, sizeof buf, "XEXX%02d%02d%02dHGTDMS%02d", 60 + n / 300 % 40, 1 + n % 12,
           1 + n / 12 % 28, n % 100);
  return buf;
}

Status Load(DemoContext& d) {
  std::map<std::string, int64_t> cat;
  for (const char* c : {"Pavimentación", "Parques y jardines", "Alumbrado público",
                        "Espacios deportivos", "Banquetas y accesibilidad", "Agua y drenaje"}) {
    ASSIGN_OR_RETURN(cat[c], Id(d.Run("pp.category.create", {{"name", c}})));
  }
  ASSIGN_OR_RETURN(
      int64_t p25,
      Id(d.Run("pp.process.create",
               {{"year", 2025},
                {"title", "Presupuesto Participativo 2025 (ejemplo)"},
                {"slug", "presupuesto-2025"},
                {"description",
                 "Ejemplo ilustrativo del programa 2025: 230 millones de pesos para las siete "
                 "delegaciones urbanas y las comunidades rurales; en el programa real se "
                 "registraron 284 proyectos y se emitieron 61,669 votos. Los proyectos de esta "
                 "demostración son de ejemplo."},
                {"proposals_from", "2025-02-03"},
                {"proposals_to", "2025-03-31"},
                {"voting_from", "2025-06-02"},
                {"voting_to", "2025-06-15"},
                {"execution_from", "2025-08-01"},
                {"counting_rule", "greedy"},
                {"example", true}})));
  std::map<std::string, int64_t> zone;
  int i = 0;
  for (const char* z : kZones) {
    bool rural = std::string(z) == "Zona rural";
    // One zone of each rule, so that the demo shows the three ballots.
    const char* rule = i % 3 == 0 ? "aprobacion" : i % 3 == 1 ? "mochila" : "puntos";
    ASSIGN_OR_RETURN(zone[z], Id(d.Run("pp.zone.create", {{"process_id", p25},
                                                          {"name", z},
                                                          {"kind", rural ? "rural" : "delegacion"},
                                                          {"budget", rural ? 20000000 : 30000000},
                                                          {"vote_rule", rule},
                                                          {"max_choices", 3},
                                                          {"max_points", 10}})));
    ++i;
  }
  const std::vector<DemoProject> projects = {
      {"Cerro Gordo", "Pavimentación", "Pavimentación de la calle Río Lerma",
       "Pavimentar con concreto hidráulico 320 metros de calle de tierra.",
       "Colonia ejemplo Cerro Gordo", 21.1412, -101.6605, 14500000, "", ""},
      {"Cerro Gordo", "Parques y jardines", "Rehabilitación del parque de la colonia",
       "Juegos infantiles, andadores y árboles nativos.", "", 21.1385, -101.6651, 6200000, "", ""},
      {"Cerro Gordo", "Alumbrado público", "Luminarias LED en el camino a la secundaria",
       "48 luminarias LED para el trayecto de estudiantes.", "", 21.1440, -101.6580, 3800000, "",
       ""},
      {"Coecillo", "Banquetas y accesibilidad", "Banquetas accesibles frente al mercado",
       "Rampas, guía táctil y banquetas amplias.", "Barrio del Coecillo", 21.1296, -101.6702,
       9100000, "", ""},
      {"Coecillo", "Espacios deportivos", "Techado de la cancha de usos múltiples",
       "Estructura metálica y gradas.", "", 21.1318, -101.6663, 7400000, "", ""},
      {"Coecillo", "Agua y drenaje", "Colector pluvial en calle Hidalgo",
       "Evitar encharcamientos en temporada de lluvias.", "", 21.1279, -101.6725, 41000000,
       "financiera", "El costo supera el presupuesto de la delegación."},
      {"Del Carmen", "Parques y jardines", "Jardín vecinal con huerto comunitario",
       "Huerto, bancas y riego por goteo.", "", 21.1190, -101.6901, 4300000, "", ""},
      {"Del Carmen", "Alumbrado público", "Alumbrado del parque lineal",
       "Iluminación peatonal de 600 metros.", "", 21.1215, -101.6870, 5600000, "", ""},
      {"Del Carmen", "Pavimentación", "Pavimento en predio particular",
       "Pavimentar el acceso a un estacionamiento.", "", 21.1170, -101.6920, 2500000, "legal",
       "El predio es de propiedad privada; el programa invierte solo en espacio público."},
      {"Las Joyas", "Espacios deportivos", "Unidad deportiva Las Joyas: canchas de fútbol 7",
       "Pasto sintético e iluminación.", "", 21.1620, -101.7150, 12800000, "", ""},
      {"Las Joyas", "Banquetas y accesibilidad", "Cruces seguros frente a las escuelas",
       "Reductores de velocidad y cruces a nivel.", "", 21.1655, -101.7102, 3100000, "", ""},
      {"Las Joyas", "Parques y jardines", "Parque de bolsillo en área de donación",
       "Convertir un baldío municipal en parque.", "", 21.1598, -101.7188, 4800000, "", ""},
      {"San Juan Bosco", "Pavimentación", "Reencarpetado de la avenida principal",
       "Reencarpetado y señalamiento horizontal.", "", 21.1080, -101.6950, 16300000, "", ""},
      {"San Juan Bosco", "Alumbrado público", "Alumbrado en la plaza del templo",
       "Luminarias peatonales y de fachada.", "", 21.1101, -101.6985, 2900000, "", ""},
      {"San Miguel", "Parques y jardines", "Rescate del jardín de San Miguel",
       "Bancas, fuentes secas y arbolado.", "Barrio de San Miguel", 21.1197, -101.6778, 8700000, "",
       ""},
      {"San Miguel", "Agua y drenaje", "Cambio de red de drenaje sanitario",
       "Sustituir 400 metros de tubería dañada.", "", 21.1175, -101.6801, 11900000, "", ""},
      {"Cerrito de Jerez", "Espacios deportivos", "Gimnasio al aire libre",
       "Aparatos de ejercicio y piso de caucho.", "", 21.0950, -101.6400, 1900000, "", ""},
      {"Cerrito de Jerez", "Pavimentación", "Empedrado ahogado en calle sin pavimento",
       "Empedrado con cemento en 250 metros.", "", 21.0972, -101.6372, 6900000, "tecnica",
       "El suelo requiere un estudio de mecánica de suelos antes de pavimentar."},
      {"Zona rural", "Agua y drenaje", "Tanque de almacenamiento de agua en la comunidad",
       "Tanque elevado de 50 m³ y red de distribución.", "Comunidad rural (ejemplo)", 21.2100,
       -101.7600, 9800000, "", ""},
      {"Zona rural", "Pavimentación", "Camino rural a la escuela primaria",
       "Revestimiento de 1.2 km de camino.", "Comunidad rural (ejemplo)", 21.2200, -101.7500,
       8400000, "", ""},
  };
  std::map<std::string, std::vector<int64_t>> viable;
  int64_t first_winner_candidate = 0;
  for (const DemoProject& p : projects) {
    ASSIGN_OR_RETURN(int64_t id, Id(d.Run("pp.proposal.create", {{"process_id", p25},
                                                                 {"zone_id", zone[p.zone]},
                                                                 {"category_id", cat[p.category]},
                                                                 {"title", p.title},
                                                                 {"description", p.description},
                                                                 {"colonia", p.colonia},
                                                                 {"lat", p.lat},
                                                                 {"lng", p.lng},
                                                                 {"estimated_cost", p.cost},
                                                                 {"example", true}})));
    RETURN_IF_ERROR(
        d.Run("pp.proposal.submit", {{"id", id}, {"submitted_on", "2025-03-14"}}).status());
    std::string aspect = p.not_viable_aspect;
    json::object review{{"id", id},
                        {"technical_ok", aspect != "tecnica"},
                        {"legal_ok", aspect != "legal"},
                        {"financial_ok", aspect != "financiera"},
                        {"reviewed_on", "2025-05-09"}};
    if (aspect.empty()) {
      // The official cost differs a little from the resident's estimate, as it does in practice.
      review["official_cost"] = p.cost / 100000 * 100000 + 100000;
      viable[p.zone].push_back(id);
      if (!first_winner_candidate) first_winner_candidate = id;
    } else {
      review[aspect == "tecnica" ? "technical_reason"
             : aspect == "legal" ? "legal_reason"
                                 : "financial_reason"] = p.reason;
    }
    RETURN_IF_ERROR(d.Run("pp.proposal.review", review).status());
  }
  // Demo ballots: a few per zone, cast at booths in the voting week.
  int n = 0;
  for (const char* z : kZones) {
    const auto& v = viable[z];
    if (v.empty()) continue;
    for (int b = 0; b < 6; ++b) {
      std::string ballot;
      ASSIGN_OR_RETURN(db::Row zr, d.db.QueryOne("SELECT vote_rule FROM pp_zones WHERE id = ?",
                                                 {zone[z]}, "zona"));
      std::string rule = zr.Text("vote_rule");
      // Every voter supports the zone's first project; some also the next one.
      ballot = std::to_string(v[0]) + (rule == "puntos" ? ":6" : "");
      if (b % 2 == 0 && v.size() > 1)
        ballot += "," + std::to_string(v[1]) + (rule == "puntos" ? ":4" : "");
      RETURN_IF_ERROR(d.Run("pp.vote.booth", {{"process_id", p25},
                                              {"zone_id", zone[z]},
                                              {"projects", ballot},
                                              {"voter_id_type", "curp"},
                                              {"voter_id", DemoCurp(n++)},
                                              {"privacy_accepted", true},
                                              {"cast_on", "2025-06-10"},
                                              {"example", true}})
                          .status());
    }
  }
  RETURN_IF_ERROR(d.Run("pp.results.publish", {{"process_id", p25}}).status());
  // One winner under construction, with its milestones.
  struct Milestone {
    const char* on;
    const char* what;
    double physical, financial;
    const char* delay;
  };
  for (const Milestone& m :
       std::vector<Milestone>{{"2025-08-20", "Proyecto ejecutivo concluido", 0, 10, ""},
                              {"2025-10-02", "Contrato adjudicado e inicio de obra", 15, 30, ""},
                              {"2026-01-15", "Base y sub-base terminadas", 45, 55,
                               "Lluvias atípicas detuvieron la obra tres semanas."},
                              {"2026-04-30", "Colado de concreto hidráulico", 80, 75, ""}}) {
    RETURN_IF_ERROR(d.Run("pp.execution.report", {{"project_id", first_winner_candidate},
                                                  {"reported_on", m.on},
                                                  {"milestone", m.what},
                                                  {"physical_pct", m.physical},
                                                  {"financial_pct", m.financial},
                                                  {"contract_ref", "OP-PP-2025-001 (ejemplo)"},
                                                  {"delay_reason", m.delay}})
                        .status());
  }

  // 2026: registration over, review done, voting open in November.
  ASSIGN_OR_RETURN(
      int64_t p26,
      Id(d.Run("pp.process.create",
               {{"year", 2026},
                {"title", "Presupuesto Participativo 2026 (ejemplo)"},
                {"slug", "presupuesto-2026"},
                {"description", "Ejemplo ilustrativo: votación abierta en línea y en módulos."},
                {"proposals_from", "2026-05-04"},
                {"proposals_to", "2026-07-31"},
                {"voting_from", "2026-11-09"},
                {"voting_to", "2026-12-06"},
                {"execution_from", "2027-02-01"},
                {"counting_rule", "mes"},
                {"example", true}})));
  for (const char* z : {"Coecillo", "Las Joyas"}) {
    bool knapsack = std::string(z) == "Las Joyas";
    ASSIGN_OR_RETURN(int64_t zid,
                     Id(d.Run("pp.zone.create", {{"process_id", p26},
                                                 {"name", z},
                                                 {"kind", "delegacion"},
                                                 // Las Joyas' three projects cost more than its
                                                 // budget together, so its knapsack bites.
                                                 {"budget", knapsack ? 20000000 : 30000000},
                                                 {"vote_rule", knapsack ? "mochila" : "aprobacion"},
                                                 {"max_choices", 3}})));
    int k = 0;
    for (const DemoProject& p : projects) {
      if (std::string(p.zone) != z || p.not_viable_aspect[0]) continue;
      ASSIGN_OR_RETURN(int64_t id,
                       Id(d.Run("pp.proposal.create", {{"process_id", p26},
                                                       {"zone_id", zid},
                                                       {"category_id", cat[p.category]},
                                                       {"title", std::string(p.title) + " (2026)"},
                                                       {"description", p.description},
                                                       {"lat", p.lat + 0.002 * ++k},
                                                       {"lng", p.lng},
                                                       {"estimated_cost", p.cost},
                                                       {"example", true}})));
      RETURN_IF_ERROR(
          d.Run("pp.proposal.submit", {{"id", id}, {"submitted_on", "2026-06-20"}}).status());
      RETURN_IF_ERROR(d.Run("pp.proposal.review", {{"id", id},
                                                   {"technical_ok", true},
                                                   {"legal_ok", true},
                                                   {"financial_ok", true},
                                                   {"official_cost", p.cost},
                                                   {"reviewed_on", "2026-09-15"}})
                          .status());
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterDemo(Registry& reg) { reg.AddDemo("presupuesto", Load); }

}  // namespace abierto::presupuesto
