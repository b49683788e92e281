#include "abierto/template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace abierto::tmpl {
namespace {

namespace json = boost::json;

// Compiles and renders, failing the test on any error; partials come from `partials`.
std::string R(std::string_view source, std::string_view context_json,
              const std::map<std::string, Template, std::less<>>* partials = nullptr) {
  Result<Template> t = Template::Compile(source, "t");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return "<compile error>";
  PartialLookup lookup;
  if (partials != nullptr) {
    lookup = [partials](std::string_view name) -> const Template* {
      auto it = partials->find(name);
      return it == partials->end() ? nullptr : &it->second;
    };
  }
  Result<std::string> out = t->Render(json::parse(context_json), lookup);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "<render error>";
}

Status CompileError(std::string_view source, std::string name = "pagina.html") {
  Result<Template> t = Template::Compile(source, std::move(name));
  EXPECT_FALSE(t.ok());
  return t.ok() ? Status::Ok() : t.status();
}

TEST(TemplateEscape, EscapesHtmlInValues) {
  EXPECT_EQ(R("<p>{{v}}</p>", R"({"v":"<script>alert('x')</script>"})"),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>");
  EXPECT_EQ(R(R"(<a title="{{v}}">)", R"({"v":"a\" onmouseover=\"x"})"),
            "<a title=\"a&quot; onmouseover=&quot;x\">");
  EXPECT_EQ(R("{{v}}", R"({"v":"Obras & Servicios &amp;"})"), "Obras &amp; Servicios &amp;amp;");
  // The template's own text is trusted and left alone.
  EXPECT_EQ(R("<b>&nbsp;{{v}}</b>", R"({"v":"ok"})"), "<b>&nbsp;ok</b>");
}

TEST(TemplateEscape, RawTagsDoNotEscape) {
  const char* ctx = R"({"svg":"<svg><rect width=\"4\"/></svg>"})";
  EXPECT_EQ(R("{{{svg}}}", ctx), "<svg><rect width=\"4\"/></svg>");
  EXPECT_EQ(R("{{& svg}}", ctx), "<svg><rect width=\"4\"/></svg>");
  EXPECT_EQ(
      R("{{{ svg }}}|{{svg}}", ctx),
      "<svg><rect width=\"4\"/></svg>|&lt;svg&gt;&lt;rect width=&quot;4&quot;/&gt;&lt;/svg&gt;");
}

TEST(TemplateValues, FormatsNumbersNaturally) {
  EXPECT_EQ(R("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}}",
              R"({"a":42,"b":-7,"c":18446744073709551615,"d":3.14159,"e":2.5,"f":7.0,"g":0.005})"),
            "42 -7 18446744073709551615 3.14 2.5 7 0.01");
  EXPECT_EQ(R("{{a}} {{b}} {{c}}", R"({"a":-0.001,"b":1e21,"c":99.999})"),
            "0 1000000000000000000000 100");
}

TEST(TemplateValues, BooleansNullAndContainers) {
  EXPECT_EQ(R("[{{t}}|{{f}}|{{n}}|{{o}}|{{a}}]", R"({"t":true,"f":false,"n":null,"o":{},"a":[1]})"),
            "[true|false|||]");
}

TEST(TemplateValues, UnknownKeysRenderEmpty) {
  EXPECT_EQ(R("[{{nada}}|{{{nada}}}|{{a.b.c}}|{{s.length}}]", R"({"a":{"b":1},"s":"x"})"), "[|||]");
}

TEST(TemplateValues, SpanishRoundTrip) {
  const char* src = "<h1>Participación ciudadana en León</h1><p>{{texto}}</p>";
  EXPECT_EQ(R(src, R"({"texto":"Año 2025: ¿Qué opinas? — señalización, núm. 3 «Niños»"})"),
            "<h1>Participación ciudadana en León</h1>"
            "<p>Año 2025: ¿Qué opinas? — señalización, núm. 3 «Niños»</p>");
  EXPECT_EQ(R("{{ñandú}}", R"({"ñandú":"ü"})"), "ü");
}

TEST(TemplateSection, RepeatsForEachArrayElement) {
  EXPECT_EQ(R("<ul>{{#items}}<li>{{nombre}}</li>{{/items}}</ul>",
              R"({"items":[{"nombre":"Agua"},{"nombre":"Seguridad"}]})"),
            "<ul><li>Agua</li><li>Seguridad</li></ul>");
  EXPECT_EQ(R("{{#xs}}[{{.}}]{{/xs}}", R"({"xs":[1,"dos",3.5]})"), "[1][dos][3.5]");
  EXPECT_EQ(R("{{#m}}{{#.}}({{.}}){{/.}};{{/m}}", R"({"m":[[1,2],[3]]})"), "(1)(2);(3);");
}

TEST(TemplateSection, EmptyAndFalsyValuesSkip) {
  const char* src = "{{#v}}X{{/v}}";
  EXPECT_EQ(R(src, R"({"v":[]})"), "");
  EXPECT_EQ(R(src, R"({"v":false})"), "");
  EXPECT_EQ(R(src, R"({"v":null})"), "");
  EXPECT_EQ(R(src, R"({"v":""})"), "");
  EXPECT_EQ(R(src, R"({})"), "");
}

TEST(TemplateSection, ObjectsTrueAndScalarsRenderOnce) {
  EXPECT_EQ(R("{{#p}}{{titulo}} ({{avance}}%){{/p}}", R"({"p":{"titulo":"Eje 1","avance":75}})"),
            "Eje 1 (75%)");
  EXPECT_EQ(R("{{#v}}X{{/v}}", R"({"v":true})"), "X");
  EXPECT_EQ(R("{{#v}}<{{.}}>{{/v}}", R"({"v":"hola"})"), "<hola>");
  // Zero counts as present, documented in the header.
  EXPECT_EQ(R("{{#v}}<{{.}}>{{/v}}", R"({"v":0})"), "<0>");
  EXPECT_EQ(R("{{#v}}X{{/v}}", R"({"v":{}})"), "X");
}

TEST(TemplateSection, InvertedRendersWhenSectionWouldNot) {
  const char* src = "{{#v}}hay{{/v}}{{^v}}sin datos{{/v}}";
  EXPECT_EQ(R(src, R"({"v":[]})"), "sin datos");
  EXPECT_EQ(R(src, R"({"v":false})"), "sin datos");
  EXPECT_EQ(R(src, R"({})"), "sin datos");
  EXPECT_EQ(R(src, R"({"v":[1,2]})"), "hayhay");
  EXPECT_EQ(R(src, R"({"v":true})"), "hay");
}

TEST(TemplateSection, SectionValueChangesContextOfNestedSameName) {
  // Inside a repeated section, a nested section of a key the element lacks falls back up the
  // stack — the Mustache rule that lets rows see page-level flags.
  EXPECT_EQ(R("{{#filas}}{{n}}{{#editable}}*{{/editable}} {{/filas}}",
              R"({"editable":true,"filas":[{"n":1},{"n":2,"editable":false}]})"),
            "1* 2 ");
}

TEST(TemplateNames, DottedNames) {
  const char* ctx = R"({"a":{"b":{"c":"profundo"}},"x":{"y":1}})";
  EXPECT_EQ(R("{{a.b.c}}", ctx), "profundo");
  EXPECT_EQ(R("{{#a.b}}{{c}}{{/a.b}}", ctx), "profundo");
  EXPECT_EQ(R("{{a.b.nope}}|{{a.nope.c}}|{{nope.b}}", ctx), "||");
}

TEST(TemplateNames, DottedNameDescendsOnlyFromFirstHit) {
  // `a` is found in the inner object, which has no `b`; the outer a.b must not be used.
  EXPECT_EQ(R("{{#inner}}[{{a.b}}]{{/inner}}", R"({"a":{"b":"outer"},"inner":{"a":{}}})"), "[]");
}

TEST(TemplateNames, LooksUpOuterKeysFromInsideSection) {
  EXPECT_EQ(R("{{#compromisos}}{{titulo}} — {{municipio}}; {{/compromisos}}",
              R"({"municipio":"León","compromisos":[{"titulo":"Datos"},{"titulo":"Obras"}]})"),
            "Datos — León; Obras — León; ");
  // The nearest definition wins.
  EXPECT_EQ(R("{{#s}}{{n}}{{/s}}{{n}}", R"({"n":"fuera","s":{"n":"dentro"}})"), "dentrofuera");
}

TEST(TemplateComment, CommentsRenderNothing) {
  EXPECT_EQ(R("a{{! una nota }}b{{!\n varias\n líneas }}c", "{}"), "abc");
}

TEST(TemplateStandalone, StandaloneTagLinesLeaveNoBlankLine) {
  EXPECT_EQ(R("<ul>\n  {{#xs}}\n  <li>{{.}}</li>\n  {{/xs}}\n</ul>\n", R"({"xs":[1,2]})"),
            "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n");
  EXPECT_EQ(R("a\n{{! nota }}\nb\n", "{}"), "a\nb\n");
  EXPECT_EQ(R("a\r\n{{^v}}\r\nb\r\n{{/v}}\r\n", "{}"), "a\r\nb\r\n");
  // Not standalone: other content on the line stays.
  EXPECT_EQ(R("  {{#v}}x{{/v}}\n", R"({"v":true})"), "  x\n");
  EXPECT_EQ(R("a\n  {{! al final, sin salto }}", "{}"), "a\n");
  EXPECT_EQ(R("{{v}}\n{{#v}}\n{{/v}}|", R"({"v":1})"), "1\n|");
}

TEST(TemplatePartial, RendersWithCurrentContextStack) {
  std::map<std::string, Template, std::less<>> partials;
  partials.emplace("fila", *Template::Compile("<li>{{nombre}} ({{ciudad}})</li>\n", "fila"));
  EXPECT_EQ(R("<ul>\n{{#xs}}\n  {{> fila}}\n{{/xs}}\n</ul>",
              R"({"ciudad":"León","xs":[{"nombre":"A"},{"nombre":"B"}]})", &partials),
            "<ul>\n  <li>A (León)</li>\n  <li>B (León)</li>\n</ul>");
}

TEST(TemplatePartial, MissingPartialIsAnError) {
  Result<Template> t = Template::Compile("a\n{{> falta}}", "pagina");
  ASSERT_TRUE(t.ok());
  Result<std::string> out = t->Render(json::object{}, [](std::string_view) { return nullptr; });
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("partial not found: falta"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("line 2"), std::string::npos);
  // No lookup at all behaves the same.
  EXPECT_FALSE(t->Render(json::object{}).ok());
}

TEST(TemplatePartial, RecursionIsBoundedButLegitimateNestingWorks) {
  // A tree rendered by a partial that includes itself for the children. Leaves need an explicit
  // empty "hijos": a missing key would be found on the parent, up the stack (Mustache rules).
  std::map<std::string, Template, std::less<>> partials;
  partials.emplace("nodo", *Template::Compile("({{n}}{{#hijos}}{{> nodo}}{{/hijos}})", "nodo"));
  EXPECT_EQ(
      R("{{> nodo}}",
        R"({"n":1,"hijos":[{"n":2,"hijos":[{"n":3,"hijos":[]}]},{"n":4,"hijos":[]}]})", &partials),
      "(1(2(3))(4))");

  // Unconditional self-inclusion must stop with an error, not exhaust the stack.
  partials.emplace("bucle", *Template::Compile("x{{> bucle}}", "bucle"));
  Result<Template> t = Template::Compile("{{> bucle}}", "pagina");
  ASSERT_TRUE(t.ok());
  Result<std::string> out = t->Render(json::object{}, [&](std::string_view name) {
    auto it = partials.find(name);
    return it == partials.end() ? nullptr : &it->second;
  });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("deeper than 32"), std::string::npos);
}

TEST(TemplatePartial, DepthLimitIsExactly32) {
  // A chain p0 -> p1 -> ... -> pN: 32 nested partials render, 33 do not.
  auto chain = [](int n) {
    std::vector<std::string> names, sources;
    for (int i = 0; i < n; ++i) {
      names.push_back("p" + std::to_string(i));
      sources.push_back(i + 1 < n ? "{{> p" + std::to_string(i + 1) + "}}" : "fin");
    }
    std::vector<TemplateSource> src;
    src.push_back({"raiz", "{{> p0}}"});
    for (int i = 0; i < n; ++i) src.push_back({names[i], sources[i]});
    Result<TemplateSet> set = TemplateSet::Compile(src);
    EXPECT_TRUE(set.ok());
    return set->Render("raiz", json::object{});
  };
  Result<std::string> ok = chain(kMaxPartialDepth);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "fin");
  EXPECT_FALSE(chain(kMaxPartialDepth + 1).ok());
}

TEST(TemplateCompile, ErrorsNameTemplateAndLine) {
  Status s = CompileError("<ul>\n{{#items}}\n<li>{{x}}</li>\n</ul>\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("pagina.html"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not closed"), std::string::npos) << s.message();

  s = CompileError("a\nb\n{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}");
  EXPECT_NE(s.message().find("line 5"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("opened on line 4"), std::string::npos) << s.message();

  s = CompileError("uno\ndos {{nombre\ntres");
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("unclosed tag"), std::string::npos) << s.message();

  s = CompileError("\n\n\n{{{crudo}}\n");
  EXPECT_NE(s.message().find("line 4"), std::string::npos) << s.message();

  s = CompileError("ok\n{{/solo}}");
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
}

TEST(TemplateCompile, RejectsMalformedNames) {
  EXPECT_FALSE(Template::Compile("{{}}", "t").ok());
  EXPECT_FALSE(Template::Compile("{{ a b }}", "t").ok());
  EXPECT_FALSE(Template::Compile("{{a..b}}", "t").ok());
  EXPECT_FALSE(Template::Compile("{{#}}{{/}}", "t").ok());
  EXPECT_FALSE(Template::Compile("{{=<% %>=}}", "t").ok());
  EXPECT_TRUE(Template::Compile("{{ a.b }} {{.}} }} {", "t").ok());
}

TEST(TemplateSetTest, RendersNamedTemplatesWithSetPartials) {
  Result<TemplateSet> set = TemplateSet::Compile({
      {"layout", "<main>{{> encabezado}}{{#cuerpo}}{{> tarjeta}}{{/cuerpo}}</main>"},
      {"encabezado", "<h1>{{titulo}}</h1>"},
      {"tarjeta", "<div>{{nombre}}</div>"},
  });
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->size(), 3u);
  ASSERT_NE(set->Find("tarjeta"), nullptr);
  EXPECT_EQ(set->Find("tarjeta")->name(), "tarjeta");
  EXPECT_EQ(set->Find("nada"), nullptr);

  json::value ctx =
      json::parse(R"({"titulo":"Plan <2025>","cuerpo":[{"nombre":"a"},{"nombre":"b"}]})");
  Result<std::string> out = set->Render("layout", ctx);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "<main><h1>Plan &lt;2025&gt;</h1><div>a</div><div>b</div></main>");

  std::string buf = "prefijo:";
  ASSERT_TRUE(set->RenderTo(buf, "encabezado", ctx).ok());
  EXPECT_EQ(buf, "prefijo:<h1>Plan &lt;2025&gt;</h1>");

  Result<std::string> missing = set->Render("no-existe", ctx);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(TemplateSetTest, RejectsBrokenSetsAtConstruction) {
  Result<TemplateSet> s1 = TemplateSet::Compile({{"a", "{{> b}}"}});
  ASSERT_FALSE(s1.ok());
  EXPECT_NE(s1.status().message().find("b"), std::string::npos);
  Result<TemplateSet> s2 = TemplateSet::Compile({{"a", "x"}, {"a", "y"}});
  EXPECT_FALSE(s2.ok());
  Result<TemplateSet> s3 = TemplateSet::Compile({{"ok", "x"}, {"roto", "\n{{#a}}"}});
  ASSERT_FALSE(s3.ok());
  EXPECT_NE(s3.status().message().find("roto"), std::string::npos);
  EXPECT_NE(s3.status().message().find("line 2"), std::string::npos);
}

TEST(TemplateSetTest, ConcurrentRendersAgree) {
  Result<TemplateSet> set = TemplateSet::Compile({
      {"lista", "{{#xs}}{{> item}}{{/xs}}"},
      {"item", "<i>{{v}}</i>"},
  });
  ASSERT_TRUE(set.ok());
  json::array xs;
  for (int i = 0; i < 200; ++i) xs.push_back(json::object{{"v", i}});
  json::value ctx = json::object{{"xs", xs}};
  const std::string expected = *set->Render("lista", ctx);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) {
        Result<std::string> out = set->Render("lista", ctx);
        if (!out.ok() || *out != expected) ++mismatches[k];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(TemplateRender, ReusedAcrossContextsAndMovedTemplates) {
  Result<Template> t = Template::Compile("{{#xs}}{{.}},{{/xs}}", "t");
  ASSERT_TRUE(t.ok());
  Template moved = std::move(t).value();
  Template copy = moved;
  EXPECT_EQ(*moved.Render(json::parse(R"({"xs":[1,2,3]})")), "1,2,3,");
  EXPECT_EQ(*copy.Render(json::parse(R"({"xs":[]})")), "");
  EXPECT_EQ(*moved.Render(json::parse(R"({"xs":["a"]})")), "a,");
  // A non-object root is fine: only {{.}} sees it.
  EXPECT_EQ(*Template::Compile("[{{.}}|{{x}}]", "t")->Render(json::value("raíz")), "[raíz|]");
}

}  // namespace
}  // namespace abierto::tmpl
