//! Reading the header of a multi-gigabyte model touches only the header.
//!
//! Builds an 8 GiB sparse file in a temp dir (a real fixture followed by a hole, so it costs no
//! disk), then measures `read_header` through a BufReader over a counting reader: time per read,
//! and bytes actually pulled from the file (printed once). Results: docs/performance.md.

use std::cell::Cell;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use criterion::{Criterion, criterion_group, criterion_main};
use profilec::gguf::read_header;

const SIZE: u64 = 8 << 30;

/// Counts the bytes read from the wrapped reader (below the BufReader, so it sees real I/O).
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    seeks: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.seeks.set(self.seeks.get() + 1);
        self.inner.seek(pos)
    }
}

fn sparse_model(dir: &Path, fixture: &str) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(fixture);
    let dst = dir.join(fixture);
    std::fs::copy(&src, &dst).expect("copy fixture");
    File::options()
        .write(true)
        .open(&dst)
        .and_then(|f| f.set_len(SIZE))
        .expect("set_len");
    dst
}

fn read_once(path: &Path) -> (usize, u64, u64, u64) {
    let read = Rc::new(Cell::new(0));
    let seeks = Rc::new(Cell::new(0));
    let file = File::open(path).expect("open");
    let len = file.metadata().expect("metadata").len();
    let counting = Counting {
        inner: file,
        read: read.clone(),
        seeks: seeks.clone(),
    };
    let h = read_header(BufReader::new(counting), len).expect("header");
    (h.tensors.len(), h.data_offset, read.get(), seeks.get())
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("gguf_header");
    for fixture in ["qwen3moe.gguf", "gemma3-swa.gguf"] {
        let path = sparse_model(dir.path(), fixture);
        let (tensors, header, bytes, seeks) = read_once(&path);
        eprintln!(
            "{fixture} padded to {} GiB: {tensors} tensors, header {header} bytes, {bytes} bytes read, {seeks} seeks",
            SIZE >> 30
        );
        group.bench_function(fixture, |b| {
            b.iter(|| black_box(read_once(black_box(&path))))
        });
    }
    // The real 253 MB Gemma 3 270M when present (scripts/fetch_test_models.sh).
    let gemma =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/models/gemma-3-270m-q4_k_m.gguf");
    if gemma.is_file() {
        let (tensors, header, bytes, seeks) = read_once(&gemma);
        eprintln!(
            "gemma-3-270m (262144-token vocab): {tensors} tensors, header {header} bytes, {bytes} bytes read, {seeks} seeks"
        );
        group.bench_function("gemma-3-270m", |b| {
            b.iter(|| black_box(read_once(black_box(&gemma))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
