// Demo content of DatA-LEÓN: the Transparency Unit and two other publishers, the themes of the
// 2025-2027 plan's Datos Abiertos axis, and a few small example datasets (marked as examples:
// their figures are illustrative, not official).
#include <map>
#include <tuple>

#include "modules/datos/catalog.h"

namespace abierto::datos {

namespace json = boost::json;

namespace {

Result<int64_t> UnitId(DemoContext& d, const char* acronym) {
  ASSIGN_OR_RETURN(db::Rows r,
                   d.db.Query("SELECT id FROM units WHERE acronym = ?", {std::string(acronym)}));
  if (r.empty()) return int64_t{0};
  return r[0].Int("id");
}

json::object FileInput(const char* name, std::string data) {
  return json::object{{"name", name}, {"content_type", "text/csv"}, {"data", std::move(data)}};
}

Status Load(DemoContext& d) {
  struct Org {
    const char *name, *title, *description, *unit;
  };
  std::map<std::string, int64_t> org;
  for (const Org& o : std::vector<Org>{
           {"unidad-de-transparencia", "Unidad de Transparencia",
            "Coordina la política de datos abiertos del municipio y DatA-LEÓN.", "UT"},
           {"presupuesto-participativo", "Dirección de Presupuesto Participativo y Delegaciones",
            "Publica los proyectos, votos y resultados del presupuesto participativo.", "DPPD"},
           {"innovacion", "Dirección de Innovación",
            "Publica datos de trámites y servicios digitales.", "DI"}}) {
    json::object in{{"name", o.name}, {"title", o.title}, {"description", o.description}};
    ASSIGN_OR_RETURN(int64_t unit, UnitId(d, o.unit));
    if (unit) in["unit_id"] = unit;
    ASSIGN_OR_RETURN(json::value r, d.Run("datos.organization.create", in));
    org[o.name] = r.at("id").as_int64();
  }
  for (auto [name, title, description] :
       std::vector<std::tuple<const char*, const char*, const char*>>{
           {"gobierno-abierto", "Gobierno abierto", "Plan de acción, compromisos y sus avances."},
           {"finanzas-publicas", "Finanzas públicas", "Presupuesto, ingresos y gasto."},
           {"participacion-ciudadana", "Participación ciudadana",
            "Consultas, presupuesto participativo y sesiones."},
           {"movilidad", "Movilidad", "Transporte público, vialidades y ciclovías."},
           {"servicios-publicos", "Servicios públicos", "Alumbrado, parques, agua y limpia."}})
    RETURN_IF_ERROR(d.Run("datos.group.create",
                          {{"name", name}, {"title", title}, {"description", description}})
                        .status());

  struct Dataset {
    const char *name, *title, *notes, *org, *groups, *tags, *frequency, *csv_name;
    std::string csv;
  };
  std::vector<Dataset> sets = {
      {"solicitudes-de-informacion-2025", "Solicitudes de acceso a la información 2025 (ejemplo)",
       "Solicitudes de acceso a la información pública recibidas por mes y dependencia.\n\n"
       "*Datos ilustrativos de la demostración; no son cifras oficiales.*",
       "unidad-de-transparencia", "gobierno-abierto",
       "transparencia, solicitudes, acceso a la información", "mensual", "solicitudes-2025.csv",
       "mes,dependencia,recibidas,respondidas_en_plazo,tiempo_promedio_dias\n"
       "2025-01-31,Tesorería Municipal,42,40,6.5\n"
       "2025-01-31,Obra Pública,35,31,8.1\n"
       "2025-02-28,Tesorería Municipal,39,39,5.9\n"
       "2025-02-28,Obra Pública,41,36,7.7\n"
       "2025-03-31,Tesorería Municipal,51,48,6.2\n"
       "2025-03-31,Obra Pública,38,35,7.4\n"},
      {"proyectos-presupuesto-participativo-2025",
       "Proyectos del presupuesto participativo por delegación (ejemplo)",
       "Proyectos registrados y votos por delegación urbana. Los montos son ilustrativos.",
       "presupuesto-participativo", "participacion-ciudadana, finanzas-publicas",
       "presupuesto participativo, delegaciones, votación", "anual", "proyectos-por-delegacion.csv",
       "delegacion,proyectos_registrados,votos,monto_asignado,latitud,longitud\n"
       "Cerro Gordo,41,8120,31500000.00,21.1617,-101.6520\n"
       "Coecillo,38,7450,29800000.00,21.1230,-101.6640\n"
       "Del Carmen,44,9010,33100000.00,21.1360,-101.7010\n"
       "Las Joyas,47,10230,35200000.00,21.0970,-101.7290\n"
       "San Juan Bosco,36,6880,28400000.00,21.1140,-101.6970\n"
       "San Miguel,40,8560,32000000.00,21.1080,-101.6760\n"
       "Cerrito de Jerez,38,7420,30100000.00,21.0850,-101.6420\n"},
      {"tramites-en-linea", "Trámites disponibles en línea (ejemplo)",
       "Catálogo de trámites municipales que pueden hacerse en línea, con su tiempo de respuesta.",
       "innovacion", "servicios-publicos", "trámites, servicios digitales", "trimestral",
       "tramites.csv",
       "tramite,dependencia,en_linea,tiempo_respuesta_dias\n"
       "Licencia de funcionamiento,Desarrollo Económico,sí,5\n"
       "Pago del predial,Tesorería Municipal,sí,1\n"
       "Permiso de construcción,Desarrollo Urbano,no,15\n"
       "Constancia de no adeudo,Tesorería Municipal,sí,2\n"}};
  for (const Dataset& s : sets) {
    ASSIGN_OR_RETURN(json::value created,
                     d.Run("datos.package.create", {{"name", s.name},
                                                    {"title", s.title},
                                                    {"notes", s.notes},
                                                    {"organization_id", org[s.org]},
                                                    {"license_id", "cc-by-4.0"},
                                                    {"groups", s.groups},
                                                    {"tags", s.tags},
                                                    {"frequency", s.frequency},
                                                    {"spatial", "León, Guanajuato"},
                                                    {"contact_name", "Unidad de Transparencia"},
                                                    {"contact_email", "datos@demo.abierto.mx"}}));
    int64_t id = created.at("id").as_int64();
    ASSIGN_OR_RETURN(json::value res, d.Run("datos.resource.create",
                                            {{"dataset_id", id},
                                             {"name", s.csv_name},
                                             {"description", "Tabla completa en CSV (UTF-8)."},
                                             {"file", FileInput(s.csv_name, s.csv)}}));
    // The demo is served right after loading; its small tables are ingested here rather
    // than waiting for the server's queue.
    if (res.as_object().contains("job_id"))
      RETURN_IF_ERROR(RunIngestJob(d.db, res.at("job_id").as_int64(), "", nullptr).status());
    RETURN_IF_ERROR(d.Run("datos.package.publish", {{"id", id}}).status());
  }
  // One request in each public state.
  ASSIGN_OR_RETURN(json::value r1, d.Run("datos.request.create",
                                         {{"title", "Rutas y horarios del transporte público"},
                                          {"description",
                                           "En formato GTFS, para usarlos en "
                                           "aplicaciones de movilidad."}}));
  RETURN_IF_ERROR(
      d.Run("datos.request.update", {{"id", r1.at("id")}, {"status", "en_analisis"}}).status());
  RETURN_IF_ERROR(
      d.Run("datos.request.create", {{"title", "Luminarias por colonia"},
                                     {"description",
                                      "Ubicación y estado de las luminarias del alumbrado "
                                      "público."}})
          .status());
  // Abierto's own data, loaded by the modules before this one.
  return PublishOpenDataNow(d.db, d.dispatcher);
}

}  // namespace

void RegisterCatalogDemo(Registry& reg) { reg.AddDemo("datos", Load); }

}  // namespace abierto::datos
