// Writes a synthetic open-data CSV to stdout for the datastore benchmark: N rows (default
// 1,000,000) of 8 columns — folio (integer), fecha (date), nombre and colonia (texts), monto
// (decimal), descripcion (text, sometimes quoted with a comma inside), latitud and longitud
// (coordinates around León). About 130 bytes a row. Deterministic for a given seed.
//
//   gen_csv [ROWS] [SEED] > file.csv
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

uint64_t state = 88172645463325252ULL;
uint64_t Next() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}
int Pick(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }

const char* kNames[] = {"María",  "José",  "Guadalupe", "Juan",     "Ana",       "Luis",  "Rosa",
                        "Carlos", "Sofía", "Miguel",    "Fernanda", "Jesús",     "Lucía", "Pedro",
                        "Elena",  "Ramón", "Patricia",  "Jorge",    "Alejandra", "Héctor"};
const char* kSurnames[] = {"Hernández", "García",  "Martínez", "López",   "González", "Pérez",
                           "Rodríguez", "Sánchez", "Ramírez",  "Cruz",    "Flores",   "Gómez",
                           "Morales",   "Vázquez", "Jiménez",  "Reyes",   "Díaz",     "Torres",
                           "Gutiérrez", "Ruiz",    "Mendoza",  "Aguilar", "Ortiz",    "Castillo"};
const char* kColonias[] = {"Centro",
                           "León Moderno",
                           "Jardines del Moral",
                           "San Juan de Dios",
                           "Obregón",
                           "El Coecillo",
                           "Los Paraísos",
                           "Industrial",
                           "San Miguel",
                           "Valle del Campestre",
                           "Las Joyas",
                           "Villas de San Juan",
                           "Piletas",
                           "Azteca",
                           "Barrio Arriba",
                           "Los Castillos",
                           "Hacienda Echeveste",
                           "Lomas de Medina",
                           "El Retiro",
                           "Santa Rita"};
const char* kWords[] = {"bacheo",        "alumbrado",    "poda",      "limpieza",  "banqueta",
                        "drenaje",       "fuga",         "agua",      "parque",    "escuela",
                        "reparación",    "solicitud",    "vecinos",   "calle",     "avenida",
                        "mantenimiento", "señalamiento", "semáforo",  "basura",    "árbol",
                        "jardín",        "rampa",        "luminaria", "pavimento", "cancha",
                        "módulo",        "transporte",   "ruta",      "mercado",   "biblioteca"};

}  // namespace

int main(int argc, char** argv) {
  long rows = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (argc > 2) state ^= std::strtoull(argv[2], nullptr, 10) * 0x9E3779B97F4A7C15ULL;
  static char buf[1 << 20];
  std::setvbuf(stdout, buf, _IOFBF, sizeof buf);
  std::printf("folio,fecha,nombre,colonia,monto,descripcion,latitud,longitud\n");
  for (long i = 1; i <= rows; ++i) {
    int y = 2018 + Pick(8), m = 1 + Pick(12), d = 1 + Pick(28);
    std::printf("%ld,%04d-%02d-%02d,%s %s %s,%s,%d.%02d,", 100000 + i, y, m, d, kNames[Pick(20)],
                kSurnames[Pick(24)], kSurnames[Pick(24)], kColonias[Pick(20)], Pick(250000),
                Pick(100));
    int nw = 4 + Pick(5);
    bool quoted = Pick(4) == 0;  // some descriptions carry a comma and need quotes
    if (quoted) std::fputc('"', stdout);
    for (int w = 0; w < nw; ++w) {
      if (w) std::fputs(quoted && w == 2 ? ", " : " ", stdout);
      std::fputs(kWords[Pick(30)], stdout);
    }
    if (quoted) std::fputc('"', stdout);
    std::printf(",21.%06d,-101.%06d\n", 50000 + Pick(200000), 550000 + Pick(200000));
  }
  return 0;
}
