#include "modules.h"

#include "abierto/accounts.h"
#include "modules/datos/catalog.h"
#include "modules/plan/plan.h"
#include "modules/presupuesto/presupuesto.h"

namespace abierto {

const std::vector<web::ModuleRegistrar>& Modules() {
  static const std::vector<web::ModuleRegistrar> kModules = {
      web::RegisterWeb, accounts::RegisterAccounts, plan::Register, presupuesto::Register,
      datos::Register,
  };
  return kModules;
}

}  // namespace abierto
