// The Curate workspace driven offscreen on real scores: Debian opencv-doc's sample clips are copied
// into the sample folder and scored through the job queue (4 s of each), then the table is sorted,
// filtered and re-judged by threshold sliders, a clip is opened in the viewer (overlay pixels and
// one plotted point per sampled frame), histograms are checked against the rows, and the passing
// list and a tuned preset are written and read back.
#include <QAbstractItemView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSlider>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <memory>

#include "core/curation/preset.h"
#include "core/curation/results_db.h"
#include "core/pose_draw/draw.h"
#include "ui/curate/clip_viewer.h"
#include "ui/curate/curate_model.h"
#include "ui/curate/curate_workspace.h"
#include "ui/curate/histogram_panel.h"
#include "ui/curate/sample_clips.h"
#include "ui/curate/threshold_panel.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/main_window.h"
#include "ui/settings/app_settings.h"

using namespace s2v::ui;

class TestCurateWorkspace : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString db_;
  std::unique_ptr<JobQueueAdapter> jobs_;

  // A workspace showing the scored samples.
  std::unique_ptr<CurateWorkspace> workspace() {
    auto w = std::make_unique<CurateWorkspace>(jobs_.get());
    w->resize(1400, 900);
    QSignalSpy loaded(w.get(), &CurateWorkspace::databaseLoaded);
    w->openDatabase(db_);
    if (!loaded.wait(30000)) qFatal("the results database did not load");
    return w;
  }

  // Source-model values of a column in view order.
  static QList<QVariant> columnInViewOrder(CurateWorkspace* w, int column, int role) {
    QList<QVariant> out;
    auto* proxy = w->proxy();
    for (int r = 0; r < proxy->rowCount(); ++r) out << proxy->index(r, column).data(role);
    return out;
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());  // Settings of this run only
    QStandardPaths::setTestModeEnabled(true);
    for (const auto& n : sampleClipNames())
      if (!QFile::exists(QString(kOpenCvDocData) + "/" + n))
        QSKIP("Debian's opencv-doc sample clips are not installed (scripts/setup-debian.sh installs them)");
    jobs_ = std::make_unique<JobQueueAdapter>();
    CurateWorkspace w(jobs_.get());
    QSignalSpy loaded(&w, &CurateWorkspace::databaseLoaded);
    w.scoreSampleClips(4.0);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 240000);
    db_ = loaded.at(0).at(0).toString();
    QCOMPARE(loaded.at(0).at(1).toInt(), 3);
    QVERIFY2(w.status().contains("3 clips"), qPrintable(w.status()));
    // The samples were copied whole into <app data>/samples.
    QCOMPARE(sampleFolder(), dir_.path() + "/samples");
    for (const auto& n : sampleClipNames())
      QCOMPARE(QFileInfo(sampleFolder() + "/" + n).size(), QFileInfo(QString(kOpenCvDocData) + "/" + n).size());
    for (const auto& r : w.model()->rows()) {
      QVERIFY2(r.error.empty(), r.error.c_str());
      QVERIFY(r.path.rfind(sampleFolder().toStdString(), 0) == 0);
      QVERIFY(!r.series_t.empty());
      QVERIFY(r.series_t.back() <= 4.0 + 1e-6);  // max_seconds reached the job
    }
  }

  void copyingTheSamplesAgainKeepsThemAndReportsEachOnce() {
    QString error;
    const QStringList again = copySampleClips(kOpenCvDocData, &error);
    QCOMPARE(again.size(), 3);
    QVERIFY(error.isEmpty());
    // A source folder without the clips copies nothing new but lists what the folder already has.
    QCOMPARE(copySampleClips(dir_.path() + "/nowhere").size(), 3);
  }

  void networkWeightsFromSettingsReachTheJob() {
    // A weight file chosen in Settings goes to the job, which loads it before scoring: a file that
    // is not a checkpoint fails the job with a sentence naming it (and scores nothing).
    const QString junk = dir_.path() + "/junk-vitpose.pth";
    QFile f(junk);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a checkpoint");
    f.close();
    AppSettings settings = AppSettings::load();
    const AppSettings saved = settings;
    settings.curationWeights["pose_weights"] = junk;
    settings.curationJobs = 1;
    settings.save();
    QCOMPARE(AppSettings::load().curationWeights.value("pose_weights"), junk);
    QCOMPARE(AppSettings::load().curationJobs, 1);
    CurateWorkspace w(jobs_.get());
    w.openFolder(sampleFolder());
    QTRY_VERIFY_WITH_TIMEOUT(w.status().contains("Scoring failed"), 60000);
    QVERIFY2(w.status().contains("junk-vitpose.pth"), qPrintable(w.status()));
    saved.save();
    QVERIFY(AppSettings::load().curationWeights.isEmpty());
  }

  void unreadableDatabaseIsReportedAsASentence() {
    const QString bad = dir_.path() + "/notes.db";
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are plain text notes, not a database, padded to more than one page of text\n");
    f.close();
    CurateWorkspace w(jobs_.get());
    QSignalSpy failed(&w, &CurateWorkspace::databaseFailed);
    w.openDatabase(bad);
    QVERIFY(failed.wait(30000));
    QVERIFY2(w.status().contains("notes.db"), qPrintable(w.status()));
    QCOMPARE(w.model()->rowCount(), 0);
  }

  void sortsMetricColumnsNumericallyWithNaLast() {
    auto w = workspace();
    auto* table = w->table();
    const int clarity = CurateTableModel::metricColumn("clarity");
    table->sortByColumn(clarity, Qt::DescendingOrder);
    const auto values = columnInViewOrder(w.get(), clarity, CurateTableModel::SortRole);
    QCOMPARE(values.size(), 3);
    for (int i = 0; i + 1 < values.size(); ++i) {
      qInfo() << "clarity" << i << values[i].toDouble();
      QVERIFY(values[i].toDouble() >= values[i + 1].toDouble());
    }
    table->sortByColumn(clarity, Qt::AscendingOrder);
    const auto up = columnInViewOrder(w.get(), clarity, CurateTableModel::SortRole);
    QVERIFY(up.first().toDouble() < up.last().toDouble());

    // face_sharpness is n/a where no face was seen: shown as "n/a" with the reason, sorted last both ways.
    const int sharp = CurateTableModel::metricColumn("face_sharpness");
    for (auto order : {Qt::AscendingOrder, Qt::DescendingOrder}) {
      table->sortByColumn(sharp, order);
      const auto shown = columnInViewOrder(w.get(), sharp, Qt::DisplayRole);
      const auto sortv = columnInViewOrder(w.get(), sharp, CurateTableModel::SortRole);
      bool seenNa = false;
      int na = 0;
      for (int i = 0; i < shown.size(); ++i) {
        const bool isNa = std::isnan(sortv[i].toDouble());
        if (isNa) {
          ++na;
          QCOMPARE(shown[i].toString(), QString("n/a"));
          QVERIFY(!w->proxy()->index(i, sharp).data(Qt::ToolTipRole).toString().isEmpty());
        }
        QVERIFY2(!seenNa || isNa, "a value sorted after n/a");
        seenNa = seenNa || isNa;
      }
      QVERIFY(na >= 1);  // tree.avi has no face
    }
  }

  void thresholdSliderRejudgesEveryRowLiveAndRecolours() {
    auto w = workspace();
    auto* panel = w->thresholds();
    QCOMPARE(panel->count(), static_cast<int>(w->model()->preset().thresholds.size()));
    const int t = panel->indexOf("clarity");
    QVERIFY(t >= 0);
    QCOMPARE(w->model()->preset().thresholds[t].op, std::string(">="));
    const int clarity = CurateTableModel::metricColumn("clarity");
    auto* model = w->model();

    // Strictest: clarity >= (above every clip) → every clip fails on clarity, cells and verdicts red.
    panel->slider(t)->setValue(panel->slider(t)->maximum());
    const auto clarities = model->values("clarity");
    QCOMPARE(clarities.size(), size_t(3));
    QVERIFY(model->preset().thresholds[t].value > *std::max_element(clarities.begin(), clarities.end()));
    for (int r = 0; r < model->rowCount(); ++r) {
      const auto& row = model->row(r);
      QCOMPARE(QString::fromStdString(row.verdict), QString("fail"));
      QVERIFY(std::find(row.failed_metrics.begin(), row.failed_metrics.end(), "clarity") != row.failed_metrics.end());
      QCOMPARE(model->index(r, CurateTableModel::VerdictColumn).data(Qt::BackgroundRole).value<QColor>(),
               CurateTableModel::verdictColour("fail"));
      QCOMPARE(model->index(r, clarity).data(Qt::BackgroundRole).value<QColor>(), CurateTableModel::verdictColour("fail"));
    }
    QCOMPARE(panel->spin(t)->value(), model->preset().thresholds[t].value);
    // Loosest: no clip fails on clarity any more.
    panel->slider(t)->setValue(panel->slider(t)->minimum());
    for (int r = 0; r < model->rowCount(); ++r) {
      const auto& f = model->row(r).failed_metrics;
      QVERIFY(std::find(f.begin(), f.end(), "clarity") == f.end());
      QVERIFY(!model->index(r, clarity).data(Qt::BackgroundRole).isValid());
    }

    // A clip failing on one threshold only passes once that slider is loosened; its colour follows.
    w->usePreset("talking-head");
    int moved = 0;
    for (int r = 0; r < model->rowCount(); ++r) {
      const auto row = model->row(r);
      if (row.verdict != "fail" || row.failed_metrics.size() != 1) continue;
      const QString metric = QString::fromStdString(row.failed_metrics[0]);
      const int i = panel->indexOf(metric);
      const std::string op = model->preset().thresholds[i].op;
      if (op != ">=" && op != "<=") continue;
      panel->slider(i)->setValue(op == ">=" ? panel->slider(i)->minimum() : panel->slider(i)->maximum());
      qInfo() << "loosened" << metric << "to" << model->preset().thresholds[i].value << "for" << row.path.c_str();
      QCOMPARE(QString::fromStdString(model->row(r).verdict), QString("pass"));
      QCOMPARE(model->index(r, CurateTableModel::VerdictColumn).data(Qt::BackgroundRole).value<QColor>(),
               CurateTableModel::verdictColour("pass"));
      ++moved;
    }
    // And the other direction through the spin box: people_max == 0 fails every clip that has a person.
    const int people = panel->indexOf("people_max");
    panel->spin(people)->setValue(0);
    QCOMPARE(panel->slider(people)->value(), 0);
    for (int r = 0; r < model->rowCount(); ++r) {
      const auto v = model->row(r).metric("people_max").value;
      if (v && *v > 0) QCOMPARE(QString::fromStdString(model->row(r).verdict), QString("fail"));
    }
    QVERIFY(w->status().contains("fail"));
    qInfo() << "clips that passed after loosening their one failed threshold:" << moved;
  }

  void filtersByTextVerdictAndMetricRange() {
    auto w = workspace();
    auto* text = w->findChild<QLineEdit*>("filterText");
    QTest::keyClicks(text, "megamind");
    QCOMPARE(w->proxy()->rowCount(), 1);
    QVERIFY(w->proxy()->index(0, 0).data().toString().contains("Megamind"));
    text->clear();
    QCOMPARE(w->proxy()->rowCount(), 3);

    auto* verdict = w->findChild<QComboBox*>("verdictFilter");
    verdict->setCurrentIndex(verdict->findData(QString("fail")));
    QCOMPARE(w->proxy()->rowCount(), w->model()->count("fail"));
    verdict->setCurrentIndex(0);

    // clarity in [median, +inf): the clips at or above the median.
    auto values = w->model()->values("clarity");
    std::sort(values.begin(), values.end());
    const double median = values[values.size() / 2];
    auto* metric = w->findChild<QComboBox*>("rangeMetric");
    auto* lo = w->findChild<QLineEdit*>("rangeMin");
    lo->setText(QString::number(median, 'g', 17));
    metric->setCurrentText("clarity");
    int expected = 0;
    for (double v : values) expected += v >= median;
    QCOMPARE(w->proxy()->rowCount(), expected);
    // A range on a metric drops its n/a rows.
    lo->clear();
    metric->setCurrentText("face_sharpness");
    QCOMPARE(w->proxy()->rowCount(), static_cast<int>(w->model()->values("face_sharpness").size()));
    metric->setCurrentIndex(0);
    QCOMPARE(w->proxy()->rowCount(), 3);
  }

  void frameViewDrawsSkeletonsInDwposeColours() {
    // A pose as a pose model would give it (working-resolution pixels): the right arm straight
    // right of the neck, the nose above it; the left hand's thumb.
    s2v::pose::Pose p;
    p.body[s2v::pose::kNose] = {200, 100, 0.9f};
    p.body[s2v::pose::kNeck] = {200, 160, 0.9f};
    p.body[s2v::pose::kRShoulder] = {140, 160, 0.9f};
    p.body[s2v::pose::kRElbow] = {80, 160, 0.9f};
    for (int i = 0; i < 5; ++i) p.left_hand[size_t(i)] = {300.0f + 12 * i, 300, 0.9f};
    s2v::curation::FrameOverlay o;
    o.poses = {p};
    FrameView view;
    view.resize(576, 432);
    QImage black(576, 432, QImage::Format_RGB888);
    black.fill(Qt::black);
    view.setFrame(black);
    view.setOverlay(o, std::nan(""), QSizeF(576, 432));
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    // the limb's colour of DWPose's table (limb 0 of limbSeq: neck-right shoulder), the hand edge's
    // rainbow colour, both on the segment between their points
    auto count = [&](const cv::Vec3b& c, QRect where) {
      int n = 0;
      for (int y = where.top(); y <= where.bottom(); ++y)
        for (int x = where.left(); x <= where.right(); ++x)
          n += img.pixel(x, y) == qRgb(c[0], c[1], c[2]);
      return n;
    };
    QVERIFY(count(s2v::pose::kBodyColorsRgb[0], QRect(150, 150, 40, 20)) > 30);
    QVERIFY(count(s2v::pose::hand_edge_color_rgb(0), QRect(302, 295, 8, 10)) > 3);
    // nothing where no point is
    QCOMPARE(count(s2v::pose::kBodyColorsRgb[0], QRect(400, 20, 100, 60)), 0);
  }

  // Issue #20 item 4: opening a clip in Curate keeps the window's size (1280×800 and 1024×640), and
  // the viewer's seek bar and the threshold sliders keep a usable width.
  void openingAClipKeepsTheWindowSize_data() {
    QTest::addColumn<QSize>("size");
    QTest::newRow("1280x800") << QSize(1280, 800);
    QTest::newRow("1024x640") << QSize(1024, 640);
  }
  void openingAClipKeepsTheWindowSize() {
    QFETCH(QSize, size);
    MainWindow mw;
    mw.resize(size);
    mw.show();
    QVERIFY(QTest::qWaitForWindowExposed(&mw));
    mw.tabs()->setCurrentWidget(mw.curate());
    CurateWorkspace* w = mw.curate();
    QSignalSpy loaded(w, &CurateWorkspace::databaseLoaded);
    w->openDatabase(db_);
    QVERIFY(loaded.wait(30000));
    QSignalSpy shown(w->viewer(), &ClipViewer::frameShown);
    w->table()->setFocus();
    w->table()->setCurrentIndex(w->proxy()->index(0, 0));
    QTest::keyClick(w->table(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 20000);
    QCoreApplication::processEvents();
    auto* seek = w->viewer()->findChild<QSlider*>("viewerPosition");
    QVERIFY(seek);
    qInfo("window %dx%d (minimum width %d), seek bar %d px, first threshold slider %d px", mw.width(), mw.height(),
          mw.minimumSizeHint().width(), seek->width(), w->thresholds()->slider(0)->width());
    QCOMPARE(mw.size(), size);
    QVERIFY(seek->width() >= ClipViewer::kSeekMinWidth);
    // Each threshold row reads name | slider | value, side by side: the name keeps a width and
    // ends before its slider begins (at 1024×640 the names were painted under the sliders).
    auto* tabs = w->findChild<QTabWidget*>();
    for (auto* t : w->findChildren<QTabWidget*>())
      if (t->indexOf(w->findChild<QWidget*>("thresholdScroll")) >= 0) tabs = t;
    QVERIFY(tabs);
    tabs->setCurrentWidget(w->findChild<QWidget*>("thresholdScroll"));
    QCoreApplication::processEvents();
    const auto& rows = w->model()->preset().thresholds;
    QVERIFY(!rows.empty());
    for (int i = 0; i < int(rows.size()); ++i) {
      QSlider* slider = w->thresholds()->slider(i);
      QLabel* label = w->thresholds()->label(i);
      QVERIFY(slider->minimumWidth() >= ThresholdPanel::kSliderMinWidth);
      QVERIFY2(slider->width() >= ThresholdPanel::kSliderMinWidth, qPrintable(QString::number(slider->width())));
      QVERIFY2(label->isVisible() && label->width() >= label->minimumWidth(),
               qPrintable(QString("%1: label %2 px").arg(QString::fromStdString(rows[size_t(i)].metric)).arg(label->width())));
      QVERIFY2(label->geometry().right() < slider->geometry().left(),
               qPrintable(QString("%1: label %2..%3, slider from %4").arg(QString::fromStdString(rows[size_t(i)].metric))
                              .arg(label->geometry().left()).arg(label->geometry().right()).arg(slider->geometry().left())));
    }
  }

  // The histogram's y axis counts whole clips: every tick a distinct integer, at most six
  // intervals once there are more than five clips (not "0, 1, 0, 1, 2").
  void histogramTicksAreDistinctWholeCounts() {
    for (int top = 1; top <= 5000; ++top) {
      const int step = histogramTickStep(top);
      QVERIFY(step >= 1);
      const int intervals = (top + step - 1) / step;
      if (top <= 5) QCOMPARE(step, 1);
      else QVERIFY2(intervals <= 6, qPrintable(QString("top %1, step %2").arg(top).arg(step)));
    }
  }

  void viewerPaintsOverlaysAndPlotsEverySampledFrame() {
    auto w = workspace();
    w->show();
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    // The clip with the most face boxes (Megamind).
    auto* model = w->model();
    int best = -1;
    size_t faces = 0;
    for (int r = 0; r < model->rowCount(); ++r) {
      size_t n = 0;
      for (const auto& o : model->row(r).overlays) n += o.faces.size() + o.people.size();
      if (n > faces) faces = n, best = r;
    }
    QVERIFY2(best >= 0, "no clip has a person or face box");
    auto* table = w->table();
    table->setFocus();
    table->setCurrentIndex(w->proxy()->mapFromSource(model->index(best, 0)));
    QSignalSpy opened(w.get(), &CurateWorkspace::clipOpened);
    auto* viewer = w->viewer();
    QSignalSpy shown(viewer, &ClipViewer::frameShown);
    QTest::keyClick(table, Qt::Key_Return);  // Enter opens the clip, as a double-click does
    QCOMPARE(opened.count(), 1);
    QCOMPARE(opened.at(0).at(0).toString().toStdString(), model->row(best).path);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 20000);

    const auto& clip = viewer->clip();
    QVERIFY(viewer->overlayIndex() >= 0);
    const auto& ov = clip.overlays[static_cast<size_t>(viewer->overlayIndex())];
    QVERIFY(!ov.faces.empty() || !ov.people.empty());
    QVERIFY(!viewer->frameView()->image().isNull());
    const QImage img = viewer->frameView()->grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRgb want = (ov.faces.empty() ? FrameView::peopleColour() : FrameView::faceColour()).rgb();
    int hits = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x) hits += img.pixel(x, y) == want;
    qInfo() << "overlay pixels of the box colour:" << hits << "at" << viewer->position() << "s";
    QVERIFY2(hits >= 40, "the box outline is not on the picture");
    // S2V_CURATE_SCREENSHOT=file.png keeps a picture of the whole workspace (for docs and review).
    if (qEnvironmentVariableIsSet("S2V_CURATE_SCREENSHOT")) w->grab().save(qEnvironmentVariable("S2V_CURATE_SCREENSHOT"));

    // One plotted point per sampled frame for the series defined on every frame.
    QVERIFY(viewer->chartNames().contains("people"));
    QCOMPARE(viewer->chartPoints("people"), static_cast<int>(clip.series_t.size()));
    QCOMPARE(viewer->chartPoints("faces"), static_cast<int>(clip.series_t.size()));
    for (const auto& name : viewer->chartNames()) {
      int finite = 0;
      for (double v : clip.series.at(name.toStdString())) finite += std::isfinite(v);
      QCOMPARE(viewer->chartPoints(name), finite);
      QCOMPARE(viewer->cursorTime(name), viewer->position());
    }

    // Seeking moves the overlay to the nearest sampled frame and shows a new frame.
    const double target = clip.series_t.back();
    const int before = shown.count();
    viewer->setPosition(target);
    QCOMPARE(viewer->overlayIndex(), static_cast<int>(clip.series_t.size()) - 1);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() > before, 20000);
    // Playing advances the position and keeps frames coming.
    viewer->setPosition(0.0);
    const int beforePlay = shown.count();
    viewer->play();
    QTRY_VERIFY_WITH_TIMEOUT(viewer->position() > 0.3 && shown.count() > beforePlay + 1, 20000);
    viewer->pause();
    QVERIFY(!viewer->playing());
  }

  void histogramBarsCountEveryRowWithAValue() {
    auto w = workspace();
    auto* h = w->histogram();
    for (const auto& m : s2v::curation::metric_names()) {
      h->setMetric(QString::fromStdString(m));
      int sum = 0;
      for (int c : h->current().counts) sum += c;
      int withValue = 0;
      for (int r = 0; r < w->model()->rowCount(); ++r) withValue += w->model()->row(r).metric(m).available();
      QCOMPARE(sum, withValue);
    }
    h->setMetric("clarity");
    const int t = w->thresholds()->indexOf("clarity");
    QVERIFY(h->thresholdShown().has_value());
    QCOMPARE(*h->thresholdShown(), w->model()->preset().thresholds[t].value);
    // The threshold follows its slider, and stays inside the drawn span.
    w->thresholds()->slider(t)->setValue(w->thresholds()->slider(t)->maximum());
    QCOMPARE(*h->thresholdShown(), w->model()->preset().thresholds[t].value);
    QVERIFY(h->current().hi >= *h->thresholdShown());
    // Pure binning: values on the edges land in the first and last bins.
    const Histogram b = histogram({0.0, 1.0, 2.0, 3.0, 4.0}, 4);
    QCOMPARE(b.counts, (std::vector<int>{1, 1, 1, 2}));
    const Histogram one = histogram({5.0, 5.0}, 3, 7.0);
    QCOMPARE(one.lo, 5.0);
    QCOMPARE(one.hi, 7.0);
    QCOMPARE(one.counts.front(), 2);
  }

  void exportsThePassingListAndReadsItBack() {
    auto w = workspace();
    w->usePreset("lenient");
    const QStringList passing = w->model()->passingPaths();
    QVERIFY(!passing.isEmpty());
    const QString txt = dir_.path() + "/passing.txt";
    QVERIFY(w->exportPassing(txt));
    QFile f(txt);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines, passing);
    for (const auto& p : lines) QVERIFY(QFile::exists(p));

    const QString csv = dir_.path() + "/passing.csv";
    QVERIFY(w->exportPassing(csv));
    QFile c(csv);
    QVERIFY(c.open(QIODevice::ReadOnly));
    const QStringList rows = QString::fromUtf8(c.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(rows.size(), passing.size() + 1);
    QVERIFY(rows[0].startsWith("path,verdict,people_max"));
    QVERIFY(rows[1].contains(",pass,"));

    // A folder that does not exist: nothing written, a sentence naming the file.
    const QString bad = dir_.path() + "/missing/passing.txt";
    QVERIFY(!w->exportPassing(bad));
    QVERIFY(!QFile::exists(bad));
    QVERIFY2(w->status().contains("missing/passing.txt"), qPrintable(w->status()));
  }

  void tunedPresetIsSavedAndLoadsBack() {
    auto w = workspace();
    const int t = w->thresholds()->indexOf("motion");
    w->thresholds()->spin(t)->setValue(12.5);
    QCOMPARE(w->model()->preset().thresholds[t].value, 12.5);
    const QString file = dir_.path() + "/tuned.json";
    QVERIFY(w->savePreset(file));
    const auto back = s2v::curation::Preset::load(file.toStdString());
    QCOMPARE(QString::fromStdString(back.name), QString("tuned"));
    QCOMPARE(back.thresholds.size(), w->model()->preset().thresholds.size());
    QCOMPARE(back.thresholds[t].value, 12.5);
    // Loading it into a fresh workspace gives the same verdicts.
    auto other = workspace();
    other->usePreset(file);
    for (int r = 0; r < w->model()->rowCount(); ++r)
      QCOMPARE(other->model()->row(r).verdict, w->model()->row(r).verdict);
    QCOMPARE(other->thresholds()->spin(t)->value(), 12.5);
  }

  // While a folder is scored its rows appear one by one, judged by the preset on screen (which
  // the job was given, so the stored verdicts are the shown ones); a cancel stops the job, says
  // so, and opens the database with the rows it committed.
  void rowsAppearWhileScoringAndACancelKeepsThem() {
    CurateWorkspace w(jobs_.get());
    w.usePreset("lenient");
    QSignalSpy loaded(&w, &CurateWorkspace::databaseLoaded);
    w.openFolder(sampleFolder());  // the three samples, whole: tens of seconds of scoring
    QTRY_VERIFY_WITH_TIMEOUT(w.model()->rowCount() >= 1, 240000);
    QCOMPARE(loaded.count(), 0);  // shown live, not read at the end
    QString running;
    for (const auto& r : jobs_->jobs())
      if (r.spec.kind == "curate" && r.state == s2v::jobs::JobState::Running) running = QString::fromStdString(r.id);
    QVERIFY2(!running.isEmpty(), "the curate job ended before its first row was shown");
    QVERIFY(w.model()->rowCount() < 3);
    QVERIFY(jobs_->cancel(running));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    QVERIFY2(w.status().startsWith("Scoring cancelled"), qPrintable(w.status()));
    const int rows = w.model()->rowCount();
    QVERIFY(rows >= 1 && rows < 3);
    QCOMPARE(loaded.at(0).at(1).toInt(), rows);
    // the verdicts in the database are the table's: the job judged with the lenient preset
    const auto stored = s2v::curation::ResultsDb(w.databasePath().toStdString(),
                                                 s2v::curation::ResultsDb::Mode::ReadOnly).all();
    QCOMPARE(int(stored.size()), rows);
    for (const auto& s : stored) {
      QVERIFY2(s.error.empty(), s.error.c_str());
      auto judged = s;
      s2v::curation::apply_preset(w.model()->preset(), judged);
      QCOMPARE(QString::fromStdString(s.verdict), QString::fromStdString(judged.verdict));
    }
  }
};

QTEST_MAIN(TestCurateWorkspace)
#include "test_curate_workspace.moc"
