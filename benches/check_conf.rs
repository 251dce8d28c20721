//! `check` on a generated 1,000-profile models.conf (target: under 30 ms). Prints the figure;
//! docs/performance.md records it.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use profilec::check::check_source;

fn thousand_profiles() -> String {
    let mut s = String::from("# generated: 1,000 profiles in the corpus' style\n\n");
    for i in 0..1000 {
        s.push_str(&format!(
            "# -----------------------------------------------------------------------------\n\
             # Model {i}: MoE, 48 layers\n\
             [model-{i}-q4]\n\
             NAME=Model {i} Q4_K_M\n\
             DESCRIPTION=Generated profile {i}\n\
             SPEED=~{i} t/s\n\
             MODEL=Family/Model-{i}/Model-{i}-Q4_K_M-00001-of-00003.gguf\n\
             CTX_SIZE=262144\n\
             N_GPU_LAYERS=99\n\
             FIT=off\n\
             EXTRA_ARGS=--jinja -np 1 --no-context-shift --temp 1.0 --top-p 0.95 --top-k 40 --min-p 0.01 -b 2048 -ub 512 -ot blk\\.([0-9]|1[0-6])\\.=CUDA0,blk\\.(1[7-9]|2[0-4])\\.=CUDA1,exps=CPU\n\n"
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = thousand_profiles();
    let report = check_source(text.clone(), None);
    println!(
        "1,000-profile file: {} bytes, {} profiles, {} diagnostics",
        text.len(),
        report.conf.profiles.len(),
        report.diagnostics.len()
    );
    c.bench_function("syntax: parse 1000 profiles", |b| {
        b.iter(|| profilec::syntax::Document::parse(black_box(text.clone())))
    });
    c.bench_function("config: parse + load 1000 profiles", |b| {
        b.iter(|| {
            profilec::config::load(profilec::syntax::Document::parse(black_box(text.clone())))
        })
    });
    let extra = "--jinja -np 1 --no-context-shift --temp 1.0 --top-p 0.95 --top-k 40 --min-p 0.01 -b 2048 -ub 512 -ot blk\\.([0-9]|1[0-6])\\.=CUDA0,blk\\.(1[7-9]|2[0-4])\\.=CUDA1,exps=CPU";
    c.bench_function("flags: parse one EXTRA_ARGS", |b| {
        b.iter(|| profilec::flags::parse_args(black_box(extra)))
    });
    c.bench_function("check 1000 profiles", |b| {
        b.iter(|| check_source(black_box(text.clone()), None))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
