//! [`Learner`]: the learner's module as the judge reaches it, through the adapter at the other
//! end of one connection; what the learner's code logged; and the CPU time it used.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

use httplings::capture::{Captured, SharedCapture};
use httplings::cpu::CpuClock;
use httplings::protocol::{FLUSH_LINE_PREFIX, Request, RequestBody, Response, ResponseBody};

/// How long the adapter may take to answer a flush: it answers at once, unless learner code
/// holds its thread.
const FLUSH_DEADLINE: Duration = Duration::from_secs(2);

/// How far apart two readings of the learner's threads are that, alike, say it has gone quiet.
const QUIET_READINGS_APART: Duration = Duration::from_millis(3);

/// How long past a call's deadline the judge waits for the adapter's own "timed out": if even
/// that does not come, learner code is holding the adapter's thread.
const GRACE: Duration = Duration::from_secs(1);

type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// The learner's module, as the judge reaches it.
pub struct Learner {
    connection: Arc<Connection>,
    log: SharedCapture,
    cpu: CpuClock,
    /// How many flush lines one flush writes into `log`: two for a process (stdout and
    /// stderr), one for a learner on a thread of the judge's process.
    streams: usize,
    /// Further processes (or threads) running the same code, for lessons that must tell what is
    /// made once per process from what is made fresh each time.
    others: Vec<Learner>,
}

impl fmt::Debug for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learner").finish_non_exhaustive()
    }
}

struct Connection {
    writer: tokio::sync::Mutex<Writer>,
    waiting: Mutex<Option<HashMap<u64, oneshot::Sender<ResponseBody>>>>,
    next_id: AtomicU64,
}

/// What a call of the learner's code came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Returned<R> {
    Value(R),
    /// It panicked: the message, and where when known.
    Panicked(String),
    /// It was still running at its deadline, and the adapter dropped it.
    TimedOut(Duration),
}

/// The learner's process can no longer be asked anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// The connection closed: the process ended (how, the runner finds out).
    Gone,
    /// A call got no answer at all, not even the adapter's own "timed out": learner code is
    /// blocking the thread that runs it.
    Unresponsive { call: String, waited: Duration },
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Gone => {
                f.write_str("the process running your code ended before every check was decided")
            }
            Lost::Unresponsive { call, waited } => write!(
                f,
                "your code stopped answering: {call} got no answer for {:.1} s. Something holds \
                 the thread that runs your code instead of awaiting: a busy loop (a retry loop \
                 around a request that fails at once?), std::thread::sleep, or another blocking \
                 call inside async code.",
                waited.as_secs_f64()
            ),
        }
    }
}

impl Learner {
    /// Talks to an adapter at the other end of `stream`; `log` fills with what the learner's
    /// code writes, and `cpu` tells the CPU time it used.
    pub fn connect<S>(stream: S, log: SharedCapture, cpu: CpuClock, streams: usize) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let connection = Arc::new(Connection {
            writer: tokio::sync::Mutex::new(Box::new(write)),
            waiting: Mutex::new(Some(HashMap::new())),
            next_id: AtomicU64::new(1),
        });
        let reading = Arc::clone(&connection);
        tokio::spawn(async move {
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // Anything but a well-formed reply to a call we made is ignored.
                let Ok(response) = serde_json::from_str::<Response>(&line) else { continue };
                if let Some(waiting) =
                    reading.waiting().as_mut().and_then(|waiting| waiting.remove(&response.id))
                {
                    let _ = waiting.send(response.body);
                }
            }
            // Every call still waiting, and every call from now on, learns that the process is gone.
            reading.waiting().take();
        });
        Self { connection, log, cpu, streams, others: Vec::new() }
    }

    /// This learner, with further processes running the same code beside it.
    pub fn with_others(self, others: Vec<Learner>) -> Self {
        Self { others, ..self }
    }

    /// Another process running the same code (the `n`-th, from 0), where the lesson asked for
    /// more than one.
    pub fn other(&self, n: usize) -> Option<&Learner> {
        self.others.get(n)
    }

    /// Calls the learner's code; `what` names the call for the learner ("app()").
    pub async fn call<C, R>(
        &self,
        what: &str,
        call: &C,
        deadline: Duration,
    ) -> Result<Returned<R>, Lost>
    where
        C: Serialize,
        R: DeserializeOwned,
    {
        let body = RequestBody::Call(serde_json::to_value(call).expect("calls always serialise"));
        match self.send(body, deadline, what).await? {
            ResponseBody::Returned(value) => match serde_json::from_value(value) {
                Ok(value) => Ok(Returned::Value(value)),
                // Only learner code tampering with the adapter could send this; believe nothing.
                Err(error) => Ok(Returned::Panicked(format!("an unreadable reply ({error})"))),
            },
            ResponseBody::Panicked(message) => Ok(Returned::Panicked(message)),
            ResponseBody::TimedOut => Ok(Returned::TimedOut(deadline)),
            ResponseBody::Pong | ResponseBody::Flushed => {
                Ok(Returned::Panicked("an unexpected reply".into()))
            }
        }
    }

    /// How long the adapter took to answer a ping: how long learner code held its thread.
    pub async fn ping(&self, deadline: Duration) -> Result<Duration, Lost> {
        let started = Instant::now();
        self.send(RequestBody::Ping, deadline, "a ping").await?;
        Ok(started.elapsed())
    }

    async fn send(
        &self,
        body: RequestBody,
        deadline: Duration,
        what: &str,
    ) -> Result<ResponseBody, Lost> {
        let id = self.connection.next_id.fetch_add(1, Ordering::Relaxed);
        let (answered, answer) = oneshot::channel();
        self.connection.waiting().as_mut().ok_or(Lost::Gone)?.insert(id, answered);
        let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
        let line =
            serde_json::to_string(&Request { id, deadline_ms, body }).expect("requests serialise");
        {
            let mut writer = self.connection.writer.lock().await;
            let written = async {
                writer.write_all(format!("{line}\n").as_bytes()).await?;
                writer.flush().await
            };
            written.await.map_err(|_| Lost::Gone)?;
        }
        let waited = deadline + GRACE;
        match tokio::time::timeout(waited, answer).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(_)) => Err(Lost::Gone),
            Err(_) => Err(Lost::Unresponsive { call: what.to_string(), waited }),
        }
    }

    /// Everything the learner's code has written so far (its log).
    pub fn log(&self) -> Captured {
        self.log.snapshot()
    }

    /// The log as text, without the adapter's flush lines.
    pub fn log_text(&self) -> String {
        super::log::without_flushes(&self.log.snapshot().text())
    }

    /// A mark in the log: what is written from now on is [`Learner::log_text_since`] it.
    pub fn log_mark(&self) -> u64 {
        self.log.snapshot().total()
    }

    /// The log written since `mark` (all that is kept of it, when a flood made the log lose its
    /// middle), without the adapter's flush lines.
    pub fn log_text_since(&self, mark: u64) -> String {
        super::log::without_flushes(&self.log.snapshot().since(mark))
    }

    /// Waits until everything the learner's code wrote before now is in the log: the adapter
    /// writes a fresh marker after it on each of its streams, and the judge reads them back.
    /// Never longer than a second once the adapter answered.
    pub async fn flush(&self) -> Result<(), Lost> {
        let marker = format!("{:016x}", fastrand::u64(..));
        self.send(RequestBody::Flush { marker: marker.clone() }, FLUSH_DEADLINE, "a flush").await?;
        let line = format!("{FLUSH_LINE_PREFIX}{marker}");
        let started = Instant::now();
        while self.log.snapshot().text().matches(&line).count() < self.streams
            && started.elapsed() < Duration::from_secs(1)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Waits until the learner's code has gone quiet: none of its threads on a core or waiting
    /// for one, and none having run since the reading before, a few milliseconds earlier. Never
    /// longer than `at_most`, which is all it waits where the threads cannot be read.
    pub async fn quiet(&self, at_most: Duration) {
        let started = Instant::now();
        let mut before = None;
        while started.elapsed() < at_most {
            let Some((wanted, busy)) = self.cpu.stirring() else {
                tokio::time::sleep(at_most.saturating_sub(started.elapsed())).await;
                return;
            };
            if !busy && before == Some(wanted) {
                return;
            }
            before = (!busy).then_some(wanted);
            tokio::time::sleep(QUIET_READINGS_APART).await;
        }
    }

    /// Runs `playing` while pinging this learner every `every`, noting in `lateness` how long
    /// each ping took: how late the machine ran meanwhile, and (a ping held for long) whether
    /// learner code held the thread that runs it. `Err` when the learner was lost meanwhile.
    pub async fn gauged<T>(
        &self,
        every: Duration,
        lateness: &std::cell::RefCell<super::bounds::Lateness>,
        playing: impl std::future::Future<Output = T>,
    ) -> Result<T, Lost> {
        let probing = async {
            loop {
                let sent = Instant::now();
                let took = self.ping(super::bounds::PATIENCE).await?;
                lateness.borrow_mut().note(sent, took);
                tokio::time::sleep(every).await;
            }
        };
        tokio::select! {
            played = playing => Ok(played),
            lost = probing => lost,
        }
    }

    /// The CPU time the learner's code has used so far, where it can be read.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.cpu.used()
    }

    /// How long the learner's threads have wanted a core so far (on one or queued for one).
    pub fn runnable_time(&self) -> Option<Duration> {
        self.cpu.runnable()
    }
}

impl Connection {
    fn waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<HashMap<u64, oneshot::Sender<ResponseBody>>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
