#include "ui/generate/generate_workspace.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QListWidget>
#include <QMediaPlayer>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStandardPaths>
#include <QVBoxLayout>
#include <QVideoWidget>

#include "core/diagnostics/test_pattern.h"
#include "ui/generate/drop_area.h"
#include "ui/generate/input_probe.h"
#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

namespace {

QPixmap audioIcon(double seconds) {
  QPixmap pm(200, 80);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setPen(QPen(QColor(60, 140, 220), 2));
  for (int x = 0; x < 200; x += 4) {
    const int h = 8 + static_cast<int>(30 * std::abs(std::sin(x * 0.13) * std::cos(x * 0.041)));
    p.drawLine(x, 40 - h, x, 40 + h);
  }
  p.setPen(Qt::black);
  p.drawText(pm.rect(), Qt::AlignBottom | Qt::AlignRight, QString::number(seconds, 'f', 1) + " s");
  return pm;
}

}  // namespace

GenerateWorkspace::GenerateWorkspace(JobQueueAdapter* jobs, QWidget* parent)
    : QWidget(parent), jobs_(jobs) {
  setObjectName("generateWorkspace");
  setAcceptDrops(true);
  portraitArea_ = new DropArea(tr("Drop a reference portrait here\n(or click to choose)"), this);
  portraitArea_->setObjectName("portraitDrop");
  audioArea_ = new DropArea(tr("Drop speech or song audio here\n(a video with sound works too)"), this);
  audioArea_->setObjectName("audioDrop");
  message_ = new QLabel(this);
  message_->setObjectName("inputMessage");
  message_->setWordWrap(true);
  prompt_ = new QPlainTextEdit(this);
  prompt_->setObjectName("prompt");
  prompt_->setPlaceholderText(tr("Describe the scene, e.g. “a woman singing on a stage, warm light”"));
  negative_ = new QPlainTextEdit(this);
  negative_->setObjectName("negativePrompt");
  negative_->setPlaceholderText(tr("Negative prompt (empty: the model's default)"));
  negative_->setMaximumHeight(70);
  render_ = new QPushButton(tr("Render"), this);
  render_->setObjectName("render");
  render_->setToolTip(tr("Render the video (Ctrl+R)"));
  testPattern_ = new QPushButton(tr("Run test pattern"), this);
  testPattern_->setObjectName("testPattern");
  testPattern_->setToolTip(tr("Diagnostic: encodes a colour-bar video through the job queue. Not generation."));

  auto* inputs = new QGroupBox(tr("Inputs"), this);
  auto* il = new QHBoxLayout(inputs);
  il->addWidget(portraitArea_);
  il->addWidget(audioArea_);
  auto* prompts = new QGroupBox(tr("Prompt"), this);
  auto* pl = new QFormLayout(prompts);
  pl->addRow(tr("Prompt"), prompt_);
  pl->addRow(tr("Negative"), negative_);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(testPattern_);
  buttons->addStretch(1);
  buttons->addWidget(render_);

  auto* left = new QWidget(this);
  auto* ll = new QVBoxLayout(left);
  ll->addWidget(inputs);
  ll->addWidget(message_);
  ll->addWidget(prompts, 1);
  ll->addLayout(buttons);

  video_ = new QVideoWidget(this);
  video_->setMinimumSize(320, 240);
  player_ = new QMediaPlayer(this);
  player_->setVideoOutput(video_);
  previewList_ = new QListWidget(this);
  previewList_->setObjectName("previewList");
  previewList_->setMaximumHeight(120);
  auto* right = new QGroupBox(tr("Preview"), this);
  auto* rl = new QVBoxLayout(right);
  rl->addWidget(video_, 1);
  rl->addWidget(previewList_);

  auto* split = new QSplitter(this);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 1);
  auto* top = new QVBoxLayout(this);
  top->addWidget(split);

  connect(portraitArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(audioArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(portraitArea_, &DropArea::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Choose a portrait"), {},
                                                   tr("Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"));
    if (!f.isEmpty()) addFiles({f});
  });
  connect(audioArea_, &DropArea::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Choose audio"), {},
                                                   tr("Audio or video (*.wav *.mp3 *.flac *.ogg *.opus *.m4a *.aac *.mp4 *.mov *.mkv *.webm);;All files (*)"));
    if (!f.isEmpty()) addFiles({f});
  });
  connect(prompt_, &QPlainTextEdit::textChanged, this, [this] { inputs_.prompt = prompt_->toPlainText(); });
  connect(negative_, &QPlainTextEdit::textChanged, this,
          [this] { inputs_.negativePrompt = negative_->toPlainText(); });
  connect(render_, &QPushButton::clicked, this, &GenerateWorkspace::render);
  connect(testPattern_, &QPushButton::clicked, this, &GenerateWorkspace::runTestPattern);
  connect(jobs_, &JobQueueAdapter::previewReady, this, &GenerateWorkspace::onPreview);
  connect(jobs_, &JobQueueAdapter::jobChanged, this, [this](const JobUpdate& u) {
    if (u.record.state == jobs::JobState::Done && !u.record.output.empty())
      lastOutput_ = QString::fromStdString(u.record.output);
  });
  connect(previewList_, &QListWidget::currentTextChanged, this, [this](const QString& path) {
    if (path.isEmpty()) return;
    player_->setSource(QUrl::fromLocalFile(path));
    player_->play();
  });
}

QString GenerateWorkspace::message() const { return message_->text(); }

QStringList GenerateWorkspace::previews() const {
  QStringList out;
  for (int i = 0; i < previewList_->count(); ++i) out << previewList_->item(i)->text();
  return out;
}

void GenerateWorkspace::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? "color: #b00020;" : "color: palette(text);");
}

void GenerateWorkspace::addFiles(const QStringList& paths) {
  for (const QString& path : paths) classifyAsync(path, this, [this](const ProbedInput& p) { apply(p); });
}


void GenerateWorkspace::apply(const ProbedInput& p) {
  switch (p.role) {
    case ProbedInput::Role::Portrait: {
      inputs_.portrait = p.path;
      QImageReader reader(p.path);
      reader.setAutoTransform(true);
      reader.setScaledSize(QSize(p.width, p.height).scaled(200, 140, Qt::KeepAspectRatio));
      QPixmap thumb = QPixmap::fromImage(reader.read());
      portraitArea_->setThumbnail(thumb, p.summary);
      showMessage(tr("Portrait: %1").arg(p.summary), false);
      break;
    }
    case ProbedInput::Role::Audio:
      inputs_.audio = p.path;
      audioArea_->setThumbnail(audioIcon(p.duration_s), p.summary);
      showMessage(tr("Audio: %1").arg(p.summary), false);
      break;
    case ProbedInput::Role::Rejected:
      showMessage(p.reason, true);
      emit inputRejected(p.reason);
      return;
  }
  emit inputsChanged();
}

void GenerateWorkspace::render() {
  if (inputs_.portrait.isEmpty() || inputs_.audio.isEmpty()) {
    showMessage(tr("Render needs a portrait and an audio track: drop them above."), true);
    return;
  }
  showMessage(tr("Generation is not available in this build yet: the Wan2.2-S2V pipeline has not "
                 "landed. Use “Run test pattern” to check the job queue."), true);
}

void GenerateWorkspace::runTestPattern() {
  diagnostics::TestPatternParams p;
  jobs::JobSpec spec;
  spec.kind = diagnostics::kTestPatternKind;
  spec.title = diagnostics::kTestPatternLabel;
  spec.params = p.to_json();
  const QByteArray delay = qgetenv("S2V_TEST_PATTERN_DELAY_MS");
  if (!delay.isEmpty()) spec.params["frame_delay_ms"] = delay.toInt();
  testPatternJob_ = jobs_->submit(spec);
  if (!testPatternJob_.isEmpty()) showMessage(tr("Test pattern queued (diagnostic, not generation)."), false);
}

void GenerateWorkspace::exportVideo() {
  if (lastOutput_.isEmpty()) {
    showMessage(tr("Nothing to export yet: render first."), true);
    return;
  }
  const QString dest = QFileDialog::getSaveFileName(this, tr("Export MP4"), QFileInfo(lastOutput_).fileName(),
                                                    tr("MP4 video (*.mp4)"));
  if (dest.isEmpty()) return;
  QFile::remove(dest);
  if (QFile::copy(lastOutput_, dest)) showMessage(tr("Exported %1").arg(dest), false);
  else showMessage(tr("Could not write %1").arg(dest), true);
}

void GenerateWorkspace::onPreview(const QString& jobId, const QString& path) {
  previewList_->addItem(path);
  if (previewList_->count() == 1 || player_->playbackState() != QMediaPlayer::PlayingState) previewList_->setCurrentRow(previewList_->count() - 1);
  emit previewAdded(path);
}

}  // namespace s2v::ui
