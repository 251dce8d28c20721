//! Writes small GGUF byte streams for hostile-input tests: the bytes a broken or malicious
//! writer would produce, which gguf-py refuses to write.
#![allow(dead_code)]

pub struct Gguf {
    version: u32,
    counts: Option<(u64, u64)>,
    kvs: Vec<Vec<u8>>,
    tensors: Vec<Vec<u8>>,
    data: usize,
}

fn string(s: &str) -> Vec<u8> {
    [&(s.len() as u64).to_le_bytes()[..], s.as_bytes()].concat()
}

impl Gguf {
    pub fn new() -> Gguf {
        Gguf {
            version: 3,
            counts: None,
            kvs: Vec::new(),
            tensors: Vec::new(),
            data: 0,
        }
    }

    pub fn version(mut self, v: u32) -> Gguf {
        self.version = v;
        self
    }

    /// Overrides the tensor and kv counts written in the header.
    pub fn counts(mut self, tensors: u64, kvs: u64) -> Gguf {
        self.counts = Some((tensors, kvs));
        self
    }

    /// A key, a value type id and the raw value bytes.
    pub fn kv_raw(mut self, key: &str, ty: u32, value: &[u8]) -> Gguf {
        self.kvs
            .push([string(key), ty.to_le_bytes().to_vec(), value.to_vec()].concat());
        self
    }

    pub fn kv_u32(self, key: &str, v: u32) -> Gguf {
        self.kv_raw(key, 4, &v.to_le_bytes())
    }

    pub fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Gguf {
        let mut t = string(name);
        t.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            t.extend_from_slice(&d.to_le_bytes());
        }
        t.extend_from_slice(&ty.to_le_bytes());
        t.extend_from_slice(&offset.to_le_bytes());
        self.tensors.push(t);
        self
    }

    /// Bytes of tensor data after the aligned header.
    pub fn data(mut self, n: usize) -> Gguf {
        self.data = n;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let (nt, nkv) = self
            .counts
            .unwrap_or((self.tensors.len() as u64, self.kvs.len() as u64));
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&nt.to_le_bytes());
        b.extend_from_slice(&nkv.to_le_bytes());
        for kv in &self.kvs {
            b.extend_from_slice(kv);
        }
        for t in &self.tensors {
            b.extend_from_slice(t);
        }
        if self.data > 0 {
            b.resize(b.len().div_ceil(32) * 32 + self.data, 0);
        }
        b
    }
}
