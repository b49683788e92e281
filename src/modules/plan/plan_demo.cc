// Demo content: the León PAMGA 2025-2027 route milestones and its four axes as the brochure
// states them, with illustrative commitments and progress marked as examples. It is loaded
// through the dispatcher like any other write, so it also exercises validation and audit.
#include <map>
#include <tuple>

#include "modules/plan/plan.h"

namespace abierto::plan {

namespace json = boost::json;

namespace {

// Demo accounts share one password, printed by `abierto demo`; never used outside a demo.
constexpr char kDemoPassword[] = "demo-abierto-2025";

Result<int64_t> Id(Result<json::value> r) {
  if (!r.ok()) return r.status();
  return r->as_object().at("id").as_int64();
}

struct DemoAction {
  const char* description;
  const char* responsible;
  double goal;
  const char* unit;
  const char* indicator;
  const char* method;
  double baseline;
  double target;
  const char* frequency;
  const char* verification;
  const char* due;
  // Validated progress reports: date, value, narrative, evidence link.
  std::vector<std::tuple<const char*, double, const char*, const char*>> reports;
};

struct DemoCommitment {
  const char* code;
  const char* title;
  const char* problem;
  const char* objective;
  const char* unit;
  const char* co_responsible;
  const char* start;
  const char* end;
  std::vector<const char*> ogp;
  int citizens, orgs;
  double budget;
  bool institutionalized, continuity;
  const char* ambition;
  std::vector<DemoAction> actions;
};

Status LoadDemo(DemoContext& d) {
  std::map<std::string, int64_t> unit;
  for (auto [name, acr] : std::vector<std::pair<const char*, const char*>>{
           {"Unidad de Transparencia", "UT"},
           {"Dirección de Presupuesto Participativo y Delegaciones", "DPPD"},
           {"Dirección de Innovación", "DI"},
           {"Dirección General de Gestión Gubernamental", "DGGG"},
           {"Contraloría Municipal", "CM"},
           {"Instituto Municipal de la Juventud (ejemplo)", "IMJ"},
           {"Dirección de Participación Ciudadana (ejemplo)", "DPC"}}) {
    ASSIGN_OR_RETURN(unit[acr], Id(d.Run("units.create", {{"name", name}, {"acronym", acr}})));
  }
  struct U {
    const char *email, *name, *role, *unit;
  };
  for (const U& u : std::vector<U>{
           {"admin@demo.abierto.mx", "Administración (demo)", "admin", nullptr},
           {"secretariado@demo.abierto.mx", "Secretariado Técnico (demo)", "secretariado", nullptr},
           {"enlace.transparencia@demo.abierto.mx", "Enlace UT (demo)", "enlace", "UT"},
           {"enlace.presupuesto@demo.abierto.mx", "Enlace DPPD (demo)", "enlace", "DPPD"},
           {"enlace.innovacion@demo.abierto.mx", "Enlace DI (demo)", "enlace", "DI"},
           {"enlace.juventud@demo.abierto.mx", "Enlace IMJ (demo)", "enlace", "IMJ"},
           {"enlace.participacion@demo.abierto.mx", "Enlace DPC (demo)", "enlace", "DPC"},
           {"ciudadania@demo.abierto.mx", "Persona ciudadana (demo)", "ciudadano", nullptr}}) {
    json::object in{
        {"email", u.email}, {"name", u.name}, {"role", u.role}, {"password", kDemoPassword}};
    if (u.unit) in["unit_id"] = unit[u.unit];
    RETURN_IF_ERROR(d.Run("users.create", in).status());
  }

  ASSIGN_OR_RETURN(
      int64_t old_plan,
      Id(d.Run("plan.create", {{"title", "Plan de Acción Municipal de Gobierno Abierto 2023-2024"},
                               {"slug", "pamga-2023-2024"},
                               {"description",
                                "Segundo ejercicio de gobierno abierto municipal, coordinado por "
                                "el Secretariado Técnico 2022-2024. Sus compromisos no se "
                                "cargaron en esta demostración."},
                               {"period_start", "2023-01-01"},
                               {"period_end", "2024-09-30"},
                               {"status", "concluido"}})));
  (void)old_plan;

  ASSIGN_OR_RETURN(
      int64_t plan,
      Id(d.Run("plan.create",
               {{"title", "Plan de Acción Municipal de Gobierno Abierto 2025-2027"},
                {"slug", "pamga-2025-2027"},
                {"description",
                 "Tercer Ejercicio de Gobierno Abierto Municipal de León. El plan consolida el "
                 "trabajo de diálogo, cocreación y consenso entre autoridades municipales y "
                 "ciudadanía. Los compromisos, acciones y avances de esta demostración son "
                 "ejemplos ilustrativos."},
                {"period_start", "2025-08-29"},
                {"period_end", "2027-09-30"},
                {"status", "en_implementacion"},
                {"approved_session",
                 "2ª Sesión Ordinaria del Secretariado Técnico Municipal de Gobierno Abierto"},
                {"approved_on", "2025-08-29"}})));

  struct M {
    const char *date, *end, *title, *desc;
  };
  for (const M& m : std::vector<M>{
           {"2025-02-04", nullptr, "Convocatoria para integrar el Secretariado Técnico",
            "Se emitió la convocatoria para integrar el Secretariado Técnico Municipal de "
            "Gobierno Abierto para León, Guanajuato 2025-2027."},
           {"2025-03-14", nullptr, "Declaratoria de Estado Abierto Guanajuato 2025-2027",
            "El H. Ayuntamiento de León formó parte de la firma de la Declaratoria."},
           {"2025-04-01", "2025-05-31", "Talleres de sensibilización",
            "Sesiones de sensibilización y capacitación para integrantes del Secretariado "
            "Técnico y personas servidoras públicas."},
           {"2025-04-30", nullptr, "Instalación del Secretariado Técnico 2025-2027",
            "Se incorporó la figura de invitados permanentes de los sectores Académico, Juvenil "
            "y Grupos Vulnerables."},
           {"2025-05-16", "2025-05-23", "Encuesta ciudadana de diagnóstico",
            "Encuesta para identificar necesidades, prioridades y propuestas para la cocreación "
            "del plan."},
           {"2025-06-09", "2025-06-12", "Mesas de cocreación",
            "Cuatro jornadas con comités de colonos, cámaras empresariales, colegios, "
            "organizaciones civiles, academia y ciudadanía en general."},
           {"2025-07-01", "2025-07-31", "Informe de resultados de las mesas de cocreación",
            "Documento que sistematiza las aportaciones y sirvió de insumo para definir los "
            "indicadores del plan."},
           {"2025-08-29", nullptr, "Aprobación del Plan de Acción 2025-2027",
            "Aprobación formal en la 2ª Sesión Ordinaria del Secretariado Técnico."}}) {
    json::object in{
        {"plan_id", plan}, {"date", m.date}, {"title", m.title}, {"description", m.desc}};
    if (m.end) in["end_date"] = m.end;
    RETURN_IF_ERROR(d.Run("plan.milestone.create", in).status());
  }

  struct A {
    const char* title;
    const char* desc;
    std::vector<DemoCommitment> commitments;
  };
  std::vector<A> axes = {
      {"Datos Abiertos",
       "Publicar la información municipal en formatos abiertos (DatA-LEÓN).",
       {{"DA-01",
         "Portal DatA-LEÓN y política de datos abiertos (ejemplo)",
         "La información pública municipal está dispersa y en formatos difíciles de reutilizar.",
         "Publicar un portal y una política de datos abiertos con conjuntos de datos "
         "prioritarios.",
         "UT",
         "Organizaciones de la sociedad civil y academia (ejemplo)",
         "2025-09-01",
         "2027-06-30",
         {"transparencia", "tecnologia_e_innovacion"},
         42,
         4,
         850000,
         true,
         true,
         "moderada",
         {{"Aprobar y publicar la política de datos abiertos",
           "Unidad de Transparencia",
           1,
           "documento",
           "Política publicada",
           "Publicación en el portal",
           0,
           1,
           "unica",
           "Liga a la política publicada",
           "2026-03-31",
           {{"2026-03-20", 1, "Política aprobada y publicada (ejemplo).",
             "https://www.leon.gob.mx/transparencia/"}}},
          {"Publicar conjuntos de datos prioritarios",
           "Unidad de Transparencia",
           60,
           "conjuntos de datos",
           "Conjuntos de datos publicados",
           "Conteo de conjuntos de datos publicados en el portal",
           0,
           60,
           "trimestral",
           "Catálogo del portal DatA-LEÓN",
           "2027-06-30",
           {{"2026-04-15", 12, "Primeros 12 conjuntos publicados (ejemplo).", ""},
            {"2026-09-30", 27, "27 conjuntos publicados (ejemplo).",
             "https://www.leon.gob.mx/transparencia/"}}}}},
        {"DA-02",
         "Datos de obra pública en formato abierto (ejemplo)",
         "La ciudadanía no puede dar seguimiento a las obras públicas con datos reutilizables.",
         "Publicar mensualmente el avance físico y financiero de la obra pública.",
         "DGGG",
         "Colegios de profesionistas (ejemplo)",
         "2025-10-01",
         "2026-12-31",
         {"transparencia", "rendicion_de_cuentas"},
         12,
         2,
         0,
         false,
         false,
         "menor",
         {{"Publicar mensualmente el avance de obra",
           "Dirección General de Gestión Gubernamental",
           12,
           "publicaciones",
           "Publicaciones mensuales",
           "Conteo de publicaciones",
           0,
           12,
           "mensual",
           "Archivo CSV mensual en el portal",
           "2026-12-31",
           {{"2026-02-28", 2, "Dos cortes publicados (ejemplo).", ""}}}}}}},
      {"Presupuesto Participativo",
       "Consulta amigable de proyectos, votación y seguimiento de obras.",
       {{"PP-01",
         "Consulta amigable de proyectos de presupuesto participativo (ejemplo)",
         "Consultar la información de los proyectos es un poco engorroso para la ciudadanía.",
         "Una página más amigable y funcional para consultar, votar y seguir los proyectos.",
         "DPPD",
         "Comités de colonos de las 7 delegaciones urbanas (ejemplo)",
         "2025-09-15",
         "2026-12-15",
         {"participacion", "tecnologia_e_innovacion"},
         120,
         7,
         1200000,
         true,
         false,
         "transformadora",
         {{"Publicar los proyectos registrados con mapa y filtros",
           "Dirección de Presupuesto Participativo y Delegaciones",
           100,
           "% de proyectos",
           "Proyectos publicados con ficha y ubicación",
           "Proyectos publicados / registrados",
           0,
           100,
           "trimestral",
           "Página de consulta de proyectos",
           "2026-06-30",
           {{"2026-03-31", 40, "Fichas de 2025 publicadas (ejemplo).", ""}}},
          {"Dar seguimiento público a la ejecución de proyectos ganadores",
           "Dirección de Presupuesto Participativo y Delegaciones",
           100,
           "% de proyectos",
           "Proyectos ganadores con seguimiento",
           "Proyectos con avance publicado / ganadores",
           0,
           100,
           "trimestral",
           "Fichas de seguimiento con fotografías",
           "2026-12-15",
           {}}}}}},
      {"Mi Barrio Habla",
       "Acuerdos vecinales con seguimiento público.",
       {{"MB-01",
         "Seguimiento público de acuerdos vecinales (ejemplo)",
         "Los acuerdos de las asambleas vecinales no tienen un seguimiento visible.",
         "Registrar cada acuerdo con responsable, fecha y avance verificable.",
         "DPC",
         "Comités de colonos (ejemplo)",
         "2025-10-01",
         "2027-03-31",
         {"participacion", "rendicion_de_cuentas"},
         35,
         2,
         300000,
         false,
         true,
         "",
         {{"Registrar acuerdos de asambleas con responsable y fecha",
           "Dirección de Participación Ciudadana",
           150,
           "acuerdos",
           "Acuerdos registrados",
           "Conteo de acuerdos registrados",
           0,
           150,
           "trimestral",
           "Listado público de acuerdos",
           "2027-03-31",
           {{"2026-01-31", 10, "Primeras asambleas registradas (ejemplo).", ""}}}}}}},
      {"Cabildo Abierto Juvenil",
       "Participación de las juventudes en las decisiones del Ayuntamiento.",
       {{"CJ-01",
         "Cabildo Abierto Juvenil con propuestas atendidas (ejemplo)",
         "Las juventudes tienen pocos espacios formales para proponer al Ayuntamiento.",
         "Realizar sesiones de Cabildo Abierto Juvenil y dar respuesta pública a sus propuestas.",
         "IMJ",
         "Consejos estudiantiles (ejemplo)",
         "2025-11-01",
         "2027-08-31",
         {"participacion"},
         60,
         5,
         150000,
         false,
         false,
         "moderada",
         {{"Realizar sesiones de Cabildo Abierto Juvenil",
           "Instituto Municipal de la Juventud",
           4,
           "sesiones",
           "Sesiones realizadas",
           "Conteo de sesiones con acta",
           0,
           4,
           "semestral",
           "Actas de las sesiones",
           "2027-08-31",
           {{"2026-05-20", 1, "Primera sesión realizada (ejemplo).", ""}}},
          {"Responder públicamente las propuestas juveniles",
           "Instituto Municipal de la Juventud",
           100,
           "% de propuestas",
           "Propuestas con respuesta",
           "Propuestas respondidas / recibidas",
           0,
           100,
           "semestral",
           "Respuestas publicadas",
           "2027-08-31",
           {}}}}}}};

  int pos = 0;
  for (const A& a : axes) {
    ASSIGN_OR_RETURN(int64_t axis, Id(d.Run("axis.create", {{"plan_id", plan},
                                                            {"position", ++pos},
                                                            {"title", a.title},
                                                            {"description", a.desc}})));
    for (const DemoCommitment& c : a.commitments) {
      json::object in{{"axis_id", axis},
                      {"code", c.code},
                      {"title", c.title},
                      {"problem", c.problem},
                      {"objective", c.objective},
                      {"unit_id", unit[c.unit]},
                      {"co_responsible", c.co_responsible},
                      {"start_date", c.start},
                      {"end_date", c.end},
                      {"citizens_involved", c.citizens},
                      {"organizations_involved", c.orgs},
                      {"budget_assigned", c.budget},
                      {"institutionalized", c.institutionalized},
                      {"continuity", c.continuity},
                      {"example", true}};
      for (const char* v : c.ogp) in[std::string("ogp_") + v] = true;
      ASSIGN_OR_RETURN(int64_t cid, Id(d.Run("commitment.create", in)));
      if (*c.ambition)
        RETURN_IF_ERROR(d.Run("commitment.rate",
                              {{"id", cid},
                               {"ambition", c.ambition},
                               {"ambition_reason",
                                "Calificación ilustrativa del Secretariado Técnico (ejemplo)."}})
                            .status());
      int apos = 0;
      for (const DemoAction& x : c.actions) {
        ASSIGN_OR_RETURN(int64_t aid, Id(d.Run("action.create", {{"commitment_id", cid},
                                                                 {"position", ++apos},
                                                                 {"description", x.description},
                                                                 {"responsible", x.responsible},
                                                                 {"goal_value", x.goal},
                                                                 {"goal_unit", x.unit},
                                                                 {"indicator_name", x.indicator},
                                                                 {"indicator_method", x.method},
                                                                 {"baseline", x.baseline},
                                                                 {"indicator_target", x.target},
                                                                 {"frequency", x.frequency},
                                                                 {"verification", x.verification},
                                                                 {"due_date", x.due}})));
        for (const auto& [date, value, narrative, link] : x.reports) {
          json::object rin{{"action_id", aid},
                           {"value", value},
                           {"narrative", narrative},
                           {"reported_on", date},
                           {"example", true}};
          if (*link) rin["evidence_url"] = link;
          ASSIGN_OR_RETURN(int64_t rid, Id(d.Run("progress.file", rin)));
          RETURN_IF_ERROR(d.Run("progress.validate", {{"id", rid}}).status());
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterDemo(Registry& reg) { reg.AddDemo("plan", LoadDemo); }

}  // namespace abierto::plan
