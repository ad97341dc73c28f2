// Flow-matching samplers against the official schedulers (testdata/parity sched_*): the planned
// timesteps and sigmas, and every step's latent, fed with the stored model outputs and recomputed
// with the fake model that the metadata documents.

#include <QtTest>

#include <cmath>

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
  SolverKind kind;
  int steps = 0;
  double shift = 0;
};

std::vector<SchedCase> sched_cases() {
  std::vector<SchedCase> out;
  for (const auto& p : test::parity_files("sched_")) {
    const auto name = p.filename().string();
    SchedCase c;
    c.path = p;
    if (name.rfind("sched_unipc", 0) == 0) c.kind = SolverKind::UniPC;
    else if (name.rfind("sched_dpmpp", 0) == 0) c.kind = SolverKind::DpmPP;
    else continue;
    auto f = weights::SafetensorsFile::open(p);
    const auto plan = test::metadata_json(f, "set_timesteps");
    c.steps = plan.at("steps").get<int>();
    c.shift = plan.at("shift").get<double>();
    out.push_back(c);
  }
  return out;
}

std::string step_key(int i, const char* what) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step%02d.%s", i, what);
  return buf;
}

// The fake model of the metadata: 0.5*x - 0.1*(t/1000) + 0.05*sin(3x), t as float32.
torch::Tensor fake_model(const torch::Tensor& x, int64_t t) {
  const float tf = static_cast<float>(t);
  return x * 0.5 - 0.1f * (tf / 1000.0f) + torch::sin(x * 3.0) * 0.05;
}

}  // namespace

class TestSampling : public QObject {
  Q_OBJECT

 private slots:
  void parityFilesExist() {
    const auto cases = sched_cases();
    QVERIFY2(cases.size() >= 2, "expected sched_unipc_* and sched_dpmpp_* parity files");
    bool unipc = false, dpm = false;
    for (auto& c : cases) (c.kind == SolverKind::UniPC ? unipc : dpm) = true;
    QVERIFY(unipc && dpm);
  }

  void timestepsAndSigmasMatchReference() {
    for (const auto& c : sched_cases()) {
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
  }

  // Our own chain from in.latent, fed the stored model output of each step.
  void stepsMatchReferenceWithStoredOutputs() {
    for (const auto& c : sched_cases()) {
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
  }

  // The whole loop with the documented fake model: the model outputs it produces match the stored
  // ones, and so does every latent.
  void fakeModelLoopMatchesReference() {
    for (const auto& c : sched_cases()) {
      auto f = weights::SafetensorsFile::open(c.path);
      auto sched = make_scheduler(c.kind);
      sched->set_timesteps(c.steps, c.shift);
      auto latent = f.tensor("in.latent").clone();
      const auto ts = sched->timestep_values();
      double worst_out = 0, worst_latent = 0;
      for (int i = 0; i < static_cast<int>(ts.size()); ++i) {
        const auto out = fake_model(latent, ts[i]);
        worst_out = std::max(worst_out, test::rel_error(out, f.tensor(step_key(i, "model_output"))));
        latent = sched->step(out, ts[i], latent);
        worst_latent = std::max(worst_latent, test::rel_error(latent, f.tensor(step_key(i, "latent"))));
      }
      qInfo("%s fake model: worst model_output rel err %.3g, worst latent rel err %.3g",
            c.path.filename().c_str(), worst_out, worst_latent);
      QVERIFY(worst_out <= 1e-5);
      QVERIFY(worst_latent <= 1e-5);
    }
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
