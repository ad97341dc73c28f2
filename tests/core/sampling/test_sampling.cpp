// Flow-matching samplers against the official schedulers (testdata/parity sched_*): the planned
// timesteps and sigmas, and every step's latent, fed with the stored model outputs and recomputed
// with the fake model that the metadata documents.

#include <QtTest>

#include <cctype>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "common/parity.h"
#include "core/sampling/dpmpp.h"
#include "core/sampling/guidance.h"
#include "core/sampling/unipc.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::sampling;

namespace {

struct SchedCase {
  std::filesystem::path path;
  SolverKind kind = SolverKind::UniPC;
  int steps = 0;
  double shift = 0;
  std::string fake_model;  // the metadata's fake_model sentence (may be empty)
  std::string problem;     // why the file cannot be checked; empty when it can
};

std::vector<std::filesystem::path> sched_files() { return test::parity_files("sched_"); }

// One sched_* file. A file whose name or metadata this suite cannot interpret is returned with
// `problem` set, so the test that meets it fails with the reason instead of skipping the file.
SchedCase sched_case(const std::filesystem::path& p) {
  const auto name = p.filename().string();
  SchedCase c;
  c.path = p;
  if (name.rfind("sched_unipc", 0) == 0) c.kind = SolverKind::UniPC;
  else if (name.rfind("sched_dpmpp", 0) == 0) c.kind = SolverKind::DpmPP;
  else c.problem = name + ": unknown scheduler kind (expected sched_unipc_* or sched_dpmpp_*)";
  try {
    auto f = weights::SafetensorsFile::open(p);
    const auto plan = test::metadata_json(f, "set_timesteps");
    c.steps = plan.at("steps").get<int>();
    c.shift = plan.at("shift").get<double>();
    if (auto it = f.metadata().find("fake_model"); it != f.metadata().end()) c.fake_model = it->second;
  } catch (const std::exception& e) {
    if (c.problem.empty()) c.problem = name + ": cannot read set_timesteps {steps, shift}: " + e.what();
  }
  return c;
}

std::vector<SchedCase> sched_cases() {
  std::vector<SchedCase> out;
  for (const auto& p : sched_files()) out.push_back(sched_case(p));
  return out;
}

// In a data-driven test: the row's sched_* file as a case `c`; a file this suite cannot
// interpret fails with the reason.
#define S2V_SCHED_CASE(c)                                                               \
  S2V_FETCH_FILE(sched_file_, "sched_*.safetensors in " + test::parity_dir().string()); \
  const SchedCase c = sched_case(sched_file_);                                          \
  QVERIFY2(c.problem.empty(), c.problem.c_str())

std::string step_key(int i, const char* what) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step%02d.%s", i, what);
  return buf;
}

// The fake model a sched_* file documents in its metadata, e.g.
//   "model_output = 0.5*x - 0.1*(t/1000) + 0.05*sin(3x), t = timestep as float32"
//   "model_output = 0.5*x - 0.1*(t/1000), t = the int64 timestep tensor (true division -> float32)"
// The formula is parsed (numbers, x, t, + - * /, parentheses, implicit products such as 3x, and
// sin/cos/exp/tanh) and evaluated with PyTorch's promotion rules: x is the float32 latent, t a
// one-element tensor of the stated dtype, numbers are Python floats (wrapped scalars), so
// int64 t / 1000 is a float32 true division exactly as in the reference. Anything else throws
// std::runtime_error naming what could not be interpreted.
class FakeModel {
 public:
  explicit FakeModel(const std::string& sentence) : text_(sentence) {
    const auto eq = sentence.find('=');
    if (sentence.empty()) throw std::runtime_error("the metadata has no fake_model entry");
    if (sentence.compare(0, 12, "model_output") != 0 || eq == std::string::npos)
      throw std::runtime_error("fake_model does not read 'model_output = <formula>, t = ...': '" + sentence + "'");
    const auto comma = sentence.find(',', eq);
    formula_ = sentence.substr(eq + 1, comma == std::string::npos ? std::string::npos : comma - eq - 1);
    const std::string t_clause = comma == std::string::npos ? "" : sentence.substr(comma + 1);
    if (t_clause.find("int64") != std::string::npos) t_dtype_ = torch::kInt64;
    else if (t_clause.find("float32") != std::string::npos) t_dtype_ = torch::kFloat32;
    else throw std::runtime_error("fake_model does not say the dtype of t (int64 or float32): '" + sentence + "'");
    // parse once with a dummy input so that a formula we cannot read fails before any step
    (*this)(torch::zeros({1}), 0);
  }

  torch::Tensor operator()(const torch::Tensor& x, int64_t t) {
    x_ = x;
    t_ = torch::tensor({t}, torch::kInt64).to(t_dtype_);
    pos_ = 0;
    Value v = expr();
    skip_space();
    if (pos_ != formula_.size()) fail("unexpected '" + formula_.substr(pos_) + "'");
    if (!v.is_tensor()) fail("the formula does not depend on x or t");
    return v.tensor.expand_as(x).to(torch::kFloat32);
  }

 private:
  struct Value {
    torch::Tensor tensor;  // undefined: a Python float
    double number = 0;
    bool is_tensor() const { return tensor.defined(); }
  };

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("cannot interpret fake_model '" + text_ + "': " + why);
  }
  void skip_space() {
    while (pos_ < formula_.size() && std::isspace(static_cast<unsigned char>(formula_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < formula_.size() && formula_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  static Value binary(char op, const Value& a, const Value& b) {
    Value r;
    if (!a.is_tensor() && !b.is_tensor()) {
      r.number = op == '+' ? a.number + b.number : op == '-' ? a.number - b.number
               : op == '*' ? a.number * b.number : a.number / b.number;
      return r;
    }
    const torch::Tensor ta = a.is_tensor() ? a.tensor : torch::Tensor();
    const torch::Tensor tb = b.is_tensor() ? b.tensor : torch::Tensor();
    switch (op) {
      case '+': r.tensor = ta.defined() ? (tb.defined() ? ta + tb : ta + b.number) : tb + a.number; break;
      case '-': r.tensor = ta.defined() ? (tb.defined() ? ta - tb : ta - b.number) : torch::rsub(tb, a.number); break;
      case '*': r.tensor = ta.defined() ? (tb.defined() ? ta * tb : ta * b.number) : tb * a.number; break;
      default:
        r.tensor = ta.defined() ? (tb.defined() ? torch::div(ta, tb) : torch::div(ta, b.number))
                                : torch::div(torch::full_like(tb, a.number, torch::kFloat32), tb);
    }
    return r;
  }
  Value expr() {
    Value v = term();
    for (;;) {
      if (eat('+')) v = binary('+', v, term());
      else if (eat('-')) v = binary('-', v, term());
      else return v;
    }
  }
  Value term() {
    Value v = unary();
    for (;;) {
      skip_space();
      if (eat('*')) v = binary('*', v, unary());
      else if (eat('/')) v = binary('/', v, unary());
      // an implicit product: "3x", "2(x + 1)", "0.5 sin(x)"
      else if (pos_ < formula_.size() && (std::isalpha(static_cast<unsigned char>(formula_[pos_])) || formula_[pos_] == '('))
        v = binary('*', v, unary());
      else return v;
    }
  }
  Value unary() {
    if (eat('-')) return binary('*', Value{torch::Tensor(), -1.0}, unary());
    return primary();
  }
  Value primary() {
    skip_space();
    if (pos_ >= formula_.size()) fail("the formula ends early");
    const char c = formula_[pos_];
    if (c == '(') {
      ++pos_;
      Value v = expr();
      if (!eat(')')) fail("a ')' is missing");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t used = 0;
      Value v;
      v.number = std::stod(formula_.substr(pos_), &used);
      pos_ += used;
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t end = pos_;
      while (end < formula_.size() && (std::isalnum(static_cast<unsigned char>(formula_[end])) || formula_[end] == '_')) ++end;
      const std::string name = formula_.substr(pos_, end - pos_);
      pos_ = end;
      if (name == "x") return Value{x_};
      if (name == "t") return Value{t_};
      if (name == "sin" || name == "cos" || name == "exp" || name == "tanh") {
        if (!eat('(')) fail("'(' expected after " + name);
        Value a = expr();
        if (!eat(')')) fail("a ')' is missing after " + name + "(...");
        if (!a.is_tensor()) {
          const double n = a.number;
          a.number = name == "sin" ? std::sin(n) : name == "cos" ? std::cos(n) : name == "exp" ? std::exp(n) : std::tanh(n);
          return a;
        }
        const auto& v = a.tensor;
        return Value{name == "sin" ? torch::sin(v) : name == "cos" ? torch::cos(v) : name == "exp" ? torch::exp(v) : torch::tanh(v)};
      }
      fail("unknown name '" + name + "'");
    }
    fail(std::string("unexpected character '") + c + "'");
  }

  std::string text_, formula_;
  torch::ScalarType t_dtype_ = torch::kFloat32;
  torch::Tensor x_, t_;
  size_t pos_ = 0;
};

}  // namespace

class TestSampling : public QObject {
  Q_OBJECT

 private slots:
  void parityFilesExist() {
    const auto cases = sched_cases();
    S2V_REQUIRE_DATA(cases, "sched_*.safetensors in " + test::parity_dir().string());
    for (const auto& c : cases) QVERIFY2(c.problem.empty(), c.problem.c_str());
    QVERIFY2(cases.size() >= 2, "expected sched_unipc_* and sched_dpmpp_* parity files");
    bool unipc = false, dpm = false;
    for (auto& c : cases) (c.kind == SolverKind::UniPC ? unipc : dpm) = true;
    QVERIFY(unipc && dpm);
  }

  void timestepsAndSigmasMatchReference_data() { test::add_file_rows(sched_files()); }
  void timestepsAndSigmasMatchReference() {
    S2V_SCHED_CASE(c);
    auto f = weights::SafetensorsFile::open(c.path);
    auto sched = make_scheduler(c.kind);
    sched->set_timesteps(c.steps, c.shift);
    const auto ref_t = f.tensor("timesteps").to(torch::kFloat64);
    const auto ref_s = f.tensor("sigmas").to(torch::kFloat64);
    QCOMPARE(sched->timesteps().scalar_type(), torch::kInt64);
    QCOMPARE(sched->timesteps().numel(), ref_t.numel());
    QCOMPARE(sched->sigmas().numel(), ref_s.numel());
    const double t_diff =
        (sched->timesteps().to(torch::kFloat64) - ref_t).abs().max().item<double>();
    const double s_diff = (sched->sigmas().to(torch::kFloat64) - ref_s).abs().max().item<double>();
    qInfo("%s: timesteps max |diff| %g, sigmas max |diff| %g (first timestep %lld)",
          c.path.filename().c_str(), t_diff, s_diff,
          static_cast<long long>(sched->timestep_values().front()));
    QCOMPARE(t_diff, 0.0);
    QVERIFY(s_diff <= 1e-7);
  }

  // Our own chain from in.latent, fed the stored model output of each step.
  void stepsMatchReferenceWithStoredOutputs_data() { test::add_file_rows(sched_files()); }
  void stepsMatchReferenceWithStoredOutputs() {
    S2V_SCHED_CASE(c);
    auto f = weights::SafetensorsFile::open(c.path);
    auto sched = make_scheduler(c.kind);
    sched->set_timesteps(c.steps, c.shift);
    auto latent = f.tensor("in.latent").clone();
    const auto ts = sched->timestep_values();
    for (int i = 0; i < static_cast<int>(ts.size()); ++i) {
      latent = sched->step(f.tensor(step_key(i, "model_output")), ts[i], latent);
      const double err = test::rel_error(latent, f.tensor(step_key(i, "latent")));
      qInfo("%s %s: rel err %.3g", c.path.filename().c_str(), step_key(i, "latent").c_str(), err);
      QVERIFY2(err <= 1e-5, step_key(i, "latent").c_str());
    }
    QCOMPARE(sched->step_index(), static_cast<int>(ts.size()));
  }

  // The whole loop with the fake model each file documents in its metadata (fake_model): the
  // model outputs it produces match the stored ones, and so does every latent. A file whose
  // fake_model cannot be interpreted fails with the reason.
  void fakeModelLoopMatchesReference_data() { test::add_file_rows(sched_files()); }
  void fakeModelLoopMatchesReference() {
    S2V_SCHED_CASE(c);
    std::unique_ptr<FakeModel> model;
    try {
      model = std::make_unique<FakeModel>(c.fake_model);
    } catch (const std::exception& e) {
      QFAIL((c.path.filename().string() + ": " + e.what()).c_str());
    }
    auto f = weights::SafetensorsFile::open(c.path);
    auto sched = make_scheduler(c.kind);
    sched->set_timesteps(c.steps, c.shift);
    auto latent = f.tensor("in.latent").clone();
    const auto ts = sched->timestep_values();
    double worst_out = 0, worst_latent = 0;
    for (int i = 0; i < static_cast<int>(ts.size()); ++i) {
      const auto out = (*model)(latent, ts[i]);
      worst_out = std::max(worst_out, test::rel_error(out, f.tensor(step_key(i, "model_output"))));
      latent = sched->step(out, ts[i], latent);
      worst_latent = std::max(worst_latent, test::rel_error(latent, f.tensor(step_key(i, "latent"))));
    }
    qInfo("%s fake model '%s': worst model_output rel err %.3g, worst latent rel err %.3g",
          c.path.filename().c_str(), c.fake_model.c_str(), worst_out, worst_latent);
    // elementwise float32 arithmetic and a few-term recurrence: a few ulps, whatever the CPU
    QVERIFY(worst_out <= 1e-5);
    QVERIFY(worst_latent <= 1e-5);
  }

  // The parser refuses what it cannot read, and reads the documented forms exactly.
  void fakeModelParserRejectsWhatItCannotRead() {
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, FakeModel(""));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, FakeModel("model_output = 0.5*y, t = timestep as float32"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, FakeModel("model_output = 0.5*x + erf(x), t = timestep as float32"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, FakeModel("model_output = 0.5*x - 0.1*(t/1000)"));  // dtype of t?
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, FakeModel("model_output = (0.5*x, t = the int64 timestep"));
    FakeModel m("model_output = 0.5*x - 0.1*(t/1000) + 0.05*sin(3x), t = timestep as float32");
    const auto x = torch::linspace(-2, 2, 7);
    const auto expected = x * 0.5 - 0.1f * (749.0f / 1000.0f) + torch::sin(x * 3.0) * 0.05;
    QCOMPARE(test::max_abs_error(m(x, 749), expected), 0.0);
    FakeModel n("model_output = 0.5*x - 0.1*(t/1000), t = the int64 timestep tensor (true division -> float32)");
    QCOMPARE(test::max_abs_error(n(x, 999), x * 0.5 - 0.1f * (999.0f / 1000.0f)), 0.0);
  }

  // The final sigma is 0, so the last step lands on the x0 prediction x - sigma * v.
  void lastStepReturnsDataPrediction() {
    for (auto kind : {SolverKind::UniPC, SolverKind::DpmPP}) {
      auto sched = make_scheduler(kind);
      sched->set_timesteps(5, 5.0);
      torch::manual_seed(3);
      auto x = torch::randn({1, 4, 2, 3, 3});
      const auto ts = sched->timestep_values();
      torch::Tensor v;
      for (size_t i = 0; i + 1 < ts.size(); ++i) x = sched->step(torch::randn_like(x), ts[i], x);
      v = torch::randn_like(x);
      const float sigma = sched->sigmas()[static_cast<int64_t>(ts.size()) - 1].item<float>();
      QVERIFY(sigma > 0.f);
      const auto expected = x - sigma * v;
      auto last = sched->step(v, ts.back(), x);
      // UniPC corrects the sample first, but the x0 prediction it lands on is made from the
      // uncorrected sample, as in the reference.
      QVERIFY(test::rel_error(last, expected) < 1e-6);
    }
  }

  void dpmScheduleStartsAtFullNoise() {
    FlowDPMSolverMultistepScheduler dpm;
    dpm.set_timesteps(40, 5.0);
    QCOMPARE(dpm.timestep_values().front(), int64_t(1000));
    QCOMPARE(dpm.sigmas()[0].item<float>(), 1.0f);
    QCOMPARE(dpm.sigmas()[40].item<float>(), 0.0f);
    FlowUniPCMultistepScheduler unipc;
    unipc.set_timesteps(40, 5.0);
    QCOMPARE(unipc.timestep_values().front(), int64_t(999));  // starts from sigma_max = 0.999
    QCOMPARE(unipc.timesteps().numel(), int64_t(40));
  }

  void rejectsTimestepNotInSchedule() {
    auto sched = make_scheduler(SolverKind::UniPC);
    sched->set_timesteps(4, 3.0);
    auto x = torch::zeros({1, 2});
    QVERIFY_THROWS_EXCEPTION(s2v::Error, sched->step(x, 12345, x));
    auto fresh = make_scheduler(SolverKind::DpmPP);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, fresh->step(x, 1000, x));  // no set_timesteps yet
  }

  void rejectsStepsPastTheEnd() {
    auto sched = make_scheduler(SolverKind::DpmPP);
    sched->set_timesteps(2, 3.0);
    auto x = torch::ones({1, 2});
    const auto ts = sched->timestep_values();
    x = sched->step(x, ts[0], x);
    x = sched->step(x, ts[1], x);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, sched->step(x, ts[1], x));
  }

  void parsesOfficialSolverNames() {
    QVERIFY(parse_solver("unipc") == SolverKind::UniPC);
    QVERIFY(parse_solver("dpm++") == SolverKind::DpmPP);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, parse_solver("euler"));
  }

  void cfgCombineIsUncondPlusScaledDifference() {
    auto cond = torch::tensor({1.0f, 2.0f, -3.0f});
    auto uncond = torch::tensor({0.5f, 2.0f, 1.0f});
    auto out = cfg_combine(cond, uncond, 4.5);
    auto expected = torch::tensor({0.5f + 4.5f * 0.5f, 2.0f, 1.0f + 4.5f * -4.0f});
    QVERIFY(torch::allclose(out, expected));
    QVERIFY(torch::allclose(cfg_combine(cond, uncond, 1.0), cond));
    QVERIFY(!needs_uncond(1.0));
    QVERIFY(needs_uncond(4.5));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, cfg_combine(cond, torch::zeros({2}), 2.0));
  }
};

QTEST_APPLESS_MAIN(TestSampling)
#include "test_sampling.moc"
