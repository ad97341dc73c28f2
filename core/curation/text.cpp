// Subtitle detection with Tesseract: word boxes from sparse-text page segmentation.
#include <cstring>
#include <memory>

#include <opencv2/imgproc.hpp>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include "core/curation/metrics.h"
#include "models/base/error.h"

namespace s2v::curation {

namespace {
// Subtitles are drawn bright (white, yellow) with a dark outline or box. Tesseract reads them
// reliably from a binary mask of the bright pixels drawn dark on white, and the mask (mostly
// white) is faster to lay out than the textured frame.
constexpr int kBrightText = 200;
}  // namespace

struct TextDetector::Impl {
  tesseract::TessBaseAPI api;
  std::string lang;
};

TextDetector::TextDetector(const std::string& tessdata, const std::string& lang)
    : impl_(std::make_unique<Impl>()) {
  impl_->lang = lang;
  if (impl_->api.Init(tessdata.empty() ? nullptr : tessdata.c_str(), lang.c_str()) != 0)
    throw Error("cannot load Tesseract language '" + lang + "'" +
                    (tessdata.empty() ? std::string() : " from '" + tessdata + "'") +
                    ": install tesseract-ocr-" + lang,
                ErrorKind::NotFound, tessdata);
  impl_->api.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
  impl_->api.SetVariable("debug_file", "/dev/null");  // no "Detected n diacritics" chatter
}

TextDetector::~TextDetector() { impl_->api.End(); }

std::string TextDetector::method() const {
  return "Tesseract " + std::string(tesseract::TessBaseAPI::Version()) + " (" + impl_->lang +
         ", sparse text) on the bright-text mask (luma >= " + std::to_string(kBrightText) +
         ", inverted) word boxes with conf >= 60 and >= 2 chars";
}

namespace {

// Characters (UTF-8 code points) that are not spaces.
int visible_chars(const char* s) {
  int n = 0;
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; ++p)
    if ((*p & 0xC0) != 0x80 && !std::isspace(*p)) ++n;
  return n;
}

}  // namespace

// image: [H, W] grey or [H, W, 3] BGR.
std::vector<cv::Rect> TextDetector::words(const cv::Mat& image) {
  cv::Mat grey, mask;
  if (image.channels() == 3)
    cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  else
    grey = image;
  cv::threshold(grey, mask, kBrightText - 1, 255, cv::THRESH_BINARY_INV);  // text → black
  grey = mask;
  auto& api = impl_->api;
  api.SetImage(grey.data, grey.cols, grey.rows, 1, int(grey.step));
  api.SetSourceResolution(96);  // frames carry no DPI; also silences the estimate message
  std::vector<cv::Rect> out;
  if (api.Recognize(nullptr) != 0) return out;
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (!it) return out;
  do {
    if (it->Empty(tesseract::RIL_WORD)) continue;
    const float conf = it->Confidence(tesseract::RIL_WORD);
    std::unique_ptr<char[]> text(it->GetUTF8Text(tesseract::RIL_WORD));
    if (!text || conf < 60.0f || visible_chars(text.get()) < 2) continue;
    int l, t, r, b;
    if (it->BoundingBox(tesseract::RIL_WORD, &l, &t, &r, &b) && r > l && b > t)
      out.emplace_back(l, t, r - l, b - t);
  } while (it->Next(tesseract::RIL_WORD));
  api.Clear();
  return out;
}

}  // namespace s2v::curation
