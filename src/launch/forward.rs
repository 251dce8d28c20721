//! Foreground mode's signal forwarding: SIGINT, SIGTERM and SIGHUP sent to profilec go to the
//! server (which runs in its own process group, so it never gets a terminal's Ctrl-C twice).
//!
//! signal-hook's flag handlers only set an atomic (async-signal-safe); the wait loops poll the
//! flags and forward with kill(2) from normal code.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use signal_hook::SigId;

use super::spawn::LoggedChild;

const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

pub(crate) struct Forwarder {
    flags: Vec<(Signal, Arc<AtomicBool>)>,
    ids: Vec<SigId>,
    /// The first signal forwarded, and when the server must be gone by.
    first: Option<(Signal, Instant)>,
    grace: Duration,
}

impl Forwarder {
    /// Installs the handlers; call before spawning so no signal is lost in between.
    pub(crate) fn install(grace: Duration) -> io::Result<Self> {
        let mut f = Forwarder {
            flags: Vec::new(),
            ids: Vec::new(),
            first: None,
            grace,
        };
        for sig in FORWARDED {
            let flag = Arc::new(AtomicBool::new(false));
            f.ids
                .push(signal_hook::flag::register(sig as i32, Arc::clone(&flag))?);
            f.flags.push((sig, flag));
        }
        Ok(f)
    }

    /// Forwards every signal received since the last call. If the server outlives the grace
    /// period after the first one, it is killed: a supervisor's SIGTERM must end the service.
    pub(crate) fn pump(&mut self, child: &mut LoggedChild) -> io::Result<()> {
        for (sig, flag) in &self.flags {
            if flag.swap(false, Ordering::SeqCst) {
                child.signal(*sig)?;
                if self.first.is_none() {
                    self.first = Some((*sig, Instant::now() + self.grace));
                }
            }
        }
        if let Some((_, deadline)) = self.first
            && Instant::now() >= deadline
        {
            child.signal(Signal::SIGKILL)?;
        }
        Ok(())
    }

    pub(crate) fn forwarded(&self) -> Option<Signal> {
        self.first.map(|(s, _)| s)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
