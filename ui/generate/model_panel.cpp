#include "ui/generate/model_panel.h"

#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QHeaderView>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "ui/engine/engine_process.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

QString formatParameterCount(uint64_t n) {
  if (n >= 1000000000ull) return QString::number(n / 1e9, 'f', 2) + " B";
  if (n >= 1000000ull) return QString::number(n / 1e6, 'f', 1) + " M";
  if (n >= 1000ull) return QString::number(n / 1e3, 'f', 1) + " K";
  return QString::number(n);
}

QString formatBytes(uint64_t n) {
  if (n >= 1000000000ull) return QString::number(n / 1e9, 'f', 1) + " GB";
  if (n >= 1000000ull) return QString::number(n / 1e6, 'f', 1) + " MB";
  if (n >= 1000ull) return QString::number(n / 1e3, 'f', 1) + " KB";
  return QString::number(n) + " B";
}

namespace {
// The override field of a component row ("DiT", "umT5", ...); nullptr for rows that have none.
std::string* override_of(generate::ComponentOverrides& o, const QString& component) {
  if (component == "DiT") return &o.dit;
  if (component == "umT5") return &o.text_encoder;
  if (component == "VAE") return &o.vae;
  if (component == "wav2vec2") return &o.audio_encoder;
  if (component == "tokenizer") return &o.tokenizer;
  return nullptr;
}
}  // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("modelPanel");
  path_ = new QLineEdit(this);
  path_->setObjectName("modelFolder");
  path_->setPlaceholderText(tr("Wan2.2-S2V-14B folder or ComfyUI models folder"));
  path_->setToolTip(tr("The folder downloaded from Wan-AI/Wan2.2-S2V-14B, or ComfyUI's models folder with the "
                       "S2V DiT (bf16, FP8 or GGUF), umT5, Wan 2.1 VAE and wav2vec2 files (press Enter to inspect it)"));
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
  components_ = new QTreeWidget(this);
  components_->setObjectName("modelComponents");
  components_->setColumnCount(5);
  components_->setHeaderLabels({tr("Part"), tr("File"), tr("Format"), tr("Parameters"), tr("Memory")});
  components_->setRootIsDecorated(false);
  components_->setAlternatingRowColors(true);
  components_->setTextElideMode(Qt::ElideMiddle);
  components_->header()->setSectionResizeMode(1, QHeaderView::Stretch);
  components_->header()->setStretchLastSection(false);
  components_->setMaximumHeight(140);
  components_->setMinimumHeight(60);
  components_->setToolTip(tr("Each part of the model: the file used, its format, parameters and the memory its "
                             "weights take (bf16; GGUF and FP8 DiT blocks stay packed). Double-click a part to "
                             "replace it with a file of your own."));
  replace_ = new QPushButton(tr("Replace part…"), this);
  replace_->setObjectName("replaceComponent");
  replace_->setToolTip(tr("Use another file for the selected part (a GGUF or FP8 DiT, another VAE, ...)"));
  reset_ = new QPushButton(tr("Use the folder's"), this);
  reset_->setObjectName("resetComponent");
  reset_->setToolTip(tr("Use the folder's own file for the selected part again"));
  notes_ = new QLabel(this);
  notes_->setObjectName("modelNotes");
  notes_->setWordWrap(true);
  notes_->setStyleSheet(toneStyle(Tone::Muted, palette()));
  notes_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  notes_->hide();
  problems_ = new QLabel(this);
  problems_->setObjectName("modelProblems");
  problems_->setWordWrap(true);
  problems_->setStyleSheet(toneStyle(Tone::Error, palette()));
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
  l->addWidget(components_);
  auto* partRow = new QHBoxLayout;
  partRow->addStretch(1);
  partRow->addWidget(replace_);
  partRow->addWidget(reset_);
  l->addLayout(partRow);
  l->addWidget(notes_);
  l->addWidget(problems_);
  connect(replace_, &QPushButton::clicked, this, &ModelPanel::replaceSelectedComponent);
  connect(reset_, &QPushButton::clicked, this, &ModelPanel::resetSelectedComponent);
  connect(components_, &QTreeWidget::itemDoubleClicked, this, [this] { replaceSelectedComponent(); });
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
  emit folderChanged(folder);
  inspect();
}

void ModelPanel::setOverrides(const generate::ComponentOverrides& overrides) {
  overrides_ = overrides;
  inspect();
}

void ModelPanel::replaceSelectedComponent() {
  auto* item = components_->currentItem();
  if (!item) return;
  const QString part = item->data(0, Qt::UserRole).toString();
  std::string* field = override_of(overrides_, part);
  if (!field) return;
  QString chosen;
  if (part == "tokenizer")
    chosen = QFileDialog::getExistingDirectory(this, tr("Choose the google/umt5-xxl tokenizer folder"), folder_);
  else
    chosen = QFileDialog::getOpenFileName(this, tr("Choose the %1 weights").arg(part), folder_,
                                          tr("Weights (*.safetensors *.gguf *.pth *.pt *.bin *.json);;All files (*)"));
  if (chosen.isEmpty()) return;
  *field = chosen.toStdString();
  inspect();
}

void ModelPanel::resetSelectedComponent() {
  auto* item = components_->currentItem();
  if (!item) return;
  if (std::string* field = override_of(overrides_, item->data(0, Qt::UserRole).toString()); field && !field->empty()) {
    field->clear();
    inspect();
  }
}

void ModelPanel::inspect() {
  model_.reset();
  problems_->hide();
  notes_->hide();
  params_->clear();
  components_->clear();
  if (folder_.isEmpty() && overrides_.empty()) {
    label_->setText(tr("No model chosen: pick the Wan2.2-S2V-14B folder or a ComfyUI models folder."));
    label_->setStyleSheet(toneStyle(Tone::Error, palette()));
    emit inspected();
    return;
  }
  label_->setText(tr("Inspecting %1…").arg(folder_));
  label_->setStyleSheet(QString());
  const quint64 request = ++request_;
  ++pending_;
  // inspect_model_folder reads the checkpoints with LibTorch: the engine does it (s2v inspect-model)
  QStringList args{"inspect-model", folder_, "--json"};
  for (const auto& [flag, file] : {std::pair<const char*, const std::string*>{"--dit", &overrides_.dit},
                                   {"--text_encoder", &overrides_.text_encoder},
                                   {"--vae", &overrides_.vae},
                                   {"--audio_encoder", &overrides_.audio_encoder},
                                   {"--tokenizer", &overrides_.tokenizer}})
    if (!file->empty()) args << flag << QString::fromStdString(*file);
  const std::filesystem::path root = folder_.toStdString();
  runEngine(this, args, [this, request, root](const EngineResult& r) {
    auto m = std::make_shared<generate::ModelFolder>();
    m->root = root;
    try {
      if (!r.started) throw std::runtime_error(r.error.toStdString());
      const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
      *m = generate::model_folder_from_json(j);
      const double gpu = j.value("gpu_memory_gb", 0.0);
      if (gpu > 0 && gpuMemoryGb_ <= 0) {
        gpuMemoryGb_ = gpu;
        emit gpuMemoryDetected(gpu);
      }
    } catch (const std::exception& e) {
      // no JSON: the engine is missing or died; its own words say why
      m->problems.push_back(
          tr("The model folder could not be inspected: %1")
              .arg(r.started ? r.failure() : QString::fromUtf8(e.what()))
              .toStdString());
    }
    --pending_;
    if (request != request_) {  // a newer choice was made meanwhile (and may have answered first)
      if (pending_ == 0) emit inspected();  // inspecting() has just become false
      return;
    }
    model_ = m;
    showInspection();
    emit inspected();
  });
}

void ModelPanel::showInspection() {
  const auto& m = *model_;
  label_->setText(QString::fromStdString(m.label.empty() ? m.root.filename().string() : m.label));
  // The demo label must stand out: its output is noise.
  label_->setStyleSheet(m.demo ? toneStyle(Tone::Warning, palette()) + "font-weight: bold;" : "font-weight: bold;");
  params_->setText(tr("%1 parameters").arg(formatParameterCount(m.total_parameters())) +
                   (m.layout.empty() ? QString() : QString(" · %1").arg(QString::fromStdString(m.layout))));
  for (const auto& c : m.components) {
    const QString part = QString::fromStdString(c.name);
    const bool replaced = [&] {
      auto o = overrides_;
      const std::string* f = override_of(o, part);
      return f && !f->empty();
    }();
    auto* item = new QTreeWidgetItem(components_);
    item->setText(0, part + (replaced ? " *" : ""));
    item->setData(0, Qt::UserRole, part);
    item->setText(1, QString::fromStdString(c.path.filename().string()));
    item->setToolTip(1, QString::fromStdString(c.path.string()) + (replaced ? tr("\n(replaced: not the folder's own)") : QString()));
    item->setText(2, QString::fromStdString(c.format));
    item->setToolTip(2, QString::fromStdString(c.format));
    item->setText(3, c.parameters ? formatParameterCount(c.parameters) : QString());
    // what the engine holds: DiT and umT5 in bf16 on a GPU (packed parts as stored), the rest float32
    const bool half = c.name == "DiT" || c.name == "umT5";
    item->setText(4, c.parameters ? formatBytes(c.memory_bytes(half ? "bfloat16" : "float32")) : QString());
    item->setTextAlignment(3, Qt::AlignRight | Qt::AlignVCenter);
    item->setTextAlignment(4, Qt::AlignRight | Qt::AlignVCenter);
  }
  for (int col : {0, 2, 3, 4}) components_->resizeColumnToContents(col);
  QStringList notes;
  for (const auto& n : m.notes) notes << "• " + QString::fromStdString(n);
  notes_->setText(notes.join("\n"));
  notes_->setVisible(!notes.isEmpty());
  QStringList problems;
  for (const auto& p : m.problems) problems << "• " + QString::fromStdString(p);
  problems_->setText(problems.join("\n"));
  problems_->setVisible(!problems.isEmpty());
}

}  // namespace s2v::ui
