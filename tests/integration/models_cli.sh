#!/usr/bin/env bash
# orch models / orch model-info, read back with python3's json module. The wide_unet parameter
# count is computed here from the architecture (models/wide_unet.cpp, blocks/conv.cpp), not taken
# from orch: conv 3x3 = 9*in*out + out, BatchNorm = 2*out (running statistics are buffers),
# transposed conv 2x2 = 4*in*out + out, filters scaled by width and rounded half away from zero.
source "$(dirname "$0")/lib.sh"

"$ORCH" models --json > models.json
python3 - models.json <<'PY' || fail "orch models --json"
import json, sys
models = {m["name"]: m for m in json.load(open(sys.argv[1]))}
assert models["wide_unet"]["input_form"] == "slice2d", models.get("wide_unet")
assert all(m["summary"] for m in models.values()), "a model has no summary"
PY
"$ORCH" models | grep -q "^wide_unet .*slice2d" || fail "text listing lacks wide_unet"

"$ORCH" model-info wide_unet --set width=0.25 --json > info.json
python3 - info.json <<'PY' || fail "orch model-info wide_unet --set width=0.25"
import json, math, sys
info = json.load(open(sys.argv[1]))

def scale(f, width):  # std::lround, at least 1
    return max(1, int(math.floor(f * width + 0.5)))

def conv_relu_bn(cin, cout):  # conv 3x3 with bias, then BN's weight and bias
    return 9 * cin * cout + cout + 2 * cout

def two_conv(cin, cout):
    return conv_relu_bn(cin, cout) + conv_relu_bn(cout, cout)

def wide_unet_params(width, in_channels=1, classes=2):
    f = [scale(x, width) for x in (64, 128, 196, 256, 512)]
    top = scale(32, width)
    n, cin = 0, in_channels
    for level in range(4):  # encoder
        n += two_conv(cin, f[level])
        cin = f[level]
    n += conv_relu_bn(f[3], f[4])  # bottleneck
    cin = f[4]
    for level in (3, 2, 1, 0):  # deconv 2x2 + ReLU, [skip, up], two convs
        n += 4 * cin * f[level] + f[level] + two_conv(2 * f[level], f[level])
        cin = f[level]
    n += conv_relu_bn(f[0], top)  # top conv
    n += 9 * top * classes + classes  # 3x3 logits
    return n

expected = wide_unet_params(0.25)
assert info["params"] == expected, (info["params"], expected)
assert info["output_shape"] == [1, 2, 64, 64], info["output_shape"]
assert info["input_shape"] == [1, 1, 64, 64], info["input_shape"]
assert info["input_form"] == "slice2d" and info["options"] == {"width": 0.25}, info
PY

# Channels, classes and an odd input shape reach the model.
"$ORCH" model-info wide_unet --set width=0.125 --in-channels 3 --classes 4 \
  --input-shape 2,3,37,29 --json > odd.json
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); \
assert j['output_shape'] == [2,4,37,29], j" odd.json || fail "odd input shape"

# Errors exit 2 and name the offending thing.
expect_error() {  # expect_error NEEDLE ARGS...
  local needle=$1 status=0; shift
  "$ORCH" "$@" > /dev/null 2> err.txt || status=$?
  [ "$status" = 2 ] || fail "orch $* exited $status, expected 2"
  grep -q -- "$needle" err.txt || fail "orch $*: error does not name '$needle': $(cat err.txt)"
}
expect_error frobnicate model-info wide_unet --set frobnicate=3
expect_error no_such_model model-info no_such_model
expect_error "1,1,64" model-info wide_unet --input-shape 1,1,64
expect_error "abc" model-info wide_unet --input-shape 1,1,abc,64
expect_error "width" model-info wide_unet --set width=-1
echo "models_cli: ok"
