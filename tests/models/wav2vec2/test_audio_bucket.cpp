// 50 Hz wav2vec2 states -> 30 Hz -> per-video-frame buckets, against the official
// linear_interpolation / get_audio_embed_bucket_fps / encode_audio outputs (every audio_bucket_*
// parity file), and the clip count for a given audio length.
#include <QtTest>

#include <torch/torch.h>

#include "common/parity.h"
#include "models/base/error.h"
#include "models/wav2vec2/audio_bucket.h"
#include "models/wav2vec2/wav2vec2.h"

using namespace s2v;

class AudioBucketTest : public QObject {
  Q_OBJECT

 private slots:
  void matchesOfficialBucketing_data() { test::add_file_rows(test::parity_files("audio_bucket_")); }
  void matchesOfficialBucketing() {
    S2V_FETCH_FILE(path, "audio_bucket_* parity files in " + s2v::test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto name = path.filename().string();
    const double video_rate = test::metadata_json(f, "video_rate").get<double>();
    const int64_t fps = test::metadata_json(f, "fps").get<int64_t>();
    const int64_t batch_frames = test::metadata_json(f, "batch_frames").get<int64_t>();
    const int64_t m = test::metadata_json(f, "m").get<int64_t>();

    auto z = wav2vec2::linear_interpolation(f.tensor("in.hidden_50hz"), 50.0, video_rate);
    const double e30 = test::rel_error(z, f.tensor("out.hidden_30hz"));
    qInfo("%s: out.hidden_30hz rel error %.3g", name.c_str(), e30);
    QVERIFY2(e30 <= 1e-5, name.c_str());

    auto b = wav2vec2::audio_embed_bucket_fps(f.tensor("out.hidden_30hz"), fps, batch_frames, m, video_rate);
    const double eb = test::rel_error(b.bucket, f.tensor("out.bucket"));
    qInfo("%s: out.bucket rel error %.3g", name.c_str(), eb);
    QVERIFY2(eb <= 1e-5, name.c_str());
    QCOMPARE(b.num_repeat, f.tensor("out.num_repeat").item<int64_t>());

    auto embed = wav2vec2::bucket_to_model_layout(b.bucket);
    const double ee = test::rel_error(embed, f.tensor("out.audio_embed"));
    qInfo("%s: out.audio_embed rel error %.3g, num_repeat %lld", name.c_str(), ee,
          (long long)b.num_repeat);
    QVERIFY2(ee <= 1e-5, name.c_str());

    if (video_rate == wav2vec2::kVideoRate) {
      auto all = wav2vec2::encode_audio(f.tensor("in.hidden_50hz"), fps, batch_frames, m);
      QVERIFY(test::rel_error(all.audio_embed, f.tensor("out.audio_embed")) <= 1e-5);
      QCOMPARE(all.num_repeat, b.num_repeat);
      QCOMPARE(wav2vec2::num_clips_for_frames_50hz(f.tensor("in.hidden_50hz").size(1), fps, batch_frames),
               b.num_repeat);
    }
  }

  void countsClipsFromAudioLength() {
    // 80 frames at 16 fps = 5 s = 150 frames at 30 Hz per clip; a partial clip is a clip
    QCOMPARE(wav2vec2::num_clips(1), int64_t(1));
    QCOMPARE(wav2vec2::num_clips(149), int64_t(1));
    QCOMPARE(wav2vec2::num_clips(150), int64_t(2));
    QCOMPARE(wav2vec2::num_clips(299), int64_t(2));
    QCOMPARE(wav2vec2::num_clips(300), int64_t(3));
    // 7 s of 16 kHz audio: 349 wav2vec2 frames -> 209 at 30 Hz -> 2 clips
    wav2vec2::Wav2Vec2Config xlsr;
    QCOMPARE(xlsr.num_frames(7 * 16000), int64_t(349));
    QCOMPARE(wav2vec2::frames_30hz(349), int64_t(209));
    QCOMPARE(wav2vec2::num_clips_for_frames_50hz(349), int64_t(2));
  }

  void padsPastTheAudioWithZeros() {
    // one layer, frame k holds k + 1; entry i samples frame round(i * 30 / 16), half to even as
    // np.round: 7.5 -> 8 but 22.5 -> 22
    auto z = (torch::arange(30, torch::kFloat) + 1).view({1, 30, 1});
    auto b = wav2vec2::audio_embed_bucket_fps(z, 16, 8, 0);
    QCOMPARE(b.num_repeat, int64_t(3));  // int(30 / 15) + 1
    QCOMPARE(b.bucket.sizes().vec(), (std::vector<int64_t>{24, 1}));
    QCOMPARE(b.bucket[0][0].item<float>(), 1.0f);
    QCOMPARE(b.bucket[1][0].item<float>(), 3.0f);   // 1.875 -> 2
    QCOMPARE(b.bucket[4][0].item<float>(), 9.0f);   // 7.5 -> 8
    QCOMPARE(b.bucket[12][0].item<float>(), 23.0f); // 22.5 -> 22
    QCOMPARE(b.bucket[15][0].item<float>(), 29.0f); // 28.125 -> 28
    for (int i = 16; i < 24; ++i) QCOMPARE(b.bucket[i][0].item<float>(), 0.0f);  // past the audio
    QCOMPARE(wav2vec2::bucket_to_model_layout(b.bucket).sizes().vec(), (std::vector<int64_t>{1, 1, 24}));
    // m = 1 widens each entry to 3 neighbours (stride int(30/16) = 1), clamped at the ends
    auto w = wav2vec2::audio_embed_bucket_fps(z, 16, 8, 1);
    QCOMPARE(w.bucket.sizes().vec(), (std::vector<int64_t>{24, 3}));
    QCOMPARE(w.bucket[0][0].item<float>(), 1.0f);
    QCOMPARE(w.bucket[0][2].item<float>(), 2.0f);
    QCOMPARE(w.bucket[15][2].item<float>(), 30.0f);
  }
};

QTEST_APPLESS_MAIN(AudioBucketTest)
#include "test_audio_bucket.moc"
