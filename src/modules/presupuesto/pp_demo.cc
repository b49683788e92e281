#include "modules/presupuesto/presupuesto.h"
namespace abierto::presupuesto {
void RegisterDemo(Registry&) {}
}  // namespace abierto::presupuesto
