#include "abierto/markdown.h"

#include <gtest/gtest.h>

namespace abierto::markdown {
namespace {

TEST(Markdown, RendersCommonMark) {
  EXPECT_EQ(ToHtml("# Política\n\nDatos **abiertos**."),
            "<h1>Política</h1>\n<p>Datos <strong>abiertos</strong>.</p>\n");
}

TEST(Markdown, DropsRawHtmlAndScriptLinks) {
  std::string html = ToHtml("<script>alert(1)</script>\n\n[x](javascript:alert(1)) <b>b</b>");
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
}

TEST(Markdown, ReplacesInvalidUtf8) {
  std::string html = ToHtml("a\xff b");
  EXPECT_NE(html.find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(Markdown, PlainTextDropsMarkup) {
  EXPECT_EQ(ToPlainText("## Título\n\nUn [enlace](https://x.mx) y *énfasis*."),
            "Título\n\nUn enlace y énfasis.");
}

}  // namespace
}  // namespace abierto::markdown
