//! The control loop: reads the judge's requests line by line and answers each, running the
//! lesson's calls concurrently on this one thread.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Handler, panics};
use crate::protocol::{Request, RequestBody, Response, ResponseBody};

/// Answers requests until the judge hangs up.
pub(super) async fn serve<S, H>(stream: S, handler: Rc<H>)
where
    S: AsyncRead + AsyncWrite + 'static,
    H: Handler,
{
    let (read, mut write) = tokio::io::split(stream);
    let (replies, mut outgoing) = mpsc::unbounded_channel::<Response>();
    // One writer, so that replies finished at the same moment never interleave mid-line.
    let writer = tokio::task::spawn_local(async move {
        while let Some(reply) = outgoing.recv().await {
            let line = serde_json::to_string(&reply).expect("a reply always serialises");
            if write.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(request) = serde_json::from_str::<Request>(&line) else { continue };
        let replies = replies.clone();
        match request.body {
            // Through the same queue as every reply: a pong is late exactly when learner code
            // holds this thread.
            RequestBody::Ping => {
                let _ = replies.send(Response { id: request.id, body: ResponseBody::Pong });
            }
            RequestBody::Flush { marker } => {
                super::log::flush(&marker);
                let _ = replies.send(Response { id: request.id, body: ResponseBody::Flushed });
            }
            RequestBody::Call(call) => {
                let handler = Rc::clone(&handler);
                let deadline = Duration::from_millis(request.deadline_ms);
                tokio::task::spawn_local(async move {
                    let body = answer(handler, call, deadline).await;
                    let _ = replies.send(Response { id: request.id, body });
                });
            }
        }
    }
    writer.abort();
}

async fn answer<H: Handler>(
    handler: Rc<H>,
    call: serde_json::Value,
    deadline: Duration,
) -> ResponseBody {
    let call: H::Call = match serde_json::from_value(call) {
        Ok(call) => call,
        Err(error) => {
            return ResponseBody::Panicked(format!(
                "httplings sent a call this exercise cannot take: {error}"
            ));
        }
    };
    // Built inside the guarded future, so that a panic before the first await is caught too.
    let running = AssertUnwindSafe(async move { handler.handle(call).await }).catch_unwind();
    match tokio::time::timeout(deadline, running).await {
        Err(_) => ResponseBody::TimedOut,
        Ok(Err(payload)) => ResponseBody::Panicked(panics::describe(&*payload)),
        Ok(Ok(reply)) => match serde_json::to_value(reply) {
            Ok(value) => ResponseBody::Returned(value),
            Err(error) => {
                ResponseBody::Panicked(format!("the reply could not be encoded: {error}"))
            }
        },
    }
}
