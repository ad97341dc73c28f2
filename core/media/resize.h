#pragma once
// Picture resizing that matches the official portrait preprocessing bit for bit:
// torchvision Resize(min(H, W)) on a PIL image (Pillow's antialiased bilinear filter in 8-bit
// fixed point), then CenterCrop((H, W)), as in wan/speech2video.py. No Qt, no LibTorch.

#include "core/media/video_reader.h"

namespace s2v::media {

// As PIL Image.resize((out_w, out_h), Image.BILINEAR) on an RGB image: separable triangle filter
// widened by the downscale factor (antialiased), horizontal pass then vertical pass, each rounded
// to uint8 in Pillow's 22-bit fixed point.
RgbFrame resize_bilinear(const RgbFrame& in, int out_w, int out_h);

// The output size of torchvision's Resize(size) for an int size: the shorter side becomes size,
// the longer int(size * long / short).
void shorter_side_size(int in_w, int in_h, int size, int* out_w, int* out_h);

// As torchvision CenterCrop((out_h, out_w)): pads with black when the picture is smaller, then
// takes the window at top = round((h - out_h) / 2), left = round((w - out_w) / 2) (half to even).
RgbFrame center_crop(const RgbFrame& in, int out_w, int out_h);

// Resize(min(height, width)) then CenterCrop((height, width)) as the reference image path of
// speech2video.py's generate().
RgbFrame resize_shorter_and_crop(const RgbFrame& in, int width, int height);

}  // namespace s2v::media
