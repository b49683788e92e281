// The modules that make up the platform, in registration order. main and the whole-platform
// tests share this list so that what is tested is what runs.
#pragma once

#include <vector>

#include "abierto/web.h"

namespace abierto {

const std::vector<web::ModuleRegistrar>& Modules();

}  // namespace abierto
