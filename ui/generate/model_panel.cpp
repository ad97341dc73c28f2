#include "ui/generate/model_panel.h"

#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/generate/async.h"

namespace s2v::ui {

QString formatParameterCount(uint64_t n) {
  if (n >= 1000000000ull) return QString::number(n / 1e9, 'f', 2) + " B";
  if (n >= 1000000ull) return QString::number(n / 1e6, 'f', 1) + " M";
  if (n >= 1000ull) return QString::number(n / 1e3, 'f', 1) + " K";
  return QString::number(n);
}

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("modelPanel");
  path_ = new QLineEdit(this);
  path_->setObjectName("modelFolder");
  path_->setPlaceholderText(tr("Wan2.2-S2V-14B checkpoint folder"));
  path_->setToolTip(tr("The folder downloaded from Wan-AI/Wan2.2-S2V-14B (press Enter to inspect it)"));
  choose_ = new QPushButton(tr("Choose…"), this);
  choose_->setObjectName("chooseModel");
  choose_->setToolTip(tr("Choose the checkpoint folder"));
  demo_ = new QPushButton(tr("Demo"), this);
  demo_->setObjectName("useDemoModel");
  demo_->setToolTip(tr("Use the bundled demo model (random weights, small: checks the pipeline, output is noise)"));
  demo_->setEnabled(!generate::find_demo_model().empty());
  label_ = new QLabel(this);
  label_->setObjectName("modelLabel");
  label_->setWordWrap(true);
  params_ = new QLabel(this);
  params_->setObjectName("modelParameters");
  problems_ = new QLabel(this);
  problems_->setObjectName("modelProblems");
  problems_->setWordWrap(true);
  problems_->setStyleSheet("color: #b00020;");
  problems_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  problems_->hide();
  auto* row = new QHBoxLayout;
  row->addWidget(path_, 1);
  row->addWidget(choose_);
  row->addWidget(demo_);
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addLayout(row);
  l->addWidget(label_);
  l->addWidget(params_);
  l->addWidget(problems_);
  connect(choose_, &QPushButton::clicked, this, &ModelPanel::chooseFolder);
  connect(demo_, &QPushButton::clicked, this, &ModelPanel::useDemoModel);
  connect(path_, &QLineEdit::editingFinished, this, [this] {
    if (path_->text() != folder_) setFolder(path_->text());
  });
}

QString ModelPanel::labelText() const { return label_->text(); }
QString ModelPanel::problemsText() const { return problems_->text(); }

void ModelPanel::useDemoModel() {
  const auto demo = generate::find_demo_model();
  if (demo.empty()) {
    label_->setText(tr("No demo model is installed with this build."));
    return;
  }
  setFolder(QString::fromStdString(demo.string()));
}

void ModelPanel::chooseFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose the Wan2.2-S2V checkpoint folder"), folder_);
  if (!dir.isEmpty()) setFolder(dir);
}

void ModelPanel::setFolder(const QString& folder) {
  folder_ = folder;
  path_->setText(folder);
  model_.reset();
  problems_->hide();
  params_->clear();
  emit folderChanged(folder);
  if (folder.isEmpty()) {
    label_->setText(tr("No model folder chosen: pick the Wan2.2-S2V-14B folder."));
    label_->setStyleSheet("color: #b00020;");
    emit inspected();
    return;
  }
  label_->setText(tr("Inspecting %1…").arg(folder));
  label_->setStyleSheet(QString());
  const quint64 request = ++request_;
  ++pending_;
  const std::filesystem::path root = folder.toStdString();
  runOffGuiThread(
      this,
      [root]() -> std::shared_ptr<const generate::ModelFolder> {
        try {
          return std::make_shared<generate::ModelFolder>(generate::inspect_model_folder(root, true));
        } catch (const std::exception& e) {  // documented not to throw; be safe anyway
          auto m = std::make_shared<generate::ModelFolder>();
          m->root = root;
          m->problems.push_back(e.what());
          return m;
        }
      },
      [this, request](std::shared_ptr<const generate::ModelFolder> m) {
        --pending_;
        if (request != request_) return;  // a newer folder was chosen meanwhile
        model_ = m;
        label_->setText(QString::fromStdString(m->label.empty() ? m->root.filename().string() : m->label));
        // The demo label must stand out: its output is noise.
        label_->setStyleSheet(m->demo ? "color: #b35c00; font-weight: bold;" : "font-weight: bold;");
        QStringList parts;
        for (const auto& c : m->components)
          if (c.parameters) parts << QString("%1 %2").arg(QString::fromStdString(c.name), formatParameterCount(c.parameters));
        params_->setText(tr("%1 parameters%2")
                             .arg(formatParameterCount(m->total_parameters()))
                             .arg(parts.isEmpty() ? QString() : " (" + parts.join(", ") + ")"));
        QStringList problems;
        for (const auto& p : m->problems) problems << "• " + QString::fromStdString(p);
        problems_->setText(problems.join("\n"));
        problems_->setVisible(!problems.isEmpty());
        emit inspected();
      });
}

}  // namespace s2v::ui
