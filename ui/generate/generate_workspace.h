#pragma once
// The Generate workspace: portrait + audio by drag-and-drop or file dialog (classified by content),
// prompt and negative prompt, Render, and a preview of each finished clip/segment as it arrives.

#include <QWidget>

class QLabel;
class QListWidget;
class QMediaPlayer;
class QPlainTextEdit;
class QPushButton;
class QVideoWidget;

namespace s2v::ui {

class DropArea;
class JobQueueAdapter;
struct ProbedInput;

// The state the workspace edits (tests poke at it).
struct GenerateInputs {
  QString portrait;
  QString audio;
  QString prompt;
  QString negativePrompt;
};

class GenerateWorkspace : public QWidget {
  Q_OBJECT
 public:
  GenerateWorkspace(JobQueueAdapter* jobs, QWidget* parent = nullptr);

  const GenerateInputs& inputs() const { return inputs_; }
  QString message() const;
  QStringList previews() const;

 public slots:
  void addFiles(const QStringList& paths);  // classifies each file, then sets portrait / audio
  void render();                            // Ctrl+R
  void runTestPattern();
  void exportVideo();                       // Ctrl+E

 signals:
  void inputsChanged();
  void inputRejected(const QString& message);
  void previewAdded(const QString& path);

 private:
  void apply(const ProbedInput& p);
  void showMessage(const QString& text, bool error);
  void onPreview(const QString& jobId, const QString& path);

  JobQueueAdapter* jobs_;
  GenerateInputs inputs_;
  DropArea* portraitArea_;
  DropArea* audioArea_;
  QLabel* message_;
  QPlainTextEdit* prompt_;
  QPlainTextEdit* negative_;
  QPushButton* render_;
  QPushButton* testPattern_;
  QListWidget* previewList_;
  QVideoWidget* video_;
  QMediaPlayer* player_;
  QString lastOutput_;
  QString testPatternJob_;
};

}  // namespace s2v::ui
