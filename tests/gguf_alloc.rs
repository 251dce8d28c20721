//! A hostile header cannot make the reader allocate more than the file's size: a counting
//! global allocator records the largest single allocation while each crafted file is parsed.
//! The allocator serves the whole test crate, so it counts only on the thread that asked
//! (a thread-local switch): other tests allocating meanwhile do not disturb the measurement.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use profilec::gguf::read_header;

use crate::common;
use common::Gguf;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    // try_with: the allocator also runs while thread-locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn crafted_counts_never_allocate_beyond_the_file() {
    let huge = 1u64 << 60;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("2^60 tensors", Gguf::new().counts(huge, 0).bytes()),
        ("2^60 kvs", Gguf::new().counts(0, huge).bytes()),
        (
            "2^60 u8 array",
            Gguf::new()
                .kv_raw(
                    "a",
                    9,
                    &[&0u32.to_le_bytes()[..], &huge.to_le_bytes()].concat(),
                )
                .bytes(),
        ),
        (
            "4096-entry u8 array claimed, 64 present",
            Gguf::new()
                .kv_raw(
                    "a",
                    9,
                    &[&0u32.to_le_bytes()[..], &4096u64.to_le_bytes(), &[0; 64]].concat(),
                )
                .bytes(),
        ),
        (
            "2^62-byte string",
            Gguf::new()
                .kv_raw("a", 8, &(1u64 << 62).to_le_bytes())
                .bytes(),
        ),
        (
            "huge dims",
            Gguf::new().tensor("t", &[u64::MAX, 2], 0, 0).bytes(),
        ),
    ];
    for (what, bytes) in cases {
        LARGEST.with(|l| l.set(0));
        COUNTING.with(|c| c.set(true));
        let r = read_header(Cursor::new(&bytes), bytes.len() as u64);
        COUNTING.with(|c| c.set(false));
        let largest = LARGEST.with(Cell::get);
        assert!(r.is_err(), "{what}");
        // Messages and the test harness allocate a few KiB; nothing may scale with the claimed count.
        assert!(
            largest <= bytes.len().max(8192),
            "{what}: allocated {largest} bytes"
        );
    }
}
