#include "abierto/svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "testing/tools.h"

namespace abierto::svg {
namespace {

using ::abierto::testing::HaveTool;
using ::abierto::testing::XmllintNoout;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// The checks every chart must pass, whatever its data.
void ExpectAccessibleAndSafe(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg;
  EXPECT_NE(svg.find("role=\"img\""), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_EQ(Count(svg, "<title id=\""), 1u);
  EXPECT_EQ(Count(svg, "<desc id=\""), 1u);
  // aria-labelledby names exactly the ids of the title and the description.
  const size_t a = svg.find("aria-labelledby=\"");
  ASSERT_NE(a, std::string::npos);
  const size_t start = a + 17;
  const std::string ids = svg.substr(start, svg.find('"', start) - start);
  const size_t space = ids.find(' ');
  ASSERT_NE(space, std::string::npos);
  EXPECT_NE(svg.find("<title id=\"" + ids.substr(0, space) + "\">"), std::string::npos);
  EXPECT_NE(svg.find("<desc id=\"" + ids.substr(space + 1) + "\">"), std::string::npos);
  // Content-Security-Policy without 'unsafe-inline': no style attribute or element, no script.
  EXPECT_EQ(svg.find("style"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("javascript"), std::string::npos);
  if (HaveTool("xmllint")) {
    std::string errors;
    EXPECT_EQ(XmllintNoout(svg, &errors), 0) << errors << svg;
  }
}

const char kEvil[] = "<script>alert('x')</script> & \"más\"";

TEST(SvgBars, RendersOneRowPerItem) {
  const std::string svg =
      HorizontalBars("Avance por eje", "Porcentaje de avance de cada eje del plan.",
                     {{"Transparencia", 45, "#1f5f8b", ""},
                      {"Participación", 120, "#2e7d32", "12 de 12"},
                      {kEvil, -5, "red", ""}});
  ExpectAccessibleAndSafe(svg);
  EXPECT_NE(svg.find("<title id=\"chart-"), std::string::npos);
  EXPECT_NE(svg.find(">Avance por eje</title>"), std::string::npos);
  // The description ends with the data in words.
  EXPECT_NE(svg.find("Transparencia: 45%; Participación: 12 de 12;"), std::string::npos) << svg;
  EXPECT_NE(svg.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;más&quot;"),
            std::string::npos);
  // Values are clamped: 120 fills the track, -5 draws nothing.
  EXPECT_EQ(Count(svg, "width=\"624\" height=\"14\""), 4u) << svg;  // 3 tracks + one full bar
  EXPECT_NE(svg.find("width=\"0\" height=\"14\" fill=\"red\""), std::string::npos);
  EXPECT_NE(svg.find(">0%</text>"), std::string::npos);
}

TEST(SvgBars, RejectsHostileColoursAndShortensLongLabels) {
  const std::string long_label(300, 'x');
  const std::string svg = HorizontalBars(
      "T", "D", {{long_label, 50, "url(javascript:alert(1))", ""}, {"b", 10, "#12345g", ""}});
  ExpectAccessibleAndSafe(svg);
  EXPECT_EQ(svg.find("url("), std::string::npos);
  EXPECT_EQ(svg.find("#12345g"), std::string::npos);
  EXPECT_NE(svg.find("…</text>"), std::string::npos);
  EXPECT_NE(svg.find(long_label), std::string::npos);  // in full in the description
}

TEST(SvgBars, EmptyIsSinDatos) {
  const std::string svg = HorizontalBars("Avance", "Descripción", {});
  ExpectAccessibleAndSafe(svg);
  EXPECT_NE(svg.find(">Sin datos</text>"), std::string::npos);
  const std::string en = HorizontalBars("Progress", "", {}, {.id = "", .lang = "en"});
  EXPECT_NE(en.find(">No data</text>"), std::string::npos);
}

TEST(SvgBars, IdsAreStableDistinctAndOverridable) {
  const std::string a1 = HorizontalBars("A", "", {{"x", 1, "", ""}});
  const std::string a2 = HorizontalBars("A", "", {{"x", 1, "", ""}});
  const std::string b = HorizontalBars("A", "", {{"x", 2, "", ""}});
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1.substr(0, 400), b.substr(0, 400));
  const std::string named =
      HorizontalBars("A", "", {{"x", 1, "", ""}}, {.id = "eje\"1<", .lang = "es"});
  EXPECT_NE(named.find("aria-labelledby=\"eje1-t eje1-d\""), std::string::npos) << named;
}

TEST(SvgStacked, ProportionalSegmentsAndTextLegend) {
  const std::string svg = StackedBar("Semáforos", "Estado de los compromisos.",
                                     {{"En tiempo", 1, "#2e7d32"},
                                      {"Con retraso", 1, "#b26a00"},
                                      {"Sin avance", 1, "#b00020"},
                                      {"Cancelado", 0, "#595959"}});
  ExpectAccessibleAndSafe(svg);
  // Thirds round to 34 + 33 + 33 so the legend adds up to 100.
  EXPECT_NE(svg.find(">En tiempo: 1 (34%)</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">Con retraso: 1 (33%)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Sin avance: 1 (33%)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Cancelado: 0 (0%)</text>"), std::string::npos);  // listed, not drawn
  EXPECT_NE(svg.find("Total: 3."), std::string::npos);
  EXPECT_EQ(Count(svg, "height=\"32\""), 3u);
  EXPECT_NE(svg.find("<rect x=\"8\" y=\"8\" width=\"208\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<rect x=\"424\" y=\"8\" width=\"208\""), std::string::npos) << svg;
}

TEST(SvgStacked, EscapesAndHandlesNoData) {
  ExpectAccessibleAndSafe(StackedBar(kEvil, kEvil, {{kEvil, 5, "#000"}}));
  const std::string empty =
      StackedBar("Semáforos", "", {{"Verde", 0, "green"}, {"Rojo", -3, "red"}});
  ExpectAccessibleAndSafe(empty);
  EXPECT_NE(empty.find(">Sin datos</text>"), std::string::npos);
  EXPECT_NE(StackedBar("S", "", {}).find(">Sin datos</text>"), std::string::npos);
}

TEST(SvgLine, DrawsSeriesOnATimeAxis) {
  const std::vector<Series> series = {
      {"Esperado", "#1f5f8b", {{"2025-01-01", 0}, {"2025-12-31", 100}}, false},
      {"Validado", "#2e7d32", {{"2025-07-01", 40}, {"2025-04-01", 10}, {"mal", 50}}, true},
  };
  const std::string svg = LineChart("Avance del compromiso", "Esperado contra validado.",
                                    {"2025-01-01", "2025-07-01", "2025-12-31", "no"}, series);
  ExpectAccessibleAndSafe(svg);
  EXPECT_EQ(Count(svg, "<polyline "), 2u);
  // The axis spans 2025-01-01 (x=48) to 2025-12-31 (x=616); y 0..100 maps to 264..64.
  EXPECT_NE(svg.find("points=\"48,264 616,64\""), std::string::npos) << svg;
  // A step series holds its value until the next point; points are sorted by date, the
  // invalid one skipped.
  const size_t step = svg.find("points=\"", svg.find("points=\"48,264") + 1);
  ASSERT_NE(step, std::string::npos);
  // 2025-04-01 is day 90 of 364 (x = 48 + 568 * 90 / 364), 2025-07-01 day 181.
  EXPECT_EQ(svg.find("points=\"188.4,244 330.4,244 330.4,184\"", step), step)
      << svg.substr(step, 60);
  EXPECT_NE(svg.find("stroke-dasharray=\"7 4\""), std::string::npos);
  EXPECT_NE(svg.find(">1 ene 2025</text>"), std::string::npos);
  EXPECT_NE(svg.find(">31 dic 2025</text>"), std::string::npos);
  EXPECT_NE(
      svg.find("Esperado: 100% al 31 de diciembre de 2025; Validado: 40% al 1 de julio de 2025."),
      std::string::npos);
  EXPECT_NE(svg.find(">100%</text>"), std::string::npos);
}

TEST(SvgLine, EnglishSingleDateAndEscaping) {
  const std::string svg = LineChart(
      kEvil, kEvil, {}, {{kEvil, "blue", {{"2025-03-22", 30}}, false}}, {.id = "", .lang = "en"});
  ExpectAccessibleAndSafe(svg);
  EXPECT_NE(svg.find("30% as of March 22, 2025"), std::string::npos);
  EXPECT_NE(svg.find("cx=\"332\""), std::string::npos) << "a lone date sits in the middle";
}

TEST(SvgLine, NoValidPointsIsSinDatos) {
  const std::string svg =
      LineChart("Avance", "", {"2025-01-01"}, {{"Esperado", "#000", {{"2025-02-30", 10}}, false}});
  ExpectAccessibleAndSafe(svg);
  EXPECT_NE(svg.find(">Sin datos</text>"), std::string::npos);
  EXPECT_NE(LineChart("Avance", "", {}, {}).find(">Sin datos</text>"), std::string::npos);
}

TEST(SvgValueBars, OneBarPerFiniteDatumOnAScaleThroughZero) {
  const std::string svg = ValueBars("Votos por delegación", "Suma de votos.",
                                    {{"A", 10}, {"B", -5}, {"C", 20}, {"D", std::nan("")}});
  ExpectAccessibleAndSafe(svg);
  EXPECT_EQ(Count(svg, "<rect class=\"bar\""), 3u) << svg;
  // The scale runs from -5 (x=8) to 20 (x=632): zero sits at x=132.8.
  EXPECT_NE(svg.find("<rect class=\"bar\" x=\"132.8\" y=\"29\" width=\"249.6\""), std::string::npos)
      << svg;
  EXPECT_NE(svg.find("<rect class=\"bar\" x=\"8\" y=\"71\" width=\"124.8\""), std::string::npos);
  EXPECT_NE(svg.find("width=\"499.2\""), std::string::npos);
  EXPECT_NE(svg.find("<line class=\"axis\" x1=\"132.8\""), std::string::npos);
  EXPECT_NE(svg.find("Suma de votos. A: 10; B: -5; C: 20.</desc>"), std::string::npos);
  EXPECT_NE(svg.find("<title>C: 20</title>"), std::string::npos);
  // Fractional values get two decimals, thousands get commas.
  const std::string money = ValueBars("Monto", "", {{"x", 31500000.5}, {"y", 2}});
  EXPECT_NE(money.find(">31,500,000.50</text>"), std::string::npos) << money;
  EXPECT_NE(money.find(">2.00</text>"), std::string::npos);
  EXPECT_EQ(money.find("class=\"axis\""), std::string::npos) << "no negative side";
}

TEST(SvgValueBars, EscapesAndHandlesNoData) {
  ExpectAccessibleAndSafe(ValueBars(kEvil, kEvil, {{kEvil, 1}}));
  EXPECT_NE(ValueBars(kEvil, kEvil, {{kEvil, 1}}).find("&lt;script&gt;"), std::string::npos);
  const std::string empty = ValueBars("Monto", "", {{"x", std::nan("")}});
  ExpectAccessibleAndSafe(empty);
  EXPECT_NE(empty.find(">Sin datos</text>"), std::string::npos);
}

TEST(SvgValueLine, PointsEvenlySpacedOnRoundTicks) {
  const std::string svg =
      ValueLine("Solicitudes", "Por mes.", {{"ene", 0}, {"feb", 10}, {"mar", 25}});
  ExpectAccessibleAndSafe(svg);
  EXPECT_EQ(Count(svg, "<circle class=\"point\""), 3u);
  // Ticks 0, 5, ..., 25; the plot spans x 29.4..624 and y 236 (0) .. 16 (25).
  for (const char* tick : {">0</text>", ">5</text>", ">25</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick << svg;
  EXPECT_NE(svg.find("points=\"29.4,236 326.7,148 624,16\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>feb: 10</title>"), std::string::npos);
  EXPECT_NE(svg.find(">mar</text>"), std::string::npos);
  EXPECT_NE(svg.find("Por mes. ene: 0; feb: 10; mar: 25.</desc>"), std::string::npos);
}

TEST(SvgValueLine, NegativeAndFractionalValuesAndManyCategories) {
  const std::string neg = ValueLine("T", "", {{"a", -3}, {"b", 7}});
  ExpectAccessibleAndSafe(neg);
  EXPECT_NE(neg.find(">-4</text>"), std::string::npos) << neg;
  EXPECT_NE(neg.find(">8</text>"), std::string::npos);
  EXPECT_NE(neg.find("<line class=\"axis\""), std::string::npos);
  const std::string frac = ValueLine("T", "", {{"a", 0.1}, {"b", 0.35}});
  EXPECT_NE(frac.find(">0.4</text>"), std::string::npos) << frac;
  EXPECT_NE(frac.find("<title>b: 0.35</title>"), std::string::npos);
  // Fifty categories: every point is drawn; the labels are turned to fit, and thinned out.
  std::vector<Datum> many;
  for (int i = 0; i < 50; ++i) many.push_back({"Colonia número " + std::to_string(i), double(i)});
  const std::string svg = ValueLine("T", "", many);
  ExpectAccessibleAndSafe(svg);
  EXPECT_EQ(Count(svg, "<circle class=\"point\""), 50u);
  EXPECT_EQ(Count(svg, "<text class=\"category\""), 25u) << svg;
  EXPECT_EQ(Count(svg, "transform=\"rotate(-45 "), 25u);
  EXPECT_NE(svg.find(">Colonia número 48</text>"), std::string::npos);
  // Long names that do not fit level are turned too, and kept whole up to 20 characters.
  const std::string names = ValueLine("T", "",
                                      {{"Cerrito de Jerez", 1},
                                       {"Cerro Gordo", 2},
                                       {"San Juan Bosco", 3},
                                       {"San Miguel", 4},
                                       {"Las Joyas", 5},
                                       {"Del Carmen", 6},
                                       {"Coecillo", 7}});
  EXPECT_EQ(Count(names, "transform=\"rotate(-45 "), 7u);
  EXPECT_NE(names.find(">San Juan Bosco</text>"), std::string::npos);
  EXPECT_NE(ValueLine("T", "", {}).find(">Sin datos</text>"), std::string::npos);
}

}  // namespace
}  // namespace abierto::svg
