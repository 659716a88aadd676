//! [`Captured`]: a bounded record of what learner code printed, its start and its end, since
//! learner code may print megabytes; [`SharedCapture`] to fill it from several writers.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// How much of the start, and of the end, of an output stream is kept.
pub const KEPT_BYTES: usize = 1 << 20;

/// What is kept of an output stream: its start and its end, and how long it was in all.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    head: Vec<u8>,
    /// The last bytes, once the stream outgrew `head`.
    tail: VecDeque<u8>,
    total: u64,
}

impl Captured {
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEPT_BYTES.saturating_sub(self.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(KEPT_BYTES);
        self.tail.drain(..excess);
    }

    /// The kept text; where bytes were dropped from the middle, a line says how many.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.truncated() {
            let dropped = self.total - (self.head.len() + self.tail.len()) as u64;
            text.push_str(&format!("\n… ({dropped} bytes not kept) …\n"));
            let tail: Vec<u8> = self.tail.iter().copied().collect();
            text.push_str(&String::from_utf8_lossy(&tail));
        }
        text
    }

    /// The text of what was written after the first `mark` bytes (a [`Captured::total`] read
    /// earlier): exactly those bytes while they are all kept, or all that is kept once a flood
    /// has dropped some of them.
    pub fn since(&self, mark: u64) -> String {
        let kept_from = self.total - self.tail.len() as u64;
        if mark <= self.head.len() as u64 && !self.truncated() {
            return String::from_utf8_lossy(&self.head[mark as usize..]).into_owned();
        }
        if self.truncated() && mark >= kept_from {
            let tail: Vec<u8> =
                self.tail.iter().skip((mark - kept_from) as usize).copied().collect();
            return String::from_utf8_lossy(&tail).into_owned();
        }
        self.text()
    }

    /// Whether bytes were dropped from the middle.
    pub fn truncated(&self) -> bool {
        self.total > (self.head.len() + self.tail.len()) as u64
    }

    /// How many bytes were written in all, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// A [`Captured`] that several writers fill at once (both pipes of a process, or every thread
/// of an in-process learner). Cheap to clone: clones share the record.
#[derive(Debug, Default, Clone)]
pub struct SharedCapture(Arc<Mutex<Captured>>);

impl SharedCapture {
    pub fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(bytes);
    }

    pub fn snapshot(&self) -> Captured {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl io::Write for SharedCapture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.push(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedCapture {
    type Writer = SharedCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_start_and_the_end_and_counts_the_rest() {
        let mut captured = Captured::default();
        captured.push(&vec![b'a'; KEPT_BYTES]);
        captured.push(&vec![b'b'; KEPT_BYTES * 3]);
        captured.push(b"the end");
        assert!(captured.truncated());
        assert_eq!(captured.total(), (KEPT_BYTES * 4 + 7) as u64);
        let text = captured.text();
        assert!(text.starts_with('a') && text.ends_with("the end"));
        assert!(text.contains("bytes not kept"));
    }

    #[test]
    fn what_came_since_a_mark_is_all_of_it_once_a_flood_dropped_some() {
        let mut captured = Captured::default();
        captured.push(b"before\n");
        let mark = captured.total();
        captured.push(b"after\n");
        assert_eq!(captured.since(mark), "after\n");
        captured.push(&vec![b'x'; 3 * KEPT_BYTES]);
        let since = captured.since(mark);
        assert!(since.starts_with("before\n") && since.contains("bytes not kept"), "all kept");
        let late = captured.total();
        captured.push(b"late\n");
        assert_eq!(captured.since(late), "late\n");
    }
}
