// Pabulib (.pb) participatory-budget instances: an in-memory model, a strict reader and a writer.
//
// A .pb file has three sections, META (key/value pairs), PROJECTS (one row per project, with at
// least project_id and cost) and VOTES (one row per ballot, with at least voter_id and vote).
// Each section is a line holding its name followed by a `;`-separated header line; fields may be
// double-quoted, with "" standing for a quote inside. Lines end in LF or CRLF and the text is
// UTF-8, optionally with a byte-order mark. This is the format of https://pabulib.org, which is
// how the municipality publishes its anonymized ballots so that anyone can recount them.
//
// The reader validates everything the counting rules rely on and rejects anything else with an
// InvalidArgument status whose message (Spanish, for residents and officials) names the line.
// It never throws and allocates in proportion to its input only, because it reads files that
// come from outside. WritePb() produces text that ParsePb() reads back to an equal instance.
//
// Thread-safety: free functions over values; safe to call concurrently.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abierto/status.h"

namespace abierto::presupuesto {

// How ballots are cast. kChoose1 ballots name one project and are counted as approval.
enum class VoteType { kApproval, kCumulative, kOrdinal, kChoose1 };

// Largest cost, budget or point value accepted. Keeps every sum the counting rules make
// (at most a few million terms) far from int64 overflow.
inline constexpr int64_t kPbMaxAmount = 1'000'000'000'000'000;  // 10^15

struct PbProject {
  std::string id;
  int64_t cost = 0;
  // Values of the other columns, in the order of PbInstance::project_columns without
  // project_id and cost.
  std::vector<std::string> extra;
  bool operator==(const PbProject&) const = default;
};

struct PbVote {
  std::string voter_id;
  // Indices into PbInstance::projects, in ballot order (preference order for ordinal ballots).
  std::vector<int32_t> projects;
  // Points per project, parallel to `projects`; empty when the file has no points column.
  std::vector<int64_t> points;
  // Values of the other columns, in the order of PbInstance::vote_columns without voter_id,
  // vote and points.
  std::vector<std::string> extra;
  bool operator==(const PbVote&) const = default;
};

struct PbInstance {
  // META rows in file order (keys are unique).
  std::vector<std::pair<std::string, std::string>> meta;
  int64_t budget = 0;
  VoteType vote_type = VoteType::kApproval;
  // Full header of the PROJECTS and VOTES sections, in file order.
  std::vector<std::string> project_columns;
  std::vector<std::string> vote_columns;
  std::vector<PbProject> projects;
  std::vector<PbVote> votes;

  // The META value for `key`, or nullptr.
  const std::string* Meta(std::string_view key) const;
  bool operator==(const PbInstance&) const = default;
};

// Parses a whole .pb text. Errors are InvalidArgument with a message such as
// "línea 12: el voto menciona el proyecto «7», que no está en PROJECTS".
Result<PbInstance> ParsePb(std::string_view text);

// Reads and parses a file. NotFound when it cannot be opened; TooLarge above 1 GiB.
Result<PbInstance> ReadPbFile(const std::filesystem::path& path);

// Serializes an instance (LF line endings, no byte-order mark). Fields containing `;`, `"`,
// CR or LF are quoted. For any instance ParsePb() returned, ParsePb(WritePb(x)) == x.
std::string WritePb(const PbInstance& instance);

// "approval", "cumulative", "ordinal" or "choose-1".
const char* VoteTypeName(VoteType type);

}  // namespace abierto::presupuesto
