#!/usr/bin/env python3
"""Plain-PyTorch Swin UNETR v1 for the train-step comparison, written from docs/MODELS.md section 6
(MONAI swin_unetr.py: patch 2, depths 2,2,2,2, heads 3,6,12,24, window 7, merging down-sampling,
affine-free normalised hidden states, UnetResBlock with instance norm, [up, skip] up-blocks).
MONAI is not installed here, so this is our own code of the same network; inputs must be
multiples of 32 (orch pads other sizes, MONAI refuses them). Prints one JSON line.

usage: swin_unetr.py --shape 1,1,32,32,32 [--feature 12] [--threads N] [--steps N] [--warmup N]
"""
import torch
import torch.nn.functional as F
from torch import nn

import common


def window_size_for(dims, window, shift):
    """An axis no larger than the window shrinks the window to it and loses its shift."""
    ws, ss = list(window), list(shift)
    for i, d in enumerate(dims):
        if d <= window[i]:
            ws[i], ss[i] = d, 0
    return tuple(ws), tuple(ss)


def window_partition(x, ws):
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).contiguous().view(-1, ws[0] * ws[1] * ws[2], c)


def window_reverse(windows, ws, dims):
    b, d, h, w = dims
    x = windows.view(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).contiguous().view(b, d, h, w, -1)


def compute_mask(dims, ws, ss):
    img = torch.zeros((1, *dims, 1))
    cnt = 0
    regions = [(slice(-w), slice(-w, -s), slice(-s, None)) for w, s in zip(ws, ss)]
    for d in regions[0]:
        for h in regions[1]:
            for w in regions[2]:
                img[:, d, h, w, :] = cnt
                cnt += 1
    mw = window_partition(img, ws).squeeze(-1)
    mask = mw.unsqueeze(1) - mw.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        size = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(size, heads))
        coords = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij"))
        flat = coords.flatten(1)
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
        for i, w in enumerate(window):
            rel[:, :, i] += w - 1
        rel[:, :, 0] *= (2 * window[1] - 1) * (2 * window[2] - 1)
        rel[:, :, 1] *= 2 * window[2] - 1
        self.register_buffer("relative_position_index", rel.sum(-1))
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.attn_drop, self.proj, self.proj_drop = nn.Dropout(0.0), nn.Linear(dim, dim), nn.Dropout(0.0)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x, mask):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = self.attn_drop(torch.softmax(attn, -1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.linear1, self.linear2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.drop = nn.Dropout(0.0)  # applied twice, MONAI's "swin" MLP mode

    def attend(self, x, mask):
        b, d, h, w, c = x.shape
        ws, ss = window_size_for((d, h, w), self.window, self.shift)
        x = self.norm1(x)
        pads = [(ws[i] - s % ws[i]) % ws[i] for i, s in enumerate((d, h, w))]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        dims = [b, d + pads[0], h + pads[1], w + pads[2]]
        shifted = any(s > 0 for s in ss)
        if shifted:
            x = torch.roll(x, shifts=[-s for s in ss], dims=(1, 2, 3))
        windows = self.attn(window_partition(x, ws), mask if shifted else None)
        x = window_reverse(windows.view(-1, *ws, c), ws, dims)
        if shifted:
            x = torch.roll(x, shifts=list(ss), dims=(1, 2, 3))
        return x[:, :d, :h, :w, :].contiguous()

    def forward(self, x, mask):
        x = x + self.attend(x, mask)
        return x + self.drop(self.linear2(self.drop(F.gelu(self.linear1(self.norm2(x))))))


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm, self.reduction = nn.LayerNorm(8 * dim), nn.Linear(8 * dim, 2 * dim, bias=False)

    def forward(self, x):
        d, h, w = x.shape[1:4]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2, 0, d % 2))
        order = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1),
                 (1, 1, 1)]
        x = torch.cat([x[:, i::2, j::2, k::2, :] for i, j, k in order], -1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim, depth, heads, window=(7, 7, 7)):
        super().__init__()
        self.window, self.shift = window, tuple(w // 2 for w in window)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, (0, 0, 0) if i % 2 == 0 else self.shift)
            for i in range(depth))
        self.downsample = PatchMerging(dim)

    def forward(self, x):
        b, c, d, h, w = x.shape
        ws, ss = window_size_for((d, h, w), self.window, self.shift)
        x = x.permute(0, 2, 3, 4, 1)
        padded = [-(-s // ws[i]) * ws[i] for i, s in enumerate((d, h, w))]
        mask = compute_mask(padded, ws, ss)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.downsample(x.view(b, d, h, w, -1)).permute(0, 4, 1, 2, 3)


def norm_out(x):
    """Affine-free LayerNorm over channels of a (B, C, D, H, W) map."""
    return F.layer_norm(x.permute(0, 2, 3, 4, 1), [x.shape[1]]).permute(0, 4, 1, 2, 3)


class InstanceNorm(nn.Module):
    """nn.InstanceNorm3d (affine-free) without its Python-only refusal of a 1x1x1 map in
    training, which LibTorch does not have: at a 32^3 input hs4 is 1^3 and normalises to 0."""

    def forward(self, x):
        return torch.instance_norm(x, None, None, None, None, True, 0.1, 1e-5, False)


class ResBlock(nn.Module):
    """MONAI UnetResBlock, kernel 3, stride 1, instance norm, LeakyReLU 0.01."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv3d(cout, cout, 3, padding=1, bias=False)
        self.norm1, self.norm2 = InstanceNorm(), InstanceNorm()
        self.conv3 = nn.Conv3d(cin, cout, 1, bias=False) if cin != cout else None
        self.norm3 = InstanceNorm() if cin != cout else None

    def forward(self, x):
        out = F.leaky_relu(self.norm1(self.conv1(x)), 0.01)
        out = self.norm2(self.conv2(out))
        res = self.norm3(self.conv3(x)) if self.conv3 is not None else x
        return F.leaky_relu(out + res, 0.01)


class UpBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.transp_conv = nn.ConvTranspose3d(cin, cout, 2, stride=2, bias=False)
        self.conv_block = ResBlock(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv_block(torch.cat([self.transp_conv(x), skip], 1))


class SwinUnetr(nn.Module):
    def __init__(self, in_channels=1, classes=2, fs=24, depths=(2, 2, 2, 2), heads=(3, 6, 12, 24)):
        super().__init__()
        self.patch_embed = nn.Conv3d(in_channels, fs, 2, stride=2)
        self.pos_drop = nn.Dropout(0.0)
        self.layers = nn.ModuleList(BasicLayer(fs * 2 ** i, depths[i], heads[i]) for i in range(4))
        self.encoder1, self.encoder2 = ResBlock(in_channels, fs), ResBlock(fs, fs)
        self.encoder3, self.encoder4 = ResBlock(2 * fs, 2 * fs), ResBlock(4 * fs, 4 * fs)
        self.encoder10 = ResBlock(16 * fs, 16 * fs)
        self.decoder5, self.decoder4 = UpBlock(16 * fs, 8 * fs), UpBlock(8 * fs, 4 * fs)
        self.decoder3, self.decoder2 = UpBlock(4 * fs, 2 * fs), UpBlock(2 * fs, fs)
        self.decoder1 = UpBlock(fs, fs)
        self.out = nn.Conv3d(fs, classes, 1)

    def forward(self, x):
        h = self.pos_drop(self.patch_embed(x))
        hidden = [norm_out(h)]
        for layer in self.layers:  # the next stage gets the raw map, the decoder the normed one
            h = layer(h.contiguous())
            hidden.append(norm_out(h))
        enc0, enc1 = self.encoder1(x), self.encoder2(hidden[0])
        enc2, enc3 = self.encoder3(hidden[1]), self.encoder4(hidden[2])
        dec3 = self.decoder5(self.encoder10(hidden[4]), hidden[3])
        dec0 = self.decoder2(self.decoder3(self.decoder4(dec3, enc3), enc2), enc1)
        return self.out(self.decoder1(dec0, enc0))


def main():
    p = common.parser("train-step time of a plain-PyTorch Swin UNETR v1")
    p.add_argument("--feature", type=int, default=24)
    args = p.parse_args()
    channels = int(args.shape.split(",")[1])
    common.run(lambda: SwinUnetr(channels, args.classes, args.feature), args,
               {"model": "swin_unetr", "feature_size": args.feature})


if __name__ == "__main__":
    main()
