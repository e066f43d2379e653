# Sourced by the CLI tests: small_cnn_model REF_DIR OUT_DIR writes OUT_DIR/cnn.pt (the reference
# small CNN, TorchScript) and its sidecar OUT_DIR/cnn.json (binary, 128 px, ~1 µm/px).
small_cnn_model() {
    cp "$1/smallcnn.traced.pt" "$2/cnn.pt"
    cat >"$2/cnn.json" <<'JSON'
{"classes": ["benign", "malignant"], "output": "sigmoid", "input_size": [128, 128],
 "microns_per_pixel": 0.998}
JSON
}
