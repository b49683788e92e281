// The vocabularies DatA-LEÓN's catalog is published in, beyond CKAN's own shapes:
//   - /data.json: DCAT-US (Project Open Data) v1.1, the non-federal profile, as harvested by
//     data.gov-style aggregators;
//   - /catalog.jsonld: DCAT-AP 2 as JSON-LD, as harvested by European-style portals;
//   - /dataset/{name}/datapackage.json: a Frictionless Data Package (v1) per dataset, with a
//     Table Schema for every resource loaded into the datastore;
//   - schema.org Dataset JSON-LD inside each dataset page, for search engines.
// All of them are built from the read actions' package dicts (datos.package.search / show,
// datos.resource.show), so they agree with the pages and the CKAN API, and show published
// datasets only to anonymous callers.
//
// This header holds the pure mappings between DatA-LEÓN's values and those vocabularies.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace abierto::datos {

// A dataset's update frequency (continua, diaria, semanal, mensual, trimestral, semestral,
// anual, irregular, sin_actualizacion) as DCAT-US accrualPeriodicity: an ISO 8601 repeating
// duration ("R/P1M"), "irregular", or "" when there is none to state (sin_actualizacion, an
// empty or unknown value).
std::string FrequencyIso8601(std::string_view frequency);

// The same frequency as a URI of the EU frequency vocabulary
// (http://publications.europa.eu/resource/authority/frequency/MONTHLY); "" when unknown.
std::string FrequencyEuUri(std::string_view frequency);

// A Data Package resource name from any text: accents folded, lower case, runs of characters
// other than [a-z0-9._-] turned into one '-', no '-' or '.' at either end, at most 100
// characters. "" when nothing usable is left (the caller supplies a fallback).
std::string DataPackageName(std::string_view text);

// A datastore column type ("integer", "decimal", "date", "text") as a Table Schema field type
// ("integer", "number", "date", "string"); unknown types are "string".
std::string TableSchemaType(std::string_view column_type);

// The Open Definition / SPDX identifier of one of DatA-LEÓN's licence ids ("cc-by-4.0" →
// "CC-BY-4.0"); licences without one keep their own id.
std::string OpenLicenseId(std::string_view license_id);

// `url` with the bytes a URI may not hold (non-ASCII, space, control characters, and
// "<>\"\\^`{|}") percent-encoded; everything else, '%' included, is kept.
std::string EncodeUri(std::string_view url);

}  // namespace abierto::datos
