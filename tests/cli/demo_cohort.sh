# Sourced by the cohort tests: demo_cohort CLI DIR COUNT makes COUNT small demo slides
# DIR/slides/slide-N.tiff (seeds 1..COUNT, 2048 x 1536 px, each with lesions).
demo_cohort() {
    local cli=$1 dir=$2 count=$3 n
    mkdir -p "$dir/slides"
    for n in $(seq 1 "$count"); do
        "$cli" make-demo --out "$dir/make-$n" --seed "$n" --train-per-class 0 --val-per-class 0 \
            --test-per-class 0 --slide-width 2048 --slide-height 1536 2>/dev/null
        mv "$dir/make-$n/slide/demo-slide.tiff" "$dir/slides/slide-$n.tiff"
        rm -rf "$dir/make-$n"
    done
}
