//! Loopback addresses of the judge's own: one per upstream, in `127.0.0.0/8`, so that an answer
//! naming an upstream's host shows which one. Linux routes the whole block to the loopback
//! interface; where a system answers only on `127.0.0.1` (macOS), that is used instead.
//! Also addresses where nothing answers: [`refused`] and [`unreachable`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A loopback address not handed out before in this process: `127.x.y.z` with `x` from 1
/// (`127.0.0.1` is the learner's), the rest counting up.
pub fn loopback() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let [_, x, y, z] = (n % 0x00fe_fefe).to_be_bytes();
    Ipv4Addr::new(127, 1 + x % 254, 1 + y % 254, 1 + z % 254)
}

/// A socket bound to a fresh loopback address (port 0), or to `127.0.0.1` where only that one
/// answers.
pub(super) fn bound() -> TcpSocket {
    let socket = TcpSocket::new_v4().expect("a socket");
    if socket.bind(SocketAddr::from((loopback(), 0))).is_ok() {
        return socket;
    }
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("a loopback port");
    socket
}

/// A listener on an address of its own.
pub(super) async fn listener() -> TcpListener {
    bound().listen(1024).expect("a listener")
}

/// An address where connecting is refused. The port stays bound (never listening) while this
/// lives, so that no other server, of another check or test running at the same time, can take
/// it meanwhile and answer.
#[derive(Debug)]
pub struct Refused {
    pub address: SocketAddr,
    _held: TcpSocket,
}

pub fn refused() -> Refused {
    let socket = bound();
    Refused { address: socket.local_addr().expect("a bound socket has an address"), _held: socket }
}

/// An address whose connections are never completed: its listener's queue is full and never
/// drained, so the kernel drops every new handshake and a client waits until its own connect
/// timeout.
#[derive(Debug)]
pub struct Unreachable {
    pub address: SocketAddr,
    _held: (TcpListener, Vec<TcpStream>),
}

pub async fn unreachable() -> Unreachable {
    let listener = bound().listen(0).expect("a listener");
    let address = listener.local_addr().expect("a bound listener has an address");
    // Fill the accept queue: the connections that fit stay open, the rest are given up on.
    let mut filling = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(50), TcpStream::connect(address)).await
        {
            filling.push(stream);
        }
    }
    Unreachable { address, _held: (listener, filling) }
}

/// How many TCP connection attempts have failed on this machine (refused, or reset while being
/// opened), from `/proc/net/snmp`: a client that tries a [`refused`] address again and again
/// shows in it, though each attempt takes well under a millisecond. `None` where there is no such
/// count (not Linux).
pub fn failed_connection_attempts() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut tcp = snmp.lines().filter(|line| line.starts_with("Tcp:"));
    let (names, values) = (tcp.next()?, tcp.next()?);
    let at = names.split_whitespace().position(|name| name == "AttemptFails")?;
    values.split_whitespace().nth(at)?.parse().ok()
}
