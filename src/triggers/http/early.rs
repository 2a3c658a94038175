//! hyper's own answers, as JSON. A request hyper cannot parse (a malformed request line or
//! header, a bad `Content-Length`, a URI or head too large) never reaches the hub's code: hyper
//! writes `400`/`414`/`431` with an empty body itself and closes the connection, and offers no
//! hook to shape that answer. So each connection's writes pass through [`JsonIo`], which
//! recognises exactly that answer and sends the hub's JSON error in its place.

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections answer hyper's parse errors as JSON.
pub struct JsonListener(pub TcpListener);

impl Listener for JsonListener {
    type Io = JsonIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (JsonIo, SocketAddr) {
        let (stream, peer) = Listener::accept(&mut self.0).await;
        (JsonIo { stream, replacement: Vec::new(), sent: 0 }, peer)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// One connection: reads pass through; a write that is hyper's automatic error answer is
/// replaced by the JSON one, held here until the socket took it all.
pub struct JsonIo {
    stream: TcpStream,
    replacement: Vec<u8>,
    sent: usize,
}

impl JsonIo {
    /// Writes what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.replacement.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.replacement[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for JsonIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for JsonIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_replacement(cx))?;
        if let Some(json) = replacement(buf) {
            self.replacement = json;
            self.sent = 0;
            // Counted as written: the rest goes out on the next write, flush or shutdown.
            if let Poll::Ready(Err(err)) = self.poll_replacement(cx) {
                return Poll::Ready(Err(err));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_replacement(cx))?;
        // hyper's answer has no body, so it comes as a single slice.
        let mut written = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (written.next(), written.next())
            && replacement(only).is_some()
        {
            return self.poll_write(cx, only);
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The JSON answer for `written` when it is hyper's automatic answer to a request it could not
/// parse: a 400, 414 or 431 status line followed by `content-length: 0`, `date` and at most
/// `connection`, nothing else. The hub's own answers never look like that: they all carry a
/// `content-type` or an `x-run-id`.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    if written.len() > 256 || !written.starts_with(b"HTTP/1.") || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(written).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let (version, status) = status_line.split_at_checked(9)?;
    let error = match status.get(..3)? {
        "400" => "the request is not valid HTTP: a malformed request line or header, or a bad Content-Length",
        "414" => "the request URI is too long",
        "431" => "the request's headers are too large or too many",
        _ => return None,
    };
    let mut date = None;
    let mut empty = false;
    for line in lines {
        match line.split_once(": ")? {
            ("content-length", "0") => empty = true,
            ("date", value) => date = Some(value),
            ("connection", _) => {}
            _ => return None,
        }
    }
    let (true, Some(date)) = (empty, date) else {
        return None;
    };
    let body = serde_json::json!({ "error": error }).to_string();
    Some(
        format!(
            "{version}{status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\ndate: {date}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_error_answers_are_replaced() {
        let automatic = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 09:55:59 GMT\r\n\r\n";
        let json = String::from_utf8(replacement(automatic).expect("replaced")).expect("text");
        assert!(json.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"));
        let body: serde_json::Value = serde_json::from_str(json.split("\r\n\r\n").nth(1).expect("body")).expect("json");
        assert!(body["error"].as_str().is_some_and(|error| error.contains("headers")));
        let length: usize = json
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .and_then(|n| n.parse().ok())
            .expect("length");
        assert_eq!(length, json.split("\r\n\r\n").nth(1).map_or(0, str::len));

        let from_a_script =
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-run-id: 1\r\ndate: Wed, 02 Dec 2026 09:55:59 GMT\r\n\r\n";
        assert!(replacement(from_a_script).is_none());
        let other_status =
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 09:55:59 GMT\r\n\r\n";
        assert!(replacement(other_status).is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_none(), "no date");
    }
}
