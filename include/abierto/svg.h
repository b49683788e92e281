// Server-rendered, accessible SVG charts for the public dashboard.
//
// Each function returns an <svg> element to inline in an HTML page. The pages are served under a
// Content-Security-Policy without 'unsafe-inline', so charts use presentation attributes (fill=,
// stroke=, font-size=) and class= only: never style= or <style>. Every chart has role="img",
// aria-labelledby pointing at its <title> and <desc>, and a <desc> that ends with a text summary
// of the data generated here, so a screen-reader user gets the numbers and not just the caption.
// A viewBox with width="100%" lets the chart scale down to a phone. Caller text is XML-escaped;
// colours that are not "#rgb", "#rrggbb" or a plain colour name are replaced by a default.
// Label text is #1a1a1a and axis text #595959 on white, both above WCAG AA 4.5:1; the fills
// chosen by the caller should reach 3:1 against white (WCAG 1.4.11) and never carry meaning on
// their own: every chart names its categories in text too.
//
// With no data, each chart renders a small "Sin datos" ("No data" in English) placeholder with
// the same title and description.
//
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace abierto::svg {

struct ChartOptions {
  // The prefix of the <title>/<desc> ids. Pass a unique one when a page shows the same chart
  // twice; when empty it is derived from a hash of the chart's content, which is stable across
  // renders (so pages can be cached) and distinct for different charts.
  std::string id;
  // "es" (default) or "en": the language of generated text (summaries, dates, "Sin datos").
  std::string lang = "es";
};

struct BarItem {
  std::string label;        // e.g. an axis of the action plan
  double value = 0;         // 0..100; clamped
  std::string fill;         // the bar colour
  std::string value_label;  // shown at the end of the row; FormatPercent(value) when empty
};

// Returns one labelled horizontal bar per item (progress per axis), in the given order.
std::string HorizontalBars(std::string_view title, std::string_view desc,
                           const std::vector<BarItem>& items, const ChartOptions& options = {});

struct Segment {
  std::string label;  // e.g. "En tiempo", "Con retraso"
  int64_t count = 0;  // negative counts are treated as 0
  std::string fill;
};

// Returns one bar split in proportion to the counts (the distribution of traffic lights) with
// a legend listing every segment as "label: count (percent)". Percentages are rounded so that
// they add up to 100. No data means a total of 0.
std::string StackedBar(std::string_view title, std::string_view desc,
                       const std::vector<Segment>& segments, const ChartOptions& options = {});

struct Point {
  std::string date;  // "YYYY-MM-DD" (or an RFC 3339 timestamp); invalid points are skipped
  double value = 0;  // 0..100; clamped; NaN points are skipped
};

struct Series {
  std::string name;  // e.g. "Avance esperado", "Avance validado"
  std::string colour;
  std::vector<Point> points;  // any order; drawn by date
  bool step = false;  // hold each value until the next point (validated progress moves in steps)
};

// Returns a progress timeline on a 0-100 % scale with a time axis. `x_labels` are the ISO dates
// labelled on the axis (e.g. quarter ends); the axis spans them and every point. Each series has
// its own dash pattern and marker shape besides its colour, and a legend names it.
std::string LineChart(std::string_view title, std::string_view desc,
                      const std::vector<std::string>& x_labels, const std::vector<Series>& series,
                      const ChartOptions& options = {});

// ---- Charts of arbitrary numbers (the datastore preview) ----------------------------------------

struct Datum {
  std::string label;  // the category or x value as it should read ("Coecillo", "2025-03-31")
  double value = 0;   // any finite number; non-finite data are left out
};

// Returns one horizontal bar per datum, in the given order, on one linear scale that includes
// zero: positive values extend right of it, negative ones left. Each bar is a
// <rect class="bar"> with the datum's label above it and its value (FormatNumber, with two
// decimals unless every value is whole) at the end of the row; the description lists them all.
std::string ValueBars(std::string_view title, std::string_view desc, const std::vector<Datum>& data,
                      const ChartOptions& options = {});

// Returns a line through the data in the given order, evenly spaced along the x axis, with a
// <circle class="point"> per datum (its <title> reads "label: value"), a y axis of round
// ticks that spans the values and zero, and category labels under the axis, thinned out so that
// they do not overlap. The description lists every datum.
std::string ValueLine(std::string_view title, std::string_view desc, const std::vector<Datum>& data,
                      const ChartOptions& options = {});

}  // namespace abierto::svg
