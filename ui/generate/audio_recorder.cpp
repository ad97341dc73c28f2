#include "ui/generate/audio_recorder.h"

#include <QAudioInput>
#include <QAudioSource>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMediaCaptureSession>
#include <QMediaDevices>
#include <QMediaFormat>
#include <QMediaRecorder>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardPaths>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ui/settings/theme.h"

namespace s2v::ui {

AudioRecorderPanel::AudioRecorderPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("audioRecorder");
  devices_ = new QMediaDevices(this);
  deviceBox_ = new QComboBox(this);
  deviceBox_->setObjectName("microphone");
  deviceBox_->setToolTip(tr("The microphone to record from"));
  record_ = new QPushButton(tr("● Record"), this);
  record_->setObjectName("record");
  record_->setToolTip(tr("Record speech from the microphone; press again to stop (Ctrl+Shift+M)"));
  level_ = new QProgressBar(this);
  level_->setObjectName("inputLevel");
  level_->setRange(0, 100);
  level_->setTextVisible(false);
  level_->setMaximumHeight(10);
  level_->setToolTip(tr("Input level (peak, −60 to 0 dBFS)"));
  status_ = new QLabel(this);
  status_->setObjectName("recorderStatus");
  status_->setWordWrap(true);
  auto* row = new QHBoxLayout;
  row->addWidget(deviceBox_, 1);
  row->addWidget(record_);
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addLayout(row);
  l->addWidget(level_);
  l->addWidget(status_);
  connect(record_, &QPushButton::clicked, this, &AudioRecorderPanel::toggleRecording);
  connect(devices_, &QMediaDevices::audioInputsChanged, this,
          [this] { refreshDevices(QMediaDevices::audioInputs()); });
  connect(deviceBox_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (isRecording()) return;
    if (i >= 0 && i < inputs_.size()) startLevelMeter(inputs_[i]);
  });
  refreshDevices(QMediaDevices::audioInputs());
}

AudioRecorderPanel::~AudioRecorderPanel() {
  stopLevelMeter();
  if (recorder_) recorder_->stop();
}

QString AudioRecorderPanel::recordingsFolder() {
  const QByteArray env = qgetenv("S2V_DATA_DIR");
  const QString base = env.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)
                                     : QString::fromLocal8Bit(env);
  return base + "/recordings";
}

bool AudioRecorderPanel::isRecording() const {
  return recorder_ && recorder_->recorderState() == QMediaRecorder::RecordingState;
}

QString AudioRecorderPanel::status() const { return status_->text(); }

void AudioRecorderPanel::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(toneStyle(error ? Tone::Error : Tone::Muted, palette()));
}

void AudioRecorderPanel::refreshDevices(const QList<QAudioDevice>& devices) {
  if (isRecording()) return;  // never swap the device under a running recording
  inputs_ = devices;
  const QSignalBlocker block(deviceBox_);
  deviceBox_->clear();
  for (const QAudioDevice& d : inputs_) deviceBox_->addItem(d.description());
  const bool any = !inputs_.isEmpty();
  deviceBox_->setEnabled(any);
  record_->setEnabled(any);
  level_->setValue(0);
  stopLevelMeter();
  if (!any) {
    // Not an error: most machines render from a file.
    setStatus(tr("No microphone found: connect one to record here, or drop an audio file above."), false);
    return;
  }
  int current = 0;
  const QAudioDevice def = QMediaDevices::defaultAudioInput();
  for (int i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].id() == def.id()) current = i;
  deviceBox_->setCurrentIndex(current);
  setStatus(tr("Ready to record from %1.").arg(inputs_[current].description()), false);
  startLevelMeter(inputs_[current]);
}

void AudioRecorderPanel::toggleRecording() {
  if (isRecording()) stop();
  else if (record_->isEnabled()) start();
}

void AudioRecorderPanel::start() {
  const int i = deviceBox_->currentIndex();
  if (i < 0 || i >= inputs_.size()) return;
  QDir().mkpath(recordingsFolder());
  // WAV when the backend can encode it (lossless, what wav2vec2 wants), else Ogg/Opus.
  QMediaFormat format(QMediaFormat::Wave);
  format.setAudioCodec(QMediaFormat::AudioCodec::Wave);
  QString ext = "wav";
  if (!format.isSupported(QMediaFormat::Encode)) {
    format = QMediaFormat(QMediaFormat::Ogg);
    format.setAudioCodec(QMediaFormat::AudioCodec::Opus);
    ext = "ogg";
  }
  const QString path = recordingsFolder() + "/recording-" +
                       QDateTime::currentDateTime().toString("yyyyMMdd-hhmmss") + "." + ext;
  delete recorder_;
  delete input_;
  delete session_;
  session_ = new QMediaCaptureSession(this);
  input_ = new QAudioInput(inputs_[i], this);
  recorder_ = new QMediaRecorder(this);
  session_->setAudioInput(input_);
  session_->setRecorder(recorder_);
  recorder_->setMediaFormat(format);
  recorder_->setQuality(QMediaRecorder::HighQuality);
  recorder_->setOutputLocation(QUrl::fromLocalFile(path));
  connect(recorder_, &QMediaRecorder::errorOccurred, this, [this](QMediaRecorder::Error, const QString& why) {
    setStatus(tr("Recording failed (%1): check the microphone in the system's sound settings, or drop an audio "
                 "file instead.").arg(why), true);
  });
  connect(recorder_, &QMediaRecorder::durationChanged, this, [this](qint64 ms) {
    setStatus(tr("Recording… %1 s (press Record again to stop)").arg(ms / 1000.0, 0, 'f', 1), false);
  });
  connect(recorder_, &QMediaRecorder::recorderStateChanged, this, [this, path](QMediaRecorder::RecorderState s) {
    const bool rec = s == QMediaRecorder::RecordingState;
    record_->setText(rec ? tr("■ Stop") : tr("● Record"));
    deviceBox_->setEnabled(!rec);
    emit recordingChanged(rec);
    if (s != QMediaRecorder::StoppedState) return;
    QString out = recorder_->actualLocation().toLocalFile();
    if (out.isEmpty()) out = path;
    if (QFileInfo::exists(out) && QFileInfo(out).size() > 0) {
      setStatus(tr("Recorded %1.").arg(QFileInfo(out).fileName()), false);
      emit recorded(out);
    }
  });
  recorder_->record();
}

void AudioRecorderPanel::stop() {
  if (recorder_) recorder_->stop();
}

void AudioRecorderPanel::startLevelMeter(const QAudioDevice& device) {
  stopLevelMeter();
  QAudioFormat f = device.preferredFormat();
  meter_ = new QAudioSource(device, f, this);
  meterIo_ = meter_->start();
  if (!meterIo_) {
    stopLevelMeter();
    return;
  }
  connect(meterIo_, &QIODevice::readyRead, this, &AudioRecorderPanel::readLevel);
}

void AudioRecorderPanel::stopLevelMeter() {
  if (meter_) {
    meter_->stop();
    meter_->deleteLater();
  }
  meter_ = nullptr;
  meterIo_ = nullptr;
}

void AudioRecorderPanel::readLevel() {
  if (!meter_ || !meterIo_) return;
  const QByteArray data = meterIo_->readAll();
  const QAudioFormat f = meter_->format();
  double peak = 0;
  switch (f.sampleFormat()) {
    case QAudioFormat::Int16:
      for (qsizetype i = 0; i + 1 < data.size(); i += 2) {
        int16_t v;
        std::memcpy(&v, data.constData() + i, 2);
        peak = std::max(peak, std::abs(double(v)) / 32768.0);
      }
      break;
    case QAudioFormat::Int32:
      for (qsizetype i = 0; i + 3 < data.size(); i += 4) {
        int32_t v;
        std::memcpy(&v, data.constData() + i, 4);
        peak = std::max(peak, std::abs(double(v)) / 2147483648.0);
      }
      break;
    case QAudioFormat::Float:
      for (qsizetype i = 0; i + 3 < data.size(); i += 4) {
        float v;
        std::memcpy(&v, data.constData() + i, 4);
        peak = std::max(peak, double(std::abs(v)));
      }
      break;
    case QAudioFormat::UInt8:
      for (char c : data) peak = std::max(peak, std::abs((uint8_t(c) - 128) / 128.0));
      break;
    default: break;
  }
  const double db = peak > 0 ? 20 * std::log10(peak) : -60;
  level_->setValue(int(std::clamp((db + 60) / 60 * 100, 0.0, 100.0)));
}

}  // namespace s2v::ui
