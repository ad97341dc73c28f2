// The Generate workspace's view-model without widgets (issue #20 items 5-6): why Render is refused,
// the frame size each size preset gives (and why a small portrait gives the same frame for every
// larger preset), the Draft / Final presets and "(modified)", and the note when the video outlasts
// the audio with the frames-per-clip that fits it.
#include <QtTest>

#include "core/generate/generate_params.h"
#include "ui/generate/generate_state.h"

using namespace s2v;
using namespace s2v::ui;

class TestGenerateState : public QObject {
  Q_OBJECT

  static generate::GenerateParams withSize(GenerateState& s, const std::string& size) {
    generate::GenerateParams p = s.params();
    p.size = size;
    return p;
  }

 private slots:
  void refusalNamesWhatIsMissing() {
    GenerateState s;
    QVERIFY(s.refusal().has_value());
    QVERIFY(s.refusal()->contains("portrait") && s.refusal()->contains("audio"));
    s.setPortrait("/in/portrait.png", QSize(400, 400));
    QVERIFY(!s.refusal()->contains("portrait and"));
    QVERIFY(s.refusal()->contains("audio"));
    s.setAudio("/in/voice.wav", 7.0);
    QVERIFY2(s.refusal()->contains("model"), qPrintable(*s.refusal()));
  }

  void smallPortraitSaysWhyLargerSizesGiveTheSameFrame() {
    GenerateState s;
    const QSize portrait(400, 400);
    s.setPortrait("/in/portrait.png", portrait);
    // every official area is larger than the portrait: the same padded frame, and a note saying why
    QString first;
    for (const std::string size : {"1024*704", "832*480"}) {
      s.setSettings(withSize(s, size));
      const generate::FrameSize want = generate::size_less_than_area(400, 400, s.params().max_area());
      QCOMPARE(s.frameSizeText(), QString("→ %1×%2").arg(want.width).arg(want.height));
      qInfo("%s: %s; %s", size.c_str(), qPrintable(s.frameSizeText()), qPrintable(s.sizeNote()));
      QVERIFY(s.sizeNote().contains("400×400"));
      if (first.isEmpty()) first = s.frameSizeText();
      QCOMPARE(s.frameSizeText(), first);
    }
    // the Draft preset's area is smaller than the portrait: a smaller frame, and no note
    s.setSettings(GenerateState::presetParams(GenerateState::Preset::Draft, s.params()));
    const generate::FrameSize draft = s.frameSize();
    qInfo("Draft: %s", qPrintable(s.frameSizeText()));
    QVERIFY(int64_t(draft.width) * draft.height < int64_t(portrait.width()) * portrait.height());
    QVERIFY(s.sizeNote().isEmpty());
    QVERIFY(s.frameSizeText() != first);
  }

  void presetsAndModified() {
    GenerateState s;
    QCOMPARE(s.presetLabel(), QString("Custom"));
    s.choosePreset(GenerateState::Preset::Draft);
    const generate::GenerateParams draft = GenerateState::presetParams(GenerateState::Preset::Draft, s.params());
    s.setSettings(draft);
    QCOMPARE(s.presetLabel(), QString("Draft"));
    // fewer steps than the official ones: a draft is quicker
    QVERIFY(draft.sample_steps < generate::GenerateParams{}.sample_steps);
    generate::GenerateParams moved = draft;
    moved.sample_steps += 3;
    s.setSettings(moved);
    QVERIFY(s.presetModified());
    QCOMPARE(s.presetLabel(), QString("Draft (modified)"));
    s.choosePreset(GenerateState::Preset::Final);
    s.setSettings(GenerateState::presetParams(GenerateState::Preset::Final, s.params()));
    QCOMPARE(s.presetLabel(), QString("Final"));
    QCOMPARE(s.params().sample_steps, generate::GenerateParams{}.sample_steps);
  }

  void videoLongerThanTheAudioIsSaidAndCanBeFitted() {
    GenerateState s;
    s.setPortrait("/in/portrait.png", QSize(400, 400));
    const double audio = 7.0;
    s.setAudio("/in/voice.wav", audio);
    const double tail = s.silentTail();
    qInfo("%s: %.2f s of video for %.1f s of audio", qPrintable(s.clipsText()), s.videoSeconds(), audio);
    QVERIFY(s.videoSeconds() >= audio);
    QCOMPARE(tail, s.videoSeconds() - audio);
    if (tail < 0.25) QSKIP("the default clip length happens to fit this audio: nothing to say");
    QVERIFY2(s.silenceNote().contains("7.0 s"), qPrintable(s.silenceNote()));
    const std::optional<int> fit = s.fittedInferFrames();
    QVERIFY(fit.has_value());
    generate::GenerateParams p = s.params();
    p.infer_frames = *fit;
    s.setSettings(p);
    qInfo("%d frames per clip: %.2f s of video, %.2f s silent", *fit, s.videoSeconds(), s.silentTail());
    QVERIFY(s.videoSeconds() >= audio);
    QVERIFY(s.silentTail() < tail - 0.25 + 1e-9);
  }
};

QTEST_MAIN(TestGenerateState)
#include "test_generate_state.moc"
