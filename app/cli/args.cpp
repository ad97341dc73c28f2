#include "app/cli/args.h"

#include <cmath>
#include <sstream>

#include "models/base/error.h"

namespace s2v::cli {

Args::Args(std::string command, std::string summary, std::vector<Option> options,
           std::string positional_help)
    : command_(std::move(command)), summary_(std::move(summary)),
      positional_help_(std::move(positional_help)), options_(std::move(options)) {}

const Option* Args::find(const std::string& name) const {
  for (auto& o : options_)
    if (o.name == name) return &o;
  // Accept dashes for underscores (--sample-steps == --sample_steps).
  std::string alt = name;
  for (auto& c : alt) c = c == '-' ? '_' : c;
  for (auto& o : options_)
    if (o.name == alt) return &o;
  return nullptr;
}

void Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || a == "--") {
      positionals_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Option* o = find(name);
    if (!o)
      throw Error("unknown option --" + name + " for '" + command_ + "' (see s2v " + command_ + " --help)",
                  ErrorKind::InvalidArgument);
    if (o->value_name.empty()) {
      if (has_value) throw Error("--" + o->name + " takes no value", ErrorKind::InvalidArgument);
      values_[o->name] = "1";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argv.size())
        throw Error("--" + o->name + " needs a value (" + o->value_name + ")", ErrorKind::InvalidArgument);
      value = argv[++i];
    }
    values_[o->name] = value;
  }
}

std::string Args::help() const {
  std::ostringstream s;
  s << "usage: s2v " << command_ << (options_.empty() ? "" : " [options]");
  if (!positional_help_.empty()) s << " " << positional_help_;
  s << "\n\n" << summary_ << "\n";
  if (!options_.empty()) s << "\noptions:\n";
  for (auto& o : options_) {
    std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    s << left << o.help;
    if (!o.default_value.empty()) s << " (default: " << o.default_value << ")";
    s << "\n";
  }
  s << "  -h, --help                  show this help\n";
  return s.str();
}

bool Args::flag(const std::string& name) const { return values_.count(name) != 0; }

std::vector<std::string> Args::given() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : values_) out.push_back(name);
  return out;
}

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get(const std::string& name) const {
  if (auto v = value(name)) return *v;
  if (auto* o = find(name)) return o->default_value;
  return {};
}

int Args::get_int(const std::string& name) const {
  const std::string v = get(name);
  try {
    size_t used = 0;
    int r = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return r;
  } catch (...) {
    throw Error("--" + name + " expects a whole number, got '" + v + "'", ErrorKind::InvalidArgument);
  }
}

double Args::get_double(const std::string& name) const {
  const std::string v = get(name);
  double r = 0;
  try {
    size_t used = 0;
    r = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (...) {
    throw Error("--" + name + " expects a number, got '" + v + "'", ErrorKind::InvalidArgument);
  }
  // "nan" and "inf" parse, and then pass range checks written as comparisons
  if (!std::isfinite(r))
    throw Error("--" + name + " expects a finite number, got '" + v + "'", ErrorKind::InvalidArgument);
  return r;
}

}  // namespace s2v::cli
