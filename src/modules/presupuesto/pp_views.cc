#include "modules/presupuesto/presupuesto.h"
namespace abierto::presupuesto {
void RegisterViews(Registry&) {}
}  // namespace abierto::presupuesto
