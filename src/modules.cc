#include "modules.h"

#include "abierto/accounts.h"
#include "modules/plan/plan.h"

namespace abierto {

const std::vector<web::ModuleRegistrar>& Modules() {
  static const std::vector<web::ModuleRegistrar> kModules = {
      web::RegisterWeb,
      accounts::RegisterAccounts,
      plan::Register,
  };
  return kModules;
}

}  // namespace abierto
