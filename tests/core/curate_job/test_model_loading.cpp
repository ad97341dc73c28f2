// The curate job's networks from weight files on disk: the params name files (as `s2v curate
// --dover_weights ...` and the GUI's Settings do), load_curation_models builds the networks, and a
// ClipScorer with them reports their methods. Real files: DOVER from the official-format tiny
// .pth that make_dover_parity.py wrote with torch.save, Light-ASD at full size and a small UniMatch
// (no refinement) with random weights written here as safetensors.
#include <QtTest>

#include <QProcess>

#include <cmath>
#include <filesystem>
#include <set>

#include <torch/torch.h>

#include "common/programs.h"
#include "curate_job_test_util.h"
#include "core/curate_job/clip_decoder.h"
#include "core/curate_job/model_loading.h"
#include "models/base/error.h"
#include "models/light_asd/light_asd.h"
#include "models/unimatch/unimatch.h"
#include "models/weights/safetensors.h"

using namespace s2v;
using namespace s2v::curation;
namespace fs = std::filesystem;

namespace {

fs::path parity_data() { return fs::path(S2V_SOURCE_DIR) / "tests" / "data" / "parity"; }

using s2v::test::ffmpeg;

}  // namespace

class TestModelLoading : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string asd_, flow_;

  std::string path(const char* name) { return dir_.filePath(name).toStdString(); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    torch::manual_seed(3);
    light_asd::LightAsd asd;
    asd_ = path("light_asd.safetensors");
    test::save_module(*asd, asd_);
    flow_ = path("unimatch.safetensors");
    test::write_small_unimatch(flow_);
  }

  void everyNetworkHasAFlagAndNoFlagIsTwice() {
    std::set<std::string> seen;
    for (const auto& n : curation_networks()) {
      QVERIFY2(seen.insert(n.param).second, n.param.c_str());
      QVERIFY(n.param.size() > 8 && n.param.substr(n.param.size() - 8) == "_weights");
      QVERIFY(!n.label.empty() && !n.help.empty());
    }
    for (const char* p : {"pose_weights", "clip_weights", "aesthetic_weights", "dover_weights", "unimatch_weights",
                          "light_asd_weights"})
      QVERIFY2(seen.count(p), p);
  }

  void weightFilesReplaceTheFallbacks() {
    const fs::path dover = parity_data() / "dover_tiny.pth";
    QVERIFY(fs::exists(dover));
    CurateOptions o;
    load_curation_models(
        {{"dover_weights", dover.string()}, {"light_asd_weights", asd_}, {"unimatch_weights", flow_}}, o);
    QVERIFY(o.clarity_model && o.sync_model && o.motion_model);
    QVERIFY(!o.pose && !o.aesthetics);
    QCOMPARE(o.clarity_model->native_frames_wanted(), 32);
    QCOMPARE(o.clarity_model->native_stride(), 2);

    // a clip decoded as the job decodes it, with DOVER's source-resolution window
    const QString clip = dir_.filePath("talk.mp4");
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=3", "-pix_fmt", "yuv420p", "-shortest", clip}));
    DecodeOptions d;
    d.native_frames = o.clarity_model->native_frames_wanted();
    d.native_stride = o.clarity_model->native_stride();
    const ClipFrames frames = decode_clip(clip.toStdString(), d);
    QCOMPARE(frames.native_frames.size(), size_t(32));
    o.ocr_every = 100;
    ClipScorer scorer(o);
    const ClipScores s = scorer.score(frames);
    const Metric clarity = s.metric("clarity");
    QVERIFY2(clarity.available(), clarity.na_reason.c_str());
    QVERIFY(clarity.method.find("DOVER") == 0);
    QVERIFY(*clarity.value >= 0 && *clarity.value <= 100);
    // the test card has no face: Light-ASD is asked and answers n/a with its reason
    const Metric sync = s.metric("av_sync_confidence");
    QVERIFY(sync.method.find("Light-ASD") == 0);
    QVERIFY(!sync.available());
    QVERIFY(sync.na_reason.find("face") != std::string::npos);
    const Metric motion = s.metric("motion");
    QVERIFY2(motion.available(), motion.na_reason.c_str());
    QVERIFY(motion.method.find("UniMatch") == 0);
    QCOMPARE(s.series.at("motion").size(), frames.frames.size());
    QVERIFY(std::isnan(s.series.at("motion")[0]));
    // without the flag, motion keeps its fallback
    CurateOptions plain;
    load_curation_models({{"dover_weights", dover.string()}}, plain);
    QVERIFY(!plain.motion_model && !plain.sync_model);
  }

  void aBadWeightFileIsNamed() {
    const std::string junk = path("not-a-checkpoint.pth");
    FILE* f = std::fopen(junk.c_str(), "wb");
    QVERIFY(f);
    std::fputs("plain text", f);
    std::fclose(f);
    for (const char* param : {"dover_weights", "unimatch_weights", "light_asd_weights", "pose_weights"}) {
      CurateOptions o;
      try {
        load_curation_models({{param, junk}}, o);
        QFAIL(param);
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("not-a-checkpoint.pth") != std::string::npos, e.what());
      }
    }
    // a Light-ASD file given as DOVER: the error lists what DOVER misses
    CurateOptions o;
    try {
      load_curation_models({{"dover_weights", asd_}}, o);
      QFAIL("a Light-ASD file loaded as DOVER");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("light_asd.safetensors") != std::string::npos, e.what());
    }
    // aesthetics needs both of its files
    QVERIFY_THROWS_EXCEPTION(Error, load_curation_models({{"clip_weights", asd_}}, o));
  }
};

QTEST_GUILESS_MAIN(TestModelLoading)
#include "test_model_loading.moc"
