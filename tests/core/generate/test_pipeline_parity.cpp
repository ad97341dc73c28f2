// Whole-pipeline parity with the official WanS2V.generate (wan/speech2video.py): every case folder
// of ../shared/testdata/pipeline (S2V_PIPELINE_DIR overrides: a folder of cases or one case) is a
// tiny model in the official layout, its inputs, its arguments (case.json) and what the official
// code returned (expected.safetensors). See that folder's README for the keys and the bars.
//
// Each case is driven through S2VPipeline's stages as the generate job strings them together,
// and every recorded intermediate is compared in pipeline order (text, audio, reference, per clip:
// timesteps, noise, pose latents, motion latents, first-step predictions, latents; the float
// video; the final motion latents), so the first stage that drifts is the first one reported.
// A second pass feeds each stage the reference's own inputs, which localises a failure to one
// stage. Then the case runs once through the CLI (the job queue, the MP4, the saved state).
//
// Bars (the README's, with its measurements; they are relative L2 errors, and they do not depend
// on the CPU because the README measured what rounding does: re-running the reference with one
// thread instead of two moved out.video by 1.2e-6 (max 5.9e-6), perturbing every weight by 1e-7
// relative moved it by 2.9e-6 (max 1.8e-5), while the smallest deliberate mistake it tried moved
// clip1.latents by 7.4e-3): exact for token ids, masks, clip counts, timesteps and the noise (the
// CPU generator draws the same numbers everywhere); 1e-5 for the single-network stages given the
// case's inputs; 1e-4 (plus max |d| 1e-3 on pixels) for everything that has been through the
// sampler loop and the VAE round trips.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/parity.h"
#include "core/generate/generate_job.h"
#include "core/generate/generate_params.h"
#include "core/generate/model_files.h"
#include "core/generate/pipeline.h"
#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "models/t5/tokenizer.h"
#include "models/weights/safetensors.h"

namespace fs = std::filesystem;
using namespace s2v;

namespace {

constexpr double kNetworkBar = 1e-5;  // one network (or encoder) given the case's inputs
constexpr double kChainBar = 1e-4;    // after the sampler loop / VAE round trips
constexpr double kPixelMaxBar = 1e-3; // max |d| on out.video, in [-1, 1] units

fs::path pipeline_dir() {
  if (const char* env = std::getenv("S2V_PIPELINE_DIR")) return env;
  return test::shared_dir() / "testdata" / "pipeline";
}

// Every folder holding a case.json: the folder itself, or its sub-folders, sorted.
std::vector<fs::path> case_dirs() {
  std::vector<fs::path> out;
  const fs::path root = pipeline_dir();
  std::error_code ec;
  if (fs::exists(root / "case.json", ec)) return {root};
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && fs::exists(e.path() / "case.json")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

// GenerateParams from case.json's flags (the CLI-equivalent values) with the input files of
// generate_args, relative to the case folder. Throws std::runtime_error naming a flag this suite
// does not know, so that a new kind of case fails loudly instead of running with a default.
generate::GenerateParams params_of(const fs::path& dir, const nlohmann::json& c) {
  generate::GenerateParams p;
  p.ckpt_dir = dir.string();
  p.device = "cpu";
  p.dtype = "float32";
  const auto& f = c.at("flags");
  for (const auto& [key, v] : f.items()) {
    if (key == "size") p.size = v.get<std::string>();
    else if (key == "max_area") continue;  // checked below: it follows from size
    else if (key == "infer_frames") p.infer_frames = v.get<int>();
    else if (key == "sample_steps") p.sample_steps = v.get<int>();
    else if (key == "sample_shift") p.sample_shift = v.get<double>();
    else if (key == "sample_guide_scale") p.sample_guide_scale = v.get<double>();
    else if (key == "sample_solver") p.sample_solver = v.get<std::string>();
    else if (key == "base_seed") p.base_seed = v.get<int64_t>();
    else if (key == "num_clip") p.num_clip = v.is_null() ? 0 : v.get<int>();
    else if (key == "prompt") p.prompt = v.get<std::string>();
    else if (key == "negative_prompt") p.negative_prompt = v.is_null() ? "" : v.get<std::string>();
    else if (key == "start_from_ref") p.init_first_frame = v.get<bool>();
    else if (key == "pose_video") p.pose_video = v.is_null() ? "" : (dir / v.get<std::string>()).string();
    else throw std::runtime_error("case.json flag '" + key + "' is not known to this suite");
  }
  if (f.contains("max_area") && f["max_area"].get<int64_t>() != p.max_area())
    throw std::runtime_error("case.json: max_area " + f["max_area"].dump() + " does not follow from --size " + p.size);
  const auto& g = c.at("generate_args");
  p.image = (dir / g.at("ref_image_path").get<std::string>()).string();
  p.audio = (dir / g.at("audio_path").get<std::string>()).string();
  p.validate();
  return p;
}

std::string key_of(int r, const std::string& what) { return "clip" + std::to_string(r) + "." + what; }

// The noise: the CPU generator's uniforms are the same everywhere, and with ATen's vectorised
// kernels (AVX2/AVX-512, what the reference's PyTorch used) the normals are bit-identical. Under
// ATEN_CPU_CAPABILITY=default ATen turns the same uniforms into normals with scalar libm log/cos/sin
// instead of Sleef's, each within 1 ulp of exact. Box-Muller z = r*cos(theta), r = sqrt(-2 ln u) <=
// sqrt(2*ln 2^24) < 5.8 for float uniforms; one ulp of the log (relative 2^-23, halved by the sqrt),
// of the 2*pi*u product and of cos (absolute, |cos| <= 1) move z by at most about
// r * 3 * 2^-23 < 2.1e-6, so 4e-6 bounds the difference with margin while a wrong draw (another
// seed, another order) differs by O(1).
bool scalar_aten_kernels() {
  const char* cap = std::getenv("ATEN_CPU_CAPABILITY");
  return cap && std::string(cap) == "default";
}
constexpr double kScalarNoiseMaxBar = 4e-6;

// Compares stage outputs with expected.safetensors, printing every error and remembering the
// failures in the order they were met (the first is the first stage that drifted).
struct Checker {
  std::string name;
  const weights::SafetensorsFile* expected = nullptr;
  std::set<std::string> checked;
  std::vector<std::string> failures;

  torch::Tensor ref(const std::string& key) const { return expected->tensor(key); }

  void fail(const std::string& what) {
    qWarning("%s: %s", name.c_str(), what.c_str());
    failures.push_back(what);
  }

  // relative L2 (and, when max_bar > 0, max |d|) against `key`
  void close(const std::string& label, const std::string& key, const torch::Tensor& ours, double bar,
             double max_bar = 0) {
    checked.insert(key);
    const auto r = ref(key);
    if (ours.sizes() != r.sizes()) {
      fail(label + ": shape " + c10::str(ours.sizes()) + ", expected " + c10::str(r.sizes()));
      return;
    }
    const double rel = test::rel_error(ours, r), mx = test::max_abs_error(ours, r);
    qInfo("%s %s: relative error %.3g, max |d| %.3g (bar %.0e%s)", name.c_str(), label.c_str(), rel, mx, bar,
          max_bar > 0 ? (", max " + std::to_string(max_bar)).c_str() : "");
    if (!(rel <= bar)) fail(label + ": relative error " + std::to_string(rel) + " > " + std::to_string(bar));
    if (max_bar > 0 && !(mx <= max_bar)) fail(label + ": max |d| " + std::to_string(mx) + " > " + std::to_string(max_bar));
  }

  // bit for bit, or within kScalarNoiseMaxBar under ATen's scalar kernels (see above)
  void noise(const std::string& label, const std::string& key, const torch::Tensor& ours) {
    if (!scalar_aten_kernels()) return exact(label, key, ours);
    checked.insert(key);
    const auto r = ref(key);
    if (ours.sizes() != r.sizes()) {
      fail(label + ": shape " + c10::str(ours.sizes()) + ", expected " + c10::str(r.sizes()));
      return;
    }
    const double mx = test::max_abs_error(ours, r);
    qInfo("%s %s: max |d| %.3g under ATen's scalar kernels (bar %.0e)", name.c_str(), label.c_str(), mx,
          kScalarNoiseMaxBar);
    if (!(mx <= kScalarNoiseMaxBar)) fail(label + ": max |d| " + std::to_string(mx) + " with ATen's scalar kernels");
  }

  // bit for bit
  void exact(const std::string& label, const std::string& key, const torch::Tensor& ours) {
    checked.insert(key);
    const auto r = ref(key);
    const bool same = ours.sizes() == r.sizes() &&
                      torch::equal(ours.to(torch::kCPU).to(r.scalar_type()).contiguous(), r.contiguous());
    qInfo("%s %s: %s", name.c_str(), label.c_str(), same ? "identical" : "DIFFERENT");
    if (!same) fail(label + ": not identical to the reference (" + c10::str(ours.sizes()) + ")");
  }
};

torch::Tensor ids_tensor(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

}  // namespace

class TestPipelineParity : public QObject {
  Q_OBJECT

 private slots:
  void casesExist() {
    S2V_REQUIRE_DATA(case_dirs(), "case folder (a folder with case.json) in " + pipeline_dir().string());
  }

  // Every case through S2VPipeline's stages, chained as the job chains them.
  void stagesMatchOfficial() {
    const auto dirs = case_dirs();
    S2V_REQUIRE_DATA(dirs, "case folder in " + pipeline_dir().string());
    torch::NoGradGuard no_grad;
    for (const auto& dir : dirs) {
      const auto c = read_json(dir / "case.json");
      generate::GenerateParams p;
      try {
        p = params_of(dir, c);
      } catch (const std::exception& e) {
        QFAIL((dir.filename().string() + ": " + e.what()).c_str());
      }
      const auto expected = weights::SafetensorsFile::open(dir / "expected.safetensors");
      Checker chk{dir.filename().string(), &expected, {}, {}};

      // ---- inputs and size ----
      const auto in = generate::load_inputs(p);
      const auto hw = c.at("frame_size_hw").get<std::vector<int>>();
      QCOMPARE(in.height, hw.at(0));
      QCOMPARE(in.width, hw.at(1));
      generate::Placement where;  // CPU, float32: what the reference ran
      generate::S2VPipeline pipe(generate::locate_model_files(dir), where);
      const auto files = generate::locate_model_files(dir);

      // ---- text ----
      const std::string negative = p.negative_prompt.empty() ? generate::official_negative_prompt() : p.negative_prompt;
      if (c.contains("negative_prompt_used"))
        QCOMPARE(QString::fromStdString(negative), QString::fromStdString(c["negative_prompt_used"].get<std::string>()));
      const t5::Tokenizer tok(files.tokenizer, pipe.configs().text_len);
      const auto tp = tok(p.prompt), tn = tok(negative);
      chk.exact("text.ids", "text.ids", ids_tensor(tp.ids));
      chk.exact("text.mask", "text.mask", ids_tensor(tp.mask));
      chk.exact("text.ids_null", "text.ids_null", ids_tensor(tn.ids));
      chk.exact("text.mask_null", "text.mask_null", ids_tensor(tn.mask));
      const auto [context, context_null] = pipe.encode_prompts(p.prompt, negative);
      chk.close("text.context", "text.context", context, kNetworkBar);
      chk.close("text.context_null", "text.context_null", context_null, kNetworkBar);

      // ---- audio ----
      torch::Tensor hidden;
      const auto audio = pipe.encode_audio(in.audio, p.infer_frames, 0, &hidden);
      chk.close("audio.hidden_50hz", "audio.hidden_50hz", hidden, kNetworkBar);
      chk.close("audio.embed", "audio.embed", audio.embed, kNetworkBar);
      chk.exact("audio.num_repeat", "audio.num_repeat", torch::tensor({audio.num_repeat}, torch::kInt64));
      int clips = static_cast<int>(audio.num_repeat);
      if (p.num_clip > 0) clips = std::min(clips, p.num_clip);
      QCOMPARE(clips, c.at("run").at("clips").get<int>());

      // ---- reference, first motion latents, pose ----
      generate::ClipState cs = pipe.initial_state(in, p.init_first_frame);
      const torch::Tensor our_ref = pipe.ref_latents();
      chk.close("ref.latents", "ref.latents", our_ref[0], kNetworkBar);
      chk.close("clip0.motion_latents", "clip0.motion_latents", cs.motion_latents[0], kNetworkBar);
      const auto pose = pipe.pose_latents(p.pose_video, clips, p.infer_frames, in.height, in.width);
      pipe.load_dit();

      // ---- the clip loop, chained ----
      auto make_request = [&](int r) {
        generate::ClipRequest req;
        req.index = r;
        req.seed = p.base_seed + r;
        req.infer_frames = p.infer_frames;
        req.steps = p.sample_steps;
        req.shift = p.sample_shift;
        req.guide_scale = p.sample_guide_scale;
        req.solver = p.sample_solver;
        req.drop_motion = !p.init_first_frame && r == 0;
        req.context = context;
        req.context_null = context_null;
        req.audio = audio.embed;
        req.pose = pose[static_cast<size_t>(std::min<int>(r, static_cast<int>(pose.size()) - 1))];
        req.use_pose = !p.pose_video.empty();
        return req;
      };
      const auto drop = c.at("run").at("drop_motion_frames").get<std::vector<bool>>();
      std::vector<torch::Tensor> frames;
      for (int r = 0; r < clips; ++r) {
        auto req = make_request(r);
        QCOMPARE(req.drop_motion, bool(drop.at(static_cast<size_t>(r))));
        std::vector<int64_t> timesteps;
        generate::StepTrace first;
        req.on_model_output = [&](const generate::StepTrace& s) {
          timesteps.push_back(s.timestep);
          if (s.step == 0) first = generate::StepTrace{s.step, s.timestep, s.latent.clone(), s.cond.clone(),
                                                       s.uncond.defined() ? s.uncond.clone() : torch::Tensor()};
        };
        if (r > 0) chk.close(key_of(r, "motion_latents"), key_of(r, "motion_latents"), cs.motion_latents[0], kChainBar);
        chk.close(key_of(r, "cond_states") + " (pose latents)", key_of(r, "cond_states"), req.pose, kNetworkBar);
        const auto latents = pipe.denoise(req, cs);
        chk.exact(key_of(r, "timesteps"), key_of(r, "timesteps"), torch::tensor(timesteps, torch::kInt64));
        chk.noise(key_of(r, "noise"), key_of(r, "noise"), first.latent[0]);
        // chained: clip 0's DiT inputs are within 1e-5 of the case's; later clips carry the
        // pipeline's drift (the isolated pass below holds them to 1e-5)
        const double step_bar = r == 0 ? kNetworkBar : kChainBar;
        chk.close(key_of(r, "step00.cond") + " (chained)", key_of(r, "step00.cond"), first.cond, step_bar);
        if (first.uncond.defined())
          chk.close(key_of(r, "step00.uncond") + " (chained)", key_of(r, "step00.uncond"), first.uncond, step_bar);
        chk.close(key_of(r, "latents"), key_of(r, "latents"), latents[0], kChainBar);
        frames.push_back(pipe.decode_clip(latents, req, cs));
      }
      chk.close("out.video", "out.video", torch::cat(frames, 1), kChainBar, kPixelMaxBar);
      chk.close("final.motion_latents", "final.motion_latents", cs.motion_latents[0], kChainBar);

      // ---- each stage of each clip fed the reference's own inputs ----
      pipe.set_ref_latents(chk.ref("ref.latents").unsqueeze(0));
      const auto video = chk.ref("out.video");
      // the motion video before clip r: 73 frames, the generated ones right-aligned into the
      // initial all-zero motion video (only start_from_ref puts the portrait there)
      // (with start_from_ref the portrait's pixels are in it too: the fed decode checks are skipped)
      torch::Tensor last = torch::zeros({1, 3, generate::kMotionFrames, in.height, in.width});
      int64_t shown = 0;
      for (int r = 0; r < clips; ++r) {
        auto req = make_request(r);
        req.context = chk.ref("text.context");
        req.context_null = chk.ref("text.context_null");
        req.audio = chk.ref("audio.embed");
        req.pose = chk.ref(key_of(r, "cond_states"));
        generate::StepTrace first;
        req.on_model_output = [&](const generate::StepTrace& s) {
          if (s.step == 0) first = generate::StepTrace{s.step, s.timestep, s.latent.clone(), s.cond.clone(),
                                                       s.uncond.defined() ? s.uncond.clone() : torch::Tensor()};
        };
        generate::ClipState fed;
        fed.motion_latents = chk.ref(key_of(r, "motion_latents")).unsqueeze(0);
        fed.last_frames = last.clone();
        const auto latents = pipe.denoise(req, fed);
        chk.close(key_of(r, "step00.cond") + " (fed)", key_of(r, "step00.cond"), first.cond, kNetworkBar);
        if (first.uncond.defined())
          chk.close(key_of(r, "step00.uncond") + " (fed)", key_of(r, "step00.uncond"), first.uncond, kNetworkBar);
        chk.close(key_of(r, "latents") + " (fed)", key_of(r, "latents"), latents[0], kChainBar);
        if (p.init_first_frame) continue;
        // VAE decode of the reference's latents, the motion video update and the re-encode
        const auto clip = pipe.decode_clip(chk.ref(key_of(r, "latents")).unsqueeze(0), req, fed);
        const auto ref_clip = video.narrow(1, shown, clip.size(1));
        const double rel = test::rel_error(clip, ref_clip), mx = test::max_abs_error(clip, ref_clip);
        qInfo("%s clip %d frames (fed): relative error %.3g, max |d| %.3g", chk.name.c_str(), r, rel, mx);
        if (!(rel <= kChainBar && mx <= kPixelMaxBar))
          chk.fail("clip " + std::to_string(r) + " frames (fed): relative error " + std::to_string(rel));
        shown += clip.size(1);
        const std::string next = r + 1 < clips ? key_of(r + 1, "motion_latents") : "final.motion_latents";
        chk.close(next + " (fed)", next, fed.motion_latents[0], kChainBar);
        // the next motion video, from the reference's frames
        const int64_t n = std::min<int64_t>(generate::kMotionFrames, ref_clip.size(1));
        last = torch::cat({last.narrow(2, n, generate::kMotionFrames - n), ref_clip.narrow(1, ref_clip.size(1) - n, n).unsqueeze(0)}, 2);
      }

      for (const auto& key : expected.names())
        if (!chk.checked.count(key)) chk.fail(key + " is in expected.safetensors but was not checked");
      // (the message is built before the check runs, so it must not touch an empty list)
      const std::string first = chk.failures.empty() ? std::string() : chk.failures.front();
      QVERIFY2(chk.failures.empty(), (chk.name + ": " + first).c_str());
    }
  }

  // Once through the CLI (the job queue, the clip files, the MP4, the saved state): the MP4 has
  // out.video's frame count and size, and the state a resume would continue from is the
  // reference's final.motion_latents (and, when kept, its motion video).
  void cliJobMatchesOfficial() {
    const auto dirs = case_dirs();
    S2V_REQUIRE_DATA(dirs, "case folder in " + pipeline_dir().string());
    for (const auto& dir : dirs) {
      const auto c = read_json(dir / "case.json");
      const auto expected = weights::SafetensorsFile::open(dir / "expected.safetensors");
      QTemporaryDir tmp;
      QVERIFY(tmp.isValid());
      const fs::path data = tmp.path().toStdString();
      const fs::path out = data / "out.mp4";
      QStringList args{"generate"};
      for (const auto& a : c.at("cli")) args << QString::fromStdString(a.get<std::string>());
      args << "--device" << "cpu" << "--dtype" << "float32" << "--out" << QString::fromStdString(out.string());
      QProcess proc;
      auto env = QProcessEnvironment::systemEnvironment();
      env.insert("S2V_DATA_DIR", QString::fromStdString(data.string()));
      proc.setProcessEnvironment(env);
      proc.setWorkingDirectory(QString::fromStdString(dir.string()));
      proc.start(S2V_CLI, args);
      QVERIFY(proc.waitForFinished(600000));
      const QString err = QString::fromUtf8(proc.readAllStandardError());
      QVERIFY2(proc.exitStatus() == QProcess::NormalExit && proc.exitCode() == 0, qPrintable(err));

      const auto video = expected.tensor("out.video");  // [3, T, H, W]
      const auto info = media::probe(out);
      QCOMPARE(static_cast<int64_t>(media::count_frames(out)), video.size(1));
      QCOMPARE(static_cast<int64_t>(info.height), video.size(2));
      QCOMPARE(static_cast<int64_t>(info.width), video.size(3));

      std::vector<fs::path> jobs;
      for (const auto& e : fs::directory_iterator(data / "jobs"))
        if (e.is_directory()) jobs.push_back(e.path());
      QCOMPARE(jobs.size(), size_t(1));
      auto state = weights::SafetensorsFile::open(generate::last_motion_state(jobs[0]));
      const auto motion = state.tensor("motion_latents")[0];
      const auto ref_motion = expected.tensor("final.motion_latents");
      const double e = test::rel_error(motion, ref_motion);
      qInfo("%s: job state motion_latents vs final.motion_latents: relative error %.3g (bar %.0e)",
            dir.filename().c_str(), e, kChainBar);
      QVERIFY2(e <= kChainBar, std::to_string(e).c_str());
      if (state.contains("last_frames")) {
        // [1, 3, 73, H, W]: its newest frames are the video's last ones
        const auto last = state.tensor("last_frames")[0];
        const int64_t n = std::min<int64_t>(last.size(1), video.size(1));
        const auto a = last.narrow(1, last.size(1) - n, n), b = video.narrow(1, video.size(1) - n, n);
        const double ev = test::rel_error(a, b), mv = test::max_abs_error(a, b);
        qInfo("%s: job state motion video vs out.video: relative error %.3g, max |d| %.3g", dir.filename().c_str(), ev, mv);
        QVERIFY2(ev <= kChainBar && mv <= kPixelMaxBar, std::to_string(ev).c_str());
      }
    }
  }
};

QTEST_GUILESS_MAIN(TestPipelineParity)
#include "test_pipeline_parity.moc"
