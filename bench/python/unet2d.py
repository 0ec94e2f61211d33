#!/usr/bin/env python3
"""Plain-PyTorch wide_unet (models/wide_unet.cpp, models/blocks/conv.cpp), one module for one
module: Conv3x3 -> ReLU -> BN(eps 1e-3, momentum 0.01) pairs on four levels with ceil-mode 2x2
max-pooling, a single-conv bottleneck, ConvTranspose 2x2 + ReLU up-sampling cropped to the skip and
concatenated [skip, up], a top conv and a 3x3 logits conv; filters scaled by `width` and rounded
half away from zero (std::lround). Initialisation is Keras he_normal as in orch (timing does not
depend on it). Prints one JSON line; see bench/README.md.

usage: unet2d.py --shape 8,1,64,64 [--width 0.25] [--threads N] [--steps N] [--warmup N]
"""
import math

import torch
from torch import nn

import common


def scale(f, width):
    return max(1, int(math.floor(f * width + 0.5)))


def he_normal_(w):
    # Keras fan_in: kernel area x weight dim 1 (Conv2d in-channels, ConvTranspose2d out-channels).
    fan_in = w.shape[1] * w[0, 0].numel()
    with torch.no_grad():
        nn.init.trunc_normal_(w, 0.0, 1.0, -2.0, 2.0).mul_(math.sqrt(2.0 / fan_in) / 0.87962566103423978)


class ConvReluBn(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        he_normal_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        return self.bn(torch.relu(self.conv(x)))


class TwoConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(ConvReluBn(cin, cout), ConvReluBn(cout, cout))


class UpCat(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        he_normal_(self.deconv.weight)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x, skip):
        up = torch.relu(self.deconv(x))[:, :, :skip.shape[2], :skip.shape[3]]
        return torch.cat([skip, up], 1)


class WideUnet(nn.Module):
    def __init__(self, in_channels=1, classes=2, width=1.0,
                 filters=(64, 128, 196, 256, 512), top_filters=32):
        super().__init__()
        f = [scale(x, width) for x in filters]
        self.down = nn.ModuleList()
        cin = in_channels
        for level in range(4):
            self.down.append(TwoConv(cin, f[level]))
            cin = f[level]
        self.bottleneck = ConvReluBn(f[3], f[4])
        self.up, self.up_conv = nn.ModuleList(), nn.ModuleList()
        cin = f[4]
        for level in (3, 2, 1, 0):
            self.up.append(UpCat(cin, f[level]))
            self.up_conv.append(TwoConv(2 * f[level], f[level]))
            cin = f[level]
        top = scale(top_filters, width)
        self.top = ConvReluBn(f[0], top)
        self.logits = nn.Conv2d(top, classes, 3, padding=1)
        he_normal_(self.logits.weight)
        nn.init.zeros_(self.logits.bias)

    def forward(self, x):
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2, 2, 0, 1, ceil_mode=True)
        x = self.bottleneck(x)
        for up, conv, skip in zip(self.up, self.up_conv, reversed(skips)):
            x = conv(up(x, skip))
        return self.logits(self.top(x))


def main():
    p = common.parser("train-step time of the plain-PyTorch wide_unet")
    p.add_argument("--width", type=float, default=1.0)
    args = p.parse_args()
    channels = int(args.shape.split(",")[1])
    common.run(lambda: WideUnet(channels, args.classes, args.width), args,
               {"model": "wide_unet", "width": args.width})


if __name__ == "__main__":
    main()
