// Tests of the web application's configuration-driven pieces: the map tile settings, the
// Content-Security-Policy built from them, and JSON embedded in pages for scripts to read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "abierto/web.h"
#include "modules.h"

namespace abierto::web {
namespace {

namespace json = boost::json;

TEST(TileOrigin, AcceptsTheUsualTemplates) {
  EXPECT_EQ(*TileOrigin("https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
            "https://tile.openstreetmap.org");
  EXPECT_EQ(*TileOrigin("https://{s}.tile.example.org/{z}/{x}/{y}.png"),
            "https://*.tile.example.org");
  EXPECT_EQ(*TileOrigin("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png?key=abc"),
            "http://127.0.0.1:8081");
  EXPECT_EQ(*TileOrigin("https://Mapas.Leon.gob.mx/{z}/{y}/{x}"), "https://mapas.leon.gob.mx");
  // On this same site ('self' covers it) and turned off.
  EXPECT_EQ(*TileOrigin("/mosaicos/{z}/{x}/{y}.png"), "");
  EXPECT_EQ(*TileOrigin("none"), "");
}

TEST(TileOrigin, RefusesTemplatesThatWouldNotWorkOrWouldBreakThePolicy) {
  for (const char* bad : {
           "",                                                         // empty
           "ftp://tiles.example.org/{z}/{x}/{y}.png",                  // scheme
           "tiles.example.org/{z}/{x}/{y}.png",                        // no scheme
           "//tiles.example.org/{z}/{x}/{y}.png",                      // scheme-relative
           "https://tiles.example.org/{z}/{x}.png",                    // no {y}
           "https://tiles.example.org",                                // no path
           "https://tiles.example.org; script-src *; /{z}/{x}/{y}",    // header injection
           "https://tiles.example.org/{z}/{x}/{y}.png\" onerror=\"x",  // attribute injection
           "https://tiles example.org/{z}/{x}/{y}.png",                // space
           "https://a.{s}.example.org/{z}/{x}/{y}.png",                // {s} not first
           "https://tiles.example.org:80a/{z}/{x}/{y}.png",            // port
           "https://*/{z}/{x}/{y}.png",                                // wildcard host
       }) {
    auto r = TileOrigin(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("mosaicos"), std::string::npos) << bad;
    }
  }
}

TEST(MapConfig, ChecksTheAttributionLinkAndText) {
  Config c;
  EXPECT_TRUE(ValidateMapConfig(c).ok());
  c.tile_attribution_url = "javascript:alert(1)";
  EXPECT_FALSE(ValidateMapConfig(c).ok());
  c.tile_attribution_url = "https://example.org/creditos";
  c.tile_attribution = "Mapa base\nsegunda línea";
  EXPECT_FALSE(ValidateMapConfig(c).ok());
  c.tile_attribution = "© Municipio de León";
  EXPECT_TRUE(ValidateMapConfig(c).ok());
}

TEST(SecurityHeaders, ImgSrcAllowsTheTileOriginAndNothingElseChanges) {
  auto find = [](const std::vector<std::pair<std::string, std::string>>& h) {
    for (const auto& [k, v] : h)
      if (k == "Content-Security-Policy") return v;
    return std::string();
  };
  std::string plain = find(BuildSecurityHeaders(""));
  EXPECT_NE(plain.find("img-src 'self' data:;"), std::string::npos) << plain;
  std::string tiles = find(BuildSecurityHeaders("https://tile.openstreetmap.org"));
  EXPECT_NE(tiles.find("img-src 'self' data: https://tile.openstreetmap.org;"), std::string::npos)
      << tiles;
  EXPECT_NE(tiles.find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(tiles.find("unsafe"), std::string::npos);
}

TEST(JsonForScript, CannotCloseTheScriptElementAndParsesBack) {
  json::value v = json::object{{"title", "</script><script>alert(1)</script> & \xe2\x80\xa8"}};
  std::string s = JsonForScript(v);
  EXPECT_EQ(s.find('<'), std::string::npos);
  EXPECT_EQ(s.find('>'), std::string::npos);
  EXPECT_EQ(s.find('&'), std::string::npos);
  EXPECT_EQ(s.find("\xe2\x80\xa8"), std::string::npos);
  EXPECT_EQ(json::parse(s), v);
}

// The App builds its policy from the configuration once, and uses it for pages, static files
// and (through security_headers) the server's own error responses.
TEST(AppSecurityHeaders, FollowTheConfiguredTileServer) {
  auto dir = std::filesystem::temp_directory_path() / ("abierto-app-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Config c;
  c.db_url = "sqlite:" + (dir / "app.db").string();
  c.tile_url = "https://{s}.mosaicos.example.org/{z}/{x}/{y}.png";
  {
    auto app = App::Create(c, Modules());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    ASSERT_TRUE((*app)->Migrate().ok());
    std::string want = "img-src 'self' data: https://*.mosaicos.example.org;";
    auto csp = [](const http::Response& r) {
      for (const auto& [k, v] : r.headers)
        if (k == "Content-Security-Policy") return v;
      return std::string();
    };
    http::Request req;
    req.method = "GET";
    req.target = req.path = "/presupuesto";
    http::Response page = (*app)->Handle(req);
    EXPECT_NE(csp(page).find(want), std::string::npos) << csp(page);
    req.target = req.path = "/static/abierto.css";
    auto file = (*app)->Fast(req);
    ASSERT_TRUE(file.has_value());
    EXPECT_NE(csp(*file).find(want), std::string::npos);
    bool server = false;
    for (const auto& [k, v] : (*app)->security_headers())
      server |= k == "Content-Security-Policy" && v.find(want) != std::string::npos;
    EXPECT_TRUE(server);
  }
  c.tile_url = "https://tiles.example.org/{z}/{x}.png";
  auto bad = App::Create(c, Modules());
  EXPECT_FALSE(bad.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace abierto::web
