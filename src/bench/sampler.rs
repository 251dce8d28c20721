//! Resource use of the server process, sampled at a fixed rate on a background thread:
//! CPU time of all its threads (`utime + stime` in /proc/PID/stat) and memory (resident pages
//! of /proc/PID/statm, `VmHWM` of /proc/PID/status). The thread measures its own CPU cost too (getrusage RUSAGE_THREAD),
//! so the report can say what the measurement cost (docs/bench.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Since the sampler started.
    pub t_ms: f64,
    /// utime + stime of all threads, seconds.
    pub cpu_s: f64,
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// What the sampling thread cost: its own CPU time over its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SamplerCost {
    pub cpu_s: f64,
    pub wall_s: f64,
    /// `cpu_s / wall_s * 100`: % of one core.
    pub cpu_pct: f64,
}

pub struct Sampler {
    start: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<f64>>,
}

impl Sampler {
    /// Starts sampling `pid` every `interval` until [`Sampler::finish`] or the process is gone.
    pub fn start(pid: u32, interval: Duration) -> Sampler {
        let start = Instant::now();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&samples), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut next = Instant::now();
            let mut files = ProcFiles::open(pid);
            while !st.load(Ordering::Relaxed) {
                let Some(sample) = files.as_mut().and_then(|f| f.read(start)) else {
                    break;
                };
                if let Ok(mut v) = s.lock() {
                    v.push(sample);
                }
                next += interval;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            own_cpu_s()
        });
        Sampler {
            start,
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// Milliseconds since the sampler started (to mark windows).
    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// A copy of the samples so far.
    pub fn snapshot(&self) -> Vec<Sample> {
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Stops the thread; all samples and what the sampling cost.
    pub fn finish(mut self) -> (Vec<Sample>, SamplerCost) {
        self.stop.store(true, Ordering::Relaxed);
        let cpu_s = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or(0.0);
        let wall_s = self.start.elapsed().as_secs_f64();
        let cost = SamplerCost {
            cpu_s,
            wall_s,
            cpu_pct: if wall_s > 0.0 {
                cpu_s / wall_s * 100.0
            } else {
                0.0
            },
        };
        (self.snapshot(), cost)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// CPU use over `[from_ms, to_ms]`, % of one core: the first and last sample inside the window.
pub fn cpu_pct(samples: &[Sample], from_ms: f64, to_ms: f64) -> Option<f64> {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t_ms >= from_ms && s.t_ms <= to_ms)
        .collect();
    let (a, b) = (inside.first()?, inside.last()?);
    let wall = (b.t_ms - a.t_ms) / 1000.0;
    (wall > 0.0).then(|| (b.cpu_s - a.cpu_s) / wall * 100.0)
}

/// Peak resident memory, MiB: the kernel's high-water mark, or the largest RSS seen.
pub fn peak_rss_mib(samples: &[Sample], from_ms: f64, to_ms: f64) -> Option<f64> {
    samples
        .iter()
        .filter(|s| s.t_ms >= from_ms && s.t_ms <= to_ms)
        .map(|s| s.hwm_kib.max(s.rss_kib))
        .max()
        .map(|k| k as f64 / 1024.0)
}

/// The server's /proc files, opened once and re-read in place with `pread` each sample: one
/// system call per file instead of open + read + close and a path allocation. On virtualised
/// runners system calls dominate the sampler's cost (a CI runner measured 1.49 % of a core when
/// every sample opened /proc/PID/stat and /proc/PID/status).
struct ProcFiles {
    stat: std::fs::File,
    statm: std::fs::File,
    status: std::fs::File,
    buf: Vec<u8>,
    clk: f64,
    page_kib: u64,
    /// `VmHWM` as last read: /proc/PID/status is the costliest file and the high-water mark only
    /// grows, so it is re-read every [`HWM_EVERY`] samples; RSS is read every sample.
    hwm_kib: u64,
    count: u64,
}

const HWM_EVERY: u64 = 10;

impl ProcFiles {
    fn open(pid: u32) -> Option<ProcFiles> {
        let open = |name: &str| std::fs::File::open(format!("/proc/{pid}/{name}")).ok();
        Some(ProcFiles {
            stat: open("stat")?,
            statm: open("statm")?,
            status: open("status")?,
            buf: Vec::with_capacity(4096),
            clk: clock_ticks(),
            page_kib: page_kib(),
            hwm_kib: 0,
            count: 0,
        })
    }

    fn read(&mut self, start: Instant) -> Option<Sample> {
        let t_ms = start.elapsed().as_secs_f64() * 1000.0;
        let stat = reread(&self.stat, &mut self.buf)?;
        // Fields after `(comm)`, which may itself contain spaces and parentheses.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let mut fields = rest.split_whitespace();
        // state is field 3 of the full line, index 0 here; utime/stime are fields 14/15.
        if fields.next() == Some("Z") {
            return None;
        }
        let mut fields = fields.skip(10);
        let utime: f64 = fields.next()?.parse().ok()?;
        let stime: f64 = fields.next()?.parse().ok()?;
        let cpu_s = (utime + stime) / self.clk;
        // statm: size resident shared … in pages.
        let statm = reread(&self.statm, &mut self.buf)?;
        let resident: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        let rss_kib = resident * self.page_kib;
        if self.count.is_multiple_of(HWM_EVERY) {
            let status = reread(&self.status, &mut self.buf)?;
            self.hwm_kib = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        self.count += 1;
        Some(Sample {
            t_ms,
            cpu_s,
            rss_kib,
            hwm_kib: self.hwm_kib.max(rss_kib),
        })
    }
}

/// The whole file from offset 0 into `buf` (procfs regenerates it on every read at 0).
fn reread<'a>(file: &std::fs::File, buf: &'a mut Vec<u8>) -> Option<&'a str> {
    use std::os::unix::fs::FileExt;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = file.read_at(&mut chunk, buf.len() as u64).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            return None;
        }
    }
    std::str::from_utf8(buf).ok()
}

fn page_kib() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) if n >= 1024 => n.unsigned_abs() / 1024,
        _ => 4,
    }
}

fn clock_ticks() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => n as f64,
        _ => 100.0,
    }
}

fn own_cpu_s() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let s = Sampler::start(std::process::id(), Duration::from_millis(10));
        let until = Instant::now() + Duration::from_millis(120);
        let mut x = 0u64;
        while Instant::now() < until {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        let (samples, cost) = s.finish();
        assert!(samples.len() >= 5, "{}", samples.len());
        let last = samples.last().unwrap();
        assert!(last.rss_kib > 0 && last.hwm_kib >= last.rss_kib);
        let cpu = cpu_pct(&samples, 0.0, 1e9).unwrap();
        // The share a busy loop gets depends on the machine's load; that it shows is the point.
        assert!(cpu > 0.0, "a busy loop shows as CPU: {cpu}");
        assert!(cost.wall_s > 0.1);
        eprintln!(
            "{} samples, sampler cost {:.3} ms CPU = {:.2} % of one core",
            samples.len(),
            cost.cpu_s * 1000.0,
            cost.cpu_pct
        );
    }
}
