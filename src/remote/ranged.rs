//! A remote file as `BufRead + Seek` for the GGUF reader: bytes arrive in bounded HTTP Range
//! requests, only where the reader reads; a seek over a skipped array costs nothing. The total
//! transferred is capped, so a hostile header claiming a huge string or array cannot make us
//! download (or allocate) more than the cap.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::{Client, RemoteError};

/// Bytes per Range request: small enough that a header-only shard costs one request, large
/// enough that a 256k-token vocabulary takes a handful.
pub const CHUNK: u64 = 512 * 1024;
/// Most bytes one header may transfer: the largest tokenizers (merges included) are ~30 MiB.
pub const HEADER_BUDGET: u64 = 96 * 1024 * 1024;

pub struct RangeReader<'a> {
    client: &'a Client,
    url: String,
    len: u64,
    /// Position of `buf[0]` in the file.
    buf_start: u64,
    buf: Vec<u8>,
    /// Read position inside `buf`.
    at: usize,
    transferred: u64,
    budget: u64,
    /// Why the last read failed (the GGUF reader only sees "truncated").
    pub error: Option<RemoteError>,
}

impl<'a> RangeReader<'a> {
    pub fn new(client: &'a Client, url: &str, len: u64, budget: u64) -> RangeReader<'a> {
        RangeReader {
            client,
            url: url.to_string(),
            len,
            buf_start: 0,
            buf: Vec::new(),
            at: 0,
            transferred: 0,
            budget,
            error: None,
        }
    }

    /// Bytes received so far.
    pub fn transferred(&self) -> u64 {
        self.transferred
    }

    fn pos(&self) -> u64 {
        self.buf_start + self.at as u64
    }

    fn fail(&mut self, e: RemoteError) -> io::Error {
        let io = io::Error::other(e.to_string());
        self.error = Some(e);
        io
    }

    fn fetch(&mut self) -> io::Result<()> {
        let start = self.pos();
        let want = CHUNK.min(self.len.saturating_sub(start));
        self.buf.clear();
        self.buf_start = start;
        self.at = 0;
        if want == 0 {
            return Ok(());
        }
        if self.transferred + want > self.budget {
            return Err(self.fail(RemoteError::HeaderTooLarge {
                url: self.url.clone(),
                budget: self.budget,
            }));
        }
        let (_, response) = self
            .client
            .get_range(&self.url, start, Some(start + want - 1))
            .map_err(|e| self.fail(e))?;
        // take(): never more than asked for, whatever the server sends.
        let mut body = response.into_body().into_reader().take(want);
        let mut buf = Vec::with_capacity(want as usize);
        if let Err(e) = body.read_to_end(&mut buf) {
            let url = self.url.clone();
            return Err(self.fail(RemoteError::Interrupted {
                url,
                reason: e.to_string(),
            }));
        }
        self.transferred += buf.len() as u64;
        if (buf.len() as u64) < want {
            let url = self.url.clone();
            return Err(self.fail(RemoteError::Interrupted {
                url,
                reason: format!("got {} of {want} bytes at offset {start}", buf.len()),
            }));
        }
        self.buf = buf;
        Ok(())
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for RangeReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buf.len() {
            self.fetch()?;
        }
        Ok(&self.buf[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.buf.len());
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos().checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        let end = self.buf_start + self.buf.len() as u64;
        if (self.buf_start..=end).contains(&target) {
            self.at = (target - self.buf_start) as usize;
        } else {
            // Outside the buffer: the next read fetches from the target.
            self.buf.clear();
            self.buf_start = target;
            self.at = 0;
        }
        Ok(target)
    }
}
