#include "abierto/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <optional>

#include "abierto/text.h"

namespace abierto::svg {
namespace {

constexpr double kWidth = 640;
constexpr double kMargin = 8;
constexpr char kTextColour[] = "#1a1a1a";   // 17.4:1 on white
constexpr char kMutedColour[] = "#595959";  // 7:1 on white, the lightest grey allowed for text
constexpr char kTrackColour[] = "#e6e6e6";
constexpr char kGridColour[] = "#d0d0d0";
constexpr char kDefaultFill[] = "#1f5f8b";
// Average advance of a sans-serif glyph at 1 em; used only to decide when to shorten labels.
constexpr double kGlyphEm = 0.56;

bool IsEnglish(std::string_view lang) { return lang.size() >= 2 && lang.substr(0, 2) == "en"; }

// Coordinates with at most one decimal keep the markup short and are far below a pixel.
std::string Num(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::string SafeColour(std::string_view c) {
  auto is_hex = [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
  };
  if ((c.size() == 4 || c.size() == 7) && c[0] == '#' &&
      std::all_of(c.begin() + 1, c.end(), is_hex)) {
    return std::string(c);
  }
  if (!c.empty() && c.size() <= 20 &&
      std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; })) {
    return std::string(c);
  }
  return kDefaultFill;
}

// Shortens `s` to `max_chars` code points, ending with an ellipsis when cut. The full text stays
// in the chart's description.
std::string Shorten(std::string_view raw, size_t max_chars) {
  std::string s = text::SanitizeUtf8(raw);
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++count > max_chars) {
      // Back up one more code point to make room for the ellipsis.
      size_t cut = i;
      do {
        --cut;
      } while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80);
      s.resize(cut);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      return s + "…";
    }
  }
  return s;
}

size_t CharsThatFit(double width, double font_size) {
  return static_cast<size_t>(std::max(4.0, width / (font_size * kGlyphEm)));
}

double Clamp100(double v) {
  if (!std::isfinite(v)) return 0;
  return std::clamp(v, 0.0, 100.0);
}

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// ids must be valid XML names and safe inside an attribute.
std::string ChartId(const ChartOptions& options, std::string_view kind, std::string_view content) {
  std::string id;
  for (char c : options.id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_') {
      id.push_back(c);
    }
  }
  if (!id.empty() && !(id[0] >= '0' && id[0] <= '9') && id[0] != '-') return id;
  if (!id.empty()) return "c" + id;
  char buf[32];
  std::snprintf(buf, sizeof buf, "chart-%08llx",
                static_cast<unsigned long long>(Fnv1a(content, Fnv1a(kind)) & 0xffffffffull));
  return buf;
}

// Builds the common frame: <svg> with role, labels and viewBox; callers append the body.
// One <text> element: a class when `cls` is not empty, presentation attributes (no style, for
// the CSP), the anchor when not "start".
void AppendText(std::string* out, std::string_view cls, double x, double y,
                std::string_view content, double size, const char* fill,
                const char* anchor = "start", bool bold = false) {
  out->append("<text");
  if (!cls.empty()) out->append(" class=\"").append(cls).append("\"");
  out->append(" x=\"")
      .append(Num(x))
      .append("\" y=\"")
      .append(Num(y))
      .append("\" font-size=\"")
      .append(Num(size))
      .append("\" fill=\"")
      .append(fill)
      .append("\"");
  if (std::string_view(anchor) != "start")
    out->append(" text-anchor=\"").append(anchor).append("\"");
  if (bold) out->append(" font-weight=\"bold\"");
  out->append(">").append(text::XmlEscape(content)).append("</text>");
}

class Chart {
 public:
  Chart(std::string_view kind, std::string_view title, std::string_view desc,
        std::string_view summary, double height, const ChartOptions& options) {
    std::string full_desc(desc);
    if (!summary.empty()) {
      if (!full_desc.empty() && full_desc.back() != ' ') full_desc += ' ';
      full_desc.append(summary);
    }
    std::string content(title);
    content.append("\x1f").append(full_desc);
    const std::string id = ChartId(options, kind, content);
    out_.reserve(2048);
    out_.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-")
        .append(kind)
        .append("\" viewBox=\"0 0 ")
        .append(Num(kWidth))
        .append(" ")
        .append(Num(height))
        .append("\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" role=\"img\" ")
        .append("aria-labelledby=\"")
        .append(id)
        .append("-t ")
        .append(id)
        .append("-d\" font-family=\"sans-serif\">")
        .append("<title id=\"")
        .append(id)
        .append("-t\">")
        .append(text::XmlEscape(title))
        .append("</title><desc id=\"")
        .append(id)
        .append("-d\">")
        .append(text::XmlEscape(full_desc))
        .append("</desc>");
  }

  std::string& body() { return out_; }

  void Text(double x, double y, std::string_view content, double size, const char* fill,
            const char* anchor = "start", bool bold = false) {
    AppendText(&out_, "", x, y, content, size, fill, anchor, bold);
  }

  void Rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view extra = {}) {
    out_.append("<rect x=\"")
        .append(Num(x))
        .append("\" y=\"")
        .append(Num(y))
        .append("\" width=\"")
        .append(Num(std::max(0.0, w)))
        .append("\" height=\"")
        .append(Num(h))
        .append("\" fill=\"")
        .append(fill)
        .append("\"");
    if (!extra.empty()) out_.append(" ").append(extra);
    out_.append("/>");
  }

  std::string Finish() {
    out_.append("</svg>");
    return std::move(out_);
  }

 private:
  std::string out_;
};

std::string NoData(std::string_view kind, std::string_view title, std::string_view desc,
                   const ChartOptions& options) {
  const bool en = IsEnglish(options.lang);
  const char* message = en ? "No data" : "Sin datos";
  Chart chart(kind, title, desc, en ? "No data." : "Sin datos.", 64, options);
  chart.Rect(kMargin, kMargin, kWidth - 2 * kMargin, 48, "#ffffff",
             std::string("stroke=\"") + kGridColour + "\" stroke-dasharray=\"4 4\"");
  chart.Text(kWidth / 2, 38, message, 16, kMutedColour, "middle");
  return chart.Finish();
}

// Integer percentages that add up to exactly 100 (largest remainder), so a legend never reads
// 33% + 33% + 33%.
std::vector<int> RoundedPercents(const std::vector<int64_t>& counts, int64_t total) {
  std::vector<int> out(counts.size(), 0);
  if (total <= 0) return out;
  std::vector<std::pair<double, size_t>> remainders;
  int sum = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double exact = 100.0 * static_cast<double>(counts[i]) / static_cast<double>(total);
    out[i] = static_cast<int>(std::floor(exact));
    sum += out[i];
    remainders.emplace_back(exact - out[i], i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; sum < 100 && k < remainders.size(); ++k, ++sum) ++out[remainders[k].second];
  return out;
}

std::optional<int64_t> DayOf(std::string_view date) {
  int y, m, d;
  if (date.size() < 10 || !text::ParseIsoDate(date.substr(0, 10), &y, &m, &d)) return {};
  if (date.size() > 10 && !text::IsRfc3339Timestamp(date)) return {};
  return text::DaysFromCivil(y, m, d);
}

constexpr std::array<const char*, 4> kDashes = {"", "7 4", "2 3", "10 3 2 3"};

// A marker whose shape varies with the series, so lines differ without relying on colour.
void AppendMarker(size_t series_index, double x, double y, const std::string& colour,
                  std::string_view tooltip, std::string* out) {
  constexpr double r = 4.5;
  const std::string common = "fill=\"" + colour + "\" stroke=\"#ffffff\" stroke-width=\"1\"";
  switch (series_index % 4) {
    case 0:
      out->append("<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"" + Num(r) + "\" " +
                  common + ">");
      out->append("<title>").append(text::XmlEscape(tooltip)).append("</title></circle>");
      return;
    case 1:
      out->append("<rect x=\"" + Num(x - r) + "\" y=\"" + Num(y - r) + "\" width=\"" + Num(2 * r) +
                  "\" height=\"" + Num(2 * r) + "\" " + common + ">");
      out->append("<title>").append(text::XmlEscape(tooltip)).append("</title></rect>");
      return;
    case 2:
      out->append("<polygon points=\"" + Num(x) + "," + Num(y - r - 1) + " " + Num(x + r + 1) +
                  "," + Num(y) + " " + Num(x) + "," + Num(y + r + 1) + " " + Num(x - r - 1) + "," +
                  Num(y) + "\" " + common + ">");
      break;
    default:
      out->append("<polygon points=\"" + Num(x) + "," + Num(y - r - 1) + " " + Num(x + r + 1) +
                  "," + Num(y + r) + " " + Num(x - r - 1) + "," + Num(y + r) + "\" " + common +
                  ">");
      break;
  }
  out->append("<title>").append(text::XmlEscape(tooltip)).append("</title></polygon>");
}

}  // namespace

std::string HorizontalBars(std::string_view title, std::string_view desc,
                           const std::vector<BarItem>& items, const ChartOptions& options) {
  if (items.empty()) return NoData("bars", title, desc, options);
  constexpr double kRow = 46;
  constexpr double kFont = 14;
  const double bar_width = kWidth - 2 * kMargin;

  std::vector<std::string> value_labels;
  std::string summary;
  for (const auto& item : items) {
    value_labels.push_back(item.value_label.empty() ? text::FormatPercent(Clamp100(item.value))
                                                    : item.value_label);
    if (!summary.empty()) summary += "; ";
    summary += text::SanitizeUtf8(item.label) + ": " + value_labels.back();
  }
  summary += ".";

  Chart chart("bars", title, desc, summary, kMargin + kRow * items.size(), options);
  for (size_t i = 0; i < items.size(); ++i) {
    const double top = kMargin + kRow * i;
    const std::string& value_label = value_labels[i];
    // The label gets the row's width minus the value label and a gap.
    const size_t value_chars = value_label.size();
    const double label_width = bar_width - (value_chars + 2) * kFont * kGlyphEm;
    std::string& out = chart.body();
    out.append("<g>");
    chart.Text(kMargin, top + 16, Shorten(items[i].label, CharsThatFit(label_width, kFont)), kFont,
               kTextColour);
    chart.Text(kWidth - kMargin, top + 16, value_label, kFont, kTextColour, "end", true);
    chart.Rect(kMargin, top + 24, bar_width, 14, kTrackColour, "rx=\"3\"");
    chart.Rect(kMargin, top + 24, bar_width * Clamp100(items[i].value) / 100, 14,
               SafeColour(items[i].fill), "rx=\"3\"");
    out.append("</g>");
  }
  return chart.Finish();
}

std::string StackedBar(std::string_view title, std::string_view desc,
                       const std::vector<Segment>& segments, const ChartOptions& options) {
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const auto& s : segments) {
    counts.push_back(std::max<int64_t>(0, s.count));
    total += counts.back();
  }
  if (total <= 0) return NoData("stacked", title, desc, options);
  const std::vector<int> percents = RoundedPercents(counts, total);

  std::vector<std::string> legend;
  std::string summary = "Total: " + text::FormatNumber(static_cast<double>(total), 0) + ". ";
  for (size_t i = 0; i < segments.size(); ++i) {
    legend.push_back(text::SanitizeUtf8(segments[i].label) + ": " +
                     text::FormatNumber(static_cast<double>(counts[i]), 0) + " (" +
                     std::to_string(percents[i]) + "%)");
    summary += legend.back() + (i + 1 < segments.size() ? "; " : ".");
  }

  constexpr double kBarTop = kMargin;
  constexpr double kBarHeight = 32;
  constexpr double kLegendTop = kBarTop + kBarHeight + 14;
  constexpr double kLegendRow = 24;
  constexpr double kFont = 14;
  const double height = kLegendTop + kLegendRow * segments.size() + 4;
  const double bar_width = kWidth - 2 * kMargin;

  Chart chart("stacked", title, desc, summary, height, options);
  std::string& out = chart.body();
  // Segment edges come from the running total so rounding never leaves a gap at the end.
  int64_t running = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (counts[i] == 0) continue;
    const double x0 = kMargin + bar_width * static_cast<double>(running) / total;
    running += counts[i];
    const double x1 = kMargin + bar_width * static_cast<double>(running) / total;
    out.append("<rect x=\"" + Num(x0) + "\" y=\"" + Num(kBarTop) + "\" width=\"" + Num(x1 - x0) +
               "\" height=\"" + Num(kBarHeight) + "\" fill=\"" + SafeColour(segments[i].fill) +
               "\" stroke=\"#ffffff\" stroke-width=\"1\"><title>" + text::XmlEscape(legend[i]) +
               "</title></rect>");
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const double top = kLegendTop + kLegendRow * i;
    // The swatch is outlined so that a pale fill is still visible against white.
    chart.Rect(kMargin, top, 16, 16, SafeColour(segments[i].fill),
               std::string("stroke=\"") + kMutedColour + "\" stroke-width=\"1\"");
    chart.Text(kMargin + 24, top + 13,
               Shorten(legend[i], CharsThatFit(kWidth - 2 * kMargin - 24, kFont)), kFont,
               kTextColour);
  }
  return chart.Finish();
}

std::string LineChart(std::string_view title, std::string_view desc,
                      const std::vector<std::string>& x_labels, const std::vector<Series>& series,
                      const ChartOptions& options) {
  struct Plotted {
    int64_t day;
    double value;
    const std::string* date;
  };
  std::vector<std::vector<Plotted>> plotted(series.size());
  std::optional<int64_t> lo, hi;
  auto widen = [&](int64_t day) {
    lo = lo ? std::min(*lo, day) : day;
    hi = hi ? std::max(*hi, day) : day;
  };
  bool any_point = false;
  for (size_t s = 0; s < series.size(); ++s) {
    for (const auto& p : series[s].points) {
      const auto day = DayOf(p.date);
      if (!day || !std::isfinite(p.value)) continue;
      plotted[s].push_back({*day, Clamp100(p.value), &p.date});
      widen(*day);
      any_point = true;
    }
    std::stable_sort(plotted[s].begin(), plotted[s].end(),
                     [](const Plotted& a, const Plotted& b) { return a.day < b.day; });
  }
  if (!any_point) return NoData("line", title, desc, options);
  std::vector<std::pair<int64_t, const std::string*>> ticks;
  for (const auto& label : x_labels) {
    if (const auto day = DayOf(label)) {
      ticks.emplace_back(*day, &label);
      widen(*day);
    }
  }
  std::sort(ticks.begin(), ticks.end());
  ticks.erase(std::unique(ticks.begin(), ticks.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              ticks.end());

  const bool en = IsEnglish(options.lang);
  std::string summary;
  for (size_t s = 0; s < series.size(); ++s) {
    if (plotted[s].empty()) continue;
    const Plotted& last = plotted[s].back();
    if (!summary.empty()) summary += "; ";
    summary += text::SanitizeUtf8(series[s].name) + ": " + text::FormatPercent(last.value) +
               (en ? " as of " : " al ") + text::FormatDate(*last.date, options.lang);
  }
  summary += ".";

  constexpr double kFont = 14;
  constexpr double kSmall = 12;
  constexpr double kLegendRow = 22;
  constexpr double kPlotHeight = 200;
  constexpr double kLeft = 48;
  constexpr double kRight = 24;
  const double plot_top = kMargin + kLegendRow * series.size() + 12;
  const double plot_bottom = plot_top + kPlotHeight;
  const double height = plot_bottom + 30;
  const double plot_left = kLeft;
  const double plot_right = kWidth - kRight;
  const double span = static_cast<double>(*hi - *lo);
  auto x_of = [&](int64_t day) {
    if (span <= 0) return (plot_left + plot_right) / 2;
    return plot_left + (plot_right - plot_left) * static_cast<double>(day - *lo) / span;
  };
  auto y_of = [&](double value) { return plot_bottom - kPlotHeight * value / 100; };

  Chart chart("line", title, desc, summary, height, options);
  std::string& out = chart.body();

  // Legend: a sample of each line with its marker, then its name.
  for (size_t s = 0; s < series.size(); ++s) {
    const double y = kMargin + kLegendRow * s + 11;
    const std::string colour = SafeColour(series[s].colour);
    out.append("<line x1=\"" + Num(kMargin) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(kMargin + 32) +
               "\" y2=\"" + Num(y) + "\" stroke=\"" + colour + "\" stroke-width=\"2.5\"");
    if (*kDashes[s % 4]) out.append(" stroke-dasharray=\"").append(kDashes[s % 4]).append("\"");
    out.append("/>");
    AppendMarker(s, kMargin + 16, y, colour, series[s].name, &out);
    chart.Text(kMargin + 42, y + 5, Shorten(series[s].name, 70), kFont, kTextColour);
  }

  // Horizontal grid with percentage labels.
  for (int v = 0; v <= 100; v += 25) {
    const double y = y_of(v);
    out.append("<line x1=\"" + Num(plot_left) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(plot_right) +
               "\" y2=\"" + Num(y) + "\" stroke=\"" + kGridColour + "\" stroke-width=\"1\"/>");
    chart.Text(plot_left - 6, y + 4, std::to_string(v) + "%", kSmall, kMutedColour, "end");
  }

  // Time axis: a tick per label; text thinned out so that labels do not overlap.
  const size_t max_labels = 5;
  const size_t stride = ticks.empty() ? 1 : (ticks.size() + max_labels - 1) / max_labels;
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double x = x_of(ticks[i].first);
    out.append("<line x1=\"" + Num(x) + "\" y1=\"" + Num(plot_bottom) + "\" x2=\"" + Num(x) +
               "\" y2=\"" + Num(plot_bottom + 5) + "\" stroke=\"" + kMutedColour +
               "\" stroke-width=\"1\"/>");
    if (i % stride != 0 && i + 1 != ticks.size()) continue;
    if (i + 1 == ticks.size() && i % stride != 0 && ticks.size() > 1) {
      // Show the last date only when it does not collide with the previous shown one.
      const size_t prev = i - i % stride;
      if (x - x_of(ticks[prev].first) < 110) continue;
    }
    const char* anchor = "middle";
    if (x - plot_left < 50) anchor = "start";
    if (plot_right - x < 50) anchor = "end";
    chart.Text(x, plot_bottom + 20, text::FormatDateShort(*ticks[i].second, options.lang), kSmall,
               kMutedColour, anchor);
  }

  for (size_t s = 0; s < series.size(); ++s) {
    if (plotted[s].empty()) continue;
    const std::string colour = SafeColour(series[s].colour);
    std::string points;
    for (size_t i = 0; i < plotted[s].size(); ++i) {
      const double x = x_of(plotted[s][i].day);
      const double y = y_of(plotted[s][i].value);
      if (series[s].step && i > 0) {
        points += Num(x) + "," + Num(y_of(plotted[s][i - 1].value)) + " ";
      }
      points += Num(x) + "," + Num(y) + " ";
    }
    points.pop_back();
    out.append("<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + colour +
               "\" stroke-width=\"2.5\" stroke-linejoin=\"round\"");
    if (*kDashes[s % 4]) out.append(" stroke-dasharray=\"").append(kDashes[s % 4]).append("\"");
    out.append("/>");
    for (const auto& p : plotted[s]) {
      const std::string tooltip = text::SanitizeUtf8(series[s].name) + ", " +
                                  text::FormatDate(*p.date, options.lang) + ": " +
                                  text::FormatPercent(p.value);
      AppendMarker(s, x_of(p.day), y_of(p.value), colour, tooltip, &out);
    }
  }
  return chart.Finish();
}

// ---- charts of arbitrary numbers ---------------------------------------------------------------

namespace {

std::vector<Datum> Finite(const std::vector<Datum>& data) {
  std::vector<Datum> out;
  for (const Datum& d : data)
    if (std::isfinite(d.value)) out.push_back(d);
  return out;
}

// Two decimals unless every value is whole.
int DecimalsFor(const std::vector<Datum>& data) {
  for (const Datum& d : data)
    if (std::fabs(d.value - std::round(d.value)) > 1e-9) return 2;
  return 0;
}

std::string DataSummary(const std::vector<Datum>& data, int decimals) {
  std::string summary;
  for (const Datum& d : data) {
    if (!summary.empty()) summary += "; ";
    summary += text::SanitizeUtf8(d.label) + ": " + text::FormatNumber(d.value, decimals);
  }
  return summary + ".";
}

// Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `target` of
// them.
std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::floor(lo / step) * step; v <= hi + step * 1e-9 && ticks.size() < 50;
       v += step) {
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  }
  if (ticks.back() < hi) ticks.push_back(ticks.back() + step);
  return ticks;
}

// Tick labels: as many decimals as the step needs.
int TickDecimals(const std::vector<double>& ticks) {
  if (ticks.size() < 2) return 0;
  const double step = ticks[1] - ticks[0];
  if (step >= 1) return 0;
  return std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

void AppendLine(std::string* out, std::string_view cls, double x1, double y1, double x2, double y2,
                const char* stroke) {
  out->append("<line class=\"")
      .append(cls)
      .append("\" x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) + "\" x2=\"" + Num(x2) + "\" y2=\"" +
              Num(y2) + "\" stroke=\"")
      .append(stroke)
      .append("\" stroke-width=\"1\"/>");
}

}  // namespace

std::string ValueBars(std::string_view title, std::string_view desc, const std::vector<Datum>& raw,
                      const ChartOptions& options) {
  const std::vector<Datum> data = Finite(raw);
  if (data.empty()) return NoData("value-bars", title, desc, options);
  const int decimals = DecimalsFor(data);
  double lo = 0, hi = 0;
  for (const Datum& d : data) {
    lo = std::min(lo, d.value);
    hi = std::max(hi, d.value);
  }
  if (hi == lo) hi = lo + 1;
  constexpr double kRow = 42;
  constexpr double kFont = 14;
  const double bar_width = kWidth - 2 * kMargin;
  auto x_of = [&](double v) { return kMargin + bar_width * (v - lo) / (hi - lo); };
  const double zero = x_of(0);

  Chart chart("value-bars", title, desc, DataSummary(data, decimals),
              kMargin + kRow * data.size() + 4, options);
  std::string& out = chart.body();
  for (size_t i = 0; i < data.size(); ++i) {
    const double top = kMargin + kRow * i;
    const std::string value = text::FormatNumber(data[i].value, decimals);
    const double label_width = bar_width - (value.size() + 2) * kFont * kGlyphEm;
    out.append("<g class=\"bar-row\">");
    AppendText(&out, "bar-label", kMargin, top + 15,
               Shorten(data[i].label, CharsThatFit(label_width, kFont)), kFont, kTextColour);
    AppendText(&out, "bar-value", kWidth - kMargin, top + 15, value, kFont, kTextColour, "end");
    const double x = x_of(data[i].value);
    out.append("<rect class=\"bar\" x=\"" + Num(std::min(x, zero)) + "\" y=\"" + Num(top + 21) +
               "\" width=\"" + Num(std::max(std::fabs(x - zero), 1.0)) +
               "\" height=\"14\" fill=\"" + std::string(kDefaultFill) + "\"><title>" +
               text::XmlEscape(text::SanitizeUtf8(data[i].label) + ": " + value) +
               "</title></rect>");
    out.append("</g>");
  }
  if (lo < 0)
    AppendLine(&out, "axis", zero, kMargin, zero, kMargin + kRow * data.size(), kMutedColour);
  return chart.Finish();
}

std::string ValueLine(std::string_view title, std::string_view desc, const std::vector<Datum>& raw,
                      const ChartOptions& options) {
  const std::vector<Datum> data = Finite(raw);
  if (data.empty()) return NoData("value-line", title, desc, options);
  const int decimals = DecimalsFor(data);
  double lo = 0, hi = 0;
  for (const Datum& d : data) {
    lo = std::min(lo, d.value);
    hi = std::max(hi, d.value);
  }
  const std::vector<double> ticks = NiceTicks(lo, hi, 5);
  const int tick_decimals = TickDecimals(ticks);
  lo = ticks.front();
  hi = ticks.back();

  constexpr double kSmall = 12;
  constexpr double kPlotHeight = 220;
  constexpr double kPlotTop = kMargin + 8;
  constexpr double kRight = 16;
  size_t widest = 0;
  std::vector<std::string> tick_labels;
  for (double t : ticks) {
    tick_labels.push_back(text::FormatNumber(t, tick_decimals));
    widest = std::max(widest, tick_labels.back().size());
  }
  const size_t n = data.size();
  // Category labels lie level under the axis when each fits between its neighbours (the plot
  // narrows so that the first and last fit too); otherwise they are turned 45 degrees, which
  // leaves long names (colonias, delegaciones) readable, and thinned out to every stride-th
  // when even that is too tight.
  constexpr size_t kMaxLabelChars = 20;
  std::vector<std::string> labels;
  double longest = 0;
  for (const Datum& d : data) {
    labels.push_back(Shorten(d.label, kMaxLabelChars));
    size_t chars = 0;
    for (unsigned char c : labels.back()) chars += (c & 0xC0) != 0x80;
    longest = std::max(longest, chars * kSmall * kGlyphEm);
  }
  double plot_left = kMargin + widest * kSmall * kGlyphEm + 8;
  double plot_right = kWidth - kRight;
  const double level_left = std::max(plot_left, longest / 2 + 4);
  const double level_right = std::min(plot_right, kWidth - longest / 2 - 4);
  const bool level = n == 1 || longest + 8 <= (level_right - level_left) / (n - 1);
  if (level) {
    plot_left = level_left;
    plot_right = level_right;
  } else {
    plot_left = std::max(plot_left, longest * 0.7071 + 4);
  }
  const double spacing = n > 1 ? (plot_right - plot_left) / (n - 1) : plot_right - plot_left;
  size_t stride = 1;
  while (!level && stride < n && spacing * stride < kSmall + 4) ++stride;
  const double plot_bottom = kPlotTop + kPlotHeight;
  const double height = plot_bottom + (level ? 30 : longest * 0.7071 + 24);
  auto x_of = [&](size_t i) {
    if (n == 1) return (plot_left + plot_right) / 2;
    return plot_left + (plot_right - plot_left) * static_cast<double>(i) / (n - 1);
  };
  auto y_of = [&](double v) { return plot_bottom - kPlotHeight * (v - lo) / (hi - lo); };

  Chart chart("value-line", title, desc, DataSummary(data, decimals), height, options);
  std::string& out = chart.body();
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double y = y_of(ticks[i]);
    const bool zero = ticks[i] == 0;
    AppendLine(&out, zero ? "axis" : "grid", plot_left, y, plot_right, y,
               zero ? kMutedColour : kGridColour);
    AppendText(&out, "tick", plot_left - 6, y + 4, tick_labels[i], kSmall, kMutedColour, "end");
  }
  for (size_t i = 0; i < n; i += stride) {
    const double x = x_of(i);
    AppendLine(&out, "tick-mark", x, plot_bottom, x, plot_bottom + 5, kMutedColour);
    if (level) {
      AppendText(&out, "category", x, plot_bottom + 20, labels[i], kSmall, kMutedColour, "middle");
      continue;
    }
    // Turned about its end, which sits under the tick.
    const double y = plot_bottom + 14;
    out.append("<text class=\"category\" x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" font-size=\"" +
               Num(kSmall) + "\" fill=\"" + kMutedColour +
               "\" text-anchor=\"end\" transform=\"rotate(-45 " + Num(x) + " " + Num(y) + ")\">" +
               text::XmlEscape(labels[i]) + "</text>");
  }
  std::string points;
  for (size_t i = 0; i < n; ++i) points += Num(x_of(i)) + "," + Num(y_of(data[i].value)) + " ";
  points.pop_back();
  out.append("<polyline class=\"line\" points=\"" + points + "\" fill=\"none\" stroke=\"" +
             std::string(kDefaultFill) + "\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>");
  for (size_t i = 0; i < n; ++i) {
    out.append("<circle class=\"point\" cx=\"" + Num(x_of(i)) + "\" cy=\"" +
               Num(y_of(data[i].value)) + "\" r=\"4\" fill=\"" + std::string(kDefaultFill) +
               "\" stroke=\"#ffffff\" stroke-width=\"1\"><title>" +
               text::XmlEscape(text::SanitizeUtf8(data[i].label) + ": " +
                               text::FormatNumber(data[i].value, decimals)) +
               "</title></circle>");
  }
  return chart.Finish();
}

}  // namespace abierto::svg
