#include "modules/presupuesto/pb_cli.h"

#include <boost/json.hpp>
#include <charconv>
#include <optional>

#include "abierto/json.h"
#include "modules/presupuesto/counting.h"
#include "modules/presupuesto/generator.h"
#include "modules/presupuesto/pabulib.h"

namespace abierto::presupuesto {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadFile = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "Uso:\n"
    "  abierto pb count ARCHIVO.pb --rule greedy|mes [--json]\n"
    "      Cuenta los votos de un archivo Pabulib e imprime los proyectos seleccionados,\n"
    "      uno por línea, en el orden en que la regla los eligió.\n"
    "      greedy: por puntaje, del mayor al menor, mientras quepan en el presupuesto.\n"
    "      mes:    Método de Partes Iguales con completado Add1 (solo votos de aprobación).\n"
    "      --json: imprime {\"rule\":...,\"selected\":[...],\"total_cost\":N}.\n"
    "  abierto pb generate --voters N --projects P --approvals K [--seed S]\n"
    "      Escribe en la salida una elección sintética de aprobación (para pruebas).\n"
    "  abierto pb --help\n"
    "Códigos de salida: 0 éxito, 1 archivo inválido, 2 argumentos inválidos.\n";

int Usage(std::ostream& err, const std::string& problem) {
  err << "abierto pb: " << problem << "\n" << kUsage;
  return kExitUsage;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

int Count(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::optional<std::string> file, rule;
  bool json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--rule") {
      if (i + 1 >= args.size()) return Usage(err, "falta el valor de --rule");
      rule = args[++i];
    } else if (a.rfind("--rule=", 0) == 0) {
      rule = a.substr(7);
    } else if (a.rfind("-", 0) == 0 && a != "-") {
      return Usage(err, "opción desconocida «" + a + "»");
    } else if (file) {
      return Usage(err, "se indicó más de un archivo («" + *file + "» y «" + a + "»)");
    } else {
      file = a;
    }
  }
  if (!file) return Usage(err, "falta el archivo .pb");
  if (!rule) return Usage(err, "falta --rule greedy o --rule mes");
  if (*rule != "greedy" && *rule != "mes") {
    return Usage(err, "regla desconocida «" + *rule + "»; use greedy o mes");
  }
  Result<PbInstance> instance = ReadPbFile(*file);
  if (!instance.ok()) {
    err << "abierto pb: " << *file << ": " << instance.status().message() << "\n";
    return kExitBadFile;
  }
  Result<Outcome> outcome = *rule == "greedy" ? CountGreedy(*instance) : CountMes(*instance);
  if (!outcome.ok()) {
    err << "abierto pb: " << *file << ": " << outcome.status().message() << "\n";
    return kExitBadFile;
  }
  if (json) {
    boost::json::array selected;
    for (const std::string& id : outcome->selected) selected.emplace_back(id);
    boost::json::object o;
    o["rule"] = outcome->rule;
    o["selected"] = std::move(selected);
    o["total_cost"] = outcome->total_cost;
    out << JsonText(o) << "\n";
  } else {
    for (const std::string& id : outcome->selected) out << id << "\n";
  }
  return kExitOk;
}

int Generate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  GeneratorOptions options;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return Usage(err, "falta el valor de «" + a + "»");
    std::optional<int64_t> value = ParseInt(args[++i]);
    if (!value || *value < 0) {
      return Usage(err, "el valor de «" + a + "» debe ser un entero no negativo");
    }
    if (a == "--voters") {
      options.voters = static_cast<int32_t>(std::min<int64_t>(*value, 1 << 30));
    } else if (a == "--projects") {
      options.projects = static_cast<int32_t>(std::min<int64_t>(*value, 1 << 30));
    } else if (a == "--approvals") {
      options.approvals = static_cast<int32_t>(std::min<int64_t>(*value, 1 << 30));
    } else if (a == "--seed") {
      options.seed = static_cast<uint64_t>(*value);
    } else {
      return Usage(err, "opción desconocida «" + a + "»");
    }
  }
  Result<PbInstance> instance = GeneratePb(options);
  if (!instance.ok()) return Usage(err, instance.status().message());
  out << WritePb(*instance);
  return kExitOk;
}

}  // namespace

int RunPbCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) return Usage(err, "falta el subcomando");
  const std::string& command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    out << kUsage;
    return kExitOk;
  }
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return kExitOk;
    }
  }
  if (command == "count") return Count(args, out, err);
  if (command == "generate") return Generate(args, out, err);
  return Usage(err, "subcomando desconocido «" + command + "»");
}

}  // namespace abierto::presupuesto
