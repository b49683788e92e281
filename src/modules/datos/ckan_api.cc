// The CKAN Action API v3 at /api/3/action/.
#include "modules/datos/catalog.h"

namespace abierto::datos {

void RegisterCkanApi(Registry&) {}

}  // namespace abierto::datos
