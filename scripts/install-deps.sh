#!/usr/bin/env bash
# Installs what Abierto needs to build, test and benchmark on Debian 12, from Debian's archive
# and the npm registry only. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build pkg-config make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libsodium-dev libssl-dev libutf8proc-dev libxlsxwriter-dev libgmp-dev zlib1g-dev libexpat1-dev
  libcmark-gfm-dev
  googletest libgtest-dev libbenchmark-dev
  chromium unzip libxml2-utils
)
if [ "${ABIERTO_BENCH_DEPS:-0}" = 1 ]; then packages+=(wrk nginx-light time); fi
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Instalando paquetes de Debian: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Front-end libraries embedded in the binary (Leaflet and its marker clustering, for maps): the
# build reads them from web/node_modules, at the versions pinned in web/package-lock.json.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  touch web/node_modules
fi

# Browser and schema test tools (playwright-core drives Debian's chromium; it downloads no
# browser of its own).
if [ -f tests/package.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package.json -nt tests/node_modules ]; then
    (cd tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error \
      || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
    touch tests/node_modules
  fi
fi
