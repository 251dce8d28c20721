//! Reads the header and tensor table of one GGUF file (v2/v3, little-endian) through any
//! `BufRead + Seek`, touching no tensor data. Every count is checked against the bytes left in the
//! file before anything is allocated, so a hostile header cannot make us allocate more than the
//! file's size.

use std::collections::HashSet;
use std::io::{BufRead, Read, Seek, SeekFrom};

use serde::Serialize;

use super::error::FormatError;
use super::types::GgmlType;
use super::value::{
    MAX_KEPT_ARRAY, MAX_KEPT_STRING_ARRAY, MetaArray, MetaValue, Metadata, ValueType,
};

/// GGML_MAX_DIMS.
const MAX_DIMS: u32 = 4;
/// Skips shorter than this are consumed from the buffer; a seek would throw the buffer away.
const SEEK_THRESHOLD: u64 = 64 * 1024;
const DEFAULT_ALIGNMENT: u64 = 32;

/// One entry of a file's tensor table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub ggml_type: GgmlType,
    /// `ne` in ggml order: `dims[0]` is the row length.
    pub dims: Vec<u64>,
    pub n_elements: u64,
    pub n_bytes: u64,
    /// Offset of the tensor's data from the start of the file.
    pub data_offset: u64,
}

/// The header and tensor table of one GGUF file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgufFile {
    pub version: u32,
    pub alignment: u64,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    /// Start of the tensor data section (header end rounded up to the alignment).
    pub data_offset: u64,
    pub file_size: u64,
}

/// Reads the header of a GGUF whose total length is `file_size`. Only the header bytes are read;
/// skipped values (a vocabulary's strings) are consumed from the reader's buffer without copying,
/// and large skipped arrays are seeked over. Pass a `BufReader<File>` or a `Cursor`.
pub fn read_header<R: BufRead + Seek>(reader: R, file_size: u64) -> Result<GgufFile, FormatError> {
    let mut r = Src {
        r: reader,
        pos: 0,
        len: file_size,
    };
    let magic: [u8; 4] = r.array("magic")?;
    if &magic != b"GGUF" {
        return Err(FormatError::BadMagic { found: magic });
    }
    let version = r.u32("version")?;
    if version == 2u32.swap_bytes() || version == 3u32.swap_bytes() {
        return Err(FormatError::BigEndian {
            version: version.swap_bytes(),
        });
    }
    if version != 2 && version != 3 {
        return Err(FormatError::UnsupportedVersion { version });
    }
    let n_tensors = r.u64("tensor count")?;
    let n_kv = r.u64("metadata count")?;
    // Smallest possible kv: key length (8) + 1-byte key + type (4) + 1-byte value.
    r.check_count("metadata count", n_kv, 14)?;
    let mut metadata = Metadata::default();
    for _ in 0..n_kv {
        let key = r.string("metadata key")?;
        let type_id = r.u32("metadata value type")?;
        let value = r.value(&key, type_id)?;
        if metadata.entries.insert(key.clone(), value).is_some() {
            return Err(FormatError::DuplicateKey { key });
        }
    }
    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => match v.as_u64() {
            Some(a) if a.is_power_of_two() && a <= 1 << 30 => a,
            _ => {
                return Err(FormatError::BadAlignment {
                    found: format!("{v:?}"),
                });
            }
        },
    };
    // Smallest tensor entry: name length (8) + 1-byte name + n_dims (4) + 1 dim (8) + type (4)
    // + offset (8).
    r.check_count("tensor count", n_tensors, 33)?;
    let mut raw = Vec::new();
    let mut names = HashSet::new();
    for _ in 0..n_tensors {
        let t = r.tensor_entry()?;
        if !names.insert(t.0.clone()) {
            return Err(FormatError::DuplicateTensor { tensor: t.0 });
        }
        raw.push(t);
    }
    let data_offset = r.pos.div_ceil(alignment).saturating_mul(alignment);
    let tensors = place_tensors(raw, data_offset, alignment, file_size)?;
    Ok(GgufFile {
        version,
        alignment,
        metadata,
        tensors,
        data_offset,
        file_size,
    })
}

type RawTensor = (String, GgmlType, Vec<u64>, u64, u64, u64);

/// Turns relative offsets into absolute ones and checks alignment, bounds and overlap.
fn place_tensors(
    raw: Vec<RawTensor>,
    data_offset: u64,
    alignment: u64,
    file_size: u64,
) -> Result<Vec<TensorInfo>, FormatError> {
    let mut out = Vec::with_capacity(raw.len());
    for (name, ggml_type, dims, n_elements, n_bytes, rel) in raw {
        if !rel.is_multiple_of(alignment) {
            return Err(FormatError::Misaligned {
                tensor: name,
                offset: rel,
                alignment,
            });
        }
        let start = data_offset.checked_add(rel);
        let end = start.and_then(|s| s.checked_add(n_bytes));
        match (start, end) {
            (Some(start), Some(end)) if end <= file_size => out.push(TensorInfo {
                name,
                ggml_type,
                dims,
                n_elements,
                n_bytes,
                data_offset: start,
            }),
            _ => {
                let end = end.unwrap_or(u64::MAX);
                return Err(FormatError::TensorPastEnd {
                    tensor: name,
                    end,
                    file_size,
                });
            }
        }
    }
    let mut order: Vec<&TensorInfo> = out.iter().collect();
    order.sort_by_key(|t| t.data_offset);
    for pair in order.windows(2) {
        if let [a, b] = pair
            && a.data_offset + a.n_bytes > b.data_offset
        {
            return Err(FormatError::TensorOverlap {
                first: a.name.clone(),
                second: b.name.clone(),
            });
        }
    }
    Ok(out)
}

/// The f64 whose shortest decimal form equals the f32's (0.95f32 → 0.95, not 0.949999988…),
/// so sampler values print the way the converter wrote them.
fn f32_to_f64(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// A bounded reader: knows its position and the file length, so every read and every count can
/// be checked before it happens.
struct Src<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: BufRead + Seek> Src<R> {
    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn need(&self, n: u64, what: &str) -> Result<(), FormatError> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(())
    }

    fn truncated(&self, what: &str) -> FormatError {
        FormatError::Truncated {
            what: what.to_string(),
            offset: self.pos,
            file_size: self.len,
        }
    }

    fn check_count(&self, what: &str, count: u64, min_each: u64) -> Result<(), FormatError> {
        if count.saturating_mul(min_each) > self.remaining() {
            return Err(FormatError::CountTooLarge {
                what: what.to_string(),
                offset: self.pos,
                count,
                remaining: self.remaining(),
            });
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.r
            .read_exact(&mut buf)
            .map_err(|_| self.truncated(what))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), FormatError> {
        self.need(n, what)?;
        if n < SEEK_THRESHOLD {
            let mut left = n;
            while left > 0 {
                let avail = match self.r.fill_buf() {
                    Ok(buf) => buf.len() as u64,
                    Err(_) => return Err(self.truncated(what)),
                };
                if avail == 0 {
                    return Err(self.truncated(what));
                }
                let k = avail.min(left);
                self.r.consume(k as usize);
                left -= k;
            }
        } else {
            let delta = i64::try_from(n).map_err(|_| self.truncated(what))?;
            self.r
                .seek(SeekFrom::Current(delta))
                .map_err(|_| self.truncated(what))?;
        }
        self.pos += n;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, FormatError> {
        let len = self.u64(what)?;
        self.need(len, what)?;
        let start = self.pos;
        // Grown as bytes arrive, not allocated from the claimed length: over HTTP (src/remote/)
        // the file length is the remote one, and the reader caps what it transfers.
        let mut buf = Vec::new();
        let got = (&mut self.r)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|_| self.truncated(what))?;
        if got as u64 != len {
            return Err(self.truncated(what));
        }
        self.pos += len;
        String::from_utf8(buf).map_err(|_| FormatError::InvalidUtf8 {
            what: what.to_string(),
            offset: start,
        })
    }

    fn skip_string(&mut self, what: &str) -> Result<(), FormatError> {
        let len = self.u64(what)?;
        self.skip(len, what)
    }

    fn scalar(&mut self, ty: ValueType, what: &str) -> Result<MetaValue, FormatError> {
        use ValueType::*;
        Ok(match ty {
            U8 => MetaValue::Int(u8::from_le_bytes(self.array(what)?).into()),
            I8 => MetaValue::Int(i8::from_le_bytes(self.array(what)?).into()),
            U16 => MetaValue::Int(u16::from_le_bytes(self.array(what)?).into()),
            I16 => MetaValue::Int(i16::from_le_bytes(self.array(what)?).into()),
            U32 => MetaValue::Int(u32::from_le_bytes(self.array(what)?).into()),
            I32 => MetaValue::Int(i32::from_le_bytes(self.array(what)?).into()),
            U64 => MetaValue::Int(u64::from_le_bytes(self.array(what)?).into()),
            I64 => MetaValue::Int(i64::from_le_bytes(self.array(what)?).into()),
            F32 => MetaValue::Float(f32_to_f64(f32::from_le_bytes(self.array(what)?))),
            F64 => MetaValue::Float(f64::from_le_bytes(self.array(what)?)),
            Bool => MetaValue::Bool(self.array::<1>(what)?[0] != 0),
            String => MetaValue::String(self.string(what)?),
            Array => return Err(self.truncated(what)),
        })
    }

    fn value(&mut self, key: &str, type_id: u32) -> Result<MetaValue, FormatError> {
        let what = format!("value of `{key}`");
        let ty = ValueType::from_id(type_id).ok_or_else(|| FormatError::UnknownValueType {
            key: key.to_string(),
            type_id,
        })?;
        if ty != ValueType::Array {
            return self.scalar(ty, &what);
        }
        let elem_id = self.u32(&what)?;
        let elem = ValueType::from_id(elem_id).ok_or_else(|| FormatError::UnknownValueType {
            key: key.to_string(),
            type_id: elem_id,
        })?;
        let len = self.u64(&what)?;
        // Like gguf.cpp, arrays of arrays are refused: no model uses them.
        let min_each = match elem {
            ValueType::String => 8,
            ValueType::Array => {
                return Err(FormatError::NestedArray {
                    key: key.to_string(),
                });
            }
            other => other.fixed_size().unwrap_or(1),
        };
        self.check_count(&what, len, min_each)?;
        let keep = match elem {
            ValueType::String => len <= MAX_KEPT_STRING_ARRAY,
            _ => len <= MAX_KEPT_ARRAY,
        };
        if keep {
            let mut values = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            for _ in 0..len {
                values.push(self.scalar(elem, &what)?);
            }
            return Ok(MetaValue::Array(MetaArray {
                elem,
                len,
                values: Some(values),
            }));
        }
        if elem == ValueType::String {
            for _ in 0..len {
                self.skip_string(&what)?;
            }
        } else {
            self.skip(len * elem.fixed_size().unwrap_or(1), &what)?;
        }
        Ok(MetaValue::Array(MetaArray {
            elem,
            len,
            values: None,
        }))
    }

    fn tensor_entry(&mut self) -> Result<RawTensor, FormatError> {
        let name = self.string("tensor name")?;
        let n_dims = self.u32("tensor dimension count")?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(FormatError::InvalidTensor {
                tensor: name,
                reason: format!("{n_dims} dimensions (must be 1 to {MAX_DIMS})"),
            });
        }
        let mut dims = Vec::with_capacity(MAX_DIMS as usize);
        for _ in 0..n_dims {
            dims.push(self.u64("tensor dimension")?);
        }
        let type_id = self.u32("tensor type")?;
        let rel = self.u64("tensor offset")?;
        let ggml_type =
            GgmlType::from_id(type_id).ok_or_else(|| FormatError::UnknownTensorType {
                tensor: name.clone(),
                type_id,
            })?;
        let invalid = |reason: String| FormatError::InvalidTensor {
            tensor: name.clone(),
            reason,
        };
        let n_elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| {
                if d > i64::MAX as u64 {
                    None
                } else {
                    acc.checked_mul(d)
                }
            })
            .ok_or_else(|| invalid(format!("dimensions {dims:?} overflow")))?;
        let ne0 = dims.first().copied().unwrap_or(0);
        let n_bytes = ggml_type.bytes_for(ne0, n_elements).ok_or_else(|| {
            invalid(format!(
                "row length {ne0} is not a multiple of the {} block size {}",
                ggml_type.name, ggml_type.block_size
            ))
        })?;
        Ok((name, ggml_type, dims, n_elements, n_bytes, rel))
    }
}
