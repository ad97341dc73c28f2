#pragma once
// A small command-line parser: `--name value`, `--name=value`, boolean `--flag`, positionals.
// Each command declares its options so that --help is generated and unknown options are errors.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s2v::cli {

struct Option {
  std::string name;        // without dashes, e.g. "sample_steps"
  std::string value_name;  // empty for a boolean flag
  std::string help;
  std::string default_value;
};

class Args {
 public:
  Args(std::string command, std::string summary, std::vector<Option> options,
       std::string positional_help = {});

  // Throws s2v::Error(InvalidArgument) with a sentence for unknown options or missing values.
  void parse(const std::vector<std::string>& argv);

  bool help_requested() const { return help_; }
  std::string help() const;

  bool flag(const std::string& name) const;
  std::optional<std::string> value(const std::string& name) const;
  std::string get(const std::string& name) const;  // the value or the default
  int get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // The options given on the command line (names without dashes).
  std::vector<std::string> given() const;

 private:
  const Option* find(const std::string& name) const;
  std::string command_, summary_, positional_help_;
  std::vector<Option> options_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

}  // namespace s2v::cli
