// Test helpers that run a command-line tool over generated output (xmllint, unzip). Tests call
// HaveTool() first and skip the external check when the tool is not installed.
//
// Thread-safety: not thread-safe (temporary files and popen); for single-threaded tests only.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace abierto::testing {

// Returns true when `tool` is found on PATH.
inline bool HaveTool(const std::string& tool) {
  const std::string cmd = "command -v " + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Runs `command` through the shell; returns its exit status and appends stdout (and stderr when
// the command redirects it) to *output.
inline int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A file in the system temporary directory holding `content`, removed on destruction.
class TempFileWith {
 public:
  TempFileWith(std::string_view content, std::string_view suffix) {
    std::error_code ec;
    auto dir = std::filesystem::temp_directory_path(ec);
    if (ec) dir = P_tmpdir;  // the C library's own default
    path_ = (dir / ("abierto-test-XXXXXX" + std::string(suffix))).string();
    const int fd = mkstemps(path_.data(), static_cast<int>(suffix.size()));
    if (fd < 0) {
      path_.clear();
      return;
    }
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
      const ssize_t w = write(fd, p, left);
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
    close(fd);
  }
  ~TempFileWith() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFileWith(const TempFileWith&) = delete;
  TempFileWith& operator=(const TempFileWith&) = delete;

  // The path, or "" when the file could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Returns 0 when xmllint finds `xml` well-formed; otherwise its exit status, with its messages
// in *errors.
inline int XmllintNoout(std::string_view xml, std::string* errors) {
  TempFileWith file(xml, ".xml");
  return RunCommand("xmllint --noout '" + file.path() + "' 2>&1", errors);
}

}  // namespace abierto::testing
